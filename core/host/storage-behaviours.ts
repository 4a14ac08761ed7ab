/**
 * behaviours.json in the data directory: this replica's behaviour history and the latest signed
 * history of each other member (behaviour-ledger.ts), so a restart neither forgets that this
 * replica was Byzantine nor who else was.
 *
 *   {"version": 1,
 *    "own": [{"n": 1, "atMs": 1765100000000, "behaviour": "silent"}, {"n": 2, "atMs": …, "behaviour": null}],
 *    "members": {"12D3…": "<the signed history as received, base64>"}}
 *
 * Written whole and atomically like the other files (storage.ts). The signed histories are checked
 * again by the ledger when it loads them; here only their shape.
 */
import { copyEntries, entriesProblem, SIGNED_HISTORY_BYTES_MAX } from './behaviour-history.ts';
import type { BehaviourSwitch } from './lab-api.ts';

/** What the data directory keeps. */
export interface StoredBehaviours {
  /** This machine's own switches, oldest first. */
  readonly own: readonly BehaviourSwitch[];
  /** The latest signed history of each other member (as received, signature included). */
  readonly members: Readonly<Record<string, Uint8Array>>;
}

/** More than any roster has members: a file with more is not one we wrote. */
const MEMBERS_MAX = 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The file's fields (without the version, which storage.ts adds and checks). */
export function behavioursFileFields(stored: StoredBehaviours): {
  own: BehaviourSwitch[];
  members: Record<string, string>;
} {
  const members: Record<string, string> = {};
  for (const [peer, signed] of Object.entries(stored.members)) members[peer] = Buffer.from(signed).toString('base64');
  return { own: copyEntries(stored.own), members };
}

/** The stored histories from the file's parsed JSON, or why it holds none. */
export function readBehavioursFields(value: Record<string, unknown>): StoredBehaviours | string {
  const problem = entriesProblem(value.own);
  if (problem !== null) return `own history: ${problem}`;
  const { members } = value;
  if (typeof members !== 'object' || members === null || Array.isArray(members)) return 'members is not an object';
  const entries = Object.entries(members);
  if (entries.length > MEMBERS_MAX) return `more than ${MEMBERS_MAX} members`;
  const signed: Record<string, Uint8Array> = {};
  for (const [peer, text] of entries) {
    if (typeof text !== 'string' || !BASE64.test(text) || text.length > (SIGNED_HISTORY_BYTES_MAX * 4) / 3 + 4)
      return `members["${peer}"] is not a signed history in base64`;
    signed[peer] = new Uint8Array(Buffer.from(text, 'base64'));
  }
  return { own: copyEntries(value.own as BehaviourSwitch[]), members: signed };
}
