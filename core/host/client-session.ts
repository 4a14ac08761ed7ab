/**
 * A PBFT client on a network: the sans-IO Client (core/pbft/client.ts) plus the MAC keys it shares
 * with each replica, ticking on a real clock. It sends through a function the owner provides, so the
 * same session runs inside a replica host (the dashboard's client) and in `pbft-lab client`.
 */
import { randomBytes } from 'node:crypto';
import { encodeOp, type FileOp } from '../app/file-ops.ts';
import { hmacClientCrypto } from '../crypto/node.ts';
import { Client } from '../pbft/client.ts';
import type { Reply, ReplicaId, Request } from '../pbft/messages.ts';
import { CLIENT_KEY_BYTES } from './wire.ts';

export interface ClientSessionOptions {
  /** The client id: the peer id replicas see as the authenticated sender. */
  readonly id: string;
  readonly n: number;
  /** Deliver a request to replica `to`. */
  readonly send: (to: ReplicaId, request: Request) => void;
  /** @default 50 ticks (500 ms at the 10 ms tick) */
  readonly retransmitTicks?: number;
}

export interface SessionResult {
  readonly timestamp: number;
  readonly result: Uint8Array;
  readonly matching: number;
  readonly latencyMs: number;
}

export class ClientRefusedError extends Error {
  override readonly name = 'ClientRefusedError';
}

export class ClientSession {
  readonly id: string;
  /** keys[i]: the MAC key shared with replica i (sent to it in a CLIENT-KEY frame). */
  readonly keys: readonly Uint8Array[];
  private readonly client: Client;
  private readonly send: ClientSessionOptions['send'];
  private readonly queue: {
    op: Uint8Array;
    readOnly: boolean;
    resolve: (r: SessionResult) => void;
    reject: (e: Error) => void;
  }[] = [];
  private current: {
    timestamp: number;
    startedAt: number;
    resolve: (r: SessionResult) => void;
    reject: (e: Error) => void;
  } | null = null;

  constructor(options: ClientSessionOptions) {
    this.id = options.id;
    this.send = options.send;
    this.keys = Array.from({ length: options.n }, () => new Uint8Array(randomBytes(CLIENT_KEY_BYTES)));
    // Timestamps start at the wall clock in µs so a restarted client never reuses an old one (§4.1).
    const firstTimestamp = Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000);
    this.client = new Client(
      this.id,
      { n: options.n, retransmitTicks: options.retransmitTicks ?? 50 },
      hmacClientCrypto(this.keys),
      firstTimestamp,
    );
  }

  submit(op: FileOp, readOnly = false): Promise<SessionResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ op: encodeOp(op), readOnly, resolve, reject });
      this.pump();
    });
  }

  onReply(from: ReplicaId, reply: Reply): void {
    this.client.onReply(from, reply);
    this.drain();
  }

  tick(): void {
    this.client.tick();
    this.drain();
  }

  /** A replica refused us: fail what is outstanding (others may still answer, but the lab shows the refusal). */
  refused(reason: string): void {
    const current = this.current;
    if (!current) return;
    this.current = null;
    current.reject(new ClientRefusedError(reason));
  }

  close(reason = 'client closed'): void {
    this.current?.reject(new Error(reason));
    this.current = null;
    for (const q of this.queue.splice(0)) q.reject(new Error(reason));
  }

  private pump(): void {
    if (this.current || this.client.busy) return;
    const next = this.queue.shift();
    if (!next) return;
    const timestamp = this.client.submit(next.op, next.readOnly);
    this.current = { timestamp, startedAt: performance.now(), resolve: next.resolve, reject: next.reject };
    this.drain();
  }

  private drain(): void {
    for (const out of this.client.takeOutputs()) {
      if (out.kind === 'send') this.send(out.to, out.request);
      else if (out.kind === 'broadcast') for (let r = 0; r < this.keys.length; r++) this.send(r, out.request);
      else if (this.current && out.timestamp === this.current.timestamp) {
        const { resolve, startedAt } = this.current;
        this.current = null;
        resolve({
          timestamp: out.timestamp,
          result: out.result,
          matching: out.matching,
          latencyMs: performance.now() - startedAt,
        });
      }
    }
    this.pump();
  }
}
