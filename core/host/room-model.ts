/**
 * The room's model: every replica's telemetry (hello, snapshots, events) in; the room's state out
 * (room-types.ts): the replicas side by side, the cross-replica log, the live checker and the
 * view-change explainer, and the events for the space-time diagram. Pure data, no I/O: the room
 * observer (room-observer.ts) feeds it from libp2p, a test or a recording from anywhere.
 *
 * The checker judges correct replicas only (DESIGN.md): a replica that ran a Byzantine behaviour at
 * any point of the run (its signed history, or its telemetry) is not expected to agree. So with at
 * most f of them it stays quiet whatever they do, and it speaks when correct replicas disagree, which
 * takes more than f colluding; it then names who equivocated, from what the correct replicas received.
 */
import { quorums } from '../pbft/config.ts';
import type { LabSnapshot, FaultySoFar } from './lab-api.ts';
import type {
  CrossLogCell,
  CrossLogRow,
  RoomCheck,
  RoomEvent,
  RoomQuery,
  RoomReplica,
  RoomState,
  ViewChangeEpisode,
  ViewChangeVote,
} from './room-types.ts';
import { DIGEST_CHARS } from './telemetry-binary.ts';
import type { TelemetryEvent, TelemetryHello } from './telemetry-events.ts';

/** Events the room keeps for the diagram (the oldest go first). */
export const ROOM_EVENTS_KEPT = 50_000;
/** Events one `room` answer carries at most. */
export const ROOM_EVENTS_PER_ANSWER = 5_000;
/** Sequence numbers the cross-replica log and the checker keep. */
export const ROOM_SEQS_KEPT = 400;
/** View changes the explainer keeps. */
export const ROOM_VIEW_CHANGES_KEPT = 20;
/** A replica in view change longer than this is named as stalled. */
export const VIEW_CHANGE_STALLED_MS = 5_000;

/** A module that adds a panel to the room (an exercise's checks, say): it sees every event. */
export interface RoomPanel {
  readonly id: string;
  ingest(event: RoomEvent, model: RoomModel): void;
  /** Its JSON for RoomState.panels[id]. */
  state(model: RoomModel): unknown;
}

export interface RoomModelOptions {
  /** Monotonic milliseconds. @default performance.now */
  readonly now?: () => number;
  /** The digest of the null request (an empty batch), to mark it in NEW-VIEW's O. */
  readonly nullDigest?: string;
  readonly eventsKept?: number;
}

interface Source {
  readonly peerId: string;
  hello: TelemetryHello | null;
  snapshot: LabSnapshot | null;
  snapshotAt: number | null;
  connected: boolean;
  lost: number;
}

interface SeqRecord {
  readonly cells: Map<number, CrossLogCell>;
  readonly executed: Map<number, { digest: string; at: number }>;
  readonly checkpoint: Map<number, { digest: string; at: number }>;
}

interface EpisodeBuilder {
  readonly view: number;
  readonly votes: Map<number, ViewChangeVote>;
  /** Senders of VIEW-CHANGE for this view that reached the new primary. */
  readonly atPrimary: Set<number>;
  quorumAt: number | null;
  newView: ViewChangeEpisode['newView'];
  readonly installedBy: number[];
  /** `order`: the sum of the event's vector clock, a causally consistent order across replicas. */
  readonly steps: { at: number; order: number; text: string }[];
  /** The order of the new primary's NEW-VIEW send, once seen, and the step explaining its O. */
  primarySendOrder: number | null;
  orderStep: { at: number; order: number; text: string } | null;
}

/** A replica's state as the latest of its snapshots and its events says (events arrive in between snapshots). */
interface LiveState {
  view: number | null;
  primary: number | null;
  status: 'normal' | 'view-change' | null;
  lastExecuted: number | null;
  stableSeq: number | null;
  low: number | null;
  high: number | null;
}

const PHASE_RANK: Record<CrossLogCell['phase'], number> = { 'pre-prepared': 1, prepared: 2, committed: 3, executed: 4 };

export class RoomModel {
  private readonly now: () => number;
  private readonly nullDigest: string | null;
  private readonly eventsKept: number;
  private readonly sources = new Map<string, Source>();
  private readonly events: RoomEvent[] = [];
  private nextAt = 1;
  private readonly seqs = new Map<number, SeqRecord>();
  private readonly episodes = new Map<number, EpisodeBuilder>();
  private readonly clients: string[] = [];
  private readonly clientSet = new Set<string>();
  /** Replicas seen Byzantine (their telemetry or their signed history). */
  private readonly byzantine = new Set<number>();
  /** Requests each replica has received and not yet executed, oldest first (a timer's request). */
  private readonly pending = new Map<number, Map<string, number>>();
  /** The requests of each batch, by `view:seq`, from its PRE-PREPARE's send. */
  private readonly batches = new Map<string, readonly string[]>();
  /** Digests each sender's PRE-PREPARE/PREPARE/COMMIT carried at (type, view, seq), with who received them. */
  private readonly votes = new Map<string, Map<string, { receivers: Set<number>; at: number }>>();
  private readonly viewSeen = new Map<number, { view: number; at: number }>();
  private readonly viewChangeSince = new Map<number, number>();
  /** Each replica's view, status and progress: its last snapshot, moved on by its events since. */
  private readonly live = new Map<number, LiveState>();
  private viewRegression: { replica: number; from: number; to: number } | null = null;
  private readonly panels: RoomPanel[] = [];
  private size: number | null = null;
  private cluster: string | null = null;
  /** The causal order (vector-clock sum) of the event being applied. */
  private currentOrder = 0;

  constructor(options: RoomModelOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.nullDigest = options.nullDigest === undefined ? null : short(options.nullDigest);
    this.eventsKept = options.eventsKept ?? ROOM_EVENTS_KEPT;
  }

  addPanel(panel: RoomPanel): void {
    this.panels.push(panel);
  }

  /** Events taken in since the start. */
  get ingested(): number {
    return this.nextAt - 1;
  }

  /** The events kept, oldest first (for panels). */
  get allEvents(): readonly RoomEvent[] {
    return this.events;
  }

  get n(): number | null {
    return this.size;
  }

  hello(peerId: string, hello: TelemetryHello): void {
    const source = this.source(peerId);
    source.hello = hello;
    source.connected = true;
    this.size ??= hello.size;
    this.cluster ??= hello.cluster;
  }

  snapshot(peerId: string, snapshot: LabSnapshot): void {
    const source = this.source(peerId);
    source.snapshot = snapshot;
    source.snapshotAt = this.now();
    source.connected = true;
    this.size ??= snapshot.self.size;
    this.cluster ??= snapshot.self.cluster;
    const id = snapshot.self.replicaId;
    this.noteFaulty(snapshot.faultySoFar);
    if (id === null || snapshot.self.role !== 'replica') return;
    if (snapshot.behaviour !== null) this.byzantine.add(id);
    this.live.set(id, {
      view: snapshot.view?.view ?? null,
      primary: snapshot.view?.primary ?? null,
      status: snapshot.view?.status ?? null,
      lastExecuted: snapshot.checkpoints?.lastExecuted ?? null,
      stableSeq: snapshot.checkpoints?.stableSeq ?? null,
      low: snapshot.checkpoints?.lowWatermark ?? null,
      high: snapshot.checkpoints?.highWatermark ?? null,
    });
    if (snapshot.view) {
      this.seeView(id, snapshot.view.view);
      if (snapshot.view.status === 'view-change')
        this.viewChangeSince.set(id, this.viewChangeSince.get(id) ?? this.now());
      else this.viewChangeSince.delete(id);
    }
    for (const row of snapshot.log) {
      if (row.phase === 'empty') continue;
      this.setCell(row.seq, id, row.phase, row.digest, row.view);
      if (row.phase === 'executed' && row.digest) this.setExecuted(row.seq, id, row.digest, 0);
    }
    if (snapshot.checkpoints && snapshot.checkpoints.stableSeq > 0)
      this.setCheckpoint(snapshot.checkpoints.stableSeq, id, snapshot.checkpoints.stableDigest, 0);
  }

  /** Events of one replica, in its order; `lost` of them were dropped before these. */
  ingest(peerId: string, lost: number, events: readonly TelemetryEvent[]): void {
    const source = this.source(peerId);
    source.lost += lost;
    source.connected = true;
    for (const event of events) {
      const roomEvent: RoomEvent = { ...event, at: this.nextAt++ };
      this.currentOrder = event.vc.reduce((sum, v) => sum + v, 0);
      this.events.push(roomEvent);
      this.apply(roomEvent);
      for (const panel of this.panels) panel.ingest(roomEvent, this);
    }
    if (this.events.length > this.eventsKept) this.events.splice(0, this.events.length - this.eventsKept);
  }

  disconnected(peerId: string): void {
    const source = this.sources.get(peerId);
    if (source) source.connected = false;
  }

  state(query: RoomQuery = {}): RoomState {
    const after = query.after ?? 0;
    const limit = Math.min(query.limit ?? ROOM_EVENTS_PER_ANSWER, ROOM_EVENTS_PER_ANSWER);
    const first = this.events.findIndex((e) => e.at > after);
    const events = first < 0 ? [] : this.events.slice(first, first + limit);
    const f = this.size === null ? null : quorums(this.size).f;
    const panels: Record<string, unknown> = {};
    for (const panel of this.panels) panels[panel.id] = panel.state(this);
    return {
      cluster: this.cluster,
      size: this.size,
      f,
      replicas: this.replicas(),
      clients: [...this.clients],
      crossLog: this.crossLog(),
      checks: this.checks(),
      viewChanges: [...this.episodes.values()].map((e) => this.episode(e)),
      faultySoFar: this.faultySoFar(),
      events,
      cursor: events.at(-1)?.at ?? after,
      oldest: this.events[0]?.at ?? this.nextAt,
      panels,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Events

  private apply(event: RoomEvent): void {
    const r = event.replica;
    const body = event.body;
    switch (body.kind) {
      case 'behaviour':
        if (body.behaviour !== null) this.byzantine.add(r);
        return;
      case 'fault':
        return;
      case 'receive': {
        if (typeof body.from === 'string') this.seeClient(body.from);
        for (const request of body.requests ?? []) if (body.type !== 'reply') this.pendingOf(r).set(request, event.at);
        if (
          (body.type === 'pre-prepare' || body.type === 'prepare' || body.type === 'commit') &&
          typeof body.from === 'number'
        )
          this.noteVote(body.type, body.from, body.view, body.seq, body.digest, r, event.at);
        if (body.type === 'view-change' && typeof body.from === 'number' && body.view !== null)
          this.viewChangeReceived(body.view, body.from, r, event.at);
        return;
      }
      case 'send':
        if (typeof body.to === 'string') this.seeClient(body.to);
        if (body.type === 'pre-prepare' && body.requests) {
          this.batches.set(`${body.view}:${body.seq}`, body.requests);
          if (this.batches.size > 2_000) this.batches.delete(this.batches.keys().next().value!);
        }
        if (body.type === 'view-change' && body.view !== null) this.viewChangeSent(body.view, r, body.text, event.at);
        if (body.type === 'new-view' && body.view !== null) {
          const episode = this.episodeOf(body.view);
          if (r === body.view % (this.size ?? 1)) {
            episode.primarySendOrder = this.currentOrder;
            if (episode.orderStep) episode.orderStep.order = this.currentOrder + 0.5;
          }
          episode.steps.push({
            order: this.currentOrder,
            at: event.at,
            text:
              r === body.view % (this.size ?? 1)
                ? `r${r}, the new primary, sends NEW-VIEW for view ${body.view} to every replica`
                : `r${r} relays the NEW-VIEW for view ${body.view} (to a replica still waiting for it)`,
          });
        }
        return;
      case 'state':
        return this.applyState(event, body);
    }
  }

  private applyState(event: RoomEvent, body: Extract<TelemetryEvent['body'], { kind: 'state' }>): void {
    const r = event.replica;
    switch (body.type) {
      case 'pre-prepared':
        if (body.seq !== null) this.setCell(body.seq, r, 'pre-prepared', body.digest, body.view);
        return;
      case 'prepared':
        if (body.seq !== null) this.setCell(body.seq, r, 'prepared', body.digest, body.view);
        return;
      case 'committed-local':
        if (body.seq !== null) this.setCell(body.seq, r, 'committed', body.digest, body.view);
        return;
      case 'executed':
        if (body.seq === null || body.digest === null) return;
        this.setCell(body.seq, r, 'executed', body.digest, body.view);
        this.setExecuted(body.seq, r, body.digest, event.at);
        this.moveOn(r, { lastExecuted: Math.max(this.live.get(r)?.lastExecuted ?? 0, body.seq) });
        for (const request of this.batches.get(`${body.view}:${body.seq}`) ?? []) this.pendingOf(r).delete(request);
        return;
      case 'checkpoint':
        if (body.seq !== null && body.digest !== null) this.setCheckpoint(body.seq, r, body.digest, event.at);
        return;
      case 'checkpoint-stable':
        if (body.seq !== null) this.moveOn(r, { stableSeq: body.seq, low: body.low ?? null, high: body.high ?? null });
        return;
      case 'view-change-started':
        if (body.view === null) return;
        this.moveOn(r, { view: body.view, status: 'view-change', primary: body.view % (this.size ?? 1) });
        this.viewChangeSince.set(r, this.viewChangeSince.get(r) ?? this.now());
        return this.viewChangeStarted(body.view, r, body.reason ?? '', event.at);
      case 'new-view':
        if (body.view === null) return;
        this.moveOn(r, { view: body.view, status: 'normal', primary: body.primary ?? body.view % (this.size ?? 1) });
        this.viewChangeSince.delete(r);
        return this.newViewInstalled(event, body);
      default:
        return;
    }
  }

  private moveOn(replica: number, change: Partial<LiveState>): void {
    const live = this.live.get(replica);
    if (live) Object.assign(live, change);
  }

  /** Client nodes (logical clients `peer/j` are their node's), in order of appearance. */
  private seeClient(id: string): void {
    const slash = id.indexOf('/');
    const client = slash < 0 ? id : id.slice(0, slash);
    if (this.clientSet.has(client) || this.clientSet.size >= 1_000) return;
    this.clientSet.add(client);
    this.clients.push(client);
  }

  private pendingOf(replica: number): Map<string, number> {
    let pending = this.pending.get(replica);
    if (!pending) this.pending.set(replica, (pending = new Map()));
    if (pending.size > 10_000) pending.delete(pending.keys().next().value!);
    return pending;
  }

  private noteVote(
    type: string,
    sender: number,
    view: number | null,
    seq: number | null,
    digest: string | null,
    receiver: number,
    at: number,
  ): void {
    if (view === null || seq === null || digest === null) return;
    digest = short(digest);
    const key = `${type}|${sender}|${view}|${seq}`;
    let digests = this.votes.get(key);
    if (!digests) {
      if (this.votes.size > 20_000) this.votes.delete(this.votes.keys().next().value!);
      this.votes.set(key, (digests = new Map()));
    }
    const seen = digests.get(digest);
    if (seen) seen.receivers.add(receiver);
    else digests.set(digest, { receivers: new Set([receiver]), at });
  }

  private seeView(replica: number, view: number): void {
    const seen = this.viewSeen.get(replica);
    if (seen && view < seen.view && !this.viewRegression) this.viewRegression = { replica, from: seen.view, to: view };
    if (!seen || view > seen.view) this.viewSeen.set(replica, { view, at: this.now() });
  }

  private noteFaulty(tally: FaultySoFar | null): void {
    for (const member of tally?.members ?? []) if (member.firstByzantine !== null) this.byzantine.add(member.replicaId);
  }

  // ---------------------------------------------------------------------------------------------
  // The cross-replica log

  private seqRecord(seq: number): SeqRecord {
    let record = this.seqs.get(seq);
    if (!record) {
      record = { cells: new Map(), executed: new Map(), checkpoint: new Map() };
      this.seqs.set(seq, record);
      if (this.seqs.size > ROOM_SEQS_KEPT) {
        const oldest = Math.min(...this.seqs.keys());
        this.seqs.delete(oldest);
      }
    }
    return record;
  }

  private setCell(
    seq: number,
    replica: number,
    phase: CrossLogCell['phase'],
    digest: string | null,
    view: number | null,
  ): void {
    digest = digest === null ? null : short(digest);
    const cells = this.seqRecord(seq).cells;
    const cell = cells.get(replica);
    const newerView = view !== null && cell?.view !== null && cell !== undefined && view > (cell.view ?? -1);
    if (!cell || newerView || PHASE_RANK[phase] > PHASE_RANK[cell.phase] || (cell.digest === null && digest !== null))
      cells.set(replica, {
        phase: cell && !newerView && PHASE_RANK[cell.phase] > PHASE_RANK[phase] ? cell.phase : phase,
        digest: digest ?? cell?.digest ?? null,
        view: view ?? cell?.view ?? null,
        differs: false,
      });
  }

  private setExecuted(seq: number, replica: number, digest: string, at: number): void {
    digest = short(digest);
    const executed = this.seqRecord(seq).executed;
    if (!executed.has(replica) || at > 0) executed.set(replica, { digest, at: at || executed.get(replica)?.at || 0 });
  }

  private setCheckpoint(seq: number, replica: number, digest: string, at: number): void {
    digest = short(digest);
    const checkpoint = this.seqRecord(seq).checkpoint;
    if (!checkpoint.has(replica) || at > 0) checkpoint.set(replica, { digest, at });
  }

  private crossLog(): CrossLogRow[] {
    const n = this.size ?? 0;
    return [...this.seqs.keys()]
      .sort((a, b) => a - b)
      .map((seq) => {
        const record = this.seqs.get(seq)!;
        const usual = majority([...record.cells.values()].map((c) => c.digest));
        const usualState = majority([...record.checkpoint.values()].map((c) => c.digest));
        const cells = Array.from({ length: n }, (_, r) => {
          const cell = record.cells.get(r);
          return cell ? { ...cell, differs: cell.digest !== null && usual !== null && cell.digest !== usual } : null;
        });
        const checkpoint =
          record.checkpoint.size === 0
            ? null
            : Array.from({ length: n }, (_, r) => {
                const c = record.checkpoint.get(r);
                return c ? { digest: c.digest, differs: usualState !== null && c.digest !== usualState } : null;
              });
        return { seq, cells, checkpoint };
      });
  }

  // ---------------------------------------------------------------------------------------------
  // The checker

  private checks(): RoomCheck[] {
    const n = this.size;
    if (n === null) return [];
    const { f } = quorums(n);
    const byzantine = [...this.byzantine].sort((a, b) => a - b);
    const checks: RoomCheck[] = [];
    checks.push(
      byzantine.length > f
        ? {
            id: 'assumption',
            name: 'At most f faulty',
            status: 'warning',
            text: `${byzantine.length} replicas have been Byzantine in this run (${names(byzantine)}), more than f = ${f}: outside PBFT's assumptions, so violations are expected, not bugs`,
            culprits: byzantine,
          }
        : {
            id: 'assumption',
            name: 'At most f faulty',
            status: 'ok',
            text:
              byzantine.length === 0
                ? `no replica has been Byzantine in this run (f = ${f})`
                : `${names(byzantine)} Byzantine in this run: ${byzantine.length} of f = ${f}, which PBFT tolerates`,
            culprits: [],
          },
    );
    checks.push(this.agreementCheck('agreement', 'Agreement', (r) => r.executed, 'executed'));
    checks.push(this.agreementCheck('checkpoints', 'Checkpoint digests', (r) => r.checkpoint, 'took checkpoint state'));
    checks.push(this.viewsCheck());
    checks.push(this.progressCheck());
    return checks;
  }

  private agreementCheck(
    id: 'agreement' | 'checkpoints',
    name: string,
    pick: (record: SeqRecord) => Map<number, { digest: string; at: number }>,
    verb: string,
  ): RoomCheck {
    const seqs = [...this.seqs.keys()].sort((a, b) => a - b);
    let compared = 0;
    for (const seq of seqs) {
      const correct = [...pick(this.seqs.get(seq)!)].filter(([r]) => !this.byzantine.has(r));
      if (correct.length < 2) continue;
      compared++;
      const byDigest = new Map<string, number[]>();
      for (const [r, { digest }] of correct) byDigest.set(digest, [...(byDigest.get(digest) ?? []), r]);
      if (byDigest.size < 2) continue;
      const groups = [...byDigest].map(
        ([digest, rs]) => `${names(rs.sort((a, b) => a - b))} ${verb} ${digest.slice(0, 8)}`,
      );
      const equivocators = this.equivocatorsAt(seq);
      const culprits = equivocators.length > 0 ? equivocators : [...this.byzantine].sort((a, b) => a - b);
      const witness = correct.map(([, e]) => e.at).filter((at) => at > 0);
      const cause =
        equivocators.length > 0
          ? ` — ${equivocators.map((r) => `r${r}`).join(' and ')} sent different digests for n=${seq} to different replicas (equivocation)`
          : culprits.length > 0
            ? ` — Byzantine in this run: ${names(culprits)}`
            : '';
      return {
        id,
        name,
        status: 'violated',
        text: `correct replicas disagree at n=${seq}: ${groups.join('; ')}${cause}`,
        culprits,
        seq,
        witness: [...witness, ...this.equivocationWitness(seq)].sort((a, b) => a - b),
      };
    }
    return {
      id,
      name,
      status: compared === 0 ? 'unknown' : 'ok',
      text:
        compared === 0
          ? 'nothing to compare yet'
          : `correct replicas agree at the ${compared} sequence number${compared === 1 ? '' : 's'} kept`,
      culprits: [],
    };
  }

  /** Senders whose PRE-PREPAREs, PREPAREs or COMMITs for `seq` carried different digests to different replicas. */
  private equivocatorsAt(seq: number): number[] {
    const found = new Set<number>();
    for (const [key, digests] of this.votes) {
      const [, sender, , s] = key.split('|');
      if (Number(s) === seq && digests.size > 1) found.add(Number(sender));
    }
    return [...found].sort((a, b) => a - b);
  }

  private equivocationWitness(seq: number): number[] {
    const ats: number[] = [];
    for (const [key, digests] of this.votes)
      if (Number(key.split('|')[3]) === seq && digests.size > 1) for (const d of digests.values()) ats.push(d.at);
    return ats;
  }

  private viewsCheck(): RoomCheck {
    const regression = this.viewRegression;
    if (regression)
      return {
        id: 'views',
        name: 'Views only go forward',
        status: 'violated',
        text: `r${regression.replica} went back from view ${regression.from} to view ${regression.to}`,
        culprits: [regression.replica],
      };
    return {
      id: 'views',
      name: 'Views only go forward',
      status: 'ok',
      text: 'no replica went back to an older view',
      culprits: [],
    };
  }

  private progressCheck(): RoomCheck {
    const now = this.now();
    const stalled = [...this.viewChangeSince]
      .filter(([, since]) => now - since > VIEW_CHANGE_STALLED_MS)
      .map(([r]) => r)
      .sort((a, b) => a - b);
    const changing = [...this.viewChangeSince.keys()].sort((a, b) => a - b);
    const latest = [...this.episodes.values()].at(-1);
    const n = this.size!;
    const { f } = quorums(n);
    if (stalled.length > 0) {
      const episode = latest ? this.episode(latest) : null;
      const votes = episode ? `${episode.votes.length} of the ${2 * f + 1} VIEW-CHANGEs needed` : 'no VIEW-CHANGE seen';
      return {
        id: 'view-change-progress',
        name: 'View changes finish',
        status: 'warning',
        text: `${names(stalled)} in view change for over ${VIEW_CHANGE_STALLED_MS / 1000} s (${votes}${episode ? `; new primary r${episode.newPrimary}${episode.newView ? ' sent NEW-VIEW' : ' has sent no NEW-VIEW'}` : ''})`,
        culprits: episode && !episode.newView ? [episode.newPrimary] : stalled,
      };
    }
    return {
      id: 'view-change-progress',
      name: 'View changes finish',
      status: 'ok',
      text: changing.length > 0 ? `${names(changing)} changing view` : 'no view change under way',
      culprits: [],
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The view-change explainer

  private episodeOf(view: number): EpisodeBuilder {
    let episode = this.episodes.get(view);
    if (!episode) {
      episode = {
        view,
        votes: new Map(),
        atPrimary: new Set(),
        quorumAt: null,
        newView: null,
        installedBy: [],
        steps: [],
        primarySendOrder: null,
        orderStep: null,
      };
      this.episodes.set(view, episode);
      if (this.episodes.size > ROOM_VIEW_CHANGES_KEPT) this.episodes.delete(Math.min(...this.episodes.keys()));
    }
    return episode;
  }

  private viewChangeStarted(view: number, replica: number, reason: string, at: number): void {
    const episode = this.episodeOf(view);
    const n = this.size ?? 1;
    const why = this.explainReason(replica, reason);
    const vote = episode.votes.get(replica);
    episode.votes.set(replica, { replicaId: replica, reason: why, message: vote?.message ?? null, at: vote?.at ?? at });
    episode.steps.push({
      order: this.currentOrder,
      at,
      text: `r${replica} stops trusting primary r${(view - 1 + n) % n} and moves to view ${view}: ${why}`,
    });
  }

  /**
   * A VIEW-CHANGE's reason as the room tells it. The replica names the request its timer ran for
   * ("request timer expired (c=… t=…, not in our log, executed here up to 5)"); an older replica only
   * says "request timer expired", and the room names the oldest request it saw reach that replica.
   */
  private explainReason(replica: number, reason: string): string {
    const named = /^request timer expired \(c=(.+?) t=(\d+), (.*)\)$/.exec(reason);
    if (named) {
      const detail = named[3]!.replace('our log', 'its log').replace('executed here', 'it executed');
      return `request timer expired (it was waiting for request ${shortRequest(`${named[1]}:${named[2]}`)}: ${detail})`;
    }
    const waiting = reason === 'request timer expired' ? this.pendingOf(replica).keys().next().value : undefined;
    return waiting ? `${reason} (it was waiting for request ${shortRequest(waiting)})` : reason;
  }

  private viewChangeSent(view: number, replica: number, text: string, at: number): void {
    const episode = this.episodeOf(view);
    const vote = episode.votes.get(replica);
    if (vote?.message) return;
    episode.votes.set(replica, { replicaId: replica, reason: vote?.reason ?? '(not seen)', message: text, at });
    episode.steps.push({
      order: this.currentOrder,
      at,
      text: `r${replica} sends ${text.replace(/ from \d+$/, '')} (C: its stable checkpoint, P: prepared certificates, Q: pre-prepared batches)`,
    });
    const n = this.size ?? 1;
    if (replica === view % n) this.countAtPrimary(episode, replica, at);
  }

  private viewChangeReceived(view: number, sender: number, receiver: number, at: number): void {
    const n = this.size ?? 1;
    if (receiver !== view % n) return;
    this.countAtPrimary(this.episodeOf(view), sender, at);
  }

  private countAtPrimary(episode: EpisodeBuilder, sender: number, at: number): void {
    const n = this.size ?? 1;
    const { f } = quorums(n);
    episode.atPrimary.add(sender);
    if (episode.quorumAt === null && episode.atPrimary.size >= 2 * f + 1) {
      episode.quorumAt = at;
      episode.steps.push({
        order: this.currentOrder,
        at,
        text: `new primary r${episode.view % n} holds 2f+1 = ${2 * f + 1} VIEW-CHANGEs for view ${episode.view} (from ${names([...episode.atPrimary].sort((a, b) => a - b))})`,
      });
    }
  }

  private newViewInstalled(event: RoomEvent, body: Extract<TelemetryEvent['body'], { kind: 'state' }>): void {
    const view = body.view!;
    const episode = this.episodeOf(view);
    const r = event.replica;
    if (!episode.installedBy.includes(r)) episode.installedBy.push(r);
    if (!episode.newView && body.minSeq !== undefined && body.maxSeq !== undefined) {
      const order = (body.order ?? []).map((o) => ({ ...o, isNull: short(o.digest) === this.nullDigest }));
      episode.newView = { at: event.at, minSeq: body.minSeq, maxSeq: body.maxSeq, order };
      const real = order.filter((o) => !o.isNull).map((o) => `n=${o.seq}`);
      const nulls = order.filter((o) => o.isNull).map((o) => `n=${o.seq}`);
      const step = {
        // Right after the primary's NEW-VIEW send (fixed when that arrives later), before any install.
        order: episode.primarySendOrder !== null ? episode.primarySendOrder + 0.5 : this.currentOrder - 0.5,
        at: event.at,
        text:
          `NEW-VIEW: min-s = ${body.minSeq} (the latest stable checkpoint in the VIEW-CHANGEs), max-s = ${body.maxSeq} (the highest prepared number); ` +
          (order.length === 0
            ? 'O is empty: nothing prepared above the checkpoint to carry over'
            : `O re-proposes ${real.length > 0 ? real.join(', ') : 'no batch'}${nulls.length > 0 ? `, and the null request at ${nulls.join(', ')} (gaps)` : ''}`),
      };
      episode.orderStep = step;
      episode.steps.push(step);
    }
    episode.steps.push({
      order: this.currentOrder,
      at: event.at,
      text: `r${r} installs view ${view} (primary r${body.primary ?? view % (this.size ?? 1)})`,
    });
  }

  private episode(builder: EpisodeBuilder): ViewChangeEpisode {
    const n = this.size ?? 1;
    return {
      view: builder.view,
      newPrimary: builder.view % n,
      suspected: (builder.view - 1 + n) % n,
      votes: [...builder.votes.values()].sort((a, b) => a.at - b.at),
      quorumAt: builder.quorumAt,
      newView: builder.newView,
      installedBy: [...builder.installedBy],
      steps: [...builder.steps].sort((a, b) => a.order - b.order || a.at - b.at).map(({ at, text }) => ({ at, text })),
    };
  }

  // ---------------------------------------------------------------------------------------------
  // The replicas

  private source(peerId: string): Source {
    let source = this.sources.get(peerId);
    if (!source) {
      source = { peerId, hello: null, snapshot: null, snapshotAt: null, connected: false, lost: 0 };
      this.sources.set(peerId, source);
    }
    return source;
  }

  private replicaIdOf(source: Source): number | null {
    return source.snapshot?.self.role === 'replica' ? source.snapshot.self.replicaId : (source.hello?.replica ?? null);
  }

  private replicas(): RoomReplica[] {
    const byId = new Map<number, Source>();
    for (const source of this.sources.values()) {
      const id = this.replicaIdOf(source);
      if (id === null) continue;
      const other = byId.get(id);
      // A restarted replica (new incarnation, same peer id) replaces itself; prefer the connected one.
      if (!other || (source.connected && !other.connected)) byId.set(id, source);
    }
    const now = this.now();
    return [...byId.entries()]
      .sort(([a], [b]) => a - b)
      .map(([replicaId, source]) => {
        const s = source.snapshot;
        const live = this.live.get(replicaId);
        const roster = s?.roster ?? source.hello?.roster ?? [];
        return {
          replicaId,
          peerId: source.peerId,
          connected: source.connected,
          lastHeardMsAgo: source.snapshotAt === null ? null : Math.round(now - source.snapshotAt),
          view: live?.view ?? null,
          primary: live?.primary ?? null,
          status: live?.status ?? null,
          lastExecuted: live?.lastExecuted ?? null,
          stableSeq: live?.stableSeq ?? null,
          low: live?.low ?? null,
          high: live?.high ?? null,
          links: roster.flatMap((peer, id) => {
            if (id === replicaId) return [];
            const info = s?.peers.find((p) => p.peerId === peer);
            return [{ replicaId: id, connected: info?.connected ?? false, cut: info?.disconnected ?? false }];
          }),
          behaviour: s?.behaviour ?? null,
          byzantineSoFar: this.byzantine.has(replicaId),
          faults: s?.faults ?? null,
          lost: source.lost,
        };
      });
  }

  /** The tally as the replica with the most known histories reports it. */
  private faultySoFar(): FaultySoFar | null {
    let best: FaultySoFar | null = null;
    for (const source of this.sources.values()) {
      const tally = source.snapshot?.faultySoFar;
      if (!tally) continue;
      const known = tally.members.filter((m) => m.known).length;
      if (!best || known > best.members.filter((m) => m.known).length || tally.count > best.count) best = tally;
    }
    return best;
  }
}

/** `client:timestamp` with the client's peer id cut to its tail (what differs). */
/**
 * A digest as the room compares it: its first DIGEST_CHARS hex digits, which is all the events carry
 * (telemetry-binary.ts), while snapshots carry the whole digest. Compared whole, the same batch from a
 * snapshot and from an event would differ.
 */
function short(digest: string): string {
  return digest.length > DIGEST_CHARS ? digest.slice(0, DIGEST_CHARS) : digest;
}

export function shortRequest(request: string): string {
  const at = request.lastIndexOf(':');
  const client = request.slice(0, at);
  const [peer, logical] = client.split('/');
  const tail = peer!.length > 12 ? `…${peer!.slice(-6)}` : peer!;
  return `${tail}${logical === undefined ? '' : `/${logical}`}:${request.slice(at + 1)}`;
}

function names(replicas: readonly number[]): string {
  return replicas.map((r) => `r${r}`).join(', ');
}

/** The value most entries have (ties: the first seen), ignoring nulls; null if none. */
function majority(values: readonly (string | null)[]): string | null {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: string | null = null;
  let bestCount = 0;
  for (const [v, c] of counts)
    if (c > bestCount) {
      best = v;
      bestCount = c;
    }
  return best;
}
