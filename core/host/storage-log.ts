/**
 * The log above the stable checkpoint on disk (core/pbft/persistence.ts says why it is kept): what
 * the replica pre-prepared and prepared, appended as it happens, in segment files of
 * LOG_SEGMENT_SEQS sequence numbers each, so that a stable checkpoint collects whole files.
 *
 *   log-<k>.v2.bin   records for sequence numbers (k·S, (k+1)·S], S = LOG_SEGMENT_SEQS, in the order written
 *   log-<k>.bin      the same, as version-1 builds wrote them: read, never appended to (see below)
 *
 * A record is `u32 length | u32 CRC-32 of the body | u32 CRC-32 of those 8 bytes | body`
 * (little-endian), the body one kind byte and a canonical PBFT message (core/pbft/codec.ts), so every
 * field is checked as strictly as on the wire:
 *
 *   0x01 pre-prepared   u8 1 (batch present) or 0 (fetched later), then a PRE-PREPARE (its replica 0)
 *   0x02 prepared       a PREPARE (its replica 0): prepared(seq, digest) in view
 *
 * A torn tail and damage are told apart (issue 13): a crash can only cut the last record of a file
 * short, so a tail shorter than a header, or a record whose checked header says it runs past the end
 * of the file, was never completely written — it is dropped on reading (it was never acknowledged).
 * So is a header of zero bytes running to the end of the file (a file system that grew the file
 * before writing its data, then lost power). Anything else — a header or body that fails its checksum,
 * a body that does not decode — is damage, and opening the directory refuses it, naming the file and
 * the byte, and changes nothing. Version-1 records had no header checksum, so there a flipped bit in a
 * length still reads as a torn tail: such segments are only read (their tail is ignored, not cut) and
 * go as stable checkpoints pass them, while new records go to version-2 segments.
 */
import { crc32 } from 'node:zlib';
import { decodeMessage, encodeMessage } from '../pbft/codec.ts';
import type { LogClaim } from '../pbft/messages.ts';
import type { PersistRecord } from '../pbft/outputs.ts';
import type { PersistedLog, PrePreparedRecord } from '../pbft/persistence.ts';

/** Sequence numbers per segment file. */
export const LOG_SEGMENT_SEQS = 64;
/** A segment file's name: its number, and whether it is a version-1 segment (no header checksums). */
export const LOG_SEGMENT_FILE = /^log-(\d{1,15})(\.v2)?\.bin$/;

const KIND_PRE_PREPARED = 0x01;
const KIND_PREPARED = 0x02;
/** length, body checksum, header checksum. */
const HEADER_BYTES = 12;
/** Version-1 records: length, body checksum. */
const V1_HEADER_BYTES = 8;

export type LogRecord = Extract<PersistRecord, { type: 'pre-prepared' | 'prepared' }>;

export function segmentOf(seq: number): number {
  return Math.floor((seq - 1) / LOG_SEGMENT_SEQS);
}

/** The segment file new records of `segment` are appended to. */
export function segmentFile(segment: number): string {
  return `log-${segment}.v2.bin`;
}

/** A segment file's number and format, or null if `name` is not a segment file. */
export function parseSegmentFile(name: string): { segment: number; version: 1 | 2 } | null {
  const match = LOG_SEGMENT_FILE.exec(name);
  return match ? { segment: Number(match[1]), version: match[2] ? 2 : 1 } : null;
}

/** The last sequence number a segment holds: it can go once the stable checkpoint reaches it. */
export function segmentLastSeq(segment: number): number {
  return (segment + 1) * LOG_SEGMENT_SEQS;
}

export function encodeLogRecord(record: LogRecord): Uint8Array {
  let body: Uint8Array;
  if (record.type === 'pre-prepared') {
    const message = encodeMessage({
      type: 'pre-prepare',
      view: record.view,
      seq: record.seq,
      digest: record.digest,
      requests: record.requests ?? [],
      replica: 0,
    });
    body = new Uint8Array(2 + message.length);
    body[0] = KIND_PRE_PREPARED;
    body[1] = record.requests === null ? 0 : 1;
    body.set(message, 2);
  } else {
    const message = encodeMessage({
      type: 'prepare',
      view: record.view,
      seq: record.seq,
      digest: record.digest,
      replica: 0,
    });
    body = new Uint8Array(1 + message.length);
    body[0] = KIND_PREPARED;
    body.set(message, 1);
  }
  const out = new Uint8Array(HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length, true);
  view.setUint32(4, crc32(body), true);
  view.setUint32(8, crc32(out.subarray(0, 8)), true);
  out.set(body, HEADER_BYTES);
  return out;
}

export type LogSegmentRead =
  | { readonly ok: true; readonly records: LogRecord[]; readonly tornTailBytes: number }
  | { readonly ok: false; readonly reason: string };

/** Every record of one segment file; a record never completely written is a torn tail, anything else wrong is damage. */
export function decodeLogSegment(bytes: Uint8Array, version: 1 | 2 = 2): LogSegmentRead {
  const records: LogRecord[] = [];
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerBytes = version === 2 ? HEADER_BYTES : V1_HEADER_BYTES;
  let pos = 0;
  while (pos < bytes.length) {
    const torn = { ok: true, records, tornTailBytes: bytes.length - pos } as const;
    if (bytes.length - pos < headerBytes) return torn;
    const length = data.getUint32(pos, true);
    const checksum = data.getUint32(pos + 4, true);
    if (version === 2 && crc32(bytes.subarray(pos, pos + 8)) !== data.getUint32(pos + 8, true)) {
      if (zeroFrom(bytes, pos)) return torn;
      return { ok: false, reason: `record at byte ${pos} fails its header checksum` };
    }
    if (bytes.length - pos - headerBytes < length) return torn;
    const body = bytes.subarray(pos + headerBytes, pos + headerBytes + length);
    if (crc32(body) !== checksum) return { ok: false, reason: `record at byte ${pos} fails its checksum` };
    const record = decodeBody(body);
    if (typeof record === 'string') return { ok: false, reason: `record at byte ${pos}: ${record}` };
    records.push(record);
    pos += headerBytes + length;
  }
  return { ok: true, records, tornTailBytes: 0 };
}

/** Whether every byte from `pos` to the end is zero. */
function zeroFrom(bytes: Uint8Array, pos: number): boolean {
  for (let i = pos; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

function decodeBody(body: Uint8Array): LogRecord | string {
  const kind = body[0];
  if (kind === KIND_PRE_PREPARED) {
    const present = body[1];
    if (present !== 0 && present !== 1) return `bad batch flag ${String(present)}`;
    const decoded = decodeMessage(body.subarray(2));
    if (!decoded.ok) return decoded.reason;
    const m = decoded.message;
    if (m.type !== 'pre-prepare') return `a ${m.type} where a pre-prepare belongs`;
    // Copies: the file's buffer is not kept alive by what the replica holds for the rest of its life.
    const requests =
      present === 1 ? m.requests.map((r) => ({ ...r, op: r.op.slice(), auth: r.auth.map((a) => a.slice()) })) : null;
    return { type: 'pre-prepared', view: m.view, seq: m.seq, digest: m.digest, requests };
  }
  if (kind === KIND_PREPARED) {
    const decoded = decodeMessage(body.subarray(1));
    if (!decoded.ok) return decoded.reason;
    const m = decoded.message;
    if (m.type !== 'prepare') return `a ${m.type} where a prepare belongs`;
    return { type: 'prepared', seq: m.seq, digest: m.digest, view: m.view };
  }
  return `unknown record kind ${String(kind)}`;
}

/** The records above `stableSeq`, latest view per (seq, digest) and per seq for prepared claims, as the replica restores them. */
export function logAbove(stableSeq: number, records: readonly LogRecord[]): PersistedLog {
  const prePrepared = new Map<string, PrePreparedRecord>();
  const prepared = new Map<number, LogClaim>();
  for (const r of records) {
    if (r.seq <= stableSeq) continue;
    if (r.type === 'pre-prepared') {
      const key = `${r.seq}:${r.digest}`;
      const known = prePrepared.get(key);
      prePrepared.set(key, {
        view: Math.max(r.view, known?.view ?? -1),
        seq: r.seq,
        digest: r.digest,
        requests: r.requests ?? known?.requests ?? null,
      });
    } else {
      const known = prepared.get(r.seq);
      if (!known || known.view <= r.view) prepared.set(r.seq, { seq: r.seq, digest: r.digest, view: r.view });
    }
  }
  return { prePrepared: [...prePrepared.values()], prepared: [...prepared.values()] };
}
