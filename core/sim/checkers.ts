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
  /** Per replica, the requests it executed (exactly-once). */
  private readonly executedBy = new Map<ReplicaId, Set<string>>();

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
    }
  }

  /** Whether some correct replica has executed (committed) this request. */
  executedSomewhere(client: ClientId, timestamp: number): boolean {
    const k = key(client, timestamp);
    for (const mine of this.executedBy.values()) if (mine.has(k)) return true;
    return false;
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
    const completed = history.filter((h) => h.completedAtMs !== null && !this.faultyClients.has(h.client));
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
}
