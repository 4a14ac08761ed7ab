/**
 * The replicas' signing keys are their libp2p identity keys (Ed25519), so the roster of peer ids
 * also fixes every replica's public key. These helpers turn them into node:crypto KeyObjects for the
 * core's synchronous sign/verify (docs/authentication.md).
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';

// DER prefixes of an Ed25519 key in PKCS#8 (private) and SubjectPublicKeyInfo (public) form (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function signingKeyFromLibp2p(key: PrivateKey): KeyObject {
  if (key.type !== 'Ed25519') throw new Error(`replica identity keys must be Ed25519, got ${key.type}`);
  // libp2p's raw Ed25519 private key is the 32-byte seed followed by the 32-byte public key.
  const seed = key.raw.subarray(0, 32);
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromPeerId(peerId: string): KeyObject {
  const id = peerIdFromString(peerId);
  const publicKey = id.publicKey;
  if (!publicKey || publicKey.type !== 'Ed25519')
    throw new Error(`peer ${peerId} does not carry an Ed25519 public key`);
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey.raw]), format: 'der', type: 'spki' });
}
