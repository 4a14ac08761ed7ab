/**
 * The causal trace a replica frame carries (wire.ts, TRACED-REPLICA), and the vector clock behind it.
 *
 *   u32   incarnation   this run of the sender's host (big-endian)
 *   var   index         the sender's own clock entry at the send (the message id's last part)
 *   var   n             entries in the vector clock (the roster's size)
 *   var×n vc            the sender's vector clock, by replica id
 *
 * Varints are unsigned LEB128 of at most 7 bytes (values below 2^49). A trace that breaks these
 * rules makes the frame malformed (ignored with its reason, as every bad frame is).
 */
import { encodeMessageAfter } from '../pbft/codec.ts';
import type { Message } from '../pbft/messages.ts';

export interface TraceHeader {
  readonly incarnation: number;
  readonly index: number;
  readonly vc: readonly number[];
}

/** A roster has at most this many replicas (a larger clock is malformed). */
export const TRACE_CLOCK_ENTRIES_MAX = 256;
const VARINT_BYTES_MAX = 7;

function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

function writeVarint(value: number, out: Uint8Array, pos: number): number {
  let rest = value;
  while (rest >= 0x80) {
    out[pos++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[pos++] = rest;
  return pos;
}

function traceBytes(trace: TraceHeader): number {
  let size = 4 + varintBytes(trace.index) + varintBytes(trace.vc.length);
  for (const entry of trace.vc) size += varintBytes(entry);
  return size;
}

/** `tag`, the trace, then the message's canonical bytes (one copy of the encoding). */
export function encodeTraced(tag: number, trace: TraceHeader, message: Message): Uint8Array {
  const encoded = encodeMessageAfter(tag, message);
  const headerBytes = traceBytes(trace);
  const frame = new Uint8Array(encoded.length + headerBytes);
  frame[0] = tag;
  new DataView(frame.buffer, frame.byteOffset).setUint32(1, trace.incarnation >>> 0);
  let pos = writeVarint(trace.index, frame, 5);
  pos = writeVarint(trace.vc.length, frame, pos);
  for (const entry of trace.vc) pos = writeVarint(entry, frame, pos);
  frame.set(encoded.subarray(1), pos);
  return frame;
}

/** The trace at the start of `body` and how many bytes it took, or why it is malformed. */
export function decodeTraceHeader(body: Uint8Array): { header: TraceHeader; bytes: number } | string {
  if (body.length < 4) return 'cut short in its incarnation';
  const incarnation = new DataView(body.buffer, body.byteOffset).getUint32(0);
  let pos = 4;
  const read = (what: string): number | string => {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (pos >= body.length) return `cut short in ${what}`;
      if (i === VARINT_BYTES_MAX) return `${what} longer than ${VARINT_BYTES_MAX} bytes`;
      const b = body[pos++]!;
      value += (b & 0x7f) * scale;
      scale *= 0x80;
      if (b < 0x80) return value;
    }
  };
  const index = read('the index');
  if (typeof index === 'string') return index;
  const n = read('the clock size');
  if (typeof n === 'string') return n;
  if (n > TRACE_CLOCK_ENTRIES_MAX) return `a clock of ${n} entries (at most ${TRACE_CLOCK_ENTRIES_MAX})`;
  const vc: number[] = [];
  for (let i = 0; i < n; i++) {
    const entry = read('the clock');
    if (typeof entry === 'string') return entry;
    vc.push(entry);
  }
  return { header: { incarnation, index, vc }, bytes: pos };
}

/**
 * A replica's vector clock (Fidge/Mattern). `tick` before each event it logs; `merge` a received
 * frame's clock before the receive's tick. Entries for replica ids outside the roster are ignored.
 */
export class VectorClock {
  private readonly entries: number[];
  readonly self: number;

  constructor(self: number, n: number) {
    this.self = self;
    this.entries = new Array<number>(n).fill(0);
  }

  get own(): number {
    return this.entries[this.self]!;
  }

  /** The next event; returns its own entry. */
  tick(): number {
    return ++this.entries[this.self]!;
  }

  merge(other: readonly number[]): void {
    const n = Math.min(other.length, this.entries.length);
    for (let i = 0; i < n; i++) {
      const value = other[i]!;
      if (value > this.entries[i]! && Number.isSafeInteger(value)) this.entries[i] = value;
    }
  }

  /** The entries, read-only (valid until the next tick or merge). */
  get entriesView(): readonly number[] {
    return this.entries;
  }

  /** A copy, safe to keep. */
  snapshot(): number[] {
    return this.entries.slice();
  }
}
