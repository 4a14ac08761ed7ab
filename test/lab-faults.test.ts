/**
 * Faults that mean what they say (issue 19, finding 1), on four ReplicaHosts in this process on
 * 127.0.0.1 (real libp2p). "Pause" is a frozen machine: no tick, no send, no receive — frames an
 * added delay was holding are lost with it, and its own client's requests do not reach its own
 * replica. "Cut link" is an unplugged cable between two machines, delayed frames included.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaHost } from '../core/host/replica-host.ts';
import type { LabOp, LabSnapshot } from '../core/host/lab-api.ts';
import { eventually, startCluster, waitForRoster, within, type TestCluster } from './helpers/hostile-kit.ts';

const N = 4;
const DELAY_MS = 3_000;

let cluster: TestCluster;
let hosts: ReplicaHost[];

beforeAll(async () => {
  cluster = await startCluster(N, {});
  hosts = cluster.hosts;
  await waitForRoster(hosts, 40_000);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
}, 30_000);

/** Whatever a test left set (say, after it failed), the next one starts from a healthy cluster. */
afterEach(async () => {
  for (const host of hosts) {
    await host.fault({ kind: 'delay', ms: 0 });
    await host.fault({ kind: 'resume' });
    for (const peerId of (await host.snapshot()).faults.disconnectedFrom)
      await host.fault({ kind: 'reconnect', peerId });
  }
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const write = (n: number): LabOp => ({ kind: 'write', path: `/faults-${n}`, text: `${n}` });
const lastExecuted = (s: LabSnapshot) => s.checkpoints?.lastExecuted ?? 0;

async function roles() {
  const snaps = await Promise.all(hosts.map((h) => h.snapshot()));
  const primaryId = snaps[0]!.view!.primary;
  const byId = (id: number) => hosts[snaps.findIndex((s) => s.self.replicaId === id)]!;
  const backups = [1, 2, 3].map((k) => byId((primaryId + k) % N));
  return { primary: byId(primaryId), backups };
}

/** How long ago `listener` last took in a frame from `speaker`. */
async function heardAgoMs(listener: ReplicaHost, speaker: ReplicaHost): Promise<number> {
  const peer = (await listener.snapshot()).peers.find((p) => p.peerId === speaker.peerId);
  return peer?.lastHeardMsAgo ?? Infinity;
}

async function submitVia(host: ReplicaHost, op: LabOp) {
  return within(host.submit(op), 30_000, `submit through replica ${host.replicaId}`);
}

async function caughtUp(host: ReplicaHost, others: readonly ReplicaHost[]) {
  await eventually(
    async () => {
      const target = Math.max(...(await Promise.all(others.map(async (h) => lastExecuted(await h.snapshot())))));
      return lastExecuted(await host.snapshot()) >= target;
    },
    20_000,
    `replica ${host.replicaId} to catch up`,
  );
}

describe('faults on a four-replica cluster on loopback', () => {
  it('a backup with a delay set, then paused, sends and receives nothing until resumed', async () => {
    const { primary, backups } = await roles();
    const [frozen, ...live] = backups as [ReplicaHost, ...ReplicaHost[]];
    await frozen.fault({ kind: 'delay', ms: DELAY_MS });
    // It keeps working under the delay (its STATUS, votes and HELLOs are held 3 s each)…
    await submitVia(primary, write(1));
    await sleep(500);
    // …and freezes with those held frames in the air.
    await frozen.fault({ kind: 'pause' });
    const before = await frozen.snapshot();
    await submitVia(primary, write(2));
    await sleep(DELAY_MS + 1_000);

    const after = await frozen.snapshot();
    expect(after.metrics.framesOut, 'frames handed to the network while paused').toBe(before.metrics.framesOut);
    for (const other of [primary, ...live]) expect(await heardAgoMs(other, frozen)).toBeGreaterThan(DELAY_MS);
    expect(lastExecuted(after), 'executed while paused').toBe(lastExecuted(before));
    expect(after.log).toEqual(before.log);

    await frozen.fault({ kind: 'delay', ms: 0 });
    await frozen.fault({ kind: 'resume' });
    await caughtUp(frozen, [primary, ...live]);
    expect(await heardAgoMs(primary, frozen)).toBeLessThan(1_000);
  }, 60_000);

  it('a cut link with a delay set carries nothing either way, delayed frames included, until reconnected', async () => {
    const { primary, backups } = await roles();
    const [cutter, cutOff, bystander] = backups as [ReplicaHost, ReplicaHost, ReplicaHost];
    await cutter.fault({ kind: 'delay', ms: DELAY_MS });
    await submitVia(primary, write(3));
    await sleep(500);
    await cutter.fault({ kind: 'disconnect', peerId: cutOff.peerId });
    await sleep(DELAY_MS + 1_000);

    // The cut peer heard nothing from it (the frames the delay held for it were dropped) …
    expect(await heardAgoMs(cutOff, cutter)).toBeGreaterThan(DELAY_MS);
    // … and it took in nothing from the cut peer, while the others still hear it and it hears them.
    expect(await heardAgoMs(cutter, cutOff)).toBeGreaterThan(DELAY_MS);
    expect(await heardAgoMs(bystander, cutter)).toBeLessThan(1_000);
    expect(await heardAgoMs(cutter, bystander)).toBeLessThan(1_000);

    await cutter.fault({ kind: 'delay', ms: 0 });
    await cutter.fault({ kind: 'reconnect', peerId: cutOff.peerId });
    await eventually(async () => (await heardAgoMs(cutOff, cutter)) < 1_000, 10_000, 'the link to carry frames again');
  }, 60_000);

  it('a paused primary does not order its own client’s requests; they go through once it resumes', async () => {
    const { primary } = await roles();
    const before = await primary.snapshot();
    await primary.fault({ kind: 'pause' });
    const submitted = submitVia(primary, write(4));
    await sleep(1_000);
    const paused = await primary.snapshot();
    expect(paused.log, 'log rows while paused').toEqual(before.log);
    await primary.fault({ kind: 'resume' });
    const outcome = await submitted;
    expect(outcome.result.kind).toBe('written');
  }, 60_000);
});
