/**
 * Who has been Byzantine in this run (issue 19, finding 2). PBFT promises safety and liveness with
 * at most f faulty replicas over the whole run: a replica made Byzantine once, then honest again,
 * still counts, and so does one Byzantine before another is. Each host keeps its replica's behaviour
 * history (behaviour-history.ts) in its data directory and shares it, signed, with every peer it
 * knows; this ledger holds this machine's own history and the latest history of each other member,
 * and counts the distinct members that have ever run a Byzantine behaviour.
 *
 * A history from another member is taken only if it is signed by that member, is about that member
 * (the peer id in it is the sender's), is of this cluster, is newer than the one held (its last n
 * is larger: an old copy sent again changes nothing), and keeps what the held one said (the same
 * switches under the same numbers, the first Byzantine one included: a history cannot be rewritten
 * to clear a replica). Everything taken is persisted with the own history, so a restarted machine
 * still knows who was Byzantine while it was down.
 */
import type { KeyObject } from 'node:crypto';
import {
  currentBehaviour,
  firstByzantine,
  historySeq,
  readSignedHistory,
  signHistory,
  verifyHistory,
  withSwitch,
  type BehaviourHistory,
} from './behaviour-history.ts';
import { short } from './host-events.ts';
import { EXCEED_F_MESSAGE, type BehaviourSwitch, type FaultySoFar, type MemberBehaviour } from './lab-api.ts';
import type { StoredBehaviours } from './storage-behaviours.ts';

/** A switch to a Byzantine behaviour that would make more than f replicas faulty, without `exceedF`. */
export class FaultBoundError extends Error {
  override readonly name = 'FaultBoundError';

  /** @param detail who has been Byzantine so far, and what this switch would make of it */
  constructor(detail: string) {
    super(`${EXCEED_F_MESSAGE}. ${detail}`);
  }
}

export interface BehaviourLedgerOptions {
  readonly cluster: string;
  readonly size: number;
  /** This machine's peer id. */
  readonly self: string;
  /** The agreed roster: peer ids by replica id. */
  readonly roster: readonly string[];
  /** This machine's identity key (signingKeyFromLibp2p). */
  readonly signingKey: KeyObject;
  /** What the data directory held at start, if anything. */
  readonly stored: StoredBehaviours | null;
  /** Write everything to the data directory; resolves once it is on disk. */
  readonly save: (stored: StoredBehaviours) => Promise<void>;
  /** A switch was added to a member's history (its own or one received). */
  readonly onSwitch: (member: MemberBehaviour, change: BehaviourSwitch, tally: FaultySoFar) => void;
  readonly note: (line: string, level?: 'info' | 'debug') => void;
  /** The time a switch of this machine is recorded at. @default Date.now */
  readonly now?: () => number;
}

interface HeldHistory {
  readonly entries: readonly BehaviourSwitch[];
  /** The signed form: as received from another member; for our own, made when first needed. */
  signed: Uint8Array | null;
}

export class BehaviourLedger {
  private readonly options: BehaviourLedgerOptions;
  private readonly now: () => number;
  private readonly f: number;
  /** The history of each member we hold, by peer id (our own included, if we are a member). */
  private readonly held = new Map<string, HeldHistory>();
  /**
   * Our switches with the one being recorded, until it is on disk: what a write puts in the file,
   * though not yet what is shared or counted (a switch is visible only once it is durable).
   */
  private recording: readonly BehaviourSwitch[] | null = null;
  /** Queued writes, in order: each writes what the ledger holds when its turn comes. */
  private saving: Promise<void> = Promise.resolve();

  constructor(options: BehaviourLedgerOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.f = (options.size - 1) / 3;
    const { stored, self, roster } = options;
    if (roster.includes(self)) this.held.set(self, { entries: stored?.own ?? [], signed: null });
    for (const [peer, signed] of Object.entries(stored?.members ?? {})) {
      const why = this.whyNot(peer, signed);
      if (why === null) this.held.set(peer, { entries: this.read(signed), signed });
      else options.note(`behaviour history of ${short(peer)} from the data directory ignored: ${why}`);
    }
  }

  /** Our own switches, oldest first. */
  get own(): readonly BehaviourSwitch[] {
    return this.held.get(this.options.self)?.entries ?? [];
  }

  /**
   * Record a switch of this machine's replica. It is shared and counted only once it is on disk, and
   * so is the switch itself (the host makes it when this resolves): a history another member holds
   * never runs ahead of the one a restart reads back. Rejects if it cannot be written; then nothing
   * is recorded. One at a time.
   */
  async record(behaviour: string | null, restart = false): Promise<void> {
    const self = this.options.self;
    const before = this.held.get(self);
    if (!before) throw new Error('this machine runs no replica of the roster: it has no behaviour history');
    if (this.recording) throw new Error('a behaviour switch is being recorded already');
    const entries = withSwitch(before.entries, behaviour, this.now(), restart);
    this.recording = entries;
    try {
      await this.persist();
    } finally {
      this.recording = null;
    }
    this.held.set(self, { entries, signed: null });
    this.announce(self, [entries.at(-1)!]);
  }

  /**
   * Throws FaultBoundError if switching this machine's replica to a Byzantine behaviour would make
   * more than f replicas faulty in this run. A replica already counted (Byzantine before) adds none.
   */
  checkBound(): void {
    const tally = this.tally();
    const self = tally.members.find((m) => m.peerId === this.options.self);
    if (!self || self.firstByzantine !== null || tally.count + 1 <= this.f) return;
    const who = tally.members
      .filter((m) => m.firstByzantine !== null)
      .map(
        (m) =>
          `replica ${m.replicaId} (${m.firstByzantine!.behaviour}, from ${clockTime(m.firstByzantine!.atMs)} on its clock)`,
      );
    throw new FaultBoundError(
      `Byzantine so far: ${who.join(', ')}; replica ${self.replicaId} would make ${tally.count + 1} of f = ${this.f}. ` +
        'Confirm (exceedF) to switch anyway.',
    );
  }

  /**
   * A signed history that a member sent (`from`: the authenticated sender). Returns why it was
   * ignored, or null if it was taken or is the one already held.
   */
  accept(from: string, signed: Uint8Array): string | null {
    const held = this.held.get(from);
    if (held?.signed && sameBytes(held.signed, signed)) return null;
    const why = this.whyNot(from, signed);
    if (why !== null) return why;
    const entries = this.read(signed);
    const added = entries.filter((e) => e.n > historySeq({ entries: held?.entries ?? [] }));
    this.held.set(from, { entries, signed: signed.slice() });
    this.persist().catch((error: unknown) =>
      this.options.note(`behaviour history of ${short(from)} not saved: ${(error as Error).message}`),
    );
    this.announce(from, added);
    return null;
  }

  /** Our own history, signed, to send to the others; null if this machine runs no replica of the roster. */
  signedOwn(): Uint8Array | null {
    const own = this.held.get(this.options.self);
    if (!own) return null;
    own.signed ??= signHistory(this.historyOf(this.options.self, own.entries), this.options.signingKey);
    return own.signed;
  }

  tally(): FaultySoFar {
    const members = this.options.roster.map((peerId, replicaId): MemberBehaviour => {
      const entries = this.held.get(peerId)?.entries ?? [];
      return {
        replicaId,
        peerId,
        known: this.held.has(peerId),
        behaviour: currentBehaviour(entries),
        firstByzantine: firstByzantine(entries),
        history: entries,
      };
    });
    const count = members.filter((m) => m.firstByzantine !== null).length;
    return { f: this.f, count, beyondBound: count > this.f, members };
  }

  /** Why another member's signed history is not to be taken (in this order: cheap checks first). */
  private whyNot(from: string, signed: Uint8Array): string | null {
    const { cluster, size, roster, self } = this.options;
    if (from === self) return 'it claims to be ours';
    if (!roster.includes(from)) return 'not a member of the roster';
    const opened = readSignedHistory(signed);
    if (!opened.ok) return `malformed (${opened.reason})`;
    const { history } = opened;
    if (history.peerId !== from) return `it is the history of ${short(history.peerId)}, not of its sender`;
    if (history.cluster !== cluster || history.size !== size)
      return `of cluster "${history.cluster}" of ${history.size}, not "${cluster}" of ${size}`;
    const held = this.held.get(from)?.entries ?? [];
    if (this.held.has(from) && historySeq(history) <= historySeq({ entries: held }))
      return `not newer than the one held (switch ${historySeq(history)}, held ${historySeq({ entries: held })}): an old copy`;
    if (!verifyHistory(signed, from)) return 'bad signature';
    const byNumber = new Map(history.entries.map((e) => [e.n, e]));
    for (const e of held) {
      const same = byNumber.get(e.n);
      if (same && !sameSwitch(same, e)) return `it rewrites switch ${e.n}`;
    }
    const first = firstByzantine(held);
    const kept = first && byNumber.get(first.n);
    if (first && !(kept && sameSwitch(kept, first)))
      return `it drops switch ${first.n}, its first to a Byzantine behaviour`;
    return null;
  }

  /** The entries of a signed history already checked by whyNot. */
  private read(signed: Uint8Array): readonly BehaviourSwitch[] {
    const opened = readSignedHistory(signed);
    return opened.ok ? opened.history.entries : [];
  }

  private historyOf(peerId: string, entries: readonly BehaviourSwitch[]): BehaviourHistory {
    return { cluster: this.options.cluster, size: this.options.size, peerId, entries };
  }

  private persist(): Promise<void> {
    const write = this.saving.then(() => this.options.save(this.stored()));
    // The next write waits for this one, whether it landed or not.
    this.saving = write.catch(() => {});
    return write;
  }

  private stored(): StoredBehaviours {
    const members: Record<string, Uint8Array> = {};
    for (const [peer, held] of this.held) if (peer !== this.options.self && held.signed) members[peer] = held.signed;
    return { own: this.recording ?? this.own, members };
  }

  /** Tell the lab about switches added to `peer`'s history. */
  private announce(peer: string, added: readonly BehaviourSwitch[]): void {
    if (added.length === 0) return;
    const tally = this.tally();
    const member = tally.members.find((m) => m.peerId === peer)!;
    for (const change of added) this.options.onSwitch(member, change, tally);
  }
}

/** A time on a machine's own clock, as a person reads it (hh:mm:ss, this machine's time zone). */
export function clockTime(atMs: number): string {
  return new Date(atMs).toLocaleTimeString('en-GB', { hour12: false });
}

/** One line for the log about a switch, with the tally it leads to. */
export function describeSwitch(member: MemberBehaviour, change: BehaviourSwitch, tally: FaultySoFar): string {
  const what =
    change.behaviour === null
      ? `honest again${change.restart ? ' (restarted)' : ''}`
      : `BYZANTINE (${change.behaviour})`;
  const bound = tally.beyondBound ? ` — beyond PBFT's bound: ${EXCEED_F_MESSAGE}` : '';
  return `replica ${member.replicaId} ${what} at ${clockTime(change.atMs)} on its clock (switch ${change.n}); faulty so far: ${tally.count} of f = ${tally.f}${bound}`;
}

function sameSwitch(a: BehaviourSwitch, b: BehaviourSwitch): boolean {
  return (
    a.n === b.n && a.atMs === b.atMs && a.behaviour === b.behaviour && (a.restart ?? false) === (b.restart ?? false)
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
