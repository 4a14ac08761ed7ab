/**
 * The binary file that holds the last stable checkpoint (§4.3): its sequence number, state digest,
 * proof (2f+1 signed CHECKPOINT messages) and the application snapshot. Binary rather than JSON,
 * because snapshots reach tens of MB and base64 would add a third and a full extra copy.
 *
 * Layout (varints are ByteWriter's minimal unsigned LEB128):
 *
 *   magic       8 bytes   "PBFTCKPT"
 *   version     varint    CHECKPOINT_FILE_VERSION
 *   seq         varint
 *   stateDigest 32 bytes  the SHA-256 state digest, raw
 *   proof       varint count, then per message: varint length + codec bytes (encodeMessage)
 *   snapshot    varint length + bytes
 *   checksum    32 bytes  SHA-256 of every byte before it
 *
 * The magic and version come first and are read before the checksum, so a foreign file or one
 * written by a newer build is named as such rather than reported as damaged.
 */
import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter, equalBytes } from '../pbft/bytes.ts';
import { bytesToHex, decodeMessage, encodeMessage, hexToBytes } from '../pbft/codec.ts';
import type { Checkpoint, Digest } from '../pbft/messages.ts';

export const CHECKPOINT_FILE_MAGIC = Uint8Array.from('PBFTCKPT', (c) => c.charCodeAt(0));
export const CHECKPOINT_FILE_VERSION = 1;
const DIGEST_BYTES = 32;
const CHECKSUM_BYTES = 32;
/** The codec allows at most 256 replicas, so a proof never holds more messages than that. */
const PROOF_COUNT_MAX = 256;

export interface StoredCheckpoint {
  readonly seq: number;
  readonly stateDigest: Digest;
  readonly proof: readonly Checkpoint[];
  readonly snapshot: Uint8Array;
}

export type CheckpointFileResult =
  { readonly ok: true; readonly checkpoint: StoredCheckpoint } | { readonly ok: false; readonly reason: string };

/**
 * The file's bytes as chunks, to be written in order. The snapshot is one of them, not copied into
 * a larger buffer. Throws (RangeError, CodecError) if the checkpoint cannot be encoded.
 */
export function encodeCheckpointFile(checkpoint: StoredCheckpoint): Uint8Array[] {
  const digest = hexToBytes(checkpoint.stateDigest);
  if (digest.length !== DIGEST_BYTES) throw new RangeError(`state digest is not ${DIGEST_BYTES} bytes of hex`);
  if (checkpoint.proof.length > PROOF_COUNT_MAX) throw new RangeError(`proof has over ${PROOF_COUNT_MAX} messages`);
  const header = new ByteWriter();
  header.raw(CHECKPOINT_FILE_MAGIC);
  header.varint(CHECKPOINT_FILE_VERSION);
  header.varint(checkpoint.seq);
  header.raw(digest);
  header.varint(checkpoint.proof.length);
  for (const message of checkpoint.proof) header.bytes(encodeMessage(message));
  header.varint(checkpoint.snapshot.length);
  const head = header.finish();
  const checksum = createHash('sha256').update(head).update(checkpoint.snapshot).digest();
  return [head, checkpoint.snapshot, new Uint8Array(checksum.buffer, checksum.byteOffset, checksum.byteLength)];
}

/**
 * Parse and check a checkpoint file. Never throws: anything `encodeCheckpointFile` could not have
 * written gives a reason. Byte fields of the result (snapshot, signatures) alias `bytes`.
 */
export function decodeCheckpointFile(bytes: Uint8Array): CheckpointFileResult {
  const fail = (reason: string): CheckpointFileResult => ({ ok: false, reason });
  const magic = CHECKPOINT_FILE_MAGIC;
  if (bytes.length < magic.length || !equalBytes(bytes.subarray(0, magic.length), magic)) {
    return fail('wrong magic: not a PBFT Lab checkpoint file');
  }
  const preamble = new ByteReader(bytes.subarray(magic.length));
  const version = preamble.varint();
  if (!preamble.ok) return fail(`truncated header (${preamble.error})`);
  if (version !== CHECKPOINT_FILE_VERSION) {
    return fail(`unknown format version ${version} (this build reads version ${CHECKPOINT_FILE_VERSION})`);
  }
  if (bytes.length < magic.length + 1 + DIGEST_BYTES + CHECKSUM_BYTES) return fail('truncated');
  const body = bytes.subarray(0, bytes.length - CHECKSUM_BYTES);
  const expected = createHash('sha256').update(body).digest();
  if (!equalBytes(expected, bytes.subarray(body.length))) return fail('checksum mismatch: damaged or truncated');

  const r = new ByteReader(body);
  r.raw(magic.length);
  r.varint();
  const seq = r.varint();
  const stateDigest = bytesToHex(r.raw(DIGEST_BYTES));
  const count = r.varint();
  if (!r.ok) return fail(`bad header (${r.error})`);
  if (count > PROOF_COUNT_MAX) return fail(`proof has ${count} messages (at most ${PROOF_COUNT_MAX})`);
  const proof: Checkpoint[] = [];
  for (let i = 0; i < count; i++) {
    const encoded = r.bytes();
    if (!r.ok) return fail(`bad proof message ${i} (${r.error})`);
    const decoded = decodeMessage(encoded);
    if (!decoded.ok) return fail(`bad proof message ${i}: ${decoded.reason}`);
    const m = decoded.message;
    if (m.type !== 'checkpoint') return fail(`proof message ${i} is a ${m.type}, not a checkpoint`);
    if (m.seq !== seq || m.stateDigest !== stateDigest) {
      return fail(
        `proof message ${i} is for seq ${m.seq} digest ${m.stateDigest}, not the file's seq ${seq} digest ${stateDigest}`,
      );
    }
    proof.push(m);
  }
  const snapshot = r.bytes();
  if (!r.ok) return fail(`bad snapshot (${r.error})`);
  if (!r.atEnd()) return fail('trailing bytes after the snapshot');
  return { ok: true, checkpoint: { seq, stateDigest, proof, snapshot } };
}
