/**
 * What one replica can honestly know about its peers from what it received itself (issue 14, the
 * per-replica dashboard): no room, no telemetry of others, only its own inputs. Its notes are
 * evidence, not verdicts: "r0: no PRE-PREPARE for a request waiting 2.1 s", "r3's votes missing from
 * 18 of the last 20 rows", "r2 sent a digest no one else sent at n=7".
 */
import type { Message, ReplicaId } from '../pbft/messages.ts';
import type { ReplicaEvent } from '../pbft/outputs.ts';

/** Rows (executed sequence numbers) the vote tally looks back over. */
export const WITNESS_ROWS = 20;
/** A request waiting this long for its PRE-PREPARE is worth a note. */
export const WAITING_NOTE_MS = 1_000;
/** A peer silent (no protocol message) this long while others talk is worth a note. */
export const SILENT_NOTE_MS = 3_000;
const REQUESTS_TRACKED_MAX = 4_096;
const SEQS_TRACKED_MAX = 256;

interface Row {
  readonly seq: number;
  /** The digest this replica pre-prepared (or executed) here. */
  digest: string | null;
  executed: boolean;
  /** Peers whose PREPARE or COMMIT for this row arrived, with the digest each carried. */
  readonly votes: Map<ReplicaId, Set<string>>;
}

export interface PeerWitnessOptions {
  readonly self: ReplicaId;
  readonly n: number;
  /** Monotonic ms. @default performance.now */
  readonly now?: () => number;
}

export class PeerWitness {
  private readonly self: ReplicaId;
  private readonly n: number;
  private readonly now: () => number;
  /** Requests received (from clients, or relayed) and not yet seen in a PRE-PREPARE, with when. */
  private readonly waiting = new Map<string, number>();
  private readonly rows = new Map<number, Row>();
  private readonly lastProtocolAt = new Map<ReplicaId, number>();
  /** The view each peer last reported in its STATUS (what the machine received, whatever its replica does). */
  private readonly peerViews = new Map<ReplicaId, number>();
  private readonly startedAt: number;

  constructor(options: PeerWitnessOptions) {
    this.self = options.self;
    this.n = options.n;
    this.now = options.now ?? (() => performance.now());
    this.startedAt = this.now();
  }

  /** A client's request reached this replica (it then waits for the primary's PRE-PREPARE of it). */
  request(client: string, timestamp: number): void {
    const key = `${client}:${timestamp}`;
    if (this.waiting.has(key)) return;
    if (this.waiting.size >= REQUESTS_TRACKED_MAX) this.waiting.delete(this.waiting.keys().next().value!);
    this.waiting.set(key, this.now());
  }

  /** A replica message from `from` (authenticated), or one this replica sent (from = self). */
  message(from: ReplicaId, message: Message): void {
    if (from !== this.self) this.lastProtocolAt.set(from, this.now());
    switch (message.type) {
      case 'status':
        if (from !== this.self) this.peerViews.set(from, message.view);
        return;
      case 'request':
        if (from !== this.self) this.request(message.client, message.timestamp);
        return;
      case 'pre-prepare':
        for (const r of message.requests) this.waiting.delete(`${r.client}:${r.timestamp}`);
        return;
      case 'prepare':
      case 'commit': {
        if (from === this.self) return;
        const row = this.row(message.seq);
        let digests = row.votes.get(from);
        if (!digests) row.votes.set(from, (digests = new Set()));
        digests.add(message.digest);
        return;
      }
      default:
        return;
    }
  }

  /** This replica's own protocol events. */
  event(event: ReplicaEvent): void {
    switch (event.type) {
      case 'pre-prepared':
        this.row(event.seq).digest = event.digest;
        return;
      case 'executed': {
        const row = this.row(event.seq);
        row.digest = event.digest;
        row.executed = true;
        for (const r of event.requests) this.waiting.delete(`${r.client}:${r.timestamp}`);
        return;
      }
      case 'new-view':
        // A new primary re-proposes what it must; requests still waiting are its to order now.
        for (const key of this.waiting.keys()) this.waiting.set(key, this.now());
        return;
      default:
        return;
    }
  }

  /** The notes, given the current primary (null while changing view) and who is silent by choice of this machine. */
  notes(primary: ReplicaId | null): string[] {
    const now = this.now();
    const notes: string[] = [];
    const oldest = this.waiting.values().next().value;
    if (primary !== null && primary !== this.self && oldest !== undefined && now - oldest >= WAITING_NOTE_MS)
      notes.push(
        `r${primary} (primary): no PRE-PREPARE for a request waiting ${((now - oldest) / 1000).toFixed(1)} s` +
          (this.waiting.size > 1 ? ` (${this.waiting.size} requests waiting)` : ''),
      );
    const executed = [...this.rows.values()]
      .filter((r) => r.executed)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, WITNESS_ROWS);
    if (executed.length >= 5) {
      for (let peer = 0; peer < this.n; peer++) {
        if (peer === this.self) continue;
        const missing = executed.filter((row) => !row.votes.has(peer)).length;
        if (missing >= Math.ceil(executed.length / 2))
          notes.push(`r${peer}'s votes (PREPARE, COMMIT) missing from ${missing} of the last ${executed.length} rows`);
      }
    }
    for (const row of [...this.rows.values()].sort((a, b) => b.seq - a.seq).slice(0, WITNESS_ROWS)) {
      for (const [peer, digests] of row.votes) {
        for (const digest of digests) {
          if (digest === row.digest) continue;
          const others = [...row.votes].filter(([p, ds]) => p !== peer && ds.has(digest)).length;
          if (others === 0 && row.digest !== null)
            notes.push(`r${peer} sent a digest no one else sent at n=${row.seq} (${digest.slice(0, 8)})`);
        }
      }
    }
    const heard = [...this.lastProtocolAt.values()];
    const someoneTalks = heard.some((at) => now - at < SILENT_NOTE_MS);
    for (let peer = 0; peer < this.n; peer++) {
      if (peer === this.self) continue;
      const at = this.lastProtocolAt.get(peer) ?? this.startedAt;
      if (someoneTalks && now - at >= SILENT_NOTE_MS)
        notes.push(
          `r${peer}: no protocol message for ${((now - at) / 1000).toFixed(1)} s while the others talk (its connection may still be up)`,
        );
    }
    return notes;
  }

  /**
   * The truth about this replica itself, for its own dashboard: a silent replica takes no input, so
   * its view, log and peers are frozen; the machine still receives the others' STATUS, which says
   * where they are.
   */
  selfNotes(ownView: number, behaviour: string | null): string[] {
    const notes: string[] = [];
    if (behaviour === 'silent')
      notes.push(
        'This replica is silent: it takes no input and sends nothing, so the view, log and checkpoints shown here are frozen where it stopped. The other replicas no longer hear from it.',
      );
    const views = [...this.peerViews.values()].sort((a, b) => b - a);
    const { f } = { f: (this.n - 1) / 3 };
    const ahead = views.filter((v) => v > ownView);
    if (ahead.length >= f + 1)
      notes.push(
        `${ahead.length} other replicas report view ${ahead[Math.min(ahead.length - 1, f)]} or later in their STATUS messages; this replica is still in view ${ownView}.`,
      );
    return notes;
  }

  private row(seq: number): Row {
    let row = this.rows.get(seq);
    if (!row) {
      row = { seq, digest: null, executed: false, votes: new Map() };
      this.rows.set(seq, row);
      if (this.rows.size > SEQS_TRACKED_MAX) this.rows.delete(Math.min(...this.rows.keys()));
    }
    return row;
  }
}
