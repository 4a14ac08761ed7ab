/**
 * A PBFT client on a network: the sans-IO Client (core/pbft/client.ts) plus the MAC keys it shares
 * with each replica, ticking on a real clock. It sends through a function the owner provides, so the
 * same session runs inside a replica host (the dashboard's client), in `pbft-lab client`, and many
 * times over one libp2p node (NetworkClient's logical clients, which share their node's keys).
 *
 * One request is outstanding at a time (closed loop, §4.1); later submits wait in order. Timeouts are
 * checked at each tick rather than by a timer per operation: the owner ticks anyway (every 10 ms in a
 * replica host, 50 ms in a NetworkClient).
 */
import { randomBytes } from 'node:crypto';
import { encodeOp, encodeResult, fileError, type FileOp } from '../app/file-ops.ts';
import { hmacClientCrypto } from '../crypto/node.ts';
import { FaultyClient } from '../byzantine/client-behaviours.ts';
import { Client } from '../pbft/client.ts';
import type { Reply, ReplicaId, Request } from '../pbft/messages.ts';
import { CLIENT_KEY_BYTES } from './wire.ts';

export interface ClientSessionOptions {
  /** The client id: the peer id replicas see as the authenticated sender, or `${peerId}/${j}` (client-id.ts). */
  readonly id: string;
  readonly n: number;
  /** Deliver a request to replica `to`, or to every replica (read-only requests, retransmissions). */
  readonly send: (to: ReplicaId | 'all', request: Request) => void;
  /**
   * keys[i]: the MAC key shared with replica i. The logical clients of one node share its keys (a
   * replica holds one key per peer).
   * @default fresh random keys
   */
  readonly keys?: readonly Uint8Array[];
  /** @default 50 ticks (500 ms at the 10 ms tick) */
  readonly retransmitTicks?: number;
  /**
   * A Byzantine client (core/byzantine/client-behaviours.ts) for the classroom exercise "a Byzantine
   * client": the honest client's requests, transformed as the behaviour says. @default honest
   */
  readonly behaviour?: string;
}

export interface SubmitOptions {
  /**
   * §5.1 read-only: sent to every replica and executed at once, accepted with 2f+1 matching replies;
   * after a retransmission timeout the client retries it as an ordered request (f+1 then suffice).
   * Only for operations that do not write (the replicas refuse others).
   * @default false
   */
  readonly readOnly?: boolean;
  /**
   * Reject with SubmitTimeoutError if no result is accepted this long after submit (checked at ticks).
   * @default no limit
   */
  readonly timeoutMs?: number;
}

export interface SessionResult {
  readonly timestamp: number;
  readonly result: Uint8Array;
  readonly matching: number;
  /** True if accepted as read-only (2f+1 matching); false if ordered, including a read-only fallback. */
  readonly readOnly: boolean;
  /** Accepted on f+1 committed replies; false: on 2f+1 tentative (§5.1) or read-only ones. */
  readonly committed: boolean;
  /** From sending the request to accepting its result. */
  readonly latencyMs: number;
}

/** A REVOKED error result starts with these two bytes: the error tag and REVOKED's code. */
const REVOKED_ERROR = encodeResult(fileError('REVOKED', ''));

export class ClientRefusedError extends Error {
  override readonly name = 'ClientRefusedError';
}

export class SubmitTimeoutError extends Error {
  override readonly name = 'SubmitTimeoutError';
}

interface Pending {
  readonly op: Uint8Array;
  readonly readOnly: boolean;
  /** performance.now() after which the caller is told it timed out. */
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly resolve: (r: SessionResult) => void;
  readonly reject: (e: Error) => void;
  /** Set when the request is handed to the Client. */
  timestamp: number;
  startedAt: number;
}

export class ClientSession {
  readonly id: string;
  /** keys[i]: the MAC key shared with replica i (sent to it in a CLIENT-KEY frame). */
  readonly keys: readonly Uint8Array[];
  private readonly client: Client | FaultyClient;
  private readonly send: ClientSessionOptions['send'];
  private readonly queue: Pending[] = [];
  /** The operation whose request the Client has outstanding (null once it timed out: its late result is dropped). */
  private current: Pending | null = null;
  /** Replicas that refused us, with their reasons (a lone faulty replica cannot stop us: f+1 can). */
  private readonly refusals = new Map<ReplicaId, string>();
  /** Set once f+1 replicas refused us, or f+1 agreed our operation was REVOKED: nothing more is sent. */
  private revokedReason: string | null = null;
  private readonly f: number;

  constructor(options: ClientSessionOptions) {
    this.id = options.id;
    this.send = options.send;
    this.f = Math.floor((options.n - 1) / 3);
    this.keys = options.keys ?? Array.from({ length: options.n }, () => new Uint8Array(randomBytes(CLIENT_KEY_BYTES)));
    if (this.keys.length !== options.n) throw new RangeError(`${this.keys.length} MAC keys for ${options.n} replicas`);
    // Timestamps start at the wall clock in µs so a restarted client never reuses an old one (§4.1).
    const firstTimestamp = Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000);
    const crypto = hmacClientCrypto(this.keys);
    const client = new Client(
      this.id,
      { n: options.n, retransmitTicks: options.retransmitTicks ?? 50 },
      crypto,
      firstTimestamp,
    );
    this.client = options.behaviour ? new FaultyClient(client, crypto, options.behaviour, Math.random) : client;
  }

  /** Nothing submitted and not yet answered (or given up on). */
  get idle(): boolean {
    return this.current === null && this.queue.length === 0;
  }

  /** Why the replicas refuse this client (revoked), once f+1 of them said so; null while they do not. */
  get refusedBecause(): string | null {
    return this.revokedReason;
  }

  submit(op: FileOp, options: SubmitOptions = {}): Promise<SessionResult> {
    if (this.revokedReason !== null) return Promise.reject(new ClientRefusedError(this.revokedReason));
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? Infinity;
      this.queue.push({
        op: encodeOp(op),
        readOnly: options.readOnly ?? false,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        resolve,
        reject,
        timestamp: 0,
        startedAt: 0,
      });
      this.pump();
    });
  }

  onReply(from: ReplicaId, reply: Reply): void {
    this.client.onReply(from, reply);
    this.drain();
  }

  tick(now = performance.now()): void {
    if (!this.client.busy && this.idle) return;
    this.client.tick();
    this.drain();
    this.expire(now);
  }

  /**
   * Replica `from` refused us (we are revoked, it says). One replica may lie, so only when f+1 have
   * refused (one of them correct) does the session stop: what is outstanding and queued fails with
   * the reason, nothing is retransmitted, and later submits fail at once.
   */
  refused(reason: string, from: ReplicaId): void {
    if (this.revokedReason !== null) return;
    this.refusals.set(from, reason);
    if (this.refusals.size > this.f) this.stop(reason);
  }

  /** Stop for good: the replicas refuse this client. */
  private stop(reason: string): void {
    this.revokedReason = reason;
    this.client.abandon();
    const current = this.current;
    this.current = null;
    current?.reject(new ClientRefusedError(reason));
    for (const q of this.queue.splice(0)) q.reject(new ClientRefusedError(reason));
  }

  close(reason = 'client closed'): void {
    this.current?.reject(new Error(reason));
    this.current = null;
    for (const q of this.queue.splice(0)) q.reject(new Error(reason));
  }

  private expire(now: number): void {
    const current = this.current;
    if (current && now > current.deadline) {
      this.current = null;
      current.reject(this.timeoutError(current));
    }
    if (!this.queue.some((q) => now > q.deadline)) return;
    for (const q of this.queue.splice(0)) {
      if (now > q.deadline) q.reject(this.timeoutError(q));
      else this.queue.push(q);
    }
  }

  private timeoutError(p: Pending): SubmitTimeoutError {
    const f = (this.keys.length - 1) / 3;
    const needed = p.readOnly ? `2f+1 = ${2 * f + 1}` : `f+1 = ${f + 1}`;
    return new SubmitTimeoutError(`no ${needed} matching replies within ${Math.round(p.timeoutMs)} ms`);
  }

  private pump(): void {
    if (this.current || this.client.busy) return;
    const next = this.queue.shift();
    if (!next) return;
    next.startedAt = performance.now();
    next.timestamp = this.client.submit(next.op, next.readOnly);
    this.current = next;
    this.drain();
  }

  private drain(): void {
    for (const out of this.client.takeOutputs()) {
      if (out.kind === 'send') this.send(out.to, out.request);
      else if (out.kind === 'broadcast') this.send('all', out.request);
      else if (this.current && out.timestamp === this.current.timestamp) {
        const { resolve, startedAt } = this.current;
        this.current = null;
        if (out.result[0] === REVOKED_ERROR[0] && out.result[1] === REVOKED_ERROR[1]) {
          // f+1 replicas (one correct) executed it as REVOKED: the replicated state revoked us.
          const reason = 'this client was revoked: every replica refuses its requests';
          this.revokedReason = reason;
          this.client.abandon();
          for (const q of this.queue.splice(0)) q.reject(new ClientRefusedError(reason));
        }
        resolve({
          timestamp: out.timestamp,
          result: out.result,
          matching: out.matching,
          readOnly: out.readOnly,
          committed: out.committed,
          latencyMs: performance.now() - startedAt,
        });
      }
    }
    this.pump();
  }
}
