/**
 * The room (issue 14) on four ReplicaHosts in this process on 127.0.0.1 (real libp2p, the cluster key):
 * a RoomHost subscribes to every replica's telemetry on /pbft-lab/telemetry/1.0.0; every message it
 * shows pairs a send with its receives by id and vector clock; a silent primary's view change is
 * explained (who voted, the quorum at the new primary, the NEW-VIEW), and the checker stays quiet with
 * one faulty replica.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaHost } from '../core/host/replica-host.ts';
import { RoomHost } from '../core/host/room-host.ts';
import type { RoomEvent, RoomState } from '../core/host/room-types.ts';
import { happenedBefore } from '../core/host/telemetry-events.ts';
import { eventually, startCluster, waitForRoster, type TestCluster } from './helpers/hostile-kit.ts';
import { receivesAndUnpaired } from './helpers/room-process.ts';

const N = 4;
let cluster: TestCluster;
let hosts: ReplicaHost[];
let room: RoomHost;
const events: RoomEvent[] = [];
let cursor = 0;

async function poll(): Promise<RoomState> {
  const state = await room.room({ after: cursor });
  events.push(...state.events);
  cursor = state.cursor;
  return state;
}

beforeAll(async () => {
  cluster = await startCluster(N, { checkpointInterval: 4, logWindow: 8 });
  hosts = cluster.hosts;
  await waitForRoster(hosts, 40_000);
  const join = (await Promise.all(hosts.map((h) => h.snapshot()))).flatMap((s) =>
    s.self.addresses.slice(0, 1).map((a) => multiaddr(a.includes('/p2p/') ? a : `${a}/p2p/${s.self.peerId}`)),
  );
  room = new RoomHost({
    cluster: cluster.name,
    size: N,
    clusterKey: cluster.key,
    join,
    mdns: false,
    allowLoopback: true,
  });
  await room.start();
}, 60_000);

afterAll(async () => {
  await room?.stop();
  await cluster?.stop();
}, 30_000);

describe('the room on a four-replica cluster on loopback', () => {
  it('shows every replica within seconds, and pairs every message it shows', async () => {
    const started = Date.now();
    await eventually(
      async () => ((await poll()).replicas.filter((r) => r.view !== null).length === N ? true : undefined),
      10_000,
      'four replicas in the room',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    // Messages in flight while the room subscribed have no send in it: judge those sent from here on.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await poll();
    const since = cursor;
    for (let i = 0; i < 6; i++) await hosts[i % N]!.submit({ kind: 'write', path: `/room${i}`, text: String(i) });
    const state = await eventually(
      async () => {
        const s = await poll();
        return s.crossLog.filter((row) => row.cells.filter((c) => c?.phase === 'executed').length === N).length >= 6
          ? s
          : undefined;
      },
      15_000,
      'six rows executed everywhere',
    );
    const { receives, unpaired } = await receivesAndUnpaired(events, poll, since);
    expect(receives.length).toBeGreaterThan(50);
    expect(unpaired).toEqual([]);
    const sends = new Map(events.flatMap((e) => (e.body.kind === 'send' ? [[e.body.msgId, e] as const] : [])));
    for (const receive of receives) {
      const send = sends.get((receive.body as { msgId: string }).msgId)!;
      expect(happenedBefore(send.vc, receive.vc)).toBe(true);
    }
    expect(state.checks.find((c) => c.id === 'agreement')?.status).toBe('ok');
    expect(state.clients.length).toBeGreaterThan(0);
    // A reply's send names its client: the room draws it to the client's lane.
    expect(events.some((e) => e.body.kind === 'send' && e.body.type === 'reply')).toBe(true);
  }, 40_000);

  it('explains the view change a silent primary causes, and the checker stays quiet with one faulty', async () => {
    const snapshots = await Promise.all(hosts.map((h) => h.snapshot()));
    const primary = snapshots[0]!.view!.primary;
    const primaryHost = hosts[snapshots.findIndex((s) => s.self.replicaId === primary)]!;
    await primaryHost.setBehaviour('silent');
    const other = hosts.find((h) => h !== primaryHost)!;
    const submitted = other.submit({ kind: 'write', path: '/after-silence', text: 'x' });
    const state = await eventually(
      async () => {
        const s = await poll();
        const episode = s.viewChanges.find((e) => e.view === 1);
        return episode?.newView && episode.installedBy.length >= 3 ? s : undefined;
      },
      30_000,
      'view 1 installed by the three others',
    );
    await submitted;
    const episode = state.viewChanges.find((e) => e.view === 1)!;
    expect(episode.suspected).toBe(primary);
    expect(episode.newPrimary).toBe((primary + 1) % N);
    expect(episode.votes.length).toBeGreaterThanOrEqual(3);
    expect(episode.votes.some((v) => /request timer expired/.test(v.reason))).toBe(true);
    expect(episode.quorumAt).not.toBeNull();
    expect(episode.steps.map((s) => s.text).join('\n')).toMatch(/holds 2f\+1 = 3 VIEW-CHANGEs/);
    const replica = state.replicas.find((r) => r.replicaId === primary)!;
    expect(replica.behaviour).toBe('silent');
    expect(replica.byzantineSoFar).toBe(true);
    expect(state.checks.filter((c) => c.status === 'violated')).toEqual([]);
    expect(state.checks.find((c) => c.id === 'assumption')?.status).toBe('ok');
  }, 60_000);
});
