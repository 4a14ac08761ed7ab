/**
 * The PBFT client (OSDI'99 §4.1) as a sans-IO state machine: one outstanding request at a time
 * (closed loop), f+1 matching replies to accept (2f+1 for read-only and tentative replies, §5.1),
 * broadcast to every replica on timeout. The replies' view is believed only from an accepted result.
 */
import { equalBytes } from './bytes.ts';
import { requestBytes } from './codec.ts';
import { quorums, type ClientConfig, type Quorums } from './config.ts';
import type { ClientCrypto } from './crypto.ts';
import type { ClientId, Reply, ReplicaId, Request } from './messages.ts';
import type { ClientOutput } from './outputs.ts';
import { primaryOf } from './proofs.ts';

interface Outstanding {
  request: Request;
  /** Replies by replica: the latest from each counts once. */
  readonly replies: Map<ReplicaId, Reply>;
  retransmitInTicks: number;
  retransmissions: number;
}

export class Client {
  readonly id: ClientId;
  readonly q: Quorums;
  private readonly config: ClientConfig;
  private readonly crypto: ClientCrypto;
  private outputs: ClientOutput[] = [];
  /** The latest view seen in a reply: the client sends to that view's primary. */
  private view = 0;
  private lastTimestamp: number;
  private outstanding: Outstanding | null = null;

  constructor(id: ClientId, config: ClientConfig, crypto: ClientCrypto, firstTimestamp = 1) {
    this.id = id;
    this.config = config;
    this.q = quorums(config.n);
    this.crypto = crypto;
    this.lastTimestamp = firstTimestamp - 1;
  }

  get busy(): boolean {
    return this.outstanding !== null;
  }

  get knownView(): number {
    return this.view;
  }

  /** Issue an operation; returns its timestamp. One at a time: call again after the result. */
  submit(op: Uint8Array, readOnly = false): number {
    if (this.outstanding)
      throw new Error(`client ${this.id} already has request t=${this.outstanding.request.timestamp} outstanding`);
    const timestamp = ++this.lastTimestamp;
    const request = this.authenticate({ type: 'request', client: this.id, timestamp, readOnly, op, auth: [] });
    this.outstanding = {
      request,
      replies: new Map(),
      retransmitInTicks: this.config.retransmitTicks,
      retransmissions: 0,
    };
    // Read-only requests go to every replica (§5.1); others to the primary (§4.1).
    if (readOnly) this.outputs.push({ kind: 'broadcast', request });
    else this.outputs.push({ kind: 'send', to: primaryOf(this.view, this.q.n), request });
    return timestamp;
  }

  onReply(from: ReplicaId, reply: Reply): void {
    const out = this.outstanding;
    if (!out || reply.client !== this.id || reply.replica !== from || from < 0 || from >= this.q.n) return;
    // A read-only answer counts only for the read-only request, an ordered one only once it fell back to
    // ordering: the two execute in different states, so their results must not be counted together.
    if (reply.timestamp !== out.request.timestamp || reply.readOnly !== out.request.readOnly) return;
    out.replies.set(from, reply);
    // f+1 matching committed replies (§4.1), or 2f+1 matching when some are tentative or read-only (§5.1).
    let matching = 0;
    let committed = 0;
    const views: number[] = [];
    for (const r of out.replies.values()) {
      if (!equalBytes(r.result, reply.result)) continue;
      matching++;
      views.push(r.view);
      if (!r.tentative) committed++;
    }
    if (committed < this.q.weak && matching < this.q.strong) return;
    this.outstanding = null;
    // The view from the accepted replies only, and one that f+1 of them (one correct) reached: a single
    // forged reply naming a faulty replica's view would otherwise pin the client to it (issue 18).
    views.sort((a, b) => b - a);
    const view = views[this.q.weak - 1]!;
    if (view > this.view) this.view = view;
    this.outputs.push({
      kind: 'result',
      timestamp: out.request.timestamp,
      op: out.request.op,
      result: reply.result,
      matching,
      readOnly: out.request.readOnly,
      committed: committed >= this.q.weak,
    });
  }

  /** Stop waiting for the outstanding request (the replicas refuse this client): no more retransmissions. */
  abandon(): void {
    this.outstanding = null;
  }

  /** On timeout, broadcast to all replicas (§4.1); a read-only request that timed out is retried as read-write (§5.1). */
  tick(): void {
    const out = this.outstanding;
    if (!out || --out.retransmitInTicks > 0) return;
    out.retransmissions++;
    out.retransmitInTicks = this.config.retransmitTicks;
    if (out.request.readOnly) {
      out.request = this.authenticate({ ...out.request, readOnly: false, auth: [] });
      out.replies.clear();
    }
    this.outputs.push({ kind: 'broadcast', request: out.request });
  }

  takeOutputs(): ClientOutput[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  private authenticate(unauthenticated: Request): Request {
    return { ...unauthenticated, auth: this.crypto.authenticator(requestBytes(unauthenticated)) };
  }
}
