/**
 * Plain values as JSON and back, bytes included: a record line must carry messages, snapshots and
 * signatures, and read back into exactly the objects the replica saw. Bytes become `{"$b": base64}`
 * (Buffer and Uint8Array alike), Maps `{"$m": [[k, v], …]}`; undefined properties are left out, as
 * JSON.stringify does.
 *
 * The same walk gives the canonical form an output digest is computed over: a replayed replica must
 * produce outputs whose canonical form is the recording's, property order included (both come from
 * the same code). Large byte arrays (state snapshots) enter a digest by their hash, not their bytes.
 */
import type { Hasher } from '../pbft/crypto.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Bytes longer than this enter a canonical digest as their SHA-256 (a checkpoint's snapshot, say). */
const DIGEST_BYTES_INLINE_MAX = 256;

export function toJson(value: unknown): Json {
  return walk(value, (bytes) => ({
    $b: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
  }));
}

export function fromJson(value: Json): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromJson);
  if (typeof value.$b === 'string' && Object.keys(value).length === 1) {
    const buffer = Buffer.from(value.$b, 'base64');
    // A plain Uint8Array, as the codec hands out: messages compare and serialise the same everywhere.
    return new Uint8Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength));
  }
  if (Array.isArray(value.$m) && Object.keys(value).length === 1)
    return new Map((value.$m as Json[][]).map(([k, v]) => [fromJson(k!), fromJson(v!)]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = fromJson(v);
  return out;
}

/** A short digest (16 hex digits) of the canonical form of `value`. */
export function canonicalDigest(value: unknown, hasher: Hasher): string {
  const json = walk(value, (bytes): Json =>
    bytes.length > DIGEST_BYTES_INLINE_MAX
      ? { $h: hasher.digest(bytes) }
      : { $b: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') },
  );
  return hasher.digest(new TextEncoder().encode(JSON.stringify(json))).slice(0, 16);
}

function walk(value: unknown, bytes: (b: Uint8Array) => Json): Json {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`cannot record the number ${value}`);
      return value;
    case 'object':
      break;
    default:
      throw new TypeError(`cannot record a ${typeof value}`);
  }
  if (value instanceof Uint8Array) return bytes(value);
  if (Array.isArray(value)) return value.map((v) => walk(v, bytes));
  if (value instanceof Map) return { $m: [...value].map(([k, v]) => [walk(k, bytes), walk(v, bytes)]) };
  const out: { [key: string]: Json } = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = walk(v, bytes);
  return out;
}
