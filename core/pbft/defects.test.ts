/**
 * The defects outside reviewers found (issues 12 and 18), one named regression test each. Every test
 * here fails on the code before its fix (commit c6342e3) and stages the attack as the reviewer
 * described it: a faulty replica is played by the test, which signs what that replica's key can sign
 * and sends what it likes to whom it likes. (Issue 18's first defect, the view record that was not
 * durable before the VIEW-CHANGE left, is in durability.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { FileStore } from '../app/file-store.ts';
import { encodeOp, encodeResult } from '../app/file-ops.ts';
import { isType, TestCluster, text, type Envelope } from '../testing/cluster.ts';
import { Client } from './client.ts';
import { batchBytes, signingBytes } from './codec.ts';
import type {
  Checkpoint,
  LogClaim,
  NewView,
  NewViewOrder,
  PrePrepare,
  ReplicaId,
  StateChunk,
  ViewChange,
} from './messages.ts';
import { planNewView } from './proofs.ts';
import { quorums } from './config.ts';

const write = (path: string, data: string) => ({ kind: 'write', path, data: text(data) }) as const;
const EMPTY = new Uint8Array(0);

/** What a replica's own key can sign: its CHECKPOINTs, VIEW-CHANGEs and NEW-VIEWs. */
function signer(c: TestCluster) {
  const sign = <T extends Checkpoint | ViewChange | NewView>(r: ReplicaId, unsigned: T): T => ({
    ...unsigned,
    sig: c.crypto.replica(r).sign(signingBytes(unsigned)),
  });
  return {
    checkpoint: (r: ReplicaId, seq: number, stateDigest: string): Checkpoint =>
      sign(r, { type: 'checkpoint', seq, stateDigest, replica: r, sig: EMPTY }),
    viewChange: (
      r: ReplicaId,
      newView: number,
      claims: {
        stableSeq?: number;
        proof?: readonly Checkpoint[];
        prepared?: LogClaim[];
        prePrepared?: LogClaim[];
      } = {},
    ): ViewChange =>
      sign(r, {
        type: 'view-change',
        newView,
        stableSeq: claims.stableSeq ?? 0,
        checkpointProof: claims.proof ?? [],
        prepared: claims.prepared ?? [],
        prePrepared: claims.prePrepared ?? [],
        replica: r,
        sig: EMPTY,
      }),
    newView: (primary: ReplicaId, view: number, viewChanges: ViewChange[]): NewView => {
      const nullDigest = c.crypto.hasher.digest(batchBytes([]));
      const plan = planNewView(viewChanges, quorums(c.config.n), nullDigest);
      if (!plan.decided) throw new Error('the test built view changes that decide nothing');
      const order: NewViewOrder[] = [...plan.order];
      return sign(primary, { type: 'new-view', view, viewChanges, order, replica: primary, sig: EMPTY });
    },
  };
}

const nullPrePrepare = (c: TestCluster, view: number, seq: number, primary: ReplicaId): PrePrepare => ({
  type: 'pre-prepare',
  view,
  seq,
  digest: c.crypto.hasher.digest(batchBytes([])),
  requests: [],
  replica: primary,
});

describe('issue 12 defect 1: NEW-VIEW min-s closes the log below it (TOCS §4.4–4.5)', () => {
  /**
   * Replica 1, faulty primary of view 1, holds a 2f+1 proof of a checkpoint at n=4 (0, 1 and 2 signed
   * it; it withheld its own CHECKPOINT, so nobody else has the proof). It sends NEW-VIEW(1) — with its
   * own VIEW-CHANGE carrying that proof, so min-s = 4 — to the lagging replica 3 only, then pre-prepares
   * the null batch at n=2, which committed long ago.
   */
  function laggingReplicaInstallsNewView(): { c: TestCluster; sign: ReturnType<typeof signer> } {
    const c = new TestCluster(4, {
      checkpointInterval: 4,
      logWindow: 8,
      viewChangeTimeoutTicks: 1000,
      retransmitTicks: 1000,
    });
    const sign = signer(c);
    const digest = 'c'.repeat(64);
    const proof = [0, 1, 2].map((r) => sign.checkpoint(r, 4, digest));
    const vcs = [sign.viewChange(1, 1, { stableSeq: 4, proof }), sign.viewChange(0, 1), sign.viewChange(2, 1)];
    c.deliver({ from: 1, to: 3, message: sign.newView(1, 1, vcs) });
    return { c, sign };
  }

  it('a replica that installs NEW-VIEW(v) with min-s above its stable checkpoint accepts no pre-prepare at n ≤ min-s in v', () => {
    const { c } = laggingReplicaInstallsNewView();
    expect(c.replica(3).view).toBe(1);
    expect(c.replica(3).status).toBe('normal');
    c.deliver({ from: 1, to: 3, message: nullPrePrepare(c, 1, 2, 1) });
    expect(c.ignoredReasons(3).some((r) => r.includes('≤ min-s=4'))).toBe(true);
    expect(c.eventsOf('pre-prepared', 3)).toEqual([]);
    // Its next VIEW-CHANGE claims nothing at n=2 in view 1.
    expect(c.queue.filter((e) => e.from === 3 && e.message.type === 'prepare')).toEqual([]);
  });

  it('an O entry above H when the view is installed is bound once the watermarks reach it', () => {
    // n=4, K=2, L=4. Replicas 0, 1 and 2 execute n=1..2 and make the checkpoint at 2 stable; replica 3
    // hears nothing (h=0, H=4).
    const c = new TestCluster(4, {
      checkpointInterval: 2,
      logWindow: 4,
      batchSizeMax: 1,
      viewChangeTimeoutTicks: 1000,
      retransmitTicks: 1000,
    });
    const sign = signer(c);
    for (let i = 0; i < 2; i++) {
      c.submit('alice', write(`/a${i}`, 'x'));
      c.deliverAll((e) => e.to !== 3 && e.from !== 3);
    }
    c.queue = [];
    expect([0, 1, 2].map((r) => c.replica(r).lowWatermark)).toEqual([2, 2, 2]);
    const proof = [...c.replica(0).stableCheckpoint.proof];
    // Faulty replica 1, primary of view 1, sends replica 3 a NEW-VIEW whose O orders batch d at n=5
    // (above replica 3's H = 4): replica 3 must fetch the state at min-s = 2 first.
    const d = 'd'.repeat(64);
    const claim = [{ seq: 5, digest: d, view: 0 }];
    const vcs = [0, 1, 2].map((r) =>
      sign.viewChange(r, 1, { stableSeq: 2, proof, prepared: claim, prePrepared: claim }),
    );
    const nv = sign.newView(1, 1, vcs);
    expect(nv.order.map((o) => o.seq)).toEqual([3, 4, 5]);
    c.deliver({ from: 1, to: 3, message: nv });
    expect(c.replica(3).view).toBe(1);
    c.deliverAll((e) => e.message.type === 'fetch-state' || e.message.type === 'state-chunk');
    expect(c.replica(3).lowWatermark).toBe(2);
    // Now n=5 is inside replica 3's window: the faulty primary pre-prepares the null batch there.
    c.deliver({ from: 1, to: 3, message: nullPrePrepare(c, 1, 5, 1) });
    expect(
      c
        .eventsOf('pre-prepared', 3)
        .filter((e) => e.seq === 5)
        .map((e) => e.digest),
    ).toEqual([d]);
  });

  it('after a restart, the NEW-VIEW still binds: a pre-prepare for another digest than O orders is refused', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 1000, retransmitTicks: 1000 });
    const sign = signer(c);
    const d = 'f'.repeat(64);
    const claim = [{ seq: 1, digest: d, view: 0 }];
    const vcs = [0, 1, 2].map((r) => sign.viewChange(r, 1, { prepared: claim, prePrepared: claim }));
    c.deliver({ from: 1, to: 3, message: sign.newView(1, 1, vcs) });
    // Replica 3 lacks batch d (it fetches it); it restarts before the batch arrives.
    expect(c.replica(3).logRows()[0]).toMatchObject({ seq: 1, digest: d });
    c.crash(3);
    c.restart(3);
    c.deliver({ from: 1, to: 3, message: nullPrePrepare(c, 1, 1, 1) });
    expect(c.ignoredReasons(3).some((r) => r.includes(`orders d=${d.slice(0, 6)} at n=1`))).toBe(true);
    expect(c.replica(3).logRows()[0]).toMatchObject({ seq: 1, digest: d });
  });
});

describe('issue 12 defect 2: read-only results are never stale (§5.1, TOCS §5.1.3)', () => {
  it('a read after a write completed on f+1 committed replies sees the write, although f+1 correct replicas lag', () => {
    // Replica 3 is faulty. The write prepares at 1 and 2, commits and executes at 0 only; replica 3
    // sends a committed reply with the right result too, so the client accepts it on f+1 = 2.
    const c = new TestCluster(4, { tentativeExecution: false, viewChangeTimeoutTicks: 1000, retransmitTicks: 1000 });
    c.submit('alice', write('/a', 'new'));
    c.deliverAll((e) => e.message.type === 'request' && e.to === 0);
    c.drop((e) => e.to === 3);
    c.deliverAll((e) => e.message.type === 'pre-prepare' || e.message.type === 'prepare');
    c.deliverAll((e) => e.message.type === 'commit' && e.to === 0);
    c.drop(isType('commit'));
    expect(c.replica(0).lastExecuted).toBe(1);
    expect([1, 2].map((r) => c.replica(r).lastExecuted)).toEqual([0, 0]);
    const reply0 = c.queue.find((e) => e.from === 0 && e.message.type === 'reply')!;
    c.deliver(reply0);
    c.deliver({ from: 3, to: 'alice', message: { ...reply0.message, replica: 3 } as Envelope['message'] });
    expect(c.lastResult('alice')?.result.kind).toBe('written');
    // Bob reads /a read-only: replica 3 answers from its old state; 1 and 2 have not executed the write.
    const bob = c.client('bob');
    const t = bob.submit(encodeOp({ kind: 'read', path: '/a' }), true);
    for (const out of bob.takeOutputs())
      if (out.kind === 'broadcast') for (let r = 0; r < 4; r++) c.deliver({ from: 'bob', to: r, message: out.request });
    const stale = encodeResult({ kind: 'error', code: 'NOT_FOUND', message: 'no such file: /a' });
    const old = new FileStore(c.crypto.hasher).execute(encodeOp({ kind: 'read', path: '/a' }), {
      client: 'bob',
      timestamp: t,
      seq: 0,
    });
    expect(old).toEqual(stale);
    c.deliver({
      from: 3,
      to: 'bob',
      message: {
        type: 'reply',
        view: 0,
        timestamp: t,
        client: 'bob',
        replica: 3,
        tentative: true,
        readOnly: true,
        result: old,
      },
    });
    c.deliverAll((e) => e.to === 'bob');
    // Replicas 1 and 2 prepared the write: they answer only once they executed it, so no 2f+1 stale answers.
    const read = c.lastResult('bob');
    expect(read === undefined || read.result.kind === 'data').toBe(true);
  });
});

describe('issue 12 defect 3: a Byzantine primary cannot censor one client for ever (§4.4, §4.5)', () => {
  it('a primary that keeps f+1 backups just ahead of the one whose timer expires next is replaced, and the victim is served', () => {
    const c = new TestCluster(4, {
      viewChangeTimeoutTicks: 30,
      retransmitTicks: 2,
      batchSizeMax: 1,
      checkpointInterval: 4096,
      logWindow: 8192,
    });
    c.submit('victim', write('/v', 'x'));
    // Replica 0, the primary, never takes the victim's request. The victim's retransmission reaches the
    // backups ten ticks apart (so their timers expire ten ticks apart), and the primary withholds its
    // pre-prepares and COMMITs from whichever backup's timer is about to expire, while a steady stream
    // of another client's writes keeps the other two backups ahead of it.
    const fromVictim = (e: Envelope) =>
      e.from === 'victim' || (e.message.type === 'request' && e.message.client === 'victim');
    const held: Envelope[] = [];
    let busy = 0;
    let ticks = 0;
    for (; ticks < 4000 && !c.lastResult('victim'); ticks++) {
      if (!c.clients.get('busy')?.busy) c.submit('busy', write(`/b${busy++ % 4}`, String(ticks)));
      held.push(...c.drop((e) => fromVictim(e) && e.to !== 0 && c.replica(e.to as number).view === 0));
      c.drop((e) => fromVictim(e) && e.to === 0);
      for (const r of [1, 2, 3]) {
        const due = held.findIndex((e) => e.to === r);
        if (due >= 0 && ticks % 30 === r * 10 - 10) c.deliver(held.splice(due, 1)[0]!);
      }
      const view = c.replica(1).view;
      const timers = [1, 2, 3].map((r) => ({ r, left: c.replica(r).timerTicksLeft ?? Infinity }));
      const soonest = timers.sort((a, b) => a.left - b.left)[0]!;
      // Only in the last ticks before that backup's timer fires: the previous one must catch up first.
      const next = view === 0 && soonest.left <= 6 ? soonest.r : -1;
      const withheld = (e: Envelope) =>
        e.from === 0 && e.to === next && (e.message.type === 'pre-prepare' || e.message.type === 'commit');
      c.tick(1, (e) => !withheld(e) && !(fromVictim(e) && c.replica(1).view === 0));
      c.drop(withheld);
    }
    expect(c.lastResult('victim')?.result.kind).toBe('written');
    expect(c.replica(1).view).toBeGreaterThanOrEqual(1);
  });
});

describe('issue 12 defect 4: a NEW-VIEW relayed by any replica is accepted (its signature is the primary’s)', () => {
  it('replica 3 missed NEW-VIEW(1) from the new primary; replica 2 relays it, and replica 3 enters view 1', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 1000 });
    c.submit('alice', write('/a', 'x'));
    c.crash(0);
    c.tickUntil(
      () => c.queue.some((e) => e.message.type === 'new-view'),
      200,
      (e) => e.message.type !== 'new-view',
    );
    const nv = c.queue.find((e) => e.message.type === 'new-view')!.message;
    c.drop((e) => e.message.type === 'new-view' && e.to === 3);
    c.deliverAll((e) => e.message.type === 'new-view');
    expect(c.replica(3).status).toBe('view-change');
    c.deliver({ from: 2, to: 3, message: nv });
    expect(c.replica(3).view).toBe(1);
    expect(c.replica(3).status).toBe('normal');
  });
});

describe('issue 18 defect 2: a state-transfer source cannot freeze the replica that fetches from it', () => {
  it('a chunk that claims 10^8 chunks is refused at once, and so is a source that sends more than any state holds', () => {
    const c = new TestCluster(4, {
      checkpointInterval: 2,
      logWindow: 4,
      stateChunkBytes: 64,
      viewChangeTimeoutTicks: 1000,
    });
    const sign = signer(c);
    const digest = 'a'.repeat(64);
    const proof = [0, 1, 2].map((r) => sign.checkpoint(r, 2, digest));
    // Replica 3 learns of a stable checkpoint at 8 (above its H): it fetches it from replica 0.
    const proof8 = [0, 1, 2].map((r) => sign.checkpoint(r, 8, digest));
    for (const cp of proof8) c.deliver({ from: cp.replica, to: 3, message: cp });
    expect(c.eventsOf('state-transfer-started', 3).length).toBe(1);
    const chunk = (count: number, index: number, data = new Uint8Array(64)): StateChunk => ({
      type: 'state-chunk',
      seq: 8,
      stateDigest: digest,
      proof: proof8,
      chunk: index,
      chunkCount: count,
      data,
      replica: 0,
    });
    const started = performance.now();
    c.deliver({ from: 0, to: 3, message: chunk(100_000_000, 0) });
    c.deliver({ from: 0, to: 3, message: chunk(100_000_000, 99_999_999) });
    expect(performance.now() - started).toBeLessThan(50);
    expect(c.ignoredReasons(3).filter((r) => r.includes('more than the largest state')).length).toBe(2);
    void proof;
  });
});

describe('issue 18 defect 3: FETCH-STATE is answered only to a peer that needs it, once per interval', () => {
  it('200 four-byte FETCH-STATEs from one peer get one window of chunks, and FETCH-STATE for n=0 none', () => {
    const c = new TestCluster(4, { checkpointInterval: 2, logWindow: 4, stateChunkBytes: 64, retransmitTicks: 20 });
    for (let i = 0; i < 4; i++) {
      c.submit('alice', write(`/f${i}`, 'x'.repeat(200)));
      c.deliverAll();
    }
    expect(c.replica(0).lowWatermark).toBeGreaterThan(0);
    c.queue = [];
    const h = c.replica(0).lowWatermark;
    for (let i = 0; i < 200; i++)
      c.deliver({ from: 3, to: 0, message: { type: 'fetch-state', seq: h, chunk: 0, replica: 3 } });
    c.deliver({ from: 2, to: 0, message: { type: 'fetch-state', seq: 0, chunk: 0, replica: 2 } });
    const chunks = c.queue.filter((e) => e.message.type === 'state-chunk');
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.length).toBeLessThanOrEqual(16);
    expect(chunks.every((e) => e.to === 3)).toBe(true);
  });
});

describe('issue 18 defect 4: one forged reply does not pin a client to a faulty replica', () => {
  it('a reply naming view 3 (whose primary is the faulty replica 3) does not move the client; accepted replies do', () => {
    const c = new TestCluster(4);
    const client = new Client('alice', { n: 4, retransmitTicks: 50 }, c.crypto.client('alice'));
    const t = client.submit(encodeOp({ kind: 'read', path: '/a' }));
    client.takeOutputs();
    const result = encodeResult({ kind: 'error', code: 'NOT_FOUND', message: 'x' });
    const reply = (replica: number, view: number) => ({
      type: 'reply' as const,
      view,
      timestamp: t,
      client: 'alice',
      replica,
      tentative: false,
      readOnly: false,
      result,
    });
    client.onReply(3, reply(3, 3));
    expect(client.knownView).toBe(0);
    client.onReply(1, reply(1, 0));
    expect(client.takeOutputs().some((o) => o.kind === 'result')).toBe(true);
    expect(client.knownView).toBe(0);
    client.submit(encodeOp({ kind: 'read', path: '/a' }));
    expect(client.takeOutputs()).toMatchObject([{ kind: 'send', to: 0 }]);
  });
});
