/**
 * The replicated application, behind the interface PBFT needs (OSDI'99 §4: "a deterministic state
 * machine"). The file store (file-store.ts) is the lab's application; another can be plugged in.
 * Everything here must be deterministic: same operations in the same order ⇒ same results, same digest.
 */
import type { Digest } from './hashing.ts';

export interface ExecutionContext {
  /** The client that issued the operation. */
  readonly client: string;
  /** The client's timestamp for the request. */
  readonly timestamp: number;
  /** The sequence number of the batch being executed (0 for read-only execution). */
  readonly seq: number;
}

/**
 * Replicated state that can take back a tentative execution (OSDI'99 §5.1: a replica executes a
 * batch "tentatively as soon as it is prepared and all earlier requests have committed"; a view
 * change may abort it). The host opens a savepoint before executing the tentative batch and later
 * keeps it (`release`, the batch committed) or takes it back (`rollback`, the new view put another
 * batch at that sequence number). One savepoint at most: the replica runs one batch ahead of the
 * committed prefix. Misuse is a host bug and throws `SavepointError` before anything changes.
 * Implementations keep an undo journal of what changed, so each call costs O(state touched since
 * `savepoint()`), never O(state).
 */
export interface Undoable {
  /** Start recording undo information. Throws `SavepointError` if a savepoint is already open. */
  savepoint(): void;
  /**
   * Return to exactly the state at `savepoint()` (same digest, same snapshot bytes, same answers to
   * every read) and close the savepoint. Throws `SavepointError` if none is open.
   */
  rollback(): void;
  /** Keep every change since `savepoint()`, forget the undo information, close the savepoint. Throws if none is open. */
  release(): void;
  /** Whether a savepoint is open. */
  readonly hasSavepoint: boolean;
}

export interface StateMachine extends Undoable {
  /** Apply one operation and return its result. Invalid operations return an error result, never throw. */
  execute(op: Uint8Array, ctx: ExecutionContext): Uint8Array;
  /** Whether an operation leaves the state unchanged (then it may use the §5.1 read-only path). */
  isReadOnly(op: Uint8Array): boolean;
  /** Digest of the whole current state, maintained incrementally (no full rehash per call). */
  digest(): Digest;
  /** Serialise the whole state (canonical: equal states give equal bytes). */
  snapshot(): Uint8Array;
  /**
   * Replace the whole state by a snapshot; returns an error reason instead of throwing on bad bytes.
   * A successful restore also discards an open savepoint (the state it would return to is gone); a
   * refused one changes nothing, the savepoint included.
   */
  restore(snapshot: Uint8Array): { ok: true } | { ok: false; reason: string };
}

/** `savepoint()` while one is open, or `rollback()` / `release()` while none is: a host bug. */
export class SavepointError extends Error {
  override name = 'SavepointError';
}
