/**
 * Byte writer and reader for the file store's encodings (operations, results, snapshots, digest
 * leaves). Integers are big-endian and fixed-width and lengths are u32 prefixes, so every value has
 * exactly one encoding (no minimality rules to check, unlike varints). The reader throws
 * `DecodeError`, which each decoder catches at its boundary and turns into `{ ok: false, reason }`.
 */
import { utf8Decode, utf8Length, utf8Write } from './utf8.ts';

/** u64 fields carry JavaScript safe integers only: the high word is at most 2^21 - 1. */
const U64_HIGH_MAX = 0x1fffff;
const U32_RANGE = 0x1_0000_0000;

/** A malformed encoding; `message` is the reason reported to the caller. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

export class ByteWriter {
  #buffer: Uint8Array;
  #length = 0;
  /** Whether #buffer is the caller's (until growth replaces it). */
  #borrowed: boolean;

  /**
   * `capacity` is a size hint (a correct one saves the copies of growth and of `finish`), or a
   * buffer to write into while it is large enough; then only `view` avoids a copy.
   */
  constructor(capacity: number | Uint8Array = 64) {
    this.#borrowed = typeof capacity !== 'number';
    this.#buffer = typeof capacity === 'number' ? new Uint8Array(capacity) : capacity;
  }

  #reserve(extra: number): void {
    const needed = this.#length + extra;
    if (needed <= this.#buffer.length) return;
    let size = Math.max(64, this.#buffer.length * 2);
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
    this.#borrowed = false;
  }

  u8(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`not a u8: ${value}`);
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  u32(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value >= U32_RANGE) throw new RangeError(`not a u32: ${value}`);
    this.#reserve(4);
    this.#putUint32(value);
  }

  #putUint32(value: number): void {
    const buffer = this.#buffer;
    buffer[this.#length++] = value >>> 24;
    buffer[this.#length++] = value >>> 16;
    buffer[this.#length++] = value >>> 8;
    buffer[this.#length++] = value;
  }

  /** A safe non-negative integer as 8 bytes. */
  u64(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a u64 safe integer: ${value}`);
    this.#reserve(8);
    this.#putUint32(Math.floor(value / U32_RANGE));
    this.#putUint32(value % U32_RANGE);
  }

  /** Bytes as they are, no length. */
  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** u32 length, then the bytes. */
  bytes(bytes: Uint8Array): void {
    this.u32(bytes.length);
    this.raw(bytes);
  }

  /** UTF-8 with a u32 length (a lone surrogate is written as U+FFFD). */
  string(text: string): void {
    const length = utf8Length(text);
    this.u32(length);
    this.#reserve(length);
    this.#length = utf8Write(text, this.#buffer, this.#length);
  }

  /** What was written, without a copy: it aliases the buffer, which later writes may change. */
  view(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }

  /** What was written, owned by the caller. */
  finish(): Uint8Array {
    return this.#length === this.#buffer.length && !this.#borrowed ? this.#buffer : this.#buffer.slice(0, this.#length);
  }
}

export class ByteReader {
  readonly #input: Uint8Array;
  #offset = 0;

  constructor(input: Uint8Array) {
    this.#input = input;
  }

  get remaining(): number {
    return this.#input.length - this.#offset;
  }

  #need(count: number, what: string): void {
    if (count > this.remaining) throw new DecodeError(`truncated ${what} at byte ${this.#offset}`);
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#input[this.#offset++]!;
  }

  u32(what: string): number {
    this.#need(4, what);
    const value = this.#getUint32(this.#offset);
    this.#offset += 4;
    return value;
  }

  #getUint32(at: number): number {
    const input = this.#input;
    return ((input[at]! << 24) | (input[at + 1]! << 16) | (input[at + 2]! << 8) | input[at + 3]!) >>> 0;
  }

  u64(what: string): number {
    this.#need(8, what);
    const high = this.#getUint32(this.#offset);
    const low = this.#getUint32(this.#offset + 4);
    if (high > U64_HIGH_MAX) throw new DecodeError(`${what} exceeds 2^53 - 1 at byte ${this.#offset}`);
    this.#offset += 8;
    return high * U32_RANGE + low;
  }

  /** A view (not a copy) of the next `count` bytes. */
  raw(count: number, what: string): Uint8Array {
    this.#need(count, what);
    const out = this.#input.subarray(this.#offset, this.#offset + count);
    this.#offset += count;
    return out;
  }

  /** u32 length, then that many bytes (a view); the length must be ≤ `lengthMax`. */
  bytes(what: string, lengthMax = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.u32(`${what} length`);
    if (length > lengthMax) throw new DecodeError(`${what} is ${length} bytes (max ${lengthMax})`);
    return this.raw(length, what);
  }

  /** u32 length, then strict UTF-8. */
  string(what: string, lengthMax?: number): string {
    const text = utf8Decode(this.bytes(what, lengthMax));
    if (text === undefined) throw new DecodeError(`${what} is not valid UTF-8`);
    return text;
  }

  /** Fails unless every byte was consumed: trailing bytes would give one value two encodings. */
  end(what: string): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.remaining} trailing bytes after ${what}`);
  }
}

/** Hex (either case, even length) to bytes, into `out` from `offset`; digests are hex in memory. */
export function hexToBytes(hex: string, out = new Uint8Array(hex.length >> 1), offset = 0): Uint8Array {
  for (let i = 0; i < hex.length; i += 2) {
    const high = HEX_DIGIT_VALUES[hex.charCodeAt(i)] ?? -1;
    const low = HEX_DIGIT_VALUES[hex.charCodeAt(i + 1)] ?? -1;
    if (high < 0 || low < 0) throw new RangeError(`not hex: ${hex.slice(i, i + 2)}`);
    out[offset + (i >> 1)] = (high << 4) | low;
  }
  return out;
}

/** Character code → value of the hex digit, -1 if it is none. */
const HEX_DIGIT_VALUES = Int8Array.from({ length: 128 }, (_, code) =>
  '0123456789abcdef'.indexOf(String.fromCharCode(code).toLowerCase()),
);

/** Byte-wise order; for UTF-8 it equals code point order (unlike `<` on strings, which compares UTF-16 units). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const diff = a[i]! - b[i]!;
    if (diff !== 0) return diff;
  }
  return a.length - b.length;
}
