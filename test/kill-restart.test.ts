/**
 * Issue 13, finding 6: a client that cannot reach one replica stalled the cluster. On the one-machine
 * demo, a client given `--join` addresses drove six logical clients; the primary was killed (-9) and
 * restarted from its data directory, and came back on a new port; then another replica was killed,
 * and nothing completed for 16–60 s: the restarted replica never got the client's MAC key, so it could
 * not accept the pre-prepares carrying its requests, and without it no 2f+1 replicas could order them.
 *
 * The same run, as separate `pbft-lab replica` processes on loopback (no mDNS: they join by address,
 * as the client does): every kill is followed by a completed operation within 3 s, and no gap of more
 * than 3 s while the run goes on. What makes it so: the restarted replica listens on the port it had
 * (listen.json), the client redials a lost replica at least every second and learns where members
 * listen from the HELLOs of the others, and a link backing off towards a peer that has just reached
 * us dials at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkClient } from '../core/host/network-client.ts';
import { ClusterKey } from '../core/net/cluster-key.ts';
import { eventually, fetchSnapshot, ReplicaProcess } from './helpers/replica-process.ts';

const N = 4;
const LOGICAL_CLIENTS = 6;
const RECOVERY_MS = 3_000;
const JOIN_PREFIX = 'join with: --join ';

/** Something else listening on `port` (as another program might, while a replica is down). */
function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    // It accepts connections and says nothing, as a stranger's program would.
    const server = createServer((socket) => server.once('close', () => socket.destroy()));
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe.each([
  ['comes back on the port it had', false],
  ['finds its port taken and comes back on a new one, which the client learns from the other replicas', true],
])('kill -9 and restart on the one-machine cluster (issue 13, finding 6): the primary %s', (_, takePort) => {
  const cluster = `kill-${randomBytes(3).toString('hex')}`;
  const clusterKey = ClusterKey.generate();
  const replicas: ReplicaProcess[] = [];
  let base = '';
  let client: NetworkClient;
  /** performance.now() of every completed operation. */
  const completions: number[] = [];
  let running = true;
  let loops: Promise<void>[] = [];

  async function joinAddress(replica: ReplicaProcess, after: number): Promise<string> {
    return eventually(
      () =>
        replica.output
          .slice(after)
          .find((l) => l.startsWith(JOIN_PREFIX))
          ?.slice(JOIN_PREFIX.length),
      20_000,
      'a join address',
    );
  }

  /** The last lines of each replica's log that say something (not the stream of stable checkpoints). */
  const dump = (): string =>
    replicas
      .map(
        (r, i) =>
          `--- replica process ${i}\n${r.output
            .filter((l) => !/stable checkpoint|state transfer/.test(l))
            .slice(-40)
            .join('\n')}`,
      )
      .join('\n');

  /** The first completion after `t`, and the longest wait between completions from `t` to `until`. */
  function recovery(t: number, until: number): { firstMs: number; longestGapMs: number } {
    const after = completions.filter((c) => c > t && c <= until);
    const firstMs = after.length === 0 ? Infinity : after[0]! - t;
    let longestGapMs = firstMs;
    for (let i = 1; i < after.length; i++) longestGapMs = Math.max(longestGapMs, after[i]! - after[i - 1]!);
    longestGapMs = Math.max(longestGapMs, until - (after.at(-1) ?? t));
    return { firstMs, longestGapMs };
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'pbft-lab-kill-'));
    const joinable: string[] = [];
    for (let i = 0; i < N; i++) {
      const replica = new ReplicaProcess({
        dataDir: join(base, `r${i}`),
        cluster,
        clusterKey,
        size: N,
        extraArgs: ['--allow-loopback', '--no-mdns', ...joinable.flatMap((a) => ['--join', a])],
      });
      replica.start();
      replicas.push(replica);
      joinable.push(await joinAddress(replica, 0));
    }
    const urls = await Promise.all(replicas.map((r) => r.url()));
    await eventually(
      async () => {
        const s = await Promise.all(urls.map(fetchSnapshot));
        return s.every((x) => x.self.role === 'replica') ? s : undefined;
      },
      30_000,
      'a roster agreed by all four',
    );
    client = new NetworkClient({
      cluster,
      clusterKey,
      size: N,
      join: joinable.map((a) => multiaddr(a)),
      mdns: false,
      clients: LOGICAL_CLIENTS,
    });
    await client.start();
    loops = Array.from({ length: LOGICAL_CLIENTS }, async (_, j) => {
      for (let k = 0; running; k++) {
        try {
          await client.submit(
            { kind: 'write', path: `/c${j}`, data: new TextEncoder().encode(String(k)) },
            { client: j, timeoutMs: 20_000 },
          );
          completions.push(performance.now());
        } catch {
          // a timed-out operation shows as a gap; the loop goes on
        }
      }
    });
  }, 90_000);

  afterAll(async () => {
    running = false;
    await client?.stop();
    await Promise.allSettled(loops);
    await Promise.all(replicas.map((r) => r.kill()));
    if (base) await rm(base, { recursive: true, force: true });
  });

  /** Peer ids of the replica processes, by index. */
  const peers: string[] = [];

  /** The process running the primary of the highest view a live replica is in. */
  async function primaryIndex(): Promise<number> {
    const snaps = await Promise.all(replicas.filter((r) => r.running).map((r) => fetchSnapshot(r.apiUrl!)));
    const view = Math.max(...snaps.map((s) => s.view!.view));
    return peers.indexOf(snaps[0]!.roster[view % N]!);
  }

  it(`completes operations within ${RECOVERY_MS / 1000} s of each kill, the primary's restart included`, async () => {
    for (const r of replicas) peers.push((await fetchSnapshot(r.apiUrl!)).self.peerId);
    await eventually(() => (completions.length >= 20 ? true : undefined), 20_000, 'operations before the kills');

    // 1. The primary, killed.
    const first = await primaryIndex();
    const victim = replicas[first]!;
    const port = (await joinAddress(victim, 0)).split('/tcp/')[1]!.split('/')[0];
    const kill1 = performance.now();
    await victim.kill();
    await sleep(6_000);
    const afterKill1 = recovery(kill1, performance.now());

    // 2. Restarted from its data directory: on the port it had, or on a new one if that is taken.
    const squatter = takePort ? await occupy(Number(port)) : null;
    const mark = victim.output.length;
    victim.start();
    const again = await joinAddress(victim, mark);
    if (squatter) {
      expect(again.split('/tcp/')[1]!.split('/')[0]).not.toBe(port);
      expect(
        victim.output
          .slice(mark)
          .some((l) => l.includes(`TCP port ${port} (this machine's port before the restart) is not free`)),
      ).toBe(true);
    } else expect(again.split('/tcp/')[1]!.split('/')[0]).toBe(port);
    await victim.url();
    await sleep(3_000);

    // 3. Another replica, killed: now the restarted one is needed to order anything.
    const second = await primaryIndex();
    const other = replicas[second === first ? (first + 1) % N : second]!;
    const kill2 = performance.now();
    await other.kill();
    await sleep(8_000);
    const afterKill2 = recovery(kill2, performance.now());

    console.log(
      `kill/restart: after the primary's kill first op in ${afterKill1.firstMs.toFixed(0)} ms (longest gap ` +
        `${afterKill1.longestGapMs.toFixed(0)} ms); after the second kill first op in ${afterKill2.firstMs.toFixed(0)} ms ` +
        `(longest gap ${afterKill2.longestGapMs.toFixed(0)} ms); ${completions.length} ops in all`,
    );
    expect(afterKill1.firstMs, dump()).toBeLessThan(RECOVERY_MS);
    expect(afterKill1.longestGapMs, dump()).toBeLessThan(RECOVERY_MS);
    expect(afterKill2.firstMs, dump()).toBeLessThan(RECOVERY_MS);
    expect(afterKill2.longestGapMs, dump()).toBeLessThan(RECOVERY_MS);
    squatter?.close();
  }, 120_000);
});
