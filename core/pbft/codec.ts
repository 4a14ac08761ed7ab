/**
 * The one canonical binary encoding of every PBFT message (DESIGN.md, "Canonical encoding").
 *
 * Canonical means one byte string per message: `decodeMessage` accepts exactly the bytes that
 * `encodeMessage` produces, so digests and signatures over encodings are well defined, and a
 * Byzantine sender cannot make two replicas see different messages in the same bytes.
 *
 * Wire layout. A message is one tag byte followed by its fields in the order of its interface in
 * messages.ts; the signature, when there is one, comes last, so a message's signing bytes are a
 * prefix of its encoding (likewise a request's authenticator comes last).
 *
 *   uint      unsigned LEB128, minimal (no trailing 0x00 group), at most Number.MAX_SAFE_INTEGER
 *   bool      one byte, 0x00 or 0x01
 *   digest    32 raw bytes (lowercase hex in memory)
 *   bytes     uint length, then the bytes
 *   client    uint length 1..128, then UTF-8 (strictly validated)
 *   sig       bytes of length 0 (unsigned) or 64 (Ed25519)
 *   T[]       uint count, then the elements; nested messages carry their own tag
 *
 *   0x01 request       client, timestamp, readOnly:bool, op:bytes, auth:bytes[]
 *   0x02 pre-prepare   view, seq, digest, requests:request[], replica
 *   0x03 prepare       view, seq, digest, replica
 *   0x04 commit        view, seq, digest, replica
 *   0x05 reply         view, timestamp, client, replica, tentative:bool, readOnly:bool, result:bytes
 *   0x06 checkpoint    seq, stateDigest, replica, sig
 *   0x07 view-change   newView, stableSeq, checkpointProof:checkpoint[],
 *                      prepared:claim[], prePrepared:claim[], replica, sig
 *   0x08 new-view      view, viewChanges:view-change[], order:(seq, digest)[], replica, sig
 *   0x09 fetch-state   seq, chunk, replica
 *   0x0a state-chunk   seq, stateDigest, proof:checkpoint[], chunk, chunkCount, data:bytes, replica
 *   0x0b status        view, normal:bool, lastExecuted, firstUncommitted, stableSeq, replica
 *   0x0c fetch-batch   seq, digest, replica
 *   0x0d batch         seq, digest, requests:request[], replica
 *
 *   claim             seq, digest, view        (a VIEW-CHANGE's ⟨n, d, v⟩, no tag of its own)
 *
 * The decoder checks form, not meaning: it does not hash the batch against a pre-prepare's digest,
 * verify signatures, or check that a certificate's prepares match; the replica does.
 *
 * Decoded byte fields (`op`, `auth` entries, `result`, `data`, `sig`) are views into the input, not
 * copies: the decoder is on the hot path. Do not reuse or mutate a frame's buffer after decoding it,
 * and copy a small field out if it is kept long after a large frame is dropped.
 */
import { isWellFormed, utf8Decode, utf8Length, utf8Write } from '../app/utf8.ts';
import type {
  Checkpoint,
  ClientId,
  Commit,
  Digest,
  FetchState,
  Batch,
  FetchBatch,
  LogClaim,
  Message,
  MessageType,
  NewView,
  NewViewOrder,
  PrePrepare,
  Prepare,
  Reply,
  Request,
  StateChunk,
  Status,
  ViewChange,
} from './messages.ts';

/** No encoded message may exceed this; the network layer uses it as its frame limit. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Largest application operation in one request. */
export const MAX_OP_BYTES = 64 * 1024;
/** Most requests in one pre-prepare's batch. */
export const MAX_BATCH_REQUESTS = 1024;
/** Replica ids are below this; no authenticator, proof or certificate has more entries. */
export const MAX_REPLICAS = 256;

/** Longest client id, in UTF-8 bytes (a libp2p peer id string is about 52). */
const MAX_CLIENT_ID_BYTES = 128;
/** Longest authenticator entry: HMAC-SHA256 is 32 bytes; room for a wider MAC, not for a payload. */
const MAX_MAC_BYTES = 64;
/** Ed25519. */
const SIGNATURE_BYTES = 64;
/** SHA-256. */
const DIGEST_BYTES = 32;

const TAG = {
  request: 0x01,
  'pre-prepare': 0x02,
  prepare: 0x03,
  commit: 0x04,
  reply: 0x05,
  checkpoint: 0x06,
  'view-change': 0x07,
  'new-view': 0x08,
  'fetch-state': 0x09,
  'state-chunk': 0x0a,
  status: 0x0b,
  'fetch-batch': 0x0c,
  batch: 0x0d,
} as const satisfies Record<MessageType, number>;

const TYPE_BY_TAG: readonly (MessageType | undefined)[] = (() => {
  const types: (MessageType | undefined)[] = [];
  for (const [type, tag] of Object.entries(TAG)) types[tag] = type as MessageType;
  return types;
})();

export type DecodeResult = { ok: true; message: Message } | { ok: false; reason: string };

/** A message that cannot be encoded: a field out of range or of the wrong form (a bug in the sender). */
export class CodecError extends Error {
  override name = 'CodecError';
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Starting size of the shared output buffer, and the most it keeps between calls. */
const WRITER_INITIAL_BYTES = 64 * 1024;
const WRITER_RETAINED_BYTES_MAX = 1024 * 1024;

/** A growable output buffer; one is shared by all calls (encoding is synchronous and not reentrant). */
class Writer {
  buf = new Uint8Array(WRITER_INITIAL_BYTES);
  pos = 0;

  reserve(n: number): void {
    if (this.pos + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
    }
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned LEB128 of a safe non-negative integer (the caller has checked it). */
  varint(value: number): void {
    this.reserve(8);
    const buf = this.buf;
    let pos = this.pos;
    let v = value;
    if (v <= 0xffffffff) {
      while (v > 0x7f) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v > 0x7f) {
        buf[pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A copy of what was written; leaves the writer empty. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.pos = 0;
    if (this.buf.length > WRITER_RETAINED_BYTES_MAX) this.buf = new Uint8Array(WRITER_INITIAL_BYTES);
    return out;
  }
}

const writer = new Writer();

function startWriting(): Writer {
  writer.pos = 0;
  return writer;
}

function writeUint(w: Writer, value: number, field: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CodecError(`${field} must be a non-negative safe integer, got ${String(value)}`);
  }
  w.varint(value);
}

function writeReplica(w: Writer, replica: number): void {
  if (!Number.isSafeInteger(replica) || replica < 0 || replica >= MAX_REPLICAS) {
    throw new CodecError(`replica id must be an integer in 0..${MAX_REPLICAS - 1}, got ${String(replica)}`);
  }
  w.varint(replica);
}

function writeBool(w: Writer, value: boolean, field: string): void {
  if (typeof value !== 'boolean') throw new CodecError(`${field} must be a boolean, got ${String(value)}`);
  w.byte(value ? 1 : 0);
}

function writeBytes(w: Writer, b: Uint8Array, maxBytes: number, field: string): void {
  if (!(b instanceof Uint8Array)) throw new CodecError(`${field} must be a Uint8Array`);
  if (b.length > maxBytes) throw new CodecError(`${field} too large: ${b.length} > ${maxBytes} bytes`);
  w.varint(b.length);
  w.raw(b);
}

function writeSig(w: Writer, sig: Uint8Array): void {
  if (!(sig instanceof Uint8Array) || (sig.length !== 0 && sig.length !== SIGNATURE_BYTES)) {
    throw new CodecError(`signature must be 0 or ${SIGNATURE_BYTES} bytes`);
  }
  w.varint(sig.length);
  w.raw(sig);
}

function writeCount(w: Writer, items: readonly unknown[], max: number, what: string): void {
  if (!Array.isArray(items)) throw new CodecError(`${what} must be an array`);
  if (items.length > max) throw new CodecError(`too many ${what}: ${items.length} > ${max}`);
  w.varint(items.length);
}

function writeDigest(w: Writer, digest: Digest): void {
  if (typeof digest !== 'string' || digest.length !== 2 * DIGEST_BYTES) {
    throw new CodecError(`digest must be ${2 * DIGEST_BYTES} lowercase hex chars, got ${JSON.stringify(digest)}`);
  }
  w.reserve(DIGEST_BYTES);
  if (!hexInto(digest, w.buf, w.pos)) {
    throw new CodecError(`digest must be ${2 * DIGEST_BYTES} lowercase hex chars, got ${JSON.stringify(digest)}`);
  }
  w.pos += DIGEST_BYTES;
}

function writeClient(w: Writer, client: ClientId): void {
  // A UTF-16 unit never takes fewer UTF-8 bytes than one, so a longer string is too long.
  if (typeof client !== 'string' || client.length === 0 || client.length > MAX_CLIENT_ID_BYTES) {
    throw new CodecError(`client id must be 1..${MAX_CLIENT_ID_BYTES} UTF-8 bytes, got ${JSON.stringify(client)}`);
  }
  if (!isWellFormed(client))
    throw new CodecError(`client id is not valid Unicode (lone surrogate): ${JSON.stringify(client)}`);
  const n = utf8Length(client);
  if (n > MAX_CLIENT_ID_BYTES) throw new CodecError(`client id too long: ${n} > ${MAX_CLIENT_ID_BYTES} bytes`);
  w.varint(n);
  w.reserve(n);
  w.pos = utf8Write(client, w.buf, w.pos);
}

/**
 * The canonical bytes of requests already encoded or decoded, and where their authenticator starts.
 * A request is encoded again and again on its way — MAC checks, the batch digest, the pre-prepare to
 * every backup — so those encodings copy these bytes instead of re-encoding field by field. Sound
 * because the encoding is canonical (a decoded request re-encodes to exactly its input) and requests
 * are immutable: every change of a field makes a new object, which is encoded afresh.
 */
const requestEncodings = new WeakMap<Request, { readonly bytes: Uint8Array; readonly authAt: number }>();

function writeRequest(w: Writer, r: Request, withAuth: boolean): void {
  const known = requestEncodings.get(r);
  if (known) {
    w.raw(withAuth ? known.bytes : known.bytes.subarray(0, known.authAt));
    return;
  }
  const start = w.pos;
  w.byte(TAG.request);
  writeClient(w, r.client);
  writeUint(w, r.timestamp, 'timestamp');
  writeBool(w, r.readOnly, 'readOnly');
  writeBytes(w, r.op, MAX_OP_BYTES, 'op');
  if (!withAuth) return;
  const authAt = w.pos - start;
  writeCount(w, r.auth, MAX_REPLICAS, 'authenticator entries');
  for (const mac of r.auth) writeBytes(w, mac, MAX_MAC_BYTES, 'MAC');
  requestEncodings.set(r, { bytes: w.buf.slice(start, w.pos), authAt });
}

function writeBatch(w: Writer, requests: readonly Request[]): void {
  writeCount(w, requests, MAX_BATCH_REQUESTS, 'requests');
  for (const r of requests) writeRequest(w, r, true);
}

function writePrePrepare(w: Writer, m: PrePrepare): void {
  w.byte(TAG['pre-prepare']);
  writeUint(w, m.view, 'view');
  writeUint(w, m.seq, 'seq');
  writeDigest(w, m.digest);
  writeBatch(w, m.requests);
  writeReplica(w, m.replica);
}

function writePrepare(w: Writer, m: Prepare): void {
  w.byte(TAG.prepare);
  writeUint(w, m.view, 'view');
  writeUint(w, m.seq, 'seq');
  writeDigest(w, m.digest);
  writeReplica(w, m.replica);
}

function writeCommit(w: Writer, m: Commit): void {
  w.byte(TAG.commit);
  writeUint(w, m.view, 'view');
  writeUint(w, m.seq, 'seq');
  writeDigest(w, m.digest);
  writeReplica(w, m.replica);
}

function writeReply(w: Writer, m: Reply): void {
  w.byte(TAG.reply);
  writeUint(w, m.view, 'view');
  writeUint(w, m.timestamp, 'timestamp');
  writeClient(w, m.client);
  writeReplica(w, m.replica);
  writeBool(w, m.tentative, 'tentative');
  writeBool(w, m.readOnly, 'readOnly');
  writeBytes(w, m.result, MAX_FRAME_BYTES, 'result');
}

function writeCheckpoint(w: Writer, m: Checkpoint, withSig: boolean): void {
  w.byte(TAG.checkpoint);
  writeUint(w, m.seq, 'seq');
  writeDigest(w, m.stateDigest);
  writeReplica(w, m.replica);
  if (withSig) writeSig(w, m.sig);
}

function writeViewChange(w: Writer, m: ViewChange, withSig: boolean): void {
  w.byte(TAG['view-change']);
  writeUint(w, m.newView, 'newView');
  writeUint(w, m.stableSeq, 'stableSeq');
  writeCount(w, m.checkpointProof, MAX_REPLICAS, 'checkpoints');
  for (const c of m.checkpointProof) writeCheckpoint(w, c, true);
  writeClaims(w, m.prepared, 'prepared claims');
  writeClaims(w, m.prePrepared, 'pre-prepared claims');
  writeReplica(w, m.replica);
  if (withSig) writeSig(w, m.sig);
}

function writeClaims(w: Writer, claims: readonly LogClaim[], what: string): void {
  writeCount(w, claims, MAX_FRAME_BYTES, what);
  for (const c of claims) {
    writeUint(w, c.seq, 'seq');
    writeDigest(w, c.digest);
    writeUint(w, c.view, 'view');
  }
}

function writeNewView(w: Writer, m: NewView, withSig: boolean): void {
  w.byte(TAG['new-view']);
  writeUint(w, m.view, 'view');
  writeCount(w, m.viewChanges, MAX_REPLICAS, 'view-changes');
  for (const vc of m.viewChanges) writeViewChange(w, vc, true);
  writeCount(w, m.order, MAX_FRAME_BYTES, 'order entries');
  for (const o of m.order) {
    writeUint(w, o.seq, 'seq');
    writeDigest(w, o.digest);
  }
  writeReplica(w, m.replica);
  if (withSig) writeSig(w, m.sig);
}

function writeFetchBatch(w: Writer, m: FetchBatch): void {
  w.byte(TAG['fetch-batch']);
  writeUint(w, m.seq, 'seq');
  writeDigest(w, m.digest);
  writeReplica(w, m.replica);
}

function writeBatchMessage(w: Writer, m: Batch): void {
  w.byte(TAG.batch);
  writeUint(w, m.seq, 'seq');
  writeDigest(w, m.digest);
  writeBatch(w, m.requests);
  writeReplica(w, m.replica);
}

function writeFetchState(w: Writer, m: FetchState): void {
  w.byte(TAG['fetch-state']);
  writeUint(w, m.seq, 'seq');
  writeUint(w, m.chunk, 'chunk');
  writeReplica(w, m.replica);
}

function writeStateChunk(w: Writer, m: StateChunk): void {
  w.byte(TAG['state-chunk']);
  writeUint(w, m.seq, 'seq');
  writeDigest(w, m.stateDigest);
  writeCount(w, m.proof, MAX_REPLICAS, 'checkpoints');
  for (const c of m.proof) writeCheckpoint(w, c, true);
  writeUint(w, m.chunk, 'chunk');
  writeUint(w, m.chunkCount, 'chunkCount');
  if (m.chunk >= m.chunkCount) throw new CodecError(`chunk ${m.chunk} out of range: chunkCount ${m.chunkCount}`);
  writeBytes(w, m.data, MAX_FRAME_BYTES, 'data');
  writeReplica(w, m.replica);
}

function writeStatus(w: Writer, m: Status): void {
  w.byte(TAG.status);
  writeUint(w, m.view, 'view');
  writeBool(w, m.normal, 'normal');
  writeUint(w, m.lastExecuted, 'lastExecuted');
  writeUint(w, m.firstUncommitted, 'firstUncommitted');
  writeUint(w, m.stableSeq, 'stableSeq');
  writeReplica(w, m.replica);
}

function writeMessage(w: Writer, m: Message, withSig: boolean): void {
  switch (m.type) {
    case 'request':
      return writeRequest(w, m, withSig);
    case 'pre-prepare':
      return writePrePrepare(w, m);
    case 'prepare':
      return writePrepare(w, m);
    case 'commit':
      return writeCommit(w, m);
    case 'reply':
      return writeReply(w, m);
    case 'checkpoint':
      return writeCheckpoint(w, m, withSig);
    case 'view-change':
      return writeViewChange(w, m, withSig);
    case 'new-view':
      return writeNewView(w, m, withSig);
    case 'fetch-state':
      return writeFetchState(w, m);
    case 'state-chunk':
      return writeStateChunk(w, m);
    case 'status':
      return writeStatus(w, m);
    case 'fetch-batch':
      return writeFetchBatch(w, m);
    case 'batch':
      return writeBatchMessage(w, m);
    default:
      throw new CodecError(`unknown message type ${JSON.stringify((m as { type: unknown }).type)}`);
  }
}

/**
 * The canonical bytes of `m`. Throws CodecError if a field is out of range (a negative or
 * fractional number, a malformed digest, an oversized op…) or the result exceeds MAX_FRAME_BYTES.
 */
export function encodeMessage(m: Message): Uint8Array {
  return encode(m, undefined);
}

/** One byte (a host's frame tag, core/host/wire.ts), then the canonical bytes of `m`: saves a copy of the whole encoding. */
export function encodeMessageAfter(prefix: number, m: Message): Uint8Array {
  return encode(m, prefix);
}

function encode(m: Message, prefix: number | undefined): Uint8Array {
  const w = startWriting();
  if (prefix !== undefined) w.byte(prefix);
  writeMessage(w, m, true);
  const size = w.pos - (prefix === undefined ? 0 : 1);
  if (size > MAX_FRAME_BYTES) {
    w.take();
    throw new CodecError(`${m.type} too large: ${size} > ${MAX_FRAME_BYTES} bytes`);
  }
  return w.take();
}

/**
 * Bytes that a signature/MAC covers: the message's encoding with its `sig` (or, for Request, its
 * `auth`) left out. Since those fields come last, this is a prefix of `encodeMessage(m)`; it starts
 * with the message's tag, so signatures of different message types never cover the same bytes.
 */
export function signingBytes(m: Request | Checkpoint | ViewChange | NewView): Uint8Array {
  const w = startWriting();
  writeMessage(w, m, false);
  return w.take();
}

/**
 * Canonical bytes of a batch: the request count, then each request fully encoded *including* its
 * authenticator. These are exactly the batch's bytes inside the pre-prepare's encoding, and their
 * hash is the pre-prepare digest d. The authenticator is included so that d pins the exact
 * request bytes the primary proposed: replicas that prepare d have all seen the same MACs, and a
 * pre-prepare relayed in a view change or fetched in state transfer carries the authenticators
 * that were checked. (What identifies a request for exactly-once is `requestBytes`, without auth.)
 */
export function batchBytes(requests: readonly Request[]): Uint8Array {
  const w = startWriting();
  writeBatch(w, requests);
  return w.take();
}

/** Canonical bytes of a request without its authenticator: client, timestamp, readOnly, op. Possibly a view: do not modify. */
export function requestBytes(r: Request): Uint8Array {
  const known = requestEncodings.get(r);
  if (known) return known.bytes.subarray(0, known.authAt);
  const w = startWriting();
  writeRequest(w, r, false);
  return w.take();
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Why a decode stopped. Deliberately not an Error: it is thrown only inside `decodeMessage` and
 * caught there, and skipping the stack capture keeps rejecting a flood of junk cheap.
 */
class Rejection {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

class Reader {
  readonly buf: Uint8Array;
  readonly end: number;
  pos = 0;
  /** The innermost message being decoded, for reasons. */
  what = 'message';

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.end = buf.length;
  }

  reject(problem: string, at: number): never {
    throw new Rejection(`${problem} in ${this.what} at byte ${at}`);
  }

  truncated(at: number): never {
    throw new Rejection(`truncated ${this.what} at byte ${at}`);
  }

  byte(): number {
    if (this.pos >= this.end) this.truncated(this.pos);
    return this.buf[this.pos++]!;
  }

  /** A minimal unsigned LEB128 number, at most Number.MAX_SAFE_INTEGER (8 bytes, the last ≤ 0x0f). */
  uint(): number {
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    if (pos >= this.end) this.truncated(start);
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let value = b & 0x7f;
    let scale = 0x80;
    for (let i = 1; ; i++) {
      if (pos >= this.end) this.truncated(start);
      b = buf[pos++]!;
      if (i === 7 && b > 0x0f) this.reject('number too large (> 2^53-1)', start);
      value += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
    }
    if (b === 0) this.reject('non-minimal varint', start);
    this.pos = pos;
    return value;
  }

  bool(): boolean {
    const at = this.pos;
    const b = this.byte();
    if (b > 1) this.reject(`invalid boolean 0x${hexByte(b)}`, at);
    return b === 1;
  }

  replica(): number {
    const at = this.pos;
    const id = this.uint();
    if (id >= MAX_REPLICAS) this.reject(`replica id too large: ${id} >= ${MAX_REPLICAS}`, at);
    return id;
  }

  /** A length-prefixed byte string, as a view into the input. */
  bytes(maxBytes: number, field: string): Uint8Array {
    const at = this.pos;
    const n = this.uint();
    if (n > maxBytes) this.reject(`${field} too large: ${n} > ${maxBytes} bytes`, at);
    if (n > this.end - this.pos) this.truncated(at);
    const view = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return view;
  }

  sig(): Uint8Array {
    const at = this.pos;
    const n = this.uint();
    if (n !== 0 && n !== SIGNATURE_BYTES) this.reject(`signature length ${n} (must be 0 or ${SIGNATURE_BYTES})`, at);
    if (n > this.end - this.pos) this.truncated(at);
    const view = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return view;
  }

  /** An element count; every element takes at least one byte, so more than remain is truncation. */
  count(max: number, what: string): number {
    const at = this.pos;
    const n = this.uint();
    if (n > max) this.reject(`too many ${what}: ${n} > ${max}`, at);
    if (n > this.end - this.pos) this.truncated(at);
    return n;
  }

  digest(): Digest {
    const start = this.pos;
    if (this.end - start < DIGEST_BYTES) this.truncated(start);
    this.pos = start + DIGEST_BYTES;
    return digestHex(this.buf, start);
  }

  client(): ClientId {
    const at = this.pos;
    const n = this.uint();
    if (n === 0) this.reject('empty client id', at);
    if (n > MAX_CLIENT_ID_BYTES) this.reject(`client id too long: ${n} > ${MAX_CLIENT_ID_BYTES} bytes`, at);
    const start = this.pos;
    if (n > this.end - start) this.truncated(at);
    const s = clientIdAt(this.buf, start, start + n);
    if (s === undefined) this.reject('invalid UTF-8 in client id', start);
    this.pos = start + n;
    return s;
  }

  /** A nested message of the one type allowed here. */
  nested<T>(type: MessageType, body: (r: Reader) => T): T {
    const at = this.pos;
    const tag = this.byte();
    if (tag !== TAG[type]) this.reject(`expected ${type}, got ${describeTag(tag)}`, at);
    const outer = this.what;
    this.what = type;
    const m = body(this);
    this.what = outer;
    return m;
  }
}

function readRequest(r: Reader): Request {
  // The tag was read by the caller: the request's bytes start one before.
  const start = r.pos - 1;
  const client = r.client();
  const timestamp = r.uint();
  const readOnly = r.bool();
  const op = r.bytes(MAX_OP_BYTES, 'op');
  const authAt = r.pos - start;
  const n = r.count(MAX_REPLICAS, 'authenticator entries');
  const auth: Uint8Array[] = [];
  for (let i = 0; i < n; i++) auth.push(r.bytes(MAX_MAC_BYTES, 'MAC'));
  const request: Request = { type: 'request', client, timestamp, readOnly, op, auth };
  requestEncodings.set(request, { bytes: r.buf.subarray(start, r.pos), authAt });
  return request;
}

function readBatch(r: Reader): Request[] {
  const n = r.count(MAX_BATCH_REQUESTS, 'requests');
  const requests: Request[] = [];
  for (let i = 0; i < n; i++) requests.push(r.nested('request', readRequest));
  return requests;
}

function readPrePrepare(r: Reader): PrePrepare {
  const view = r.uint();
  const seq = r.uint();
  const digest = r.digest();
  const requests = readBatch(r);
  const replica = r.replica();
  return { type: 'pre-prepare', view, seq, digest, requests, replica };
}

function readPrepare(r: Reader): Prepare {
  const view = r.uint();
  const seq = r.uint();
  const digest = r.digest();
  const replica = r.replica();
  return { type: 'prepare', view, seq, digest, replica };
}

function readCommit(r: Reader): Commit {
  const view = r.uint();
  const seq = r.uint();
  const digest = r.digest();
  const replica = r.replica();
  return { type: 'commit', view, seq, digest, replica };
}

function readReply(r: Reader): Reply {
  const view = r.uint();
  const timestamp = r.uint();
  const client = r.client();
  const replica = r.replica();
  const tentative = r.bool();
  const readOnly = r.bool();
  const result = r.bytes(MAX_FRAME_BYTES, 'result');
  return { type: 'reply', view, timestamp, client, replica, tentative, readOnly, result };
}

function readCheckpoint(r: Reader): Checkpoint {
  const seq = r.uint();
  const stateDigest = r.digest();
  const replica = r.replica();
  const sig = r.sig();
  return { type: 'checkpoint', seq, stateDigest, replica, sig };
}

function readCheckpoints(r: Reader): Checkpoint[] {
  const n = r.count(MAX_REPLICAS, 'checkpoints');
  const checkpoints: Checkpoint[] = [];
  for (let i = 0; i < n; i++) checkpoints.push(r.nested('checkpoint', readCheckpoint));
  return checkpoints;
}

function readClaims(r: Reader, what: string): LogClaim[] {
  const n = r.count(MAX_FRAME_BYTES, what);
  const claims: LogClaim[] = [];
  for (let i = 0; i < n; i++) {
    const seq = r.uint();
    const digest = r.digest();
    const view = r.uint();
    claims.push({ seq, digest, view });
  }
  return claims;
}

function readViewChange(r: Reader): ViewChange {
  const newView = r.uint();
  const stableSeq = r.uint();
  const checkpointProof = readCheckpoints(r);
  const prepared = readClaims(r, 'prepared claims');
  const prePrepared = readClaims(r, 'pre-prepared claims');
  const replica = r.replica();
  const sig = r.sig();
  return { type: 'view-change', newView, stableSeq, checkpointProof, prepared, prePrepared, replica, sig };
}

function readNewView(r: Reader): NewView {
  const view = r.uint();
  const vcCount = r.count(MAX_REPLICAS, 'view-changes');
  const viewChanges: ViewChange[] = [];
  for (let i = 0; i < vcCount; i++) viewChanges.push(r.nested('view-change', readViewChange));
  const orderCount = r.count(MAX_FRAME_BYTES, 'order entries');
  const order: NewViewOrder[] = [];
  for (let i = 0; i < orderCount; i++) {
    const seq = r.uint();
    const digest = r.digest();
    order.push({ seq, digest });
  }
  const replica = r.replica();
  const sig = r.sig();
  return { type: 'new-view', view, viewChanges, order, replica, sig };
}

function readFetchBatch(r: Reader): FetchBatch {
  const seq = r.uint();
  const digest = r.digest();
  const replica = r.replica();
  return { type: 'fetch-batch', seq, digest, replica };
}

function readBatchMessage(r: Reader): Batch {
  const seq = r.uint();
  const digest = r.digest();
  const requests = readBatch(r);
  const replica = r.replica();
  return { type: 'batch', seq, digest, requests, replica };
}

function readFetchState(r: Reader): FetchState {
  const seq = r.uint();
  const chunk = r.uint();
  const replica = r.replica();
  return { type: 'fetch-state', seq, chunk, replica };
}

function readStateChunk(r: Reader): StateChunk {
  const seq = r.uint();
  const stateDigest = r.digest();
  const proof = readCheckpoints(r);
  const chunk = r.uint();
  const at = r.pos;
  const chunkCount = r.uint();
  if (chunk >= chunkCount) r.reject(`chunk ${chunk} out of range: chunkCount ${chunkCount}`, at);
  const data = r.bytes(MAX_FRAME_BYTES, 'data');
  const replica = r.replica();
  return { type: 'state-chunk', seq, stateDigest, proof, chunk, chunkCount, data, replica };
}

function readStatus(r: Reader): Status {
  const view = r.uint();
  const normal = r.bool();
  const lastExecuted = r.uint();
  const firstUncommitted = r.uint();
  const stableSeq = r.uint();
  const replica = r.replica();
  return { type: 'status', view, normal, lastExecuted, firstUncommitted, stableSeq, replica };
}

const READERS: { readonly [T in MessageType]: (r: Reader) => Extract<Message, { type: T }> } = {
  request: readRequest,
  'pre-prepare': readPrePrepare,
  prepare: readPrepare,
  commit: readCommit,
  reply: readReply,
  checkpoint: readCheckpoint,
  'view-change': readViewChange,
  'new-view': readNewView,
  'fetch-state': readFetchState,
  'state-chunk': readStateChunk,
  status: readStatus,
  'fetch-batch': readFetchBatch,
  batch: readBatchMessage,
};

/**
 * Decode and validate one message. Never throws: any input that `encodeMessage` could not have
 * produced is rejected with a short reason. Byte fields of the result alias `bytes` (see the top).
 */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  try {
    if (!(bytes instanceof Uint8Array)) return { ok: false, reason: 'not a Uint8Array' };
    if (bytes.length > MAX_FRAME_BYTES) {
      return { ok: false, reason: `frame too large: ${bytes.length} > ${MAX_FRAME_BYTES} bytes` };
    }
    if (bytes.length === 0) return { ok: false, reason: 'empty frame' };
    const tag = bytes[0]!;
    const type = TYPE_BY_TAG[tag];
    if (type === undefined) return { ok: false, reason: `unknown message tag 0x${hexByte(tag)}` };
    const r = new Reader(bytes);
    r.pos = 1;
    r.what = type;
    const message = READERS[type](r);
    if (r.pos !== r.end) {
      return { ok: false, reason: `${r.end - r.pos} trailing bytes after ${type} at byte ${r.pos}` };
    }
    return { ok: true, message };
  } catch (e) {
    if (e instanceof Rejection) return { ok: false, reason: e.reason };
    // Unreachable unless the decoder has a bug; the contract is still to never throw.
    return { ok: false, reason: `decoder error: ${String(e)}` };
  }
}

function describeTag(tag: number): string {
  const type = TYPE_BY_TAG[tag];
  return type === undefined ? `tag 0x${hexByte(tag)}` : `${type} (tag 0x${hexByte(tag)})`;
}

// ---------------------------------------------------------------------------------------------
// Hex and UTF-8 (the core's lib is ES2023 only: no TextEncoder/TextDecoder)

const HEX_CHARS = '0123456789abcdef';
const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, b) => HEX_CHARS[b >> 4]! + HEX_CHARS[b & 15]!);
/** Char code → nibble for lowercase hex digits, -1 otherwise. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE[HEX_CHARS.charCodeAt(i)] = i;
const DIGEST_HEX_CODES = new Uint8Array(2 * DIGEST_BYTES);

function hexByte(b: number): string {
  return HEX_PAIRS[b]!;
}

/** 32 bytes at `start` as 64 lowercase hex chars (one flat string, built in one call). */
function digestHex(buf: Uint8Array, start: number): string {
  const codes = DIGEST_HEX_CODES;
  for (let i = 0; i < DIGEST_BYTES; i++) {
    const b = buf[start + i]!;
    codes[2 * i] = HEX_CHARS.charCodeAt(b >> 4);
    codes[2 * i + 1] = HEX_CHARS.charCodeAt(b & 15);
  }
  return String.fromCharCode.apply(null, codes as unknown as number[]);
}

/** Parse lowercase hex into `out` at `offset`; false on any other character. */
function hexInto(hex: string, out: Uint8Array, offset: number): boolean {
  for (let i = 0; i < hex.length; i += 2) {
    const hi = NIBBLE[hex.charCodeAt(i)] ?? -1;
    const lo = NIBBLE[hex.charCodeAt(i + 1)] ?? -1;
    if (hi < 0 || lo < 0) return false;
    out[offset + i / 2] = (hi << 4) | lo;
  }
  return true;
}

/** Lowercase hex of `b`. */
export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX_PAIRS[b[i]!]!;
  return s;
}

/** Bytes of an even-length lowercase hex string (the in-memory form of digests). Throws CodecError otherwise. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0) throw new CodecError('hex must have an even length');
  const out = new Uint8Array(hex.length / 2);
  if (!hexInto(hex, out, 0)) throw new CodecError(`not lowercase hex: ${JSON.stringify(hex.slice(0, 80))}`);
  return out;
}

/**
 * Client ids decoded before, by a hash of their bytes: every request, reply and batch names its
 * client, and a thousand clients send thousands of messages a second. A hit returns the same string
 * object, which saves the decoding and the allocation, and lets Maps keyed by client id reuse its
 * cached hash. Bounded: emptied when it reaches CLIENT_ID_CACHE entries.
 */
const clientIds = new Map<number, { readonly bytes: Uint8Array; readonly id: string }>();
const CLIENT_ID_CACHE = 4096;

function clientIdAt(buf: Uint8Array, start: number, end: number): string | undefined {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const cached = clientIds.get(h);
  if (cached && cached.bytes.length === end - start) {
    let same = true;
    for (let i = 0; i < cached.bytes.length; i++) {
      if (cached.bytes[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached.id;
  }
  const id = utf8Decode(buf.subarray(start, end));
  if (id === undefined) return undefined;
  if (clientIds.size >= CLIENT_ID_CACHE) clientIds.clear();
  clientIds.set(h, { bytes: buf.slice(start, end), id });
  return id;
}

// ---------------------------------------------------------------------------------------------
// Describing

/** One line for traces and logs, e.g. `PREPARE v=1 n=17 d=3fa9c1 from 2`. Digests shortened to 6 hex chars. */
export function describe(m: Message): string {
  switch (m.type) {
    case 'request':
      return `REQUEST c=${showClient(m.client)} t=${m.timestamp} op=${showSize(m.op.length)}${m.readOnly ? ' read-only' : ''}`;
    case 'pre-prepare':
      return `PRE-PREPARE v=${m.view} n=${m.seq} d=${short(m.digest)} batch=${m.requests.length} from ${m.replica}`;
    case 'prepare':
      return `PREPARE v=${m.view} n=${m.seq} d=${short(m.digest)} from ${m.replica}`;
    case 'commit':
      return `COMMIT v=${m.view} n=${m.seq} d=${short(m.digest)} from ${m.replica}`;
    case 'reply':
      return `REPLY v=${m.view} t=${m.timestamp} c=${showClient(m.client)} from ${m.replica} r=${showSize(m.result.length)}${m.readOnly ? ' read-only' : m.tentative ? ' tentative' : ''}`;
    case 'checkpoint':
      return `CHECKPOINT n=${m.seq} d=${short(m.stateDigest)} from ${m.replica}`;
    case 'view-change':
      return `VIEW-CHANGE v=${m.newView} n=${m.stableSeq} C=${m.checkpointProof.length} P=${m.prepared.length} Q=${m.prePrepared.length} from ${m.replica}`;
    case 'new-view':
      return `NEW-VIEW v=${m.view} V=${m.viewChanges.length} O=${m.order.length} from ${m.replica}`;
    case 'fetch-batch':
      return `FETCH-BATCH n=${m.seq} d=${short(m.digest)} from ${m.replica}`;
    case 'batch':
      return `BATCH n=${m.seq} d=${short(m.digest)} batch=${m.requests.length} from ${m.replica}`;
    case 'fetch-state':
      return `FETCH-STATE n=${m.seq} chunk=${m.chunk} from ${m.replica}`;
    case 'state-chunk':
      return `STATE-CHUNK n=${m.seq} ${m.chunk}/${m.chunkCount} ${showSize(m.data.length)} from ${m.replica}`;
    case 'status':
      return `STATUS v=${m.view}${m.normal ? '' : ' view-change'} exec=${m.lastExecuted} h=${m.stableSeq} from ${m.replica}`;
    default:
      return `UNKNOWN ${JSON.stringify((m as { type: unknown }).type)}`;
  }
}

function short(digest: Digest): string {
  return digest.slice(0, 6);
}

/** Client ids are printed bare when they are plain visible ASCII, quoted otherwise (keeps it one line). */
function showClient(client: ClientId): string {
  return /^[\x21-\x7e]+$/.test(client) ? client : JSON.stringify(client);
}

function showSize(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  if (bytes < 1024 * 1024) return `${trimZero(bytes / 1024)}KiB`;
  return `${trimZero(bytes / (1024 * 1024))}MiB`;
}

function trimZero(x: number): string {
  const s = x.toFixed(1);
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}
