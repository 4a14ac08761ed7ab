/**
 * `pbft-lab demo`: the one-machine lab. Starts N replicas as separate processes on loopback, each
 * with its own data directory and dashboard port, prints where to reach each one, and stops them all
 * on Ctrl-C.
 *
 * Replica K's lines start with `[K]`, its data directory is `replica-K` and its dashboard port is
 * base+K (demo-identities.ts makes the identities first, so the ids are known before the roster
 * forms). While the cluster forms, progress goes to stderr (a terminal); once formed, one table of
 * dashboards and the client and room commands. The addresses and join code are left for
 * `pbft-lab client` and `pbft-lab room` (cluster-hints.ts, mode 0600), and once formed the dashboards'
 * URLs with their tokens, for the room's exercises; the file goes at the end, with the temporary data
 * directory the demo made (not a `--data-dir`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ClusterKey } from '../net/cluster-key.ts';
import { forEachLine } from '../process/lines.ts';
import { removeClusterHints, writeClusterHints } from './cluster-hints.ts';
import { prepareDemoMembers } from './demo-identities.ts';
import { DemoWatch } from './demo-watch.ts';
import { UsageError } from './usage-error.ts';

export const DEMO_USAGE = `usage: pbft-lab demo [--replicas 4|7|10] [--data-dir DIR] [--cluster NAME] [--api-port-base P] [--api-host HOST]
                     [--checkpoint-interval K]
  replica K's lines start with [K]; its dashboard is on port P+K (P = 7400)
  --checkpoint-interval K: a checkpoint every K operations (default 32); e.g. 4 shows one after 4 writes
  --data-dir DIR: keep the replicas' data there (else a temporary directory, removed when the demo stops)`;

/** Replicas start through the command itself, which runs them as a lab machine would (bin/replica-runtime.mjs). */
const BIN = fileURLToPath(new URL('../../bin/pbft-lab.mjs', import.meta.url));

export async function demoCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      replicas: { type: 'string', default: '4' },
      'data-dir': { type: 'string' },
      cluster: { type: 'string' },
      'api-port-base': { type: 'string', default: '7400' },
      'api-host': { type: 'string', default: '127.0.0.1' },
      'checkpoint-interval': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const n = Number(values.replicas);
  if (![4, 7, 10].includes(n)) throw new UsageError(`--replicas must be 4, 7 or 10, got "${values.replicas}"`);
  const portBase = Number(values['api-port-base']);
  if (!Number.isInteger(portBase) || portBase < 1024 || portBase + n > 65535)
    throw new UsageError(`--api-port-base must be a port from 1024, got "${values['api-port-base']}"`);
  // A fresh cluster name per demo, so two demos (or a classroom of them) on one LAN never merge; and a
  // secret of its own, so nothing else on the LAN can connect to its replicas.
  const cluster = values.cluster ?? `demo-${randomBytes(3).toString('hex')}`;
  if (!/^[\w.-]{1,64}$/.test(cluster))
    throw new UsageError(`--cluster must be 1–64 letters, digits, '.', '_' or '-', got "${cluster}"`);
  const madeTemp = values['data-dir'] === undefined;
  const base = values['data-dir'] ?? (await mkdtemp(join(tmpdir(), 'pbft-lab-demo-')));
  const key = ClusterKey.generate();
  print(`PBFT Lab demo: ${n} replicas (f = ${(n - 1) / 3}) on this machine, cluster "${cluster}", data in ${base}`);
  print(`join code: ${key.joinCode}  (its secret: a client on this machine finds it with the cluster's addresses)`);
  const members = await prepareDemoMembers(base, cluster, n);

  const watch = new DemoWatch(n, performance.now());
  const clientCommand = `npx pbft-lab client --cluster ${cluster}${n === 4 ? '' : ` --size ${n}`}`;
  const roomCommand = `npx pbft-lab room --cluster ${cluster}${n === 4 ? '' : ` --size ${n}`}`;
  const progress = process.stderr.isTTY
    ? setInterval(() => process.stderr.write(`${watch.progress(cluster, performance.now())}\n`), 1_000)
    : null;
  let hintsWritten = false;
  // One write after another: the formed cluster's file (with its dashboards) must be the last.
  let hintsWriting: Promise<unknown> = Promise.resolve();
  const writeHints = (joins: readonly string[], dashboards: readonly string[] = []): void => {
    hintsWriting = hintsWriting.then(() =>
      writeClusterHints(cluster, n, joins, undefined, { joinCode: key.joinCode, dashboards }),
    );
  };
  const onLine = (k: number, line: string): void => {
    print(`[${k}] ${line}`);
    const formedNow = watch.onLine(k, line, performance.now());
    const joins = watch.joinAddresses();
    if (joins && !hintsWritten) {
      hintsWritten = true;
      writeHints(joins);
    }
    if (!formedNow) return;
    const dashboards = watch.members.flatMap((m) => (m.dashboard ? [m.dashboard] : []));
    if (joins && dashboards.length === n) writeHints(joins, dashboards);
    if (progress) clearInterval(progress);
    for (const row of watch.table(cluster)) print(row);
    print(`write and read:  ${clientCommand} write /hello world`);
    print(`                 ${clientCommand} read /hello`);
    print(`or a shell:      ${clientCommand}`);
    print(`the room:        ${roomCommand}   (and the exercises, from its Exercises panel)`);
    print('stop all replicas with Ctrl-C');
  };

  const children: ChildProcess[] = [];
  for (const member of members) {
    const k = member.replicaId;
    const args = [
      BIN,
      'replica',
      '--data-dir',
      member.dataDir,
      '--cluster',
      cluster,
      '--size',
      String(n),
      '--cluster-key',
      key.joinCode,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--allow-loopback',
      '--api-port',
      String(portBase + k),
      '--api-host',
      values['api-host'],
      ...(values['checkpoint-interval'] ? ['--checkpoint-interval', values['checkpoint-interval']] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    for (const stream of [child.stdout!, child.stderr!]) forEachLine(stream, (line) => onLine(k, line));
    child.on('exit', (code, signal) => print(`[${k}] exited (${signal ?? code})`));
  }
  print(`starting ${n} replicas; a table of their dashboards follows once the cluster has formed`);

  await new Promise<void>((resolve) => {
    let exited = 0;
    for (const child of children) child.on('exit', () => ++exited === children.length && resolve());
    const stop = (): void => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  if (progress) clearInterval(progress);
  await hintsWriting;
  await removeClusterHints(cluster, n);
  if (madeTemp) {
    await rm(base, { recursive: true, force: true });
    print(`removed ${base}`);
  }
  print('all replicas stopped');
  return 0;
}
