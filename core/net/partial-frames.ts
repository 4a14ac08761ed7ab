/**
 * Bounds on what a peer can make a receiver hold: the bytes of frames that have begun but not ended.
 * A frame is only handed on once complete, so a peer that announces a large frame and never sends its
 * last byte pins the rest (issue 13, finding 3: 16 identities × 4 streams × 4 MiB took a replica from
 * 120 to 415 MiB, for minutes). Three limits, each enforced by resetting the stream that crosses it:
 *
 * - a frame limit per kind of peer (frame-transport.ts): members of the roster may send 4 MiB frames
 *   (a state transfer's checkpoint); anyone else (clients, observers, strangers who hold the key) far
 *   less, enough for the largest frame a client sends;
 * - bytes held per peer, across all its streams, and bytes held by all non-members together (members
 *   are few — n — and each bounded on its own, so they never compete with strangers for room);
 * - a deadline: a frame still incomplete after `timeoutMs` plus the time its announced length takes at
 *   `minBytesPerSec` is reset, so even bytes within the caps are not held for long.
 */

export interface PartialFrameLimits {
  /** Bytes of partial frames held for one member of the roster. */
  readonly perMemberBytes: number;
  /** Bytes of partial frames held for one peer outside the roster. */
  readonly perNonMemberBytes: number;
  /** Bytes of partial frames held for all peers outside the roster together. */
  readonly nonMembersBytes: number;
  /** A partial frame is given this long… */
  readonly timeoutMs: number;
  /** …plus the time its announced length takes at this rate. */
  readonly minBytesPerSec: number;
}

/** One inbound stream's account: what it holds now, and under which class of peer it was charged. */
export interface PartialAccount {
  readonly peer: string;
  held: number;
  member: boolean;
}

export type BudgetVerdict = 'ok' | 'peer' | 'non-members';

export class PartialFrameBudget {
  readonly limits: PartialFrameLimits;
  readonly #byPeer = new Map<string, number>();
  #nonMembers = 0;
  #members = 0;

  constructor(limits: PartialFrameLimits) {
    this.limits = limits;
  }

  /** Bytes held for peers outside the roster, and for members. */
  get nonMemberBytes(): number {
    return this.#nonMembers;
  }

  get memberBytes(): number {
    return this.#members;
  }

  heldBy(peer: string): number {
    return this.#byPeer.get(peer) ?? 0;
  }

  /**
   * The stream behind `account` now holds `held` bytes and its peer is (not) a member; returns which
   * limit, if any, is now exceeded. The charge is recorded either way (release it with `held` 0).
   */
  update(account: PartialAccount, held: number, member: boolean): BudgetVerdict {
    this.#charge(account.peer, account.member, -account.held);
    account.held = held;
    account.member = member;
    this.#charge(account.peer, member, held);
    if (held === 0) return 'ok';
    const perPeer = member ? this.limits.perMemberBytes : this.limits.perNonMemberBytes;
    if (this.heldBy(account.peer) > perPeer) return 'peer';
    if (!member && this.#nonMembers > this.limits.nonMembersBytes) return 'non-members';
    return 'ok';
  }

  /** When a frame announced as `announcedBytes` and begun at `since` must be complete. */
  deadline(since: number, announcedBytes: number): number {
    return since + this.limits.timeoutMs + (Math.max(0, announcedBytes) / this.limits.minBytesPerSec) * 1000;
  }

  #charge(peer: string, member: boolean, delta: number): void {
    if (delta === 0) return;
    const total = (this.#byPeer.get(peer) ?? 0) + delta;
    if (total === 0) this.#byPeer.delete(peer);
    else this.#byPeer.set(peer, total);
    if (member) this.#members += delta;
    else this.#nonMembers += delta;
  }
}
