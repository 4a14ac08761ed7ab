/**
 * Plain values as JSON and back, bytes included: a record line must carry messages, snapshots and
 * signatures, and read back into exactly the objects the replica saw. Bytes become `{"$b": base64}`
 * (Buffer and Uint8Array alike), Maps `{"$m": [[k, v], …]}`; undefined properties are left out, as
 * JSON.stringify does.
 *
 * `canonicalDigest` hashes the same shape: a replayed replica must produce outputs whose canonical
 * form is the recording's, property order included (both come from the same code).
 */
import { createHash } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

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

/**
 * A short digest (16 hex digits) of the canonical form of `value`: a type-tagged walk fed straight
 * into SHA-256 (no JSON text, no base64: a drain of a loaded replica is hashed on every input).
 */
export function canonicalDigest(value: unknown): string {
  const hash = createHash('sha256');
  let text = '';
  const flush = (): void => {
    if (text) hash.update(text);
    text = '';
  };
  const feed = (v: unknown): void => {
    if (v === null || v === undefined) {
      text += 'n';
      return;
    }
    switch (typeof v) {
      case 'boolean':
        text += v ? 'T' : 'F';
        return;
      case 'number':
        text += `d${v};`;
        return;
      case 'string':
        text += `s${v.length}:${v}`;
        return;
      case 'object':
        break;
      default:
        throw new TypeError(`cannot digest a ${typeof v}`);
    }
    if (v instanceof Uint8Array) {
      // Small arrays (MACs, operations) inline as one character per byte; large ones straight in.
      if (v.length <= 1024) text += `b${v.length}:${Buffer.from(v.buffer, v.byteOffset, v.length).toString('latin1')}`;
      else {
        text += `B${v.length}:`;
        flush();
        hash.update(v);
      }
      return;
    }
    if (Array.isArray(v)) {
      text += `[${v.length}`;
      for (const x of v) feed(x);
      text += ']';
      return;
    }
    if (v instanceof Map) {
      text += `m${v.size}`;
      for (const [k, x] of v) {
        feed(k);
        feed(x);
      }
      return;
    }
    text += '{';
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      text += `${k.length}:${k}`;
      feed(x);
    }
    text += '}';
  };
  feed(value);
  flush();
  return hash.digest('hex').slice(0, 16);
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
