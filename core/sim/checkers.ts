/**
 * The simulator's checkers (PBFT.md "Safety and liveness, for the tests"). They judge correct
 * replicas and clients only:
 * - agreement: no two replicas execute different batches at one sequence number, and their state
 *   digests agree at every checkpoint (§4.2, §4.3);
 * - validity: only operations a client issued execute, each at most once per replica (§4.1);
 * - linearizability: the agreed execution order, replayed on a fresh reference application, gives
 *   exactly the results clients accepted, and respects real time (an operation that completed before
 *   another was invoked comes first).
 * Liveness is judged by the run itself (every operation completes by the deadline).
 */
import type { StateMachine } from '../app/state-machine.ts';
import { equalBytes } from '../pbft/bytes.ts';
import type { ClientId, Digest, ReplicaId } from '../pbft/messages.ts';
import type { ExecutedRequest, ReplicaEvent } from '../pbft/outputs.ts';
import type { HistoryEntry } from './workload.ts';

export type Property = 'agreement' | 'validity' | 'linearizability' | 'invariant';

export interface Violation {
  readonly property: Property;
  readonly detail: string;
}

const key = (client: ClientId, timestamp: number): string => `${client}\u0000${timestamp}`;

export class Checkers {
  readonly violations: Violation[] = [];
  private readonly newApp: () => StateMachine;
  /** seq → the batch digest and the requests that really executed there (first replica to execute it). */
  private readonly executedAt = new Map<
    number,
    { digest: Digest; replica: ReplicaId; requests: readonly ExecutedRequest[] }
  >();
  private readonly checkpointDigests = new Map<number, { digest: Digest; replica: ReplicaId }>();
  private readonly issuedOps = new Map<string, Uint8Array>();
  /** Per replica, the requests it executed (exactly-once); forgotten when it restarts. */
  private readonly executedBy = new Map<ReplicaId, Set<string>>();
  /** Requests some correct replica executed, ever (restarts do not take it back). */
  private readonly everExecuted = new Set<string>();

  /** Byzantine replicas: the checkers judge only correct replicas and clients. */
  private readonly faulty: ReadonlySet<ReplicaId>;

  /** Faulty clients: their requests still execute (and count in the replayed order), but nothing is promised them. */
  private readonly faultyClients: ReadonlySet<ClientId>;

  constructor(
    _f: number,
    newApp: () => StateMachine,
    faulty: ReadonlySet<ReplicaId> = new Set(),
    faultyClients: ReadonlySet<ClientId> = new Set(),
  ) {
    this.newApp = newApp;
    this.faulty = faulty;
    this.faultyClients = faultyClients;
  }

  violation(property: Property, detail: string): void {
    this.violations.push({ property, detail });
  }

  issued(client: ClientId, timestamp: number, op: Uint8Array): void {
    this.issuedOps.set(key(client, timestamp), op);
  }

  onReplicaEvent(replica: ReplicaId, event: ReplicaEvent): void {
    if (this.faulty.has(replica)) return;
    if (event.type === 'executed') this.onExecuted(replica, event.seq, event.digest, event.requests);
    else if (event.type === 'checkpoint') {
      const known = this.checkpointDigests.get(event.seq);
      if (!known) this.checkpointDigests.set(event.seq, { digest: event.stateDigest, replica });
      else if (known.digest !== event.stateDigest) {
        this.violation(
          'agreement',
          `checkpoint n=${event.seq}: replica ${replica} has state ${event.stateDigest.slice(0, 8)}, replica ${known.replica} has ${known.digest.slice(0, 8)}`,
        );
      }
    }
  }

  private onExecuted(replica: ReplicaId, seq: number, digest: Digest, requests: readonly ExecutedRequest[]): void {
    const known = this.executedAt.get(seq);
    if (!known) this.executedAt.set(seq, { digest, replica, requests });
    else if (known.digest !== digest) {
      this.violation(
        'agreement',
        `n=${seq}: replica ${replica} executed batch ${digest.slice(0, 8)}, replica ${known.replica} executed ${known.digest.slice(0, 8)}`,
      );
    }
    let mine = this.executedBy.get(replica);
    if (!mine) this.executedBy.set(replica, (mine = new Set()));
    for (const req of requests) {
      if (!req.executed) continue;
      const k = key(req.client, req.timestamp);
      // A faulty client's requests are whatever it sent: validity is promised to correct clients only.
      if (this.faultyClients.has(req.client)) continue;
      const op = this.issuedOps.get(k);
      if (!op)
        this.violation(
          'validity',
          `n=${seq}: replica ${replica} executed c=${req.client} t=${req.timestamp}, which no client issued`,
        );
      else if (!equalBytes(op, req.op))
        this.violation(
          'validity',
          `n=${seq}: c=${req.client} t=${req.timestamp} executed with an operation the client did not issue`,
        );
      if (mine.has(k))
        this.violation('validity', `n=${seq}: replica ${replica} executed c=${req.client} t=${req.timestamp} twice`);
      mine.add(k);
      this.everExecuted.add(k);
    }
  }

  /** Whether some correct replica has executed (committed) this request. */
  executedSomewhere(client: ClientId, timestamp: number): boolean {
    return this.everExecuted.has(key(client, timestamp));
  }

  /** A restarted replica with a wiped disk executes afresh: forget what it executed before. */
  forgetReplica(replica: ReplicaId): void {
    this.executedBy.delete(replica);
  }

  /** Linearizability of the client-observed history against the agreed order (after the run). */
  finish(history: readonly HistoryEntry[]): void {
    const position = new Map<string, number>();
    const results = new Map<string, Uint8Array>();
    const reference = this.newApp();
    const seqs = [...this.executedAt.keys()].sort((a, b) => a - b);
    let pos = 0;
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      if (seq !== i + 1) {
        this.violation('linearizability', `no replica reported executing n=${i + 1}: the order has a gap`);
        return;
      }
      const batch = this.executedAt.get(seq)!;
      for (const req of batch.requests) {
        if (!req.executed) continue;
        const k = key(req.client, req.timestamp);
        if (position.has(k)) {
          this.violation('validity', `c=${req.client} t=${req.timestamp} executed at two sequence numbers`);
          return;
        }
        const result = reference.execute(req.op, { client: req.client, timestamp: req.timestamp, seq });
        if (req.result && !equalBytes(result, req.result)) {
          this.violation(
            'linearizability',
            `n=${seq}: c=${req.client} t=${req.timestamp} gave a result the reference execution does not`,
          );
          return;
        }
        position.set(k, pos++);
        results.set(k, result);
      }
    }
    const accepted = history.filter((h) => h.completedAtMs !== null && !this.faultyClients.has(h.client));
    // A read-only operation (§5.1) that completed on the read-only path is not in the order: it is
    // judged against the states its real-time window allows (checkReadOnly). One that fell back to an
    // ordered request (its timer expired) is in the order, and judged like any other.
    const unordered = accepted.filter((h) => h.readOnly && !position.has(key(h.client, h.timestamp)));
    const completed = accepted.filter((h) => !unordered.includes(h));
    if (!this.checkReadOnly(unordered, history, position, seqs)) return;
    for (const h of completed) {
      const k = key(h.client, h.timestamp);
      const expected = results.get(k);
      if (!expected) {
        this.violation(
          'linearizability',
          `${h.client} t=${h.timestamp} accepted a result but the operation is not in the agreed order`,
        );
        return;
      }
      if (!equalBytes(expected, h.result!)) {
        this.violation(
          'linearizability',
          `${h.client} t=${h.timestamp} accepted a result different from its place in the agreed order`,
        );
        return;
      }
    }
    // Real time: if a completed before b was invoked, a precedes b in the order.
    const byCompletion = [...completed].sort((a, b) => a.completedAtMs! - b.completedAtMs!);
    const byInvocation = [...completed].sort((a, b) => a.invokedAtMs - b.invokedAtMs);
    let i = 0;
    let latest = -1;
    let latestName = '';
    for (const b of byInvocation) {
      while (i < byCompletion.length && byCompletion[i]!.completedAtMs! < b.invokedAtMs) {
        const a = byCompletion[i++]!;
        const p = position.get(key(a.client, a.timestamp))!;
        if (p > latest) {
          latest = p;
          latestName = `${a.client} t=${a.timestamp}`;
        }
      }
      const pb = position.get(key(b.client, b.timestamp))!;
      if (pb < latest) {
        this.violation(
          'linearizability',
          `${b.client} t=${b.timestamp} was ordered before ${latestName}, which completed before it was invoked`,
        );
        return;
      }
    }
  }

  /**
   * Each read-only result must be what the operation returns in some state of the agreed order
   * within its real-time window: after every operation that completed before the read was invoked,
   * before every operation invoked after it completed. (Order among reads is not checked.)
   */
  private checkReadOnly(
    reads: readonly HistoryEntry[],
    history: readonly HistoryEntry[],
    position: ReadonlyMap<string, number>,
    seqs: readonly number[],
  ): boolean {
    if (reads.length === 0) return true;
    const windows = reads.map((r) => {
      let lo = 0;
      let hi = Infinity;
      for (const h of history) {
        const p = position.get(key(h.client, h.timestamp));
        if (p === undefined) continue;
        if (h.completedAtMs !== null && h.completedAtMs < r.invokedAtMs) lo = Math.max(lo, p + 1);
        if (h.invokedAtMs > r.completedAtMs!) hi = Math.min(hi, p);
      }
      return { read: r, lo, hi, seen: false };
    });
    const reference = this.newApp();
    const look = (k: number): void => {
      for (const w of windows) {
        if (w.seen || k < w.lo || k > w.hi) continue;
        const result = reference.execute(w.read.op, { client: w.read.client, timestamp: w.read.timestamp, seq: 0 });
        if (equalBytes(result, w.read.result!)) w.seen = true;
      }
    };
    let k = 0;
    look(k);
    for (const seq of seqs) {
      for (const req of this.executedAt.get(seq)!.requests) {
        if (!req.executed) continue;
        reference.execute(req.op, { client: req.client, timestamp: req.timestamp, seq });
        look(++k);
      }
    }
    const unseen = windows.find((w) => !w.seen);
    if (!unseen) return true;
    this.violation(
      'linearizability',
      `${unseen.read.client} t=${unseen.read.timestamp} accepted a read-only result that no state between positions ${unseen.lo} and ${unseen.hi} of the agreed order gives`,
    );
    return false;
  }
}
