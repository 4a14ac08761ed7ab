/**
 * Faulty so far (issue 19, finding 2), on four ReplicaHosts in this process on 127.0.0.1 (real
 * libp2p): each member's signed behaviour history reaches the others, every snapshot counts the
 * distinct replicas that have been Byzantine in the run against f, a switch that would exceed f is
 * refused without the explicit confirmation, and a restarted machine keeps what it knew.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaHost } from '../core/host/replica-host.ts';
import { EXCEED_F_MESSAGE, type LabEvent, type LabSnapshot } from '../core/host/lab-api.ts';
import { eventually, startCluster, waitForRoster, type TestCluster } from './helpers/hostile-kit.ts';

const N = 4;

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

/** The host running replica `id`. */
async function replica(id: number): Promise<ReplicaHost> {
  for (const host of hosts) if ((await host.snapshot()).self.replicaId === id) return host;
  throw new Error(`no host runs replica ${id}`);
}

const snapshots = () => Promise.all(hosts.map((h) => h.snapshot()));

/** Every host's tally, once each satisfies `accept`. */
async function everywhere(accept: (s: LabSnapshot) => boolean, what: string): Promise<LabSnapshot[]> {
  return eventually(async () => ((await snapshots()).every(accept) ? snapshots() : undefined), 15_000, what, 100);
}

describe('faulty so far on a four-replica cluster on loopback', () => {
  it('every host counts the replicas that have been Byzantine, from the members’ shared histories', async () => {
    await everywhere((s) => s.faultySoFar?.members.every((m) => m.known) === true, 'every history to arrive');
    expect((await snapshots()).map((s) => s.faultySoFar!.count)).toEqual([0, 0, 0, 0]);

    const r0 = await replica(0);
    const events: LabEvent[] = [];
    const unsubscribe = (await replica(3)).subscribe((e) => events.push(e));
    expect(await r0.setBehaviour('corrupt-reply')).toBe('corrupt-reply');
    expect(await r0.setBehaviour(null)).toBeNull();
    const seen = await everywhere(
      (s) => s.faultySoFar?.members[0]?.history.length === 2,
      'replica 0’s two switches to reach every host',
    );
    for (const s of seen) {
      expect(s.faultySoFar).toMatchObject({ f: 1, count: 1, beyondBound: false });
      expect(s.faultySoFar!.members[0]).toMatchObject({
        behaviour: null,
        firstByzantine: { n: 1, behaviour: 'corrupt-reply' },
      });
    }
    unsubscribe();
    const switches = events.filter((e) => e.kind === 'behaviour');
    expect(switches.map((e) => [e.replicaId, e.change.behaviour, e.faultySoFar, e.f])).toEqual([
      [0, 'corrupt-reply', 1, 1],
      [0, null, 1, 1],
    ]);
  }, 60_000);

  it('refuses to make a second replica Byzantine (f = 1) unless the call confirms it', async () => {
    const r1 = await replica(1);
    const refused = await r1.setBehaviour('silent').then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(refused?.name).toBe('FaultBoundError');
    expect(refused?.message).toContain(EXCEED_F_MESSAGE);
    expect(refused?.message).toMatch(/replica 0 \(corrupt-reply/);
    expect((await r1.snapshot()).behaviour).toBeNull();
    expect((await r1.snapshot()).faultySoFar!.members[1]!.history).toEqual([]);

    expect(await r1.setBehaviour('silent', { exceedF: true })).toBe('silent');
    const seen = await everywhere((s) => s.faultySoFar?.count === 2, 'every host to count two faulty replicas');
    for (const s of seen) expect(s.faultySoFar!.beyondBound).toBe(true);
    // Replica 1 is counted already: another behaviour needs no confirmation.
    expect(await r1.setBehaviour('flood')).toBe('flood');
  }, 60_000);

  it('a restarted host runs honest, says so in its history, and still knows who was Byzantine', async () => {
    const r1 = await replica(1);
    const index = hosts.indexOf(r1);
    await r1.stop();
    const others = hosts.filter((h) => h !== r1);
    const join = (await Promise.all(others.map((h) => h.snapshot()))).flatMap((s) => s.self.addresses);
    const restarted = new ReplicaHost({ ...r1.options, join });
    hosts[index] = restarted;
    await restarted.start();
    await waitForRoster(hosts, 30_000);

    // The restart is recorded (on disk, then shown) just after the replica starts, honest.
    const own = await eventually(
      async () => {
        const s = await restarted.snapshot();
        return s.faultySoFar?.members[1]?.history.at(-1)?.restart ? s : undefined;
      },
      10_000,
      'the restart in its own history',
    );
    expect(own.behaviour).toBeNull();
    expect(own.faultySoFar).toMatchObject({ count: 2, beyondBound: true });
    expect(own.faultySoFar!.members[1]!.history.map((s) => [s.n, s.behaviour, s.restart ?? false])).toEqual([
      [1, 'silent', false],
      [2, 'flood', false],
      [3, null, true],
    ]);
    // Replica 0's history came from the data directory: it needs no new frame from replica 0.
    expect(own.faultySoFar!.members[0]).toMatchObject({ known: true, firstByzantine: { behaviour: 'corrupt-reply' } });
    await everywhere(
      (s) => s.faultySoFar?.members[1]?.history.at(-1)?.restart === true && s.faultySoFar.count === 2,
      'the restart to reach every host',
    );
  }, 60_000);
});
