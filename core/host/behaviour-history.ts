/**
 * A replica's behaviour history: each switch of its Byzantine behaviour (which behaviour, or honest
 * again; when, by its own clock; a sequence number), signed with its identity key so that another
 * member can check, against the sender's peer id, that the history is that replica's own.
 *
 * Signed form (the body of a BEHAVIOUR-HISTORY frame, wire.ts, and what behaviours.json keeps of the
 * other members): a 64-byte Ed25519 signature, then the payload as UTF-8 JSON,
 *
 *   {"cluster": "…", "size": 4, "peerId": "12D3…", "entries": [{"n": 1, "atMs": 1765100000000, "behaviour": "silent"}, …]}
 *
 * signed over SIGNING_CONTEXT followed by the payload bytes (so the signature cannot be taken for
 * one over a PBFT message). The signature is checked over the bytes received, so the JSON need not
 * be canonical. Cluster and size tie a history to one cluster; the last entry's n orders the
 * histories of one replica (a newer one has a larger n), so an old one sent again changes nothing.
 *
 * Bounded: at most BEHAVIOUR_HISTORY_MAX entries — the first switch to a Byzantine behaviour (what
 * makes the replica count against f for good) and the latest ones.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { publicKeyFromPeerId } from '../crypto/libp2p-keys.ts';
import type { BehaviourSwitch } from './lab-api.ts';

/** Most switches a history keeps (and a signed one may carry). */
export const BEHAVIOUR_HISTORY_MAX = 64;
/** Largest signed history accepted: 64 entries of well under 100 bytes each, with room to spare. */
export const SIGNED_HISTORY_BYTES_MAX = 16 * 1024;
export const SIGNATURE_BYTES = 64;
const SIGNING_CONTEXT = new TextEncoder().encode('pbft-lab behaviour history v1\n');

/** Catalogue ids, as the LabApi validates them (api-server-validate.ts). */
const BEHAVIOUR_ID = /^[a-z][a-z0-9-]{0,39}$/;
/** Peer ids and cluster names: as long as a HELLO allows (core/net/roster.ts). */
const PEER_ID_MAX = 128;
const CLUSTER_NAME_MAX = 64;

export interface BehaviourHistory {
  readonly cluster: string;
  readonly size: number;
  readonly peerId: string;
  /** Oldest first, n strictly increasing. */
  readonly entries: readonly BehaviourSwitch[];
}

/** The n of the latest switch (0: none yet). A newer history of the same replica has a larger one. */
export function historySeq(history: Pick<BehaviourHistory, 'entries'>): number {
  return history.entries.at(-1)?.n ?? 0;
}

/** The first switch to a Byzantine behaviour, or null if the replica has never been Byzantine. */
export function firstByzantine(entries: readonly BehaviourSwitch[]): BehaviourSwitch | null {
  return entries.find((e) => e.behaviour !== null) ?? null;
}

/** The behaviour the history says the replica runs now (null: honest). */
export function currentBehaviour(entries: readonly BehaviourSwitch[]): string | null {
  return entries.at(-1)?.behaviour ?? null;
}

/** The entries with one more switch, trimmed to BEHAVIOUR_HISTORY_MAX (the first Byzantine switch always kept). */
export function withSwitch(
  entries: readonly BehaviourSwitch[],
  behaviour: string | null,
  atMs: number,
  restart = false,
): BehaviourSwitch[] {
  const change: BehaviourSwitch = { n: historySeq({ entries }) + 1, atMs, behaviour, ...(restart ? { restart } : {}) };
  const next = [...entries, change];
  while (next.length > BEHAVIOUR_HISTORY_MAX) {
    const first = firstByzantine(next);
    next.splice(next[0] === first ? 1 : 0, 1);
  }
  return next;
}

/** Why `value` is not a list of switches as a history holds them, or null if it is one. */
export function entriesProblem(value: unknown): string | null {
  if (!Array.isArray(value)) return 'entries is not a list';
  if (value.length > BEHAVIOUR_HISTORY_MAX) return `more than ${BEHAVIOUR_HISTORY_MAX} entries`;
  let previous = 0;
  for (const [i, entry] of value.entries()) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `entry ${i} is not an object`;
    const { n, atMs, behaviour, restart } = entry as Record<string, unknown>;
    if (!Number.isSafeInteger(n) || (n as number) <= previous) return `entry ${i}: n is not above ${previous}`;
    if (!Number.isSafeInteger(atMs) || (atMs as number) < 0) return `entry ${i}: atMs is not a time`;
    if (behaviour !== null && (typeof behaviour !== 'string' || !BEHAVIOUR_ID.test(behaviour)))
      return `entry ${i}: behaviour is not a catalogue id or null`;
    if (restart !== undefined && (restart !== true || behaviour !== null))
      return `entry ${i}: restart is only true, on an honest entry`;
    previous = n as number;
  }
  return null;
}

/** Fresh entries holding only the declared fields (call after entriesProblem said null). */
export function copyEntries(value: readonly BehaviourSwitch[]): BehaviourSwitch[] {
  return value.map(({ n, atMs, behaviour, restart }) => ({ n, atMs, behaviour, ...(restart ? { restart } : {}) }));
}

/** The signed form of `history`, with the replica's identity key (core/crypto/libp2p-keys.ts). */
export function signHistory(history: BehaviourHistory, key: KeyObject): Uint8Array {
  const payload = new TextEncoder().encode(
    JSON.stringify({
      cluster: history.cluster,
      size: history.size,
      peerId: history.peerId,
      entries: copyEntries(history.entries),
    }),
  );
  const signature = sign(null, withContext(payload), key);
  const signed = new Uint8Array(SIGNATURE_BYTES + payload.length);
  signed.set(signature, 0);
  signed.set(payload, SIGNATURE_BYTES);
  return signed;
}

export type OpenedHistory =
  { readonly ok: true; readonly history: BehaviourHistory } | { readonly ok: false; readonly reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The history a signed form claims, checked field by field but not its signature (verifyHistory):
 * reading it is cheap, so a copy no newer than the one already held costs no verification.
 */
export function readSignedHistory(signed: Uint8Array): OpenedHistory {
  if (signed.length <= SIGNATURE_BYTES) return { ok: false, reason: 'no payload after the signature' };
  if (signed.length > SIGNED_HISTORY_BYTES_MAX) return { ok: false, reason: `over ${SIGNED_HISTORY_BYTES_MAX} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(signed.subarray(SIGNATURE_BYTES)));
  } catch {
    return { ok: false, reason: 'payload is not UTF-8 JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, reason: 'payload is not an object' };
  const { cluster, size, peerId, entries } = value as Record<string, unknown>;
  if (typeof cluster !== 'string' || cluster.length === 0 || cluster.length > CLUSTER_NAME_MAX)
    return { ok: false, reason: 'no valid cluster name' };
  if (!Number.isSafeInteger(size) || (size as number) < 1) return { ok: false, reason: 'no valid cluster size' };
  if (typeof peerId !== 'string' || peerId.length === 0 || peerId.length > PEER_ID_MAX)
    return { ok: false, reason: 'no valid peer id' };
  const problem = entriesProblem(entries);
  if (problem !== null) return { ok: false, reason: problem };
  return {
    ok: true,
    history: { cluster, size: size as number, peerId, entries: copyEntries(entries as BehaviourSwitch[]) },
  };
}

/** Whether `signed` carries a valid signature by `peerId`'s identity key. Never throws. */
export function verifyHistory(signed: Uint8Array, peerId: string): boolean {
  if (signed.length <= SIGNATURE_BYTES) return false;
  try {
    return verify(
      null,
      withContext(signed.subarray(SIGNATURE_BYTES)),
      publicKeyFromPeerId(peerId),
      signed.subarray(0, SIGNATURE_BYTES),
    );
  } catch {
    // Not an Ed25519 peer id: nothing it signs can be checked.
    return false;
  }
}

function withContext(payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(SIGNING_CONTEXT.length + payload.length);
  bytes.set(SIGNING_CONTEXT, 0);
  bytes.set(payload, SIGNING_CONTEXT.length);
  return bytes;
}
