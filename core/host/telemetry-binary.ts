/**
 * Telemetry events in binary (what travels from a replica to its observers; telemetry.ts writes,
 * the room observer reads). A busy replica logs tens of thousands of events a second, so an event is
 * written into its subscriber's byte buffer the moment it happens — a few dozen bytes of varints, no
 * object kept, nothing for the garbage collector — and the feed sends the buffer as one frame.
 * Everyone else sees TelemetryEvent (telemetry-events.ts): `decodeEventsFrame` rebuilds it.
 *
 * Frame: 0x01, varint replica, varint n, u32 incarnation, varint lost, varint count, then `count` events:
 *   kind byte, varint index, n varints (the vector clock), varint wallMs, then by kind:
 *   0 SEND      type, varint k, k replica ids, fields              id `${replica}.${incarnation}.${index}`
 *   1 RECEIVE   type, varint from, u32 incarnation, varint index (the sender's trace), fields
 *   2 UNTRACED  type, varint from, fields                          id `untraced:${from}:${replica}:${index}`
 *   3 REQUEST   str from, str client, varint timestamp             id `req:${client}:${timestamp}`
 *   4 REPLIES   str node, varint view, varint k, k × (byte 0: str suffix | 1: str client, varint timestamp)
 *   5 STATE     state type, view+1, seq+1, digest, str extra JSON ('' when none)
 *   6 OTHER     str JSON of a TelemetryBehaviour or TelemetryFault
 *   fields = view+1, seq+1, digest, varint k + k str requests, str text ('' : rebuilt from the fields)
 *   digest = varint length (0 or DIGEST_CHARS) + its first DIGEST_CHARS hex characters
 * Varints are unsigned LEB128 (values below 2^53); str = varint byte length + UTF-8.
 */
import type { TelemetryBody, TelemetryEvent, TelemetryMessage, TelemetryState } from './telemetry-events.ts';
import { replicaMessageId } from './telemetry-events.ts';

export const EVENTS_FRAME_TAG = 0x01;
/** Digests travel as their first 16 hex digits (64 bits: enough to tell batches and states apart). */
export const DIGEST_CHARS = 16;

export const MESSAGE_TYPES = [
  'request',
  'pre-prepare',
  'prepare',
  'commit',
  'reply',
  'checkpoint',
  'view-change',
  'new-view',
  'fetch-batch',
  'batch',
  'fetch-state',
  'state-chunk',
  'status',
] as const;

export const STATE_TYPES = [
  'pre-prepared',
  'prepared',
  'committed-local',
  'executed',
  'executed-tentatively',
  'tentative-rolled-back',
  'checkpoint',
  'checkpoint-stable',
  'view-change-started',
  'new-view',
  'state-transfer-started',
  'state-transfer-completed',
  'state-transfer-rejected',
] as const;

const MESSAGE_INDEX = new Map<string, number>(MESSAGE_TYPES.map((t, i) => [t, i]));
const STATE_INDEX = new Map<string, number>(STATE_TYPES.map((t, i) => [t, i]));

export function messageTypeIndex(type: string): number {
  return MESSAGE_INDEX.get(type) ?? 0xff;
}

export function stateTypeIndex(type: string): number {
  return STATE_INDEX.get(type) ?? 0xff;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A growable byte buffer that events are written into; `start` moves when the oldest are dropped. */
export class ByteLog {
  bytes = new Uint8Array(4096);
  /** Where each kept event starts, oldest first (from `first` on). */
  private readonly starts: number[] = [];
  private first = 0;
  private end = 0;

  get count(): number {
    return this.starts.length - this.first;
  }

  /** Begin an event (its start offset is remembered). */
  begin(): void {
    this.starts.push(this.end);
  }

  /** Drop the oldest event. */
  dropOldest(): void {
    if (this.count === 0) return;
    this.first++;
  }

  /** The bytes of up to `max` oldest events and how many they are; they leave the log. */
  take(max: number): { bytes: Uint8Array; count: number } {
    const count = Math.min(max, this.count);
    if (count === 0) return { bytes: new Uint8Array(0), count: 0 };
    const from = this.starts[this.first]!;
    const to = this.first + count < this.starts.length ? this.starts[this.first + count]! : this.end;
    const bytes = this.bytes.slice(from, to);
    this.first += count;
    if (this.count === 0) {
      this.starts.length = 0;
      this.first = 0;
      this.end = 0;
    } else if (this.first > 4096) this.compact();
    return { bytes, count };
  }

  /** Copy the last event written into `other` (one encoding however many subscribe). */
  copyLastTo(other: ByteLog): void {
    const from = this.starts[this.starts.length - 1]!;
    other.begin();
    other.raw(this.bytes.subarray(from, this.end));
  }

  byte(value: number): void {
    this.room(1);
    this.bytes[this.end++] = value;
  }

  varint(value: number): void {
    this.room(8);
    if (value <= 0x7fffffff) {
      // Small integers (all but wall-clock times): bit operations.
      let v = value | 0;
      while (v >= 0x80) {
        this.bytes[this.end++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.bytes[this.end++] = v;
      return;
    }
    let rest = value;
    while (rest >= 0x80) {
      this.bytes[this.end++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.bytes[this.end++] = rest;
  }

  /** null as 0, a number as itself + 1. */
  nullable(value: number | null): void {
    this.varint(value === null ? 0 : value + 1);
  }

  u32(value: number): void {
    this.room(4);
    const v = value >>> 0;
    this.bytes[this.end++] = v >>> 24;
    this.bytes[this.end++] = (v >>> 16) & 0xff;
    this.bytes[this.end++] = (v >>> 8) & 0xff;
    this.bytes[this.end++] = v & 0xff;
  }

  str(value: string): void {
    const n = value.length;
    this.room(n + 8);
    // ASCII (ids, digests, most text) byte by byte; anything else through the encoder.
    const at = this.end;
    this.end += 1;
    let ascii = n < 0x80;
    if (ascii)
      for (let i = 0; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        this.bytes[this.end + i] = c;
      }
    if (ascii) {
      this.bytes[at] = n;
      this.end += n;
      return;
    }
    this.end = at;
    const utf8 = encoder.encode(value);
    this.varint(utf8.length);
    this.raw(utf8);
  }

  /** A digest's first DIGEST_CHARS characters, or none. */
  digest(value: string | null): void {
    if (value === null) return this.byte(0);
    const n = Math.min(DIGEST_CHARS, value.length);
    this.room(n + 1);
    this.bytes[this.end++] = n;
    for (let i = 0; i < n; i++) this.bytes[this.end++] = value.charCodeAt(i) & 0x7f;
  }

  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.bytes.set(bytes, this.end);
    this.end += bytes.length;
  }

  private room(extra: number): void {
    if (this.end + extra <= this.bytes.length) return;
    if (this.first > 0) this.compact();
    if (this.end + extra <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.end + extra));
    bigger.set(this.bytes.subarray(0, this.end));
    this.bytes = bigger;
  }

  private compact(): void {
    const shift = this.first < this.starts.length ? this.starts[this.first]! : this.end;
    this.bytes.copyWithin(0, shift, this.end);
    this.end -= shift;
    const kept = this.starts.slice(this.first).map((s) => s - shift);
    this.starts.length = 0;
    this.starts.push(...kept);
    this.first = 0;
  }
}

/** The frame for `count` events of `bytes`, after `lost` dropped ones. */
export function eventsFrame(
  replica: number,
  n: number,
  incarnation: number,
  lost: number,
  count: number,
  bytes: Uint8Array,
): Uint8Array {
  const head = new ByteLog();
  head.begin();
  head.byte(EVENTS_FRAME_TAG);
  head.varint(replica);
  head.varint(n);
  head.u32(incarnation);
  head.varint(lost);
  head.varint(count);
  const { bytes: header } = head.take(1);
  const frame = new Uint8Array(header.length + bytes.length);
  frame.set(header);
  frame.set(bytes, header.length);
  return frame;
}

class Reader {
  pos = 0;
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  byte(): number {
    if (this.pos >= this.bytes.length) throw new RangeError('cut short');
    return this.bytes[this.pos++]!;
  }
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    throw new RangeError('varint too long');
  }
  nullable(): number | null {
    const v = this.varint();
    return v === 0 ? null : v - 1;
  }
  u32(): number {
    return ((this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte()) >>> 0;
  }
  str(): string {
    const n = this.varint();
    if (this.pos + n > this.bytes.length) throw new RangeError('cut short');
    const s = decoder.decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  digest(): string | null {
    const n = this.byte();
    if (n === 0) return null;
    if (n > 64 || this.pos + n > this.bytes.length) throw new RangeError('bad digest');
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.bytes[this.pos++]!);
    return s;
  }
}

export function incarnationName(incarnation: number): string {
  return (incarnation >>> 0).toString(16).padStart(8, '0');
}

/** The one-line text of a message from its fields (as core/pbft/codec.ts `describe` would start it). */
export function describeFields(
  type: string,
  view: number | null,
  seq: number | null,
  digest: string | null,
  requests?: readonly string[],
): string {
  const parts = [type.toUpperCase()];
  if (type === 'request' || type === 'reply') {
    const request = requests?.[0];
    if (request) {
      const at = request.lastIndexOf(':');
      parts.push(`c=${request.slice(0, at)}`, `t=${request.slice(at + 1)}`);
    }
  }
  if (view !== null) parts.push(`v=${view}`);
  if (seq !== null) parts.push(`n=${seq}`);
  if (digest !== null) parts.push(`d=${digest.slice(0, 6)}`);
  if (type === 'pre-prepare' && requests) parts.push(`batch=${requests.length}`);
  return parts.join(' ');
}

function readFields(r: Reader, type: string): TelemetryMessage {
  const view = r.nullable();
  const seq = r.nullable();
  const digest = r.digest();
  const k = r.varint();
  const requests: string[] = [];
  for (let i = 0; i < k; i++) requests.push(r.str());
  const text = r.str();
  return {
    type,
    view,
    seq,
    digest,
    ...(k > 0 ? { requests } : {}),
    text: text || describeFields(type, view, seq, digest, k > 0 ? requests : undefined),
  };
}

function messageType(index: number): string {
  const type = MESSAGE_TYPES[index];
  if (type === undefined) throw new RangeError(`unknown message type ${index}`);
  return type;
}

/**
 * The events of one publisher's frame, as TelemetryEvents. A frame that breaks the format yields
 * the events before the break (the rest is skipped): telemetry is for showing, not for trusting.
 */
export function decodeEventsFrame(bytes: Uint8Array): {
  replica: number;
  incarnation: string;
  lost: number;
  events: TelemetryEvent[];
} | null {
  const r = new Reader(bytes);
  let header: { replica: number; n: number; incarnation: string; lost: number; count: number };
  try {
    if (r.byte() !== EVENTS_FRAME_TAG) return null;
    header = {
      replica: r.varint(),
      n: r.varint(),
      incarnation: incarnationName(r.u32()),
      lost: r.varint(),
      count: r.varint(),
    };
    if (header.n > 256) return null;
  } catch {
    return null;
  }
  const { replica, n, incarnation } = header;
  const events: TelemetryEvent[] = [];
  try {
    for (let e = 0; e < header.count; e++) {
      const kind = r.byte();
      const index = r.varint();
      const vc: number[] = [];
      for (let i = 0; i < n; i++) vc.push(r.varint());
      const wallMs = r.varint();
      let body: TelemetryBody;
      switch (kind) {
        case 0: {
          const type = messageType(r.byte());
          const k = r.varint();
          const to: number[] = [];
          for (let i = 0; i < k; i++) to.push(r.varint());
          body = { kind: 'send', msgId: replicaMessageId(replica, incarnation, index), to, ...readFields(r, type) };
          break;
        }
        case 1: {
          const type = messageType(r.byte());
          const from = r.varint();
          const msgId = replicaMessageId(from, incarnationName(r.u32()), r.varint());
          body = { kind: 'receive', msgId, from, ...readFields(r, type) };
          break;
        }
        case 2: {
          const type = messageType(r.byte());
          const from = r.varint();
          body = { kind: 'receive', msgId: `untraced:${from}:${replica}:${index}`, from, ...readFields(r, type) };
          break;
        }
        case 3: {
          const from = r.str();
          const client = r.str();
          const request = `${client}:${r.varint()}`;
          body = {
            kind: 'receive',
            msgId: `req:${request}`,
            from,
            type: 'request',
            view: null,
            seq: null,
            digest: null,
            requests: [request],
            text: describeFields('request', null, null, null, [request]),
          };
          break;
        }
        case 4: {
          const node = r.str();
          const view = r.varint();
          const k = r.varint();
          const requests: string[] = [];
          for (let i = 0; i < k; i++) {
            const full = r.byte() === 1;
            const client = full ? r.str() : `${node}${r.str()}`;
            requests.push(`${client}:${r.varint()}`);
          }
          body = {
            kind: 'send',
            msgId: `rep:${replicaMessageId(replica, incarnation, index)}`,
            to: node,
            type: 'reply',
            view,
            seq: null,
            digest: null,
            requests,
            text: k === 1 ? describeFields('reply', view, null, null, requests) : `REPLY ×${k} v=${view}`,
          };
          break;
        }
        case 5: {
          const type = STATE_TYPES[r.byte()];
          if (type === undefined) throw new RangeError('unknown state type');
          const view = r.nullable();
          const seq = r.nullable();
          const digest = r.digest();
          const extraText = r.str();
          const extra = extraText ? (JSON.parse(extraText) as Partial<TelemetryState>) : {};
          body = {
            ...extra,
            kind: 'state',
            type,
            view,
            seq,
            digest,
            text: typeof extra.text === 'string' ? extra.text : `${type}${seq === null ? '' : ` n=${seq}`}`,
          };
          break;
        }
        case 6: {
          const value = JSON.parse(r.str()) as TelemetryBody;
          if (value.kind !== 'behaviour' && value.kind !== 'fault') throw new RangeError('not a switch');
          body = value;
          break;
        }
        default:
          throw new RangeError(`unknown event kind ${kind}`);
      }
      events.push({ replica, incarnation, index, vc, wallMs, body });
    }
  } catch {
    // the events before the break stand
  }
  return { replica, incarnation, lost: header.lost, events };
}
