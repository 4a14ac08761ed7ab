/**
 * The two hashing types the application and the protocol share. They live here, at the bottom, so
 * the application (which digests its state for checkpoints, OSDI'99 §4.3) depends on nothing above
 * it; core/pbft re-exports them from messages.ts and crypto.ts, where the protocol's code uses them.
 */

/** Lowercase hex SHA-256. */
export type Digest = string;

export interface Hasher {
  /** SHA-256 of `data` as lowercase hex. */
  digest(data: Uint8Array): Digest;
}
