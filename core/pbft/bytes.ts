/**
 * A small byte writer/reader for the replica's own canonical encodings (snapshots, the client table).
 * Varints are unsigned LEB128, minimal; the reader never throws: it records the first error and
 * returns zero values after it, so a caller checks `ok` once at the end.
 */

import { utf8Decode, utf8Encode } from '../app/utf8.ts';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class ByteWriter {
  private buffer = new Uint8Array(256);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
  }

  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a varint: ${value}`);
    this.reserve(8);
    let v = value;
    while (v >= 0x80) {
      this.buffer[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buffer[this.length++] = v;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  bytes(bytes: Uint8Array): void {
    this.varint(bytes.length);
    this.raw(bytes);
  }

  string(text: string): void {
    this.bytes(utf8Encode(text));
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

export class ByteReader {
  private offset = 0;
  private readonly input: Uint8Array;
  error: string | null = null;

  constructor(input: Uint8Array) {
    this.input = input;
  }

  get ok(): boolean {
    return this.error === null;
  }

  atEnd(): boolean {
    return this.offset === this.input.length;
  }

  private fail(reason: string): void {
    if (this.error === null) this.error = `${reason} at byte ${this.offset}`;
  }

  varint(): number {
    if (this.error !== null) return 0;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.input.length) {
        this.fail('truncated varint');
        return 0;
      }
      const byte = this.input[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (byte === 0 && i > 0) this.fail('non-minimal varint');
        if (value > MAX_SAFE) this.fail('varint too large');
        return value;
      }
      scale *= 0x80;
    }
    this.fail('varint too long');
    return 0;
  }

  raw(length: number): Uint8Array {
    if (this.error !== null) return new Uint8Array(0);
    if (length > this.input.length - this.offset) {
      this.fail(`truncated: ${length} bytes wanted`);
      return new Uint8Array(0);
    }
    const out = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  bytes(): Uint8Array {
    return this.raw(this.varint());
  }

  string(): string {
    const decoded = utf8Decode(this.bytes());
    if (decoded === undefined) {
      this.fail('invalid UTF-8');
      return '';
    }
    return decoded;
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
