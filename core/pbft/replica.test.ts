/**
 * Scenario tests of the replica, each citing the section of Castro & Liskov (OSDI'99) it checks.
 * The TestCluster holds every message until the test delivers it, so each test stages the exact
 * interleaving the paper describes.
 */
import { describe, expect, it } from 'vitest';
import { fromReplica, isType, not, TestCluster, text, toReplica, type Envelope } from '../testing/cluster.ts';
import { batchBytes, encodeMessage, decodeMessage, signingBytes } from './codec.ts';
import type { NewView, PrePrepare, Request } from './messages.ts';

const write = (path: string, data: string) => ({ kind: 'write', path, data: text(data) }) as const;
const read = (path: string) => ({ kind: 'read', path }) as const;

describe('§4.2 normal case', () => {
  it('orders a request through pre-prepare, prepare and commit, and the client accepts f+1 matching replies (n=4)', () => {
    const c = new TestCluster(4);
    c.submit('alice', write('/hello', 'world'));
    expect(c.queue.map((e) => [e.to, e.message.type])).toEqual([[0, 'request']]);
    c.deliverAll();
    for (let r = 0; r < 4; r++) {
      expect(c.eventsOf('executed', r).map((e) => e.seq)).toEqual([1]);
      expect(c.replica(r).lastExecuted).toBe(1);
    }
    const result = c.lastResult('alice')!;
    expect(result.result.kind).toBe('written');
    expect(result.matching).toBeGreaterThanOrEqual(2);
  });

  it('works for n=7 (f=2): the client needs f+1 = 3 matching replies', () => {
    const c = new TestCluster(7);
    c.submit('alice', write('/a', 'x'));
    c.deliverAll();
    c.submit('alice', read('/a'));
    c.deliverAll();
    const result = c.lastResult('alice')!;
    expect(result.result.kind).toBe('data');
    expect(result.matching).toBeGreaterThanOrEqual(3);
    expect(c.replicas.every((r) => r!.lastExecuted === 2)).toBe(true);
  });

  it('prepared needs the pre-prepare and 2f matching prepares from distinct backups (the primary sends none)', () => {
    const c = new TestCluster(4);
    c.submit('alice', write('/a', 'x'));
    c.deliverAll(isType('request', 'pre-prepare'));
    // Replica 1 has the pre-prepare and its own prepare: 1 of the 2f = 2 prepares it needs.
    expect(c.replica(1).logRows()[0]).toMatchObject({ seq: 1, phase: 'pre-prepared', prepares: 1 });
    expect(c.queue.filter(isType('prepare')).every((e) => e.from !== 0)).toBe(true);
    c.deliverAll((e) => e.message.type === 'prepare' && e.from === 2 && e.to === 1);
    expect(c.replica(1).logRows()[0]).toMatchObject({ phase: 'prepared', prepares: 2 });
  });

  it('committed-local needs 2f+1 matching commits; execution then follows at once', () => {
    const c = new TestCluster(4);
    c.submit('alice', write('/a', 'x'));
    c.deliverAll(not(isType('commit')));
    c.deliverAll((e) => e.message.type === 'commit' && e.to === 1 && e.from === 2);
    expect(c.replica(1).logRows()[0]).toMatchObject({ phase: 'prepared', commits: 2 });
    c.deliverAll((e) => e.message.type === 'commit' && e.to === 1 && e.from === 3);
    expect(c.eventsOf('committed-local', 1)).toHaveLength(1);
    expect(c.replica(1).lastExecuted).toBe(1);
  });

  it('executes strictly in sequence order: n=2 committed before n=1 waits for it', () => {
    const c = new TestCluster(4, { batchSizeMax: 1 });
    c.submit('alice', write('/a', '1'));
    c.submit('bob', write('/b', '2'));
    c.deliverAll(isType('request'));
    const [pp1, pp2] = c.queue.filter((e) => e.message.type === 'pre-prepare' && e.to === 1);
    expect([pp1, pp2].map((e) => (e!.message as PrePrepare).seq)).toEqual([1, 2]);
    // Everything about n=2 first.
    const aboutSeq = (seq: number) => (e: { message: { type: string } }) =>
      'seq' in e.message && (e.message as { seq: number }).seq === seq;
    c.deliverAll(aboutSeq(2));
    expect(c.eventsOf('committed-local', 1).map((e) => e.seq)).toEqual([2]);
    expect(c.replica(1).lastExecuted).toBe(0);
    c.deliverAll();
    expect(c.eventsOf('executed', 1).map((e) => e.seq)).toEqual([1, 2]);
  });

  it('a backup ignores a pre-prepare that is not from the primary, or that conflicts with one it accepted', () => {
    const c = new TestCluster(4);
    c.submit('alice', write('/a', 'x'));
    c.deliverAll(isType('request'));
    const original = c.queue.find((e) => e.message.type === 'pre-prepare' && e.to === 1)!.message as PrePrepare;
    c.deliverAll((e) => e.message.type === 'pre-prepare' && e.to === 1);
    // Replica 2 forwards the pre-prepare as if it were the primary.
    c.deliver({ from: 2, to: 1, message: original });
    // The primary sends a second pre-prepare for the same (v, n) with another batch.
    const other = { ...original, requests: [], digest: c.crypto.hasher.digest(new Uint8Array([0])) };
    c.deliver({ from: 0, to: 1, message: other });
    const reasons = c.ignoredReasons(1);
    expect(reasons.some((r) => r.includes('not from the primary'))).toBe(true);
    expect(reasons.some((r) => r.includes('conflicts with accepted'))).toBe(true);
  });

  it('a pre-prepare whose digest is not its batch, or with a forged request authenticator, is ignored', () => {
    const c = new TestCluster(4);
    c.submit('alice', write('/a', 'x'));
    c.deliverAll(isType('request'));
    const pp = c.queue.find((e) => e.message.type === 'pre-prepare' && e.to === 1)!.message as PrePrepare;
    c.deliver({ from: 0, to: 1, message: { ...pp, digest: c.crypto.hasher.digest(new Uint8Array(0)) } });
    // The primary cannot invent requests: each backup checks its own entry of the authenticator (§5.2).
    const forgedRequest = { ...pp.requests[0]!, auth: pp.requests[0]!.auth.map(() => new Uint8Array(32)) };
    const forged = { ...pp, requests: [forgedRequest], digest: c.crypto.hasher.digest(batchBytes([forgedRequest])) };
    c.deliver({ from: 0, to: 1, message: forged });
    const reasons = c.ignoredReasons(1);
    expect(reasons.some((r) => r.includes('digest does not match its batch'))).toBe(true);
    expect(reasons.some((r) => r.includes('not authentic'))).toBe(true);
    expect(c.replica(1).logRows()).toEqual([]);
  });

  it('needs no signature on the normal path: pre-prepare and prepare ride on the authenticated channel', () => {
    const c = new TestCluster(4);
    c.submit('alice', write('/a', 'x'));
    const sent = new Set<string>();
    c.deliverAll((e) => {
      sent.add(e.message.type);
      return !('sig' in e.message);
    });
    expect(c.lastResult('alice')?.result.kind).toBe('written');
    expect([...sent].sort()).toEqual(['commit', 'pre-prepare', 'prepare', 'reply', 'request']);
  });
});

describe('§4.1 exactly-once', () => {
  it('answers a retransmitted request from the reply cache and drops an older timestamp', () => {
    const c = new TestCluster(4);
    c.submit('alice', write('/a', 'x'));
    c.deliverAll();
    const first = c.client('alice');
    expect(first.busy).toBe(false);
    // Replay the executed request to replica 1 directly (as a client retransmission would).
    const request = c.events.find((e) => e.event.type === 'executed')!;
    expect(request).toBeDefined();
    const executedBefore = c.eventsOf('executed', 1).length;
    const original = c.queue.length;
    expect(original).toBe(0);
    c.submit('alice', write('/b', 'y'));
    const req = c.queue[0]!.message;
    c.deliverAll();
    // Same request again, to every replica: nothing executes twice; each replica re-sends its cached reply.
    for (let r = 0; r < 4; r++) c.replica(r).step('alice', req);
    const replies = c.replicas.flatMap((r) => r!.takeOutputs()).filter((o) => o.kind === 'reply');
    expect(replies).toHaveLength(4);
    expect(c.eventsOf('executed', 1).length).toBe(executedBefore + 1);
    // A request with an older timestamp gets nothing at all.
    const stale = { ...(req as Request), timestamp: 1 };
    c.replica(0).step('alice', {
      ...stale,
      auth: c.crypto.client('alice').authenticator(signingBytes({ ...stale, auth: [] })),
    });
    expect(
      c
        .replica(0)
        .takeOutputs()
        .filter((o) => o.kind === 'reply'),
    ).toHaveLength(0);
  });

  it('refuses a request whose sender is not the client it names', () => {
    const c = new TestCluster(4);
    c.submit('alice', write('/a', 'x'));
    const req = c.queue[0]!.message;
    c.deliver({ from: 'mallory', to: 0, message: req });
    expect(c.ignoredReasons(0).some((r) => r.includes('request names client alice'))).toBe(true);
  });
});

describe('§5.1 batching', () => {
  it('puts requests that arrive while the window is full into one batch', () => {
    const c = new TestCluster(4, { batchesInFlightMax: 1, batchSizeMax: 64 });
    const clients = ['a', 'b', 'c', 'd', 'e'];
    c.submit('a', write('/a', '0'));
    c.deliverAll(isType('request'));
    for (const id of clients.slice(1)) c.submit(id, write(`/${id}`, id));
    c.deliverAll();
    const batches = c.eventsOf('executed', 2).map((e) => e.requests.length);
    expect(batches).toEqual([1, 4]);
    for (const id of clients) expect(c.lastResult(id)?.result.kind).toBe('written');
  });
});

describe('§4.3 checkpoints, garbage collection and watermarks', () => {
  it('takes a checkpoint every K, makes it stable with 2f+1 matching CHECKPOINTs, collects the log and moves h and H', () => {
    const K = 4;
    const c = new TestCluster(4, { checkpointInterval: K, logWindow: 2 * K, batchSizeMax: 1 });
    for (let i = 0; i < K + 1; i++) {
      c.submit('alice', write('/f', String(i)));
      c.deliverAll();
    }
    for (let r = 0; r < 4; r++) {
      const replica = c.replica(r);
      expect(replica.lowWatermark).toBe(K);
      expect(replica.highWatermark).toBe(3 * K);
      expect(replica.logRows().map((row) => row.seq)).toEqual([K + 1]);
      expect(replica.stableCheckpoint.proof.length).toBeGreaterThanOrEqual(3);
    }
    const digests = new Set(c.eventsOf('checkpoint').map((e) => e.stateDigest));
    expect(digests.size).toBe(1);
  });

  it('is not stable with only 2f CHECKPOINTs', () => {
    const c = new TestCluster(4, { checkpointInterval: 2, logWindow: 4, batchSizeMax: 1 });
    for (let i = 0; i < 2; i++) {
      c.submit('alice', write('/f', String(i)));
      c.deliverAll(not(isType('checkpoint')));
    }
    c.deliverAll((e) => e.message.type === 'checkpoint' && e.to === 1 && e.from === 2);
    expect(c.replica(1).lowWatermark).toBe(0);
    c.deliverAll((e) => e.message.type === 'checkpoint' && e.to === 1 && e.from === 3);
    expect(c.replica(1).lowWatermark).toBe(2);
  });

  it('ignores a pre-prepare above the high watermark H = h + L', () => {
    const c = new TestCluster(4, { checkpointInterval: 2, logWindow: 4 });
    c.submit('alice', write('/a', 'x'));
    c.deliverAll(isType('request'));
    const pp = c.queue.find((e) => e.message.type === 'pre-prepare' && e.to === 1)!.message as PrePrepare;
    c.deliver({ from: 0, to: 1, message: { ...pp, seq: 5 } });
    expect(c.ignoredReasons(1).some((r) => r.includes('n=5 outside (0, 4]'))).toBe(true);
  });

  it('the primary stops assigning sequence numbers at H until a checkpoint becomes stable', () => {
    const c = new TestCluster(4, { checkpointInterval: 2, logWindow: 2, batchSizeMax: 1, batchesInFlightMax: 8 });
    for (const id of ['a', 'b', 'c', 'd']) c.submit(id, write(`/${id}`, id));
    c.deliverAll(isType('request'));
    const seqs = c.queue
      .filter((e) => e.message.type === 'pre-prepare' && e.to === 1)
      .map((e) => (e.message as PrePrepare).seq);
    expect(seqs).toEqual([1, 2]);
    c.deliverAll();
    expect(c.replica(0).lastExecuted).toBe(4);
  });
});

/** n=1 prepared at replicas 0, 1 and 2 (replica 3 never got the pre-prepare), and no COMMIT got through. */
function preparedWithoutReplicaThree(): TestCluster {
  const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 1000 });
  c.submit('alice', write('/a', 'x'));
  c.deliverAll(isType('request'));
  c.drop((e) => e.message.type === 'pre-prepare' && e.to === 3);
  c.deliverAll(not(isType('commit')));
  c.drop(isType('commit'));
  return c;
}

describe('§4.4 view changes', () => {
  it('a silent primary is replaced: backups time out, the new primary sends NEW-VIEW, the request executes in view 1', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 100 });
    c.submit('alice', write('/a', 'x'));
    c.crash(0);
    c.tick(60);
    for (let r = 1; r < 4; r++) {
      expect(c.replica(r).view).toBe(1);
      expect(c.replica(r).status).toBe('normal');
      expect(c.replica(r).lastExecuted).toBe(1);
    }
    expect(c.eventsOf('new-view').length).toBeGreaterThanOrEqual(3);
    expect(c.lastResult('alice')?.result.kind).toBe('written');
  });

  it('a backup rejects a NEW-VIEW whose O differs from what it computes itself', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 100 });
    c.submit('alice', write('/a', 'x'));
    c.deliverAll(not(isType('commit')));
    c.drop(isType('commit'));
    c.crash(0);
    // Let view changes flow until the new primary sends NEW-VIEW; hold that back.
    c.tickUntil(() => c.queue.some((e) => e.message.type === 'new-view'), 200, not(isType('new-view')));
    const nvEnvelope = c.queue.find((e) => e.message.type === 'new-view' && e.to === 2)!;
    const nv = nvEnvelope.message as NewView;
    const crypto1 = c.crypto.replica(1);
    const tampered = { ...nv, order: [] };
    c.deliver({ from: 1, to: 2, message: { ...tampered, sig: crypto1.sign(signingBytes(tampered)) } });
    expect(c.ignoredReasons(2).some((r) => r.includes('O has 0 entries, expected 1'))).toBe(true);
    expect(c.replica(2).status).toBe('view-change');
    c.deliver({ from: 1, to: 2, message: nv });
    expect(c.replica(2).view).toBe(1);
    expect(c.replica(2).status).toBe('normal');
  });

  it('a request prepared in the old view keeps its sequence number in the new one (P → O)', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 1000 });
    c.submit('alice', write('/a', 'x'));
    // Everyone prepares n=1 but no commit gets through; then the primary goes silent.
    c.deliverAll(not(isType('commit')));
    c.drop(isType('commit'));
    c.crash(0);
    c.tick(60);
    const executed = c.eventsOf('executed', 1);
    expect(executed.map((e) => [e.seq, e.view])).toEqual([[1, 1]]);
    expect(c.lastResult('alice')?.result.kind).toBe('written');
  });

  it('a replica that never got a batch the NEW-VIEW orders fetches it by digest (FETCH-BATCH) and executes it', () => {
    // Replica 3 never receives the pre-prepare; 0, 1 and 2 prepare n=1, no commit gets through.
    const c = preparedWithoutReplicaThree();
    c.crash(0);
    const seen = new Set<string>();
    c.tick(80, (e) => {
      if (e.message.type === 'fetch-batch' || e.message.type === 'batch')
        seen.add(`${e.message.type} ${String(e.from)}→${String(e.to)}`);
      return true;
    });
    // O orders n=1 by digest; replica 3 asks one that claimed it in Q, and checks the batch against d.
    expect([...seen].some((s) => /^fetch-batch 3→[12]$/.test(s))).toBe(true);
    expect([...seen].some((s) => /^batch [12]→3$/.test(s))).toBe(true);
    expect(c.eventsOf('executed', 3).map((e) => [e.seq, e.view])).toEqual([[1, 1]]);
    expect(c.replica(3).currentStateDigest()).toBe(c.replica(1).currentStateDigest());
  });

  it('a replica restarted with its disk still vouches for what it prepared, so the batch survives the view change', () => {
    // Only replicas 1 and 2 prepared n=1; then 2 restarts and the primary fails. 2's claim, read back
    // from its disk, is what gives A2 its f+1 = 2 pre-prepares: O orders the batch in view 1.
    const c = preparedWithoutReplicaThree();
    c.crash(2);
    c.restart(2);
    c.crash(0);
    c.tick(80);
    for (const r of [1, 2, 3]) expect(c.eventsOf('executed', r).map((e) => [e.seq, e.view])).toEqual([[1, 1]]);
  });

  it('a replica restarted without its disk has forgotten: the new primary waits for enough VIEW-CHANGEs', () => {
    const c = preparedWithoutReplicaThree();
    c.crash(2);
    c.restart(2, true);
    c.crash(0);
    c.tick(80);
    // V = {1, 2, 3} cannot tell whether n=1 committed (only 1 claims it): no NEW-VIEW yet (safe, not live).
    expect(c.eventsOf('new-view').length).toBe(0);
    // The old primary comes back with its disk and claims n=1 too: now O orders it.
    c.restart(0);
    c.tick(200);
    for (const r of [0, 1, 2, 3]) expect(c.eventsOf('executed', r).map((e) => e.seq)).toEqual([1]);
  });

  it('a replica cut off from the others does not climb views alone; their NEW-VIEW brings it back when the link returns', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 2 });
    c.submit('alice', write('/a', 'x'));
    c.tick(5);
    for (let r = 0; r < 4; r++) expect(c.replica(r).lastExecuted).toBe(1);
    // The primary's link goes as the next request arrives: it gets the request, and then nothing but the
    // others' VIEW-CHANGEs for view 1 (in flight as the cut began); nothing it sends gets out.
    const cut = (e: Envelope) => e.from === 0 || e.to === 0;
    const lateViewChange = (e: Envelope) => e.to === 0 && e.message.type === 'view-change' && e.message.newView === 1;
    c.submit('alice', write('/b', 'y'));
    c.deliverAll((e) => e.to === 0 && e.message.type === 'request');
    for (let i = 0; i < 300; i++) {
      c.tick(1, (e) => !cut(e) || lateViewChange(e));
      c.drop(cut);
    }
    for (let r = 1; r < 4; r++) {
      expect(c.replica(r).view).toBe(1);
      expect(c.replica(r).status).toBe('normal');
      expect(c.replica(r).lastExecuted).toBe(2);
    }
    // It joined view 1 on f+1 VIEW-CHANGEs, never got its NEW-VIEW, and waited there instead of moving on alone.
    expect(c.replica(0).view).toBe(1);
    expect(c.replica(0).status).toBe('view-change');
    // The link returns: its STATUS reaches the others, who relay the NEW-VIEW of view 1.
    c.tick(50);
    expect(c.replica(0).view).toBe(1);
    expect(c.replica(0).status).toBe('normal');
    expect(c.replica(0).lastExecuted).toBe(2);
  });

  it('f+1 VIEW-CHANGEs for a higher view make a replica join without its own timer (§4.5)', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 1000 });
    c.submit('alice', write('/a', 'x'));
    // Only replicas 1 and 2 hold the request (it reached them directly) and time out.
    c.drop(() => true);
    const req = c.client('alice');
    expect(req.busy).toBe(true);
    const toOneAndTwo = (e: { message: { type: string }; to: unknown }) =>
      e.message.type === 'request' && (e.to === 1 || e.to === 2);
    c.tick(80, (e) => toOneAndTwo(e) || (e.message.type === 'view-change' && e.to === 3));
    // Replica 3 had nothing pending, yet joined after f+1 = 2 view changes.
    expect(c.eventsOf('view-change-started', 3).length).toBeGreaterThanOrEqual(1);
  });

  it('if the new primary fails during the view change, the replicas move on to the next view (timeout doubles)', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 1000 });
    c.submit('alice', write('/a', 'x'));
    c.crash(0);
    // The view change to view 1 gets under way; its primary (1) fails before its NEW-VIEW gets out.
    c.tickUntil(() => c.queue.some((e) => e.message.type === 'new-view'), 200, not(isType('new-view')));
    c.drop(isType('new-view'));
    expect(c.replica(2).status).toBe('view-change');
    expect(c.replica(2).view).toBe(1);
    c.crash(1);
    // At most f = 1 faulty at a time: replica 0 comes back (with its disk) and joins the view change.
    c.restart(0);
    c.tick(300);
    for (const r of [0, 2, 3]) expect(c.replica(r).view).toBe(2);
    const started = c.eventsOf('view-change-started', 2);
    expect(started.map((e) => e.newView).slice(0, 2)).toEqual([1, 2]);
    expect(started[1]!.timeoutTicks).toBe(2 * started[0]!.timeoutTicks);
    expect(c.lastResult('alice')?.result.kind).toBe('written');
  });
});

describe('state transfer (TOCS §5.3)', () => {
  it('a replica cut off past two checkpoints fetches the stable checkpoint, verifies it and catches up', () => {
    const K = 2;
    const c = new TestCluster(4, {
      checkpointInterval: K,
      logWindow: 2 * K,
      batchSizeMax: 1,
      retransmitTicks: 2,
      stateTransferDelayTicks: 2,
      stateChunkBytes: 64,
    });
    const cut = (e: { from: unknown; to: unknown }) => e.from === 3 || e.to === 3;
    for (let i = 0; i < 3 * K; i++) {
      c.submit('alice', write(`/f${i}`, 'data '.repeat(20)));
      c.deliverAll(not(cut));
      c.drop(cut);
    }
    expect(c.replica(3).lastExecuted).toBe(0);
    expect(c.replica(0).lowWatermark).toBe(3 * K);
    c.tick(20);
    expect(c.eventsOf('state-transfer-completed', 3).map((e) => e.seq)).toEqual([3 * K]);
    expect(c.replica(3).lastExecuted).toBe(3 * K);
    expect(c.replica(3).currentStateDigest()).toBe(c.replica(0).currentStateDigest());
    // Several chunks moved (the snapshot is larger than 64 bytes).
    expect(c.eventsOf('ignored', 3).filter((e) => e.message.type === 'state-chunk')).toHaveLength(0);
  });

  it('a replica restarted with a wiped disk recovers by state transfer', () => {
    const K = 2;
    const c = new TestCluster(4, {
      checkpointInterval: K,
      logWindow: 2 * K,
      batchSizeMax: 1,
      retransmitTicks: 2,
      stateTransferDelayTicks: 2,
    });
    for (let i = 0; i < 2 * K; i++) {
      c.submit('alice', write(`/f${i}`, String(i)));
      c.deliverAll();
    }
    c.crash(2);
    c.restart(2, true);
    expect(c.replica(2).lastExecuted).toBe(0);
    c.tick(20);
    expect(c.replica(2).lastExecuted).toBe(2 * K);
    expect(c.replica(2).currentStateDigest()).toBe(c.replica(1).currentStateDigest());
  });

  it('a restarted replica with its disk resumes from its persisted stable checkpoint', () => {
    const K = 2;
    const c = new TestCluster(4, { checkpointInterval: K, logWindow: 2 * K, batchSizeMax: 1 });
    for (let i = 0; i < 2 * K + 1; i++) {
      c.submit('alice', write(`/f${i}`, String(i)));
      c.deliverAll();
    }
    c.crash(1);
    const r = c.restart(1);
    expect(r.lastExecuted).toBe(2 * K);
    expect(r.lowWatermark).toBe(2 * K);
  });

  it('rejects a snapshot that does not match the proven digest and fetches from another replica', () => {
    const K = 2;
    const c = new TestCluster(4, {
      checkpointInterval: K,
      logWindow: 2 * K,
      batchSizeMax: 1,
      retransmitTicks: 2,
      stateTransferDelayTicks: 2,
    });
    for (let i = 0; i < 2 * K; i++) {
      c.submit('alice', write(`/f${i}`, String(i)));
      c.deliverAll((e) => e.from !== 3 && e.to !== 3);
      c.drop((e) => e.from === 3 || e.to === 3);
    }
    // Corrupt every chunk that replica 0 sends.
    let corrupted = 0;
    for (let i = 0; i < 30; i++) {
      c.tick(1, false);
      for (const e of c.queue) {
        if (e.message.type === 'state-chunk' && e.from === 0) {
          const data = e.message.data.slice();
          data[data.length - 1] = data[data.length - 1]! ^ 1;
          (e as { message: unknown }).message = { ...e.message, data };
          corrupted++;
        }
      }
      c.deliverAll();
    }
    expect(c.replica(3).lastExecuted).toBe(2 * K);
    if (corrupted > 0) expect(c.eventsOf('state-transfer-rejected', 3).length).toBeGreaterThan(0);
  });
});

describe('codec on the replica path', () => {
  it('every message a replica sends survives the codec unchanged', () => {
    const c = new TestCluster(4, { checkpointInterval: 2, logWindow: 4 });
    c.submit('alice', write('/a', 'x'));
    for (const e of c.queue) {
      const decoded = decodeMessage(encodeMessage(e.message));
      expect(decoded.ok && decoded.message).toEqual(e.message);
    }
    c.deliverAll();
    expect(fromReplica(0)({ from: 0, to: 1, message: c.eventsOf('ignored')[0]?.message ?? ({} as never) })).toBe(true);
    expect(toReplica(1)({ from: 0, to: 1, message: {} as never })).toBe(true);
  });
});
