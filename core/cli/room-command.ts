/**
 * `pbft-lab room`: the instructor's view of the whole cluster. A headless observer that holds the
 * cluster key, finds the replicas on the LAN (mDNS, the addresses the demo left, `--join`),
 * subscribes to every one's telemetry and serves the Room page; it prints the page's http:// URL.
 * Given the members' dashboards (`--member-urls`, or those the demo left on this machine), the Room
 * page's Exercises panel runs exercises on them (core/exercises/room-exercises.ts).
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { startApiServer } from '../host/api-server.ts';
import { RoomHost } from '../host/room-host.ts';
import { ROOM_SIM_SCENARIOS, type RoomSimScenario } from '../host/room-sim.ts';
import { readClusterHints, readHintedDashboards, readHintedJoinCode } from './cluster-hints.ts';
import { DEFAULT_CLUSTER, parseJoinCode } from './replica-command.ts';
import { UsageError } from './usage-error.ts';

export const ROOM_USAGE = `usage: pbft-lab room [--cluster-key CODE] [--cluster NAME] [--size N] [--join MULTIADDR]... [--port P] [--host HOST]
                     [--no-mdns] [--no-cache] [--allow-loopback] [--member-urls URL0,URL1,…]
       pbft-lab room --simulate equivocation-coalition|silent-primary|honest [--size N] [--port P] [--host HOST]
  Finds the cluster's replicas, subscribes to each one's telemetry, and serves the Room page (every
  replica side by side, one space-time diagram, the cross-replica log, the live checker, the view-change
  explainer); prints its http:// URL.
  --cluster-key CODE: the join code the cluster's first replica printed (the demo's is found on its machine)
  --join MULTIADDR: a replica's address with its /p2p/ id (networks that block multicast)
  --port P, --host HOST: where the page is served (default: any free port on 127.0.0.1; 0.0.0.0 for the room's projector)
  --allow-loopback: replicas on this machine (the one-machine demo; implied by the demo's addresses)
  --member-urls URL0,URL1,…: every replica's dashboard URL with its token (as pbft-lab demo and pbft-lab
    replica print them): the Room page's Exercises panel then runs exercises on them (their tokens stay in
    this process; whoever holds the room's own URL commands). Beside pbft-lab demo they are found on this machine
  --simulate SCENARIO: watch a simulated cluster in this process instead (no network): f+1 colluding
    equivocators break agreement there, which a LAN cluster allows only after an explicit confirmation`;

/** The built dashboard (`npm run build` → out/renderer). */
const DASHBOARD_DIR = fileURLToPath(new URL('../../out/renderer', import.meta.url));

export async function roomCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cluster: { type: 'string', default: DEFAULT_CLUSTER },
      size: { type: 'string', default: '4' },
      join: { type: 'string', multiple: true },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'no-mdns': { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      'allow-loopback': { type: 'boolean', default: false },
      'cluster-key': { type: 'string' },
      'open-cluster': { type: 'boolean', default: false },
      simulate: { type: 'string' },
      'member-urls': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 4 || (size - 1) % 3 !== 0)
    throw new UsageError(`--size must be 3f+1, got "${values.size}"`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number, got "${values.port}"`);
  const simulate = values.simulate;
  if (simulate !== undefined && !(ROOM_SIM_SCENARIOS as readonly string[]).includes(simulate))
    throw new UsageError(`--simulate must be one of ${ROOM_SIM_SCENARIOS.join(', ')}, got "${simulate}"`);
  let join: Multiaddr[];
  try {
    join = (values.join ?? []).map((a) => multiaddr(a));
  } catch (error) {
    throw new UsageError(`--join: ${(error as Error).message}`);
  }
  const useCache = !values['no-cache'] && simulate === undefined;
  const hinted = useCache ? await readClusterHints(values.cluster, size) : [];
  for (const address of hinted) {
    try {
      join.push(multiaddr(address));
    } catch {
      // a damaged hint is no address
    }
  }
  const code = values['cluster-key'] ?? (useCache ? await readHintedJoinCode(values.cluster, size) : null);
  if (values['cluster-key'] !== undefined && values['open-cluster'])
    throw new UsageError('give --cluster-key CODE or --open-cluster, not both');
  if (code === null && !values['open-cluster'] && simulate === undefined)
    throw new UsageError("--cluster-key CODE is required: the join code the cluster's first replica printed");
  const clusterKey = values['open-cluster'] || code === null ? null : parseJoinCode(code);
  const memberUrls = (values['member-urls'] ?? '').split(',').filter(Boolean);
  for (const url of memberUrls) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--member-urls: not a URL: "${url.replace(/token=[^&]*/, 'token=…')}"`);
    }
    if (!/^https?:$/.test(parsed.protocol) || !parsed.searchParams.get('token'))
      throw new UsageError('--member-urls: each is a dashboard URL with its token, http://HOST:PORT/?token=…');
  }
  if (memberUrls.length > 0 && memberUrls.length !== size)
    throw new UsageError(`--member-urls: give all ${size} replicas' dashboards, got ${memberUrls.length}`);
  if (memberUrls.length > 0 && simulate !== undefined)
    throw new UsageError('--member-urls is for a room of machines, not --simulate');
  const hintedDashboards = useCache && memberUrls.length === 0 ? await readHintedDashboards(values.cluster, size) : [];
  const loopbackHints = hinted.some((a) => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1'));

  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const stamp = (line: string): void => print(`${new Date().toISOString().slice(11, 23)} ${line}`);
  const room = new RoomHost({
    cluster: values.cluster,
    size,
    clusterKey,
    join,
    mdns: !values['no-mdns'],
    allowLoopback: values['allow-loopback'] || loopbackHints,
    log: stamp,
    simulate: simulate as RoomSimScenario | undefined,
    memberUrls: memberUrls.length > 0 ? memberUrls : hintedDashboards,
  });
  await room.start();
  const api = await startApiServer({ api: room, host: values.host, port, staticDir: DASHBOARD_DIR, log: print });
  print(`room: ${api.url}`);
  for (const url of api.lanUrls) print(`from other machines: ${url}`);
  if (memberUrls.length > 0) print(`exercises: on the ${size} members given (--member-urls)`);
  else if (hintedDashboards.length > 0)
    print(`exercises: on the demo's ${size} replicas (their dashboards, left on this machine)`);
  else if (simulate === undefined)
    print('exercises: on this screen only (give --member-urls to run them on the replicas)');
  let heard = 0;
  const progress = setInterval(() => {
    const now = room.replicasHeard();
    if (now !== heard) stamp(`room: ${now} of ${size} replicas heard`);
    heard = now;
  }, 500);
  print(`${await stopSignal}: stopping`);
  clearInterval(progress);
  await api.close();
  await room.stop();
  print('stopped');
  return 0;
}
