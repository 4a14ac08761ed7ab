/**
 * The replicated application, behind the interface PBFT needs (OSDI'99 §4: "a deterministic state
 * machine"). The file store (file-store.ts) is the lab's application; another can be plugged in.
 * Everything here must be deterministic: same operations in the same order ⇒ same results, same digest.
 */
import type { Digest } from '../pbft/messages.ts';

export interface ExecutionContext {
  /** The client that issued the operation. */
  readonly client: string;
  /** The client's timestamp for the request. */
  readonly timestamp: number;
  /** The sequence number of the batch being executed (0 for read-only execution). */
  readonly seq: number;
}

export interface StateMachine {
  /** Apply one operation and return its result. Invalid operations return an error result, never throw. */
  execute(op: Uint8Array, ctx: ExecutionContext): Uint8Array;
  /** Whether an operation leaves the state unchanged (then it may use the §5.1 read-only path). */
  isReadOnly(op: Uint8Array): boolean;
  /** Digest of the whole current state, maintained incrementally (no full rehash per call). */
  digest(): Digest;
  /** Serialise the whole state (canonical: equal states give equal bytes). */
  snapshot(): Uint8Array;
  /** Replace the whole state by a snapshot; returns an error reason instead of throwing on bad bytes. */
  restore(snapshot: Uint8Array): { ok: true } | { ok: false; reason: string };
}
