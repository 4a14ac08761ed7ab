/**
 * Crypto is injected into the sans-IO core (DESIGN.md): it is deterministic computation, but the
 * implementation lives outside — node:crypto on a real host (core/crypto/node.ts), the same or a
 * fast keyed-hash stand-in in the simulator. The decision of what is signed and what is MAC'd is in
 * docs/authentication.md.
 */
import type { ClientId, ReplicaId } from './messages.ts';

/** SHA-256 as hex (defined with the application, below the protocol: core/app/hashing.ts). */
export type { Hasher } from '../app/hashing.ts';
import type { Hasher } from '../app/hashing.ts';

/** What replica i needs: its own signing key, everyone's public keys, and its MAC keys with clients. */
export interface ReplicaCrypto extends Hasher {
  /** Sign with this replica's private key. */
  sign(data: Uint8Array): Uint8Array;
  /** Check `signer`'s signature (used for relayed proofs: pre-prepares, prepares, checkpoints, view changes). */
  verify(signer: ReplicaId, data: Uint8Array, sig: Uint8Array): boolean;
  /** Check this replica's entry of a client request's authenticator (§5.2). */
  verifyRequestMac(client: ClientId, data: Uint8Array, mac: Uint8Array): boolean;
}

/** What a client needs: one MAC per replica over each request (an authenticator, §5.2). */
export interface ClientCrypto extends Hasher {
  /** MAC_i(data) for i = 0..n-1. */
  authenticator(data: Uint8Array): Uint8Array[];
}
