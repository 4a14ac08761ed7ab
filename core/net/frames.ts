/**
 * Framing for replica traffic: one libp2p protocol, and on each stream a sequence of frames, each an
 * unsigned varint (LEB128, as multiformats/libp2p use) byte length followed by that many opaque bytes.
 *
 * The decoder is synchronous and sans-IO so the inbound path can run inside a stream's 'message'
 * listener (no async iteration: libp2p 3's async iterator buffers without bound). It never holds more
 * than one frame's bytes: a length prefix above `maxFrameBytes` is rejected as soon as the prefix is
 * read, before any of the announced payload is buffered.
 */
import { Uint8ArrayList } from 'uint8arraylist';

/**
 * The one protocol id for replica-to-replica frames (DESIGN.md, Networking). The version changes
 * with the message encoding (core/pbft/codec.ts) or the host's frames (core/host/wire.ts), so nodes
 * of incompatible versions never talk: 2.0.0 dropped the signatures of PRE-PREPARE and PREPARE and
 * put claims in VIEW-CHANGE; 2.1.0 added CLIENT-REPLIES (one frame for a batch's replies to a node);
 * 2.2.0 added TRACED-REPLICA (the sender's vector clock on every replica message, for telemetry).
 */
export const REPLICA_PROTOCOL_ID = '/pbft-lab/replica/2.2.0';

/** Largest frame payload accepted or sent unless configured otherwise: 4 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/**
 * A varint of 5 bytes holds 35 bits; a frame length never needs more than 31, so a sixth byte (or a
 * fifth with its continuation bit set) is malformed rather than merely large.
 */
const MAX_LENGTH_PREFIX_BYTES = 5;

/** Hard ceiling for `maxFrameBytes` so lengths stay exact small integers. */
export const MAX_FRAME_BYTES_LIMIT = 2 ** 31 - 1;

/** The remote announced a frame longer than the receiver's limit. */
export class FrameTooLargeError extends Error {
  override name = 'FrameTooLargeError';
  readonly announcedBytes: number;
  readonly maxFrameBytes: number;
  constructor(announcedBytes: number, maxFrameBytes: number) {
    super(`frame length prefix announces ${announcedBytes} bytes, limit is ${maxFrameBytes}`);
    this.announcedBytes = announcedBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}

/** The length prefix is not a varint of at most five bytes. */
export class MalformedFrameLengthError extends Error {
  override name = 'MalformedFrameLengthError';
  constructor() {
    super(`frame length prefix is longer than ${MAX_LENGTH_PREFIX_BYTES} bytes`);
  }
}

/** Throws RangeError unless `maxFrameBytes` is an integer in 0..MAX_FRAME_BYTES_LIMIT. */
export function checkMaxFrameBytes(maxFrameBytes: number): void {
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 0 || maxFrameBytes > MAX_FRAME_BYTES_LIMIT) {
    throw new RangeError(`maxFrameBytes must be an integer in 0..${MAX_FRAME_BYTES_LIMIT}`);
  }
}

/** Unsigned LEB128 encoding of `value` (a non-negative integer ≤ MAX_FRAME_BYTES_LIMIT). */
export function encodeLengthPrefix(value: number): Uint8Array {
  const out = new Uint8Array(lengthPrefixBytes(value));
  writeLengthPrefix(value, out, 0);
  return out;
}

/** How many bytes the length prefix of `value` takes. */
export function lengthPrefixBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
  return bytes;
}

/** Write the length prefix of `value` into `out` at `pos` (room for lengthPrefixBytes(value)); returns the end. */
export function writeLengthPrefix(value: number, out: Uint8Array, pos: number): number {
  let rest = value;
  while (rest >= 0x80) {
    out[pos++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  out[pos++] = rest;
  return pos;
}

/**
 * The bytes of `frames`, each with its length prefix, as one list (no payload copies). Sending a batch
 * in one `stream.send` lets yamux and noise seal it as few chunks instead of one per frame.
 */
export function encodeFrames(frames: readonly Uint8Array[]): Uint8ArrayList {
  const list = new Uint8ArrayList();
  for (const frame of frames) {
    list.append(encodeLengthPrefix(frame.byteLength));
    list.append(frame);
  }
  return list;
}

/**
 * Incremental decoder for one stream. Feed it every chunk in order; it calls `onFrame` for each
 * complete frame (a fresh copy, so a retained frame does not pin the transport's chunk buffers) and
 * throws FrameTooLargeError / MalformedFrameLengthError on a bad prefix, after which it is unusable.
 */
export class FrameDecoder {
  readonly #limit: () => number;
  readonly #buffer = new Uint8ArrayList();
  /** Length of the frame being read, or -1 while reading a length prefix. */
  #pendingLength = -1;
  #failed = false;

  /**
   * `maxFrameBytes` may be a function, asked at each length prefix: a sender's limit can change while
   * its stream is open (a peer that joins the roster may send larger frames from then on).
   */
  constructor(maxFrameBytes: number | (() => number) = DEFAULT_MAX_FRAME_BYTES) {
    if (typeof maxFrameBytes === 'number') {
      checkMaxFrameBytes(maxFrameBytes);
      this.#limit = () => maxFrameBytes;
    } else this.#limit = maxFrameBytes;
  }

  /** The limit for the next frame. */
  get maxFrameBytes(): number {
    return this.#limit();
  }

  /** The length the frame being read announced, or -1 between frames. */
  get announcedBytes(): number {
    return this.#pendingLength;
  }

  /** Bytes held for an incomplete frame or length prefix. */
  get bufferedBytes(): number {
    return this.#buffer.byteLength;
  }

  /** True between the first byte of a frame and its last: at stream end, the frame was truncated. */
  get midFrame(): boolean {
    return this.#pendingLength >= 0 || this.#buffer.byteLength > 0;
  }

  push(chunk: Uint8Array | Uint8ArrayList, onFrame: (frame: Uint8Array) => void): void {
    if (this.#failed) {
      throw new Error('FrameDecoder used after a framing error');
    }
    this.#buffer.append(chunk);
    for (;;) {
      if (this.#pendingLength < 0) {
        const prefix = this.#readLengthPrefix();
        if (prefix == null) {
          return;
        }
        this.#buffer.consume(prefix.bytes);
        this.#pendingLength = prefix.length;
      }
      if (this.#buffer.byteLength < this.#pendingLength) {
        return;
      }
      const frame = this.#buffer.slice(0, this.#pendingLength);
      this.#buffer.consume(this.#pendingLength);
      this.#pendingLength = -1;
      onFrame(frame);
    }
  }

  /** Parses a prefix at the head of the buffer; null if more bytes are needed. */
  #readLengthPrefix(): { length: number; bytes: number } | null {
    const maxFrameBytes = this.#limit();
    let length = 0;
    let scale = 1;
    const available = Math.min(this.#buffer.byteLength, MAX_LENGTH_PREFIX_BYTES);
    for (let i = 0; i < available; i++) {
      const byte = this.#buffer.get(i);
      length += (byte & 0x7f) * scale;
      scale *= 0x80;
      if (length > maxFrameBytes) {
        // Reject on the prefix alone; drop what we hold so nothing of the announced payload is kept.
        this.#fail();
        throw new FrameTooLargeError(length, maxFrameBytes);
      }
      if ((byte & 0x80) === 0) {
        return { length, bytes: i + 1 };
      }
    }
    if (available === MAX_LENGTH_PREFIX_BYTES) {
      this.#fail();
      throw new MalformedFrameLengthError();
    }
    return null;
  }

  #fail(): void {
    this.#failed = true;
    this.#buffer.consume(this.#buffer.byteLength);
  }
}
