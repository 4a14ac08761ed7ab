/**
 * Crypto for the PBFT core on Node (docs/authentication.md): SHA-256 digests, Ed25519 signatures for
 * messages that are relayed as proof, HMAC-SHA256 authenticators on client requests.
 *
 * `simulatedCrypto` is the simulator's fast, deterministic stand-in: a keyed hash (HMAC-SHA512) per
 * replica in place of Ed25519. Within the simulator no replica's code can read another's key, so it is
 * as unforgeable there as a signature, and 30× cheaper to check.
 */
import {
  createHash,
  createHmac,
  createSecretKey,
  generateKeyPairSync,
  hash,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { ClientCrypto, Hasher, ReplicaCrypto } from '../pbft/crypto.ts';
import type { ClientId, ReplicaId } from '../pbft/messages.ts';

export const sha256Hasher: Hasher = {
  // The one-shot form: no Hash object per digest (2–3× faster for the small inputs of the hot path).
  digest: (data) => hash('sha256', data, 'hex'),
};

/** A Buffer's bytes as a plain Uint8Array (messages compare and serialise the same everywhere). */
function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * HMAC-SHA256 (RFC 2104) as two one-shot SHA-256 calls over precomputed pads: H(K⊕opad ‖ H(K⊕ipad ‖ m)).
 * The same MAC as node's createHmac, about 3× cheaper for the short messages of the hot path (a client
 * computes n per request, every replica checks one): no Hmac object and no Buffer per call — the
 * hashes come back as hex strings, which costs less than a fresh Buffer.
 */
const HMAC_BLOCK_BYTES = 64;
const HMAC_BYTES = 32;
interface HmacPads {
  readonly inner: Uint8Array;
  readonly outer: Uint8Array;
}
const hmacPads = new WeakMap<Uint8Array, HmacPads>();
/** K⊕ipad ‖ message, reused across calls (hashing is synchronous); grows for a long message. */
let innerScratch = new Uint8Array(HMAC_BLOCK_BYTES + 1024);
/** K⊕opad ‖ H(inner). */
const outerScratch = new Uint8Array(HMAC_BLOCK_BYTES + HMAC_BYTES);

function padsOf(key: Uint8Array): HmacPads {
  let pads = hmacPads.get(key);
  if (!pads) {
    const k = key.length > HMAC_BLOCK_BYTES ? hash('sha256', key, 'buffer') : key;
    const inner = new Uint8Array(HMAC_BLOCK_BYTES).fill(0x36);
    const outer = new Uint8Array(HMAC_BLOCK_BYTES).fill(0x5c);
    for (let i = 0; i < k.length; i++) {
      inner[i]! ^= k[i]!;
      outer[i]! ^= k[i]!;
    }
    hmacPads.set(key, (pads = { inner, outer }));
  }
  return pads;
}

/** HMAC-SHA256 of `data` under `key`, as 64 lowercase hex digits. */
function hmacHex(key: Uint8Array, data: Uint8Array): string {
  const pads = padsOf(key);
  if (innerScratch.length < HMAC_BLOCK_BYTES + data.length)
    innerScratch = new Uint8Array(HMAC_BLOCK_BYTES + data.length);
  innerScratch.set(pads.inner, 0);
  innerScratch.set(data, HMAC_BLOCK_BYTES);
  const inner = hash('sha256', innerScratch.subarray(0, HMAC_BLOCK_BYTES + data.length), 'hex');
  outerScratch.set(pads.outer, 0);
  hexInto(inner, outerScratch, HMAC_BLOCK_BYTES);
  return hash('sha256', outerScratch, 'hex');
}

function hmac256(key: Uint8Array, data: Uint8Array): Uint8Array {
  const mac = new Uint8Array(HMAC_BYTES);
  hexInto(hmacHex(key, data), mac, 0);
  return mac;
}

/** Whether `mac` is HMAC-SHA256(key, data); compares every byte whatever the first difference (no timing leak). */
function hmacValid(key: Uint8Array, data: Uint8Array, mac: Uint8Array): boolean {
  if (mac.length !== HMAC_BYTES) return false;
  const expected = hmacHex(key, data);
  let diff = 0;
  for (let i = 0; i < HMAC_BYTES; i++) diff |= mac[i]! ^ ((nibble(expected, 2 * i) << 4) | nibble(expected, 2 * i + 1));
  return diff === 0;
}

const NIBBLES = new Int8Array(128).fill(0);
for (let i = 0; i < 16; i++) NIBBLES['0123456789abcdef'.charCodeAt(i)] = i;

function nibble(hex: string, at: number): number {
  return NIBBLES[hex.charCodeAt(at)]!;
}

/** Lowercase hex (as the hash returns it) into `out` at `offset`. */
function hexInto(hex: string, out: Uint8Array, offset: number): void {
  for (let i = 0; i < hex.length; i += 2) out[offset + i / 2] = (nibble(hex, i) << 4) | nibble(hex, i + 1);
}

function macEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Where a replica finds the MAC key it shares with a client (agreed over the encrypted channel on a network). */
export type ClientKeyLookup = (client: ClientId) => Uint8Array | undefined;

export interface Ed25519ReplicaKeys {
  readonly privateKey: KeyObject;
  /** Public keys of all replicas, by replica id. */
  readonly publicKeys: readonly KeyObject[];
}

export function ed25519ReplicaCrypto(keys: Ed25519ReplicaKeys, clientKey: ClientKeyLookup): ReplicaCrypto {
  return {
    digest: sha256Hasher.digest,
    sign: (data) => plain(sign(null, data, keys.privateKey)),
    verify: (signer: ReplicaId, data, sig) => {
      const key = keys.publicKeys[signer];
      return key !== undefined && sig.length === 64 && verify(null, data, key, sig);
    },
    verifyRequestMac: (client, data, mac) => {
      const key = clientKey(client);
      return key !== undefined && hmacValid(key, data, mac);
    },
  };
}

/** A client's authenticator: MAC_i with the key it shares with replica i. */
export function hmacClientCrypto(keysByReplica: readonly Uint8Array[]): ClientCrypto {
  return {
    digest: sha256Hasher.digest,
    authenticator: (data) => keysByReplica.map((key) => hmac256(key, data)),
  };
}

export function generateEd25519Keys(n: number): Ed25519ReplicaKeys[] {
  const pairs = Array.from({ length: n }, () => generateKeyPairSync('ed25519'));
  const publicKeys = pairs.map((p) => p.publicKey);
  return pairs.map((p) => ({ privateKey: p.privateKey, publicKeys }));
}

/** Deterministic per-run secrets for the simulator, derived from the run's seed. */
export interface SimulatedCrypto {
  readonly hasher: Hasher;
  replica(id: ReplicaId): ReplicaCrypto;
  client(id: ClientId): ClientCrypto;
}

export function simulatedCrypto(n: number, seed: number, mode: 'fast' | 'ed25519' = 'fast'): SimulatedCrypto {
  const derive = (label: string): Uint8Array => createHash('sha256').update(`pbft-lab-sim:${seed}:${label}`).digest();
  const macKey = (client: ClientId, replica: ReplicaId): Uint8Array => derive(`mac:${client}:${replica}`);
  const macKeys = new Map<string, Uint8Array>();
  const cachedMacKey = (client: ClientId, replica: ReplicaId): Uint8Array => {
    const id = `${client}:${replica}`;
    let key = macKeys.get(id);
    if (!key) macKeys.set(id, (key = macKey(client, replica)));
    return key;
  };
  const ed = mode === 'ed25519' ? generateEd25519Keys(n) : null;
  const secrets = Array.from({ length: n }, (_, i) => createSecretKey(derive(`replica:${i}`)));
  const keyedSign = (id: ReplicaId, data: Uint8Array): Uint8Array =>
    plain(createHmac('sha512', secrets[id]!).update(data).digest());
  return {
    hasher: sha256Hasher,
    replica(id) {
      const clientKey: ClientKeyLookup = (client) => cachedMacKey(client, id);
      if (ed) return ed25519ReplicaCrypto(ed[id]!, clientKey);
      return {
        digest: sha256Hasher.digest,
        sign: (data) => keyedSign(id, data),
        verify: (signer, data, sig) => signer >= 0 && signer < n && macEqual(keyedSign(signer, data), sig),
        verifyRequestMac: (client, data, mac) => hmacValid(clientKey(client)!, data, mac),
      };
    },
    client(id) {
      return hmacClientCrypto(Array.from({ length: n }, (_, i) => cachedMacKey(id, i)));
    },
  };
}
