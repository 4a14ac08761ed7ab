/**
 * The PBFT replica (Castro & Liskov, OSDI'99 §4) as a deterministic, sans-IO state machine.
 *
 * Inputs: `step(from, message)` — `from` is the sender the host authenticated (the Noise channel of
 * a replica, or a client id) — and `tick()`. Outputs: `takeOutputs()` returns messages to send,
 * replies, records to persist and events, as data. No clocks, timers, randomness or promises here.
 *
 * Handlers are named after the paper's messages (`onPrePrepare`, `onPrepare`, …); each begins with
 * its acceptance checks and ignores a message with a logged reason (an `ignored` event).
 */
import { ByteReader, ByteWriter, equalBytes } from './bytes.ts';
import { ClientTable } from './client-table.ts';
import { requestBytes, signingBytes } from './codec.ts';
import { quorums, type ProtocolConfig, type Quorums } from './config.ts';
import type { ReplicaCrypto } from './crypto.ts';
import type {
  Batch,
  Checkpoint,
  ClientId,
  Commit,
  Digest,
  FetchBatch,
  FetchState,
  LogClaim,
  Message,
  NewView,
  PrePrepare,
  Prepare,
  Reply,
  ReplicaId,
  ReplicaMessage,
  Request,
  StateChunk,
  Status,
  ViewChange,
} from './messages.ts';
import type { ExecutedRequest, Output, PersistRecord, ReplicaEvent, ReplicaStatus } from './outputs.ts';
import { prePreparedRecord, type PersistedState } from './persistence.ts';
import { planNewView, primaryOf, ProofChecker, type NewViewPlan } from './proofs.ts';
import type { StateMachine } from '../app/state-machine.ts';

/** One sequence number's slot in the message log (§4.2). */
interface LogEntry {
  readonly seq: number;
  /** The pre-prepare accepted for this seq in the current view, if any. */
  prePrepare: PrePrepare | null;
  /**
   * True while the batch of `prePrepare` is not here: a NEW-VIEW ordered it by digest and this replica
   * never received it. Prepare and commit go on (they are about the digest); execution waits for it
   * (FETCH-BATCH).
   */
  batchMissing: boolean;
  /** Committed by 2f+1 COMMITs although this replica never accepted the pre-prepare (checkCommitCertificate). */
  commitCertified: boolean;
  /** Latest prepare per replica (any view; only those matching the pre-prepare count). */
  readonly prepares: Map<ReplicaId, Prepare>;
  readonly commits: Map<ReplicaId, Commit>;
  prepared: boolean;
  committed: boolean;
  /** This replica's own prepare and commit for the current view, kept for retransmission. */
  ownPrepare: Prepare | null;
  ownCommit: Commit | null;
  /** What prepared here at this seq in the latest view: survives view changes, goes into P (§4.4). */
  preparedClaim: { readonly digest: Digest; readonly view: number } | null;
  /** Every digest pre-prepared here at this seq, with the latest view: goes into Q (TOCS'02 §4.5). */
  readonly prePrepared: Map<Digest, number>;
  /** The batches of those digests, to re-propose or hand out after a view change. */
  readonly batches: Map<Digest, readonly Request[]>;
}

/** A batch a NEW-VIEW ordered that this replica lacks, and whom to ask for it next. */
interface MissingBatch {
  readonly digest: Digest;
  readonly sources: readonly ReplicaId[];
  attempts: number;
  retryInTicks: number;
}

interface StableCheckpoint {
  readonly seq: number;
  readonly stateDigest: Digest;
  readonly proof: readonly Checkpoint[];
  readonly snapshot: Uint8Array;
}

/** A state transfer in progress: chunks of one source's snapshot of a proven stable checkpoint. */
interface Fetch {
  readonly seq: number;
  readonly stateDigest: Digest;
  readonly proof: readonly Checkpoint[];
  source: ReplicaId;
  /** Chunks received from `source`, by index; their count and bytes kept as they arrive (bounded work per chunk). */
  chunks: Map<number, Uint8Array>;
  chunkBytes: number;
  /** The first chunk not received yet. */
  firstMissing: number;
  chunkCount: number;
  retryInTicks: number;
  attempts: number;
}

export type { PersistedState } from './persistence.ts';

export interface ReplicaOptions {
  readonly id: ReplicaId;
  readonly config: ProtocolConfig;
  readonly crypto: ReplicaCrypto;
  readonly app: StateMachine;
  /** Restart from persisted records instead of the initial state. */
  readonly persisted?: PersistedState;
}

const requestKey = (client: ClientId, timestamp: number): string => `${client}\u0000${timestamp}`;

export class Replica {
  readonly id: ReplicaId;
  readonly config: ProtocolConfig;
  readonly q: Quorums;
  private readonly crypto: ReplicaCrypto;
  private readonly app: StateMachine;
  private readonly proofs: ProofChecker;
  private readonly nullDigest: Digest;
  private outputs: Output[] = [];

  /** v: the current view. */
  view = 0;
  status: ReplicaStatus = 'normal';
  /** The last sequence number executed (requests execute strictly in order, §4.2). */
  lastExecuted = 0;
  private stable: StableCheckpoint;
  private readonly log = new Map<number, LogEntry>();
  private readonly clientTable = new ClientTable();

  /** Checkpoints taken here and not yet stable: seq → state digest and snapshot. */
  private readonly ownCheckpoints = new Map<
    number,
    { stateDigest: Digest; snapshot: Uint8Array; message: Checkpoint }
  >();
  /** CHECKPOINT votes by seq and replica. Above H each replica keeps only its latest (bounded memory). */
  private readonly checkpointVotes = new Map<number, Map<ReplicaId, Checkpoint>>();

  /** Primary: requests received and not yet assigned a sequence number, in arrival order. */
  private readonly pending = new Map<string, Request>();
  /** Requests assigned a sequence number in the current view and not yet executed, with that sequence number. */
  private readonly inLog = new Map<string, number>();
  /** Primary: the next sequence number to assign. */
  private nextSeq = 1;

  /**
   * Requests this replica holds and has not seen executed: the view-change timer runs while any exist
   * (§4.4). The paper runs it at backups; here the primary runs it too. Sending VIEW-CHANGE is always
   * safe, and a primary that cannot get its own batches executed (say, a backup alone in a view change
   * and another crashed) otherwise waits forever, since no backup is left waiting to time out.
   */
  private readonly waiting = new Map<string, Request>();
  private viewChangeTimerTicks: number | null = null;
  /**
   * Each peer working normally, as its last STATUS said: its view and what it executed there (to tell
   * "behind" from "primary stuck", and "missed the NEW-VIEW" from "no NEW-VIEW"). A peer whose last
   * STATUS was from a view change has no entry.
   */
  private readonly peerNormal = new Map<ReplicaId, { readonly view: number; readonly executed: number }>();
  /** Ticks so far, and the tick at which each other replica was last heard from (any message). */
  private ticks = 0;
  private readonly lastHeard = new Map<ReplicaId, number>();
  /** The request the running timer was started for. */
  private timedRequest: string | null = null;
  /** T, doubled on each view change that does not complete (§4.5). */
  private viewChangeTimeoutTicks: number;
  /** VIEW-CHANGE messages by new view and sender. */
  private readonly viewChanges = new Map<number, Map<ReplicaId, ViewChange>>();
  /** Our own VIEW-CHANGEs since the last view we were normal in: a peer still waiting in one of those views gets ours. */
  private readonly ownViewChanges = new Map<number, ViewChange>();
  /** The NEW-VIEW that installed the current view (relayed to replicas that missed it). */
  private currentNewView: NewView | null = null;
  /**
   * What that NEW-VIEW bound, for the whole view and across restarts (TOCS'02 §4.4–4.5): nothing is
   * accepted at n ≤ min-s, and at min-s < n ≤ max-s only O's digest. O entries above H when the view
   * was installed are taken into the log when the watermarks reach them (installBound).
   */
  private bound: {
    readonly view: number;
    readonly minSeq: number;
    readonly order: ReadonlyMap<number, Digest>;
    /** Per sequence number, the replicas whose Q says they pre-prepared O's batch there: asked first for it. */
    readonly claimants: ReadonlyMap<number, readonly ReplicaId[]>;
  } | null = null;
  /**
   * How often the view-change timer was set aside for each request (tick): a bounded number of times,
   * and only on evidence that the request executed elsewhere — otherwise a primary that keeps f+1
   * backups just ahead of the one whose timer expires could censor a client for ever (issue 12).
   */
  private readonly setAside = new Map<string, { times: number; total: number; executed: number }>();
  /** Per peer, the tick of our last answer to its STATUS and to its FETCH-STATE (bounded answers, issue 18). */
  private readonly answeredStatusAt = new Map<ReplicaId, number>();
  private readonly answeredFetchStateAt = new Map<ReplicaId, number>();
  /** Per peer, its latest FETCH-STATE that came too soon after the last answer: answered on a later tick. */
  private readonly deferredFetchStates = new Map<ReplicaId, FetchState>();
  private readonly answeredFetchBatchAt = new Map<string, number>();
  /** Each peer's progress as its last STATUS said (normal or not): who is behind, for state-transfer answers. */
  private readonly peerProgress = new Map<ReplicaId, { readonly lastExecuted: number; readonly stableSeq: number }>();
  /** Recent NEW-VIEWs by view, kept after we move on: a peer still waiting for one of them gets it (seed 15, silent primary). */
  private readonly recentNewViews = new Map<number, NewView>();
  private retransmitInTicks: number;

  /** The highest proven stable checkpoint above our state, and when to fetch it if we do not get there ourselves. */
  private catchUp: { seq: number; stateDigest: Digest; proof: readonly Checkpoint[]; inTicks: number } | null = null;
  private fetch: Fetch | null = null;
  /** Batches ordered by the current view's NEW-VIEW that are not here yet, by seq. */
  private readonly missingBatches = new Map<number, MissingBatch>();
  /**
   * §5.1 tentative execution: the batch at lastExecuted + 1, executed when it prepared (before it
   * committed) under a savepoint of the application and the reply table, with what it returned.
   */
  private tentative: { readonly seq: number; readonly executed: ExecutedRequest[]; readonly keys: Set<string> } | null =
    null;
  /** Read-only requests that arrived while a batch was tentative, or before the committed state caught up (executeReadOnly). */
  private readonly readsAfterTentative: Request[] = [];
  /**
   * The highest sequence number this replica prepared (tentative execution included) or sent a COMMIT
   * for, in any view, restored after a restart: read-only requests wait until it has executed that far
   * (executeReadOnly says why).
   */
  private preparedSeq = 0;

  constructor(options: ReplicaOptions) {
    this.id = options.id;
    this.config = options.config;
    this.q = quorums(options.config.n);
    if (!Number.isInteger(this.id) || this.id < 0 || this.id >= this.q.n)
      throw new RangeError(`replica id ${this.id} not in 0..${this.q.n - 1}`);
    this.crypto = options.crypto;
    this.app = options.app;
    this.proofs = new ProofChecker(this.crypto, this.q);
    this.nullDigest = this.proofs.batchDigest([]);
    this.viewChangeTimeoutTicks = this.config.viewChangeTimeoutTicks;
    this.retransmitInTicks = this.config.retransmitTicks;
    const persisted = options.persisted;
    if (persisted?.stable && persisted.stable.seq > 0) {
      const installed = this.installSnapshot(persisted.stable.snapshot, persisted.stable.stateDigest);
      if (installed !== null) throw new Error(`cannot restart from the persisted checkpoint: ${installed}`);
      this.stable = { ...persisted.stable };
      this.lastExecuted = persisted.stable.seq;
      this.nextSeq = persisted.stable.seq + 1;
    } else {
      this.stable = { seq: 0, stateDigest: this.stateDigest(), proof: [], snapshot: this.snapshot() };
    }
    // A restarted replica resumes in its last view; if the others moved on, its first view change
    // brings it the NEW-VIEW they are in (onViewChange relays it).
    if (persisted) this.view = persisted.view;
    if (persisted?.newView && persisted.viewNormal !== false && persisted.view > 0) {
      this.bound = {
        view: persisted.view,
        minSeq: persisted.newView.minSeq,
        order: new Map(persisted.newView.order.map((o) => [o.seq, o.digest])),
        claimants: new Map(),
      };
      // The NEW-VIEW itself comes back too: peers that missed it get it from us (seed 16486: restarted
      // without it, the new primary could not relay its NEW-VIEW, and the others waited for ever).
      const message = persisted.newView.message;
      if (message?.view === persisted.view) {
        this.currentNewView = message;
        this.recentNewViews.set(message.view, message);
      }
    }
    if (persisted?.log) this.restoreLog(persisted.log);
    // O entries the log did not bring back (their batch was still being fetched) are bound all the same.
    this.installBound();
    // Restarted in the middle of a view change: it is still changing to that view, and its peers wait
    // for its VIEW-CHANGE (the one it sent before the crash is gone from memory) — seed 7604.
    if (persisted && persisted.viewNormal === false) this.startViewChange(this.view, 'restarted during a view change');
  }

  /**
   * The log above the stable checkpoint as persisted: the P and Q claims and their batches come back,
   * so a restarted replica still vouches for what it prepared (persistence.ts); a pre-prepare of the
   * view it resumes in is its accepted one again, so it cannot accept a conflicting one.
   */
  private restoreLog(log: PersistedState['log'] & object): void {
    for (const r of log.prePrepared) {
      if (!this.inWatermarks(r.seq)) continue;
      const entry = this.entry(r.seq);
      this.recordPrePrepared(entry, r.digest, r.view);
      if (r.requests) entry.batches.set(r.digest, r.requests);
    }
    for (const c of log.prepared) {
      if (!this.inWatermarks(c.seq)) continue;
      if (c.seq > this.preparedSeq) this.preparedSeq = c.seq;
      const entry = this.entry(c.seq);
      if (!entry.preparedClaim || entry.preparedClaim.view < c.view)
        entry.preparedClaim = { digest: c.digest, view: c.view };
    }
    for (const entry of this.log.values()) {
      for (const [digest, view] of entry.prePrepared) {
        const requests = entry.batches.get(digest);
        if (view !== this.view || (!requests && digest !== this.nullDigest)) continue;
        const pp: PrePrepare = {
          type: 'pre-prepare',
          view,
          seq: entry.seq,
          digest,
          requests: requests ?? [],
          replica: this.primary,
        };
        entry.prePrepare = pp;
        if (!this.isPrimary) {
          // Our PREPARE counts towards prepared like anyone's (seed 163: restored without it, the entry
          // stayed one prepare short for ever once the peer whose vote it lacked had crashed).
          const own: Prepare = { type: 'prepare', view, seq: entry.seq, digest, replica: this.id };
          entry.ownPrepare = own;
          entry.prepares.set(this.id, own);
        }
        this.holdBatch(entry, pp.requests);
      }
    }
    // A primary never assigns a sequence number twice in its view, nor one its NEW-VIEW ordered.
    for (const entry of this.log.values())
      if (entry.prePrepare && entry.seq >= this.nextSeq) this.nextSeq = entry.seq + 1;
    for (const seq of this.bound?.order.keys() ?? []) if (seq >= this.nextSeq) this.nextSeq = seq + 1;
    if (this.bound && this.bound.minSeq >= this.nextSeq) this.nextSeq = this.bound.minSeq + 1;
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  /** One authenticated message. `from` is a replica id for replica traffic, a client id for requests. */
  step(from: ReplicaId | ClientId, message: Message): void {
    if (typeof from === 'string') {
      if (message.type === 'request') this.onRequest(from, message);
      else this.ignore(from, message, 'clients may only send requests');
      return;
    }
    if (!Number.isInteger(from) || from < 0 || from >= this.q.n || from === this.id) {
      this.ignore(from, message, 'sender is not another replica of this cluster');
      return;
    }
    this.lastHeard.set(from, this.ticks);
    switch (message.type) {
      case 'request':
        return this.onRelayedRequest(from, message);
      case 'pre-prepare':
        return this.onPrePrepare(from, message);
      case 'prepare':
        return this.onPrepare(from, message);
      case 'commit':
        return this.onCommit(from, message);
      case 'checkpoint':
        return this.onCheckpoint(from, message);
      case 'view-change':
        return this.onViewChange(from, message);
      case 'new-view':
        return this.onNewView(from, message);
      case 'fetch-batch':
        return this.onFetchBatch(from, message);
      case 'batch':
        return this.onBatch(from, message);
      case 'fetch-state':
        return this.onFetchState(from, message);
      case 'state-chunk':
        return this.onStateChunk(from, message);
      case 'status':
        return this.onStatus(from, message);
      case 'reply':
        return this.ignore(from, message, 'replicas do not accept replies');
    }
  }

  /** Logical time passes: timers count down (§4.4 view-change timer, retransmission, state transfer). */
  tick(): void {
    this.ticks++;
    if (this.viewChangeTimerTicks !== null && --this.viewChangeTimerTicks <= 0) {
      this.viewChangeTimerTicks = null;
      // A VIEW-CHANGE takes effect only with 2f+1 replicas. One that hears fewer than 2f others (its link
      // is cut) cannot be part of that quorum now, and moving on alone would strand it in a view nobody
      // else enters (seen on a LAN after a cut link). It waits; if the others move, their VIEW-CHANGEs
      // bring it along (§4.5, f+1), and once it hears them again its timers act as before.
      const cutOff = this.cutOff();
      if (this.status === 'normal') {
        if (cutOff || this.timedRequestExecutedElsewhere()) this.restartRequestTimer();
        else this.startViewChange(this.view + 1, `request timer expired (${this.describeTimed()})`);
      } else if (cutOff || this.peersNormalIn(this.view) >= this.q.weak) {
        // Or f+1 peers (one of them correct) work normally in the view we wait for: its NEW-VIEW exists
        // and we missed it (say, our outbound link came back after theirs). They relay it when our STATUS
        // or VIEW-CHANGE reaches them. Keep waiting.
        this.viewChangeTimerTicks = this.viewChangeTimeoutTicks;
      } else {
        this.viewChangeTimeoutTicks *= 2;
        this.startViewChange(this.view + 1, `no NEW-VIEW for view ${this.view}`);
      }
    }
    if (--this.retransmitInTicks <= 0) {
      this.retransmitInTicks = this.config.retransmitTicks;
      this.retransmit();
    }
    // Requests held back for the next batch go out at the latest now (adaptive batching's safety net).
    if (this.pending.size > 0) this.propose();
    if (this.catchUp && --this.catchUp.inTicks <= 0) {
      const target = this.catchUp;
      this.catchUp = null;
      if (target.seq > this.lastExecuted) this.startStateTransfer(target.seq, target.stateDigest, target.proof);
    }
    if (this.fetch && --this.fetch.retryInTicks <= 0) this.requestChunks(this.nextSource(this.fetch), 'retry');
    for (const [peer, fs] of this.deferredFetchStates) {
      if (!this.mayAnswer(this.answeredFetchStateAt, peer)) continue;
      this.deferredFetchStates.delete(peer);
      this.sendChunks(peer, fs);
    }
    for (const [seq, missing] of this.missingBatches) if (--missing.retryInTicks <= 0) this.requestBatch(seq, missing);
  }

  /** Everything produced since the last call. The host sends, replies, persists, then calls again after the next input. */
  takeOutputs(): Output[] {
    const out = this.outputs;
    this.outputs = [];
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Views

  get primary(): ReplicaId {
    return primaryOf(this.view, this.q.n);
  }

  get isPrimary(): boolean {
    return this.primary === this.id;
  }

  /** h: the last stable checkpoint (§4.3). */
  get lowWatermark(): number {
    return this.stable.seq;
  }

  /** H = h + L (§4.3). */
  get highWatermark(): number {
    return this.stable.seq + this.config.logWindow;
  }

  get stableCheckpoint(): Readonly<{ seq: number; stateDigest: Digest; proof: readonly Checkpoint[] }> {
    return this.stable;
  }

  /** Ticks until the view-change timer fires, or null when it is not running (observers, the simulator's adversary). */
  get timerTicksLeft(): number | null {
    return this.viewChangeTimerTicks;
  }

  // ---------------------------------------------------------------------------------------------
  // §4.1 Requests

  private onRequest(from: ClientId, req: Request): void {
    if (req.client !== from) return this.ignore(from, req, `request names client ${req.client}`);
    if (!this.requestAuthentic(req)) return this.ignore(from, req, 'request authenticator invalid for this replica');
    if (this.answerFromCache(req)) return;
    if (req.readOnly) return this.executeReadOnly(req);
    const key = requestKey(req.client, req.timestamp);
    if (this.isPrimary && this.status === 'normal') {
      this.enqueue(key, req);
      this.await(key, req);
      this.proposeOnArrival();
      return;
    }
    // A backup that receives a request (the client's retransmission, §4.1) relays it to the primary
    // and starts its view-change timer: the primary must now order it (§4.4).
    if (this.status === 'normal') this.send(this.primary, req);
    this.await(key, req);
  }

  /** A request relayed by a backup (§4.1): only the primary orders it. */
  private onRelayedRequest(from: ReplicaId, req: Request): void {
    if (!this.isPrimary || this.status !== 'normal')
      return this.ignore(from, req, 'relayed request but not the primary');
    if (!this.requestAuthentic(req)) return this.ignore(from, req, 'request authenticator invalid for this replica');
    if (req.readOnly) return this.ignore(from, req, 'read-only requests are not relayed');
    if (this.answerFromCache(req)) return;
    const key = requestKey(req.client, req.timestamp);
    this.enqueue(key, req);
    this.await(key, req);
    this.proposeOnArrival();
  }

  private requestAuthentic(req: Request): boolean {
    const mac = req.auth[this.id];
    return (
      req.auth.length === this.q.n &&
      mac !== undefined &&
      this.crypto.verifyRequestMac(req.client, requestBytes(req), mac)
    );
  }

  /** Exactly-once: an old timestamp is dropped, the last one is answered from the reply cache (§4.1). */
  private answerFromCache(req: Request): boolean {
    const last = this.clientTable.get(req.client);
    if (!last || req.timestamp > last.timestamp) return false;
    if (req.timestamp === last.timestamp) {
      const tentative = this.tentative?.keys.has(requestKey(req.client, req.timestamp)) ?? false;
      this.reply(req.client, req.timestamp, last.result, tentative);
    }
    return true;
  }

  private enqueue(key: string, req: Request): void {
    if (!this.pending.has(key) && !this.inLog.has(key)) this.pending.set(key, req);
  }

  /**
   * §5.1 read-only: execute at once, no ordering; the client needs 2f+1 matching replies. The reply
   * must not show uncommitted state (TOCS'02 §5.1.3: "they send the reply only after all requests
   * reflected in the tentative state have committed"), so while a batch is tentative the read waits
   * for it to commit or be rolled back (seed 735).
   *
   * Nor may it show a state older than a write that completed before the read began. A write completes
   * on f+1 matching committed replies — one correct replica executed it, so 2f+1 replicas sent COMMIT
   * for it and f+1 *correct* replicas prepared it (or knew it committed) before it completed — or on
   * 2f+1 tentative ones (f+1 correct prepared it). Any 2f+1 replicas answering a read include one of
   * those f+1 (2f+1 correct in all), so a replica answers a read only once it has executed everything
   * it prepared or sent a COMMIT for: that one then answers with the write, and the 2f+1 matching
   * answers all show it. Without this rule f+1 lagging correct replicas and a faulty one answered a
   * read from before a completed write (issue 12; before, reads waited only for what this replica had
   * executed tentatively, seed 4675).
   */
  private executeReadOnly(req: Request): void {
    if (!this.app.isReadOnly(req.op)) return this.ignore(req.client, req, 'read-only flag on an operation that writes');
    if (this.tentative || this.lastExecuted < this.preparedSeq) {
      if (this.readsAfterTentative.length < READS_HELD_MAX) this.readsAfterTentative.push(req);
      return;
    }
    const result = this.app.execute(req.op, { client: req.client, timestamp: req.timestamp, seq: 0 });
    this.reply(req.client, req.timestamp, result, true, true);
  }

  /** Reads held back (executeReadOnly), once the committed state may show them. */
  private answerHeldReads(): void {
    if (this.readsAfterTentative.length === 0 || this.tentative || this.lastExecuted < this.preparedSeq) return;
    const reads = this.readsAfterTentative.splice(0);
    for (const req of reads) this.executeReadOnly(req);
  }

  // ---------------------------------------------------------------------------------------------
  // §4.2 Normal case

  /**
   * Adaptive batching: a request that finds no batch being ordered is proposed at once (a batch of
   * one, the lowest latency); one that finds batches not yet prepared here waits for the next to
   * complete, and goes out with everything else that arrived meanwhile — unless a full batch is
   * already waiting. So the batch grows with the load by itself. A batch that is prepared (its clients
   * may already have their tentative replies, §5.1) no longer holds requests back: waiting for its
   * commit would put the commit round trip back on the critical path of a lone client.
   */
  private proposeOnArrival(): void {
    if (this.pending.size >= this.config.batchSizeMax) return this.propose();
    for (let seq = this.lastExecuted + 1; seq < this.nextSeq; seq++) if (!this.log.get(seq)?.prepared) return;
    this.propose();
  }

  /** Primary: assign sequence numbers to batches while the window (watermarks, batches in flight) allows. */
  private propose(): void {
    if (!this.isPrimary || this.status !== 'normal') return;
    while (
      this.pending.size > 0 &&
      this.nextSeq <= this.highWatermark &&
      this.nextSeq - 1 - this.lastExecuted < this.config.batchesInFlightMax
    ) {
      const batch: Request[] = [];
      for (const [key, req] of this.pending) {
        this.pending.delete(key);
        if (req.timestamp <= this.clientTable.lastTimestamp(req.client)) continue;
        batch.push(req);
        this.inLog.set(key, this.nextSeq);
        if (batch.length >= this.config.batchSizeMax) break;
      }
      if (batch.length === 0) break;
      const seq = this.nextSeq++;
      const pp: PrePrepare = {
        type: 'pre-prepare',
        view: this.view,
        seq,
        digest: this.proofs.batchDigest(batch),
        requests: batch,
        replica: this.id,
      };
      this.acceptPrePrepare(pp, false);
      this.broadcast(pp);
    }
  }

  private onPrePrepare(from: ReplicaId, pp: PrePrepare): void {
    if (this.status !== 'normal') return this.ignore(from, pp, `in view change to ${this.view}`);
    if (pp.view !== this.view) return this.ignore(from, pp, `not in view ${pp.view} (in ${this.view})`);
    if (from !== this.primary || pp.replica !== from) return this.ignore(from, pp, 'not from the primary');
    if (!this.inWatermarks(pp.seq))
      return this.ignore(from, pp, `n=${pp.seq} outside (${this.lowWatermark}, ${this.highWatermark}]`);
    const unbound = this.outsideBinding(pp.view, pp.seq, pp.digest);
    if (unbound) return this.ignore(from, pp, unbound);
    const entry = this.log.get(pp.seq);
    const existing = entry?.prePrepare;
    if (existing && existing.view === pp.view) {
      if (existing.digest !== pp.digest)
        return this.ignore(from, pp, `conflicts with accepted d=${existing.digest.slice(0, 6)}`);
      // A retransmission of what we hold — or the batch a NEW-VIEW ordered by digest only.
      if (entry.batchMissing && this.proofs.batchDigest(pp.requests) === pp.digest) this.fillBatch(entry, pp.requests);
      return;
    }
    if (this.proofs.batchDigest(pp.requests) !== pp.digest)
      return this.ignore(from, pp, 'pre-prepare digest does not match its batch');
    for (const req of pp.requests) {
      if (!this.requestAuthentic(req))
        return this.ignore(from, pp, `request c=${req.client} t=${req.timestamp} not authentic`);
      if (req.readOnly) return this.ignore(from, pp, 'read-only request in a batch');
    }
    this.acceptPrePrepare(pp, false);
  }

  /**
   * Log a pre-prepare for the current view; a backup multicasts its PREPARE (§4.2). `batchMissing`: a
   * NEW-VIEW ordered the digest and the batch is not here; it is fetched, and execution waits for it.
   */
  private acceptPrePrepare(pp: PrePrepare, batchMissing: boolean): void {
    const entry = this.entry(pp.seq);
    entry.prePrepare = pp;
    entry.batchMissing = batchMissing;
    entry.prepared = false;
    entry.committed = false;
    entry.ownPrepare = null;
    entry.ownCommit = null;
    this.recordPrePrepared(entry, pp.digest, pp.view);
    if (!batchMissing) this.holdBatch(entry, pp.requests);
    this.persist(prePreparedRecord(pp, batchMissing));
    this.event({ type: 'pre-prepared', view: pp.view, seq: pp.seq, digest: pp.digest, batchSize: pp.requests.length });
    if (!this.isPrimary) {
      const prepare: Prepare = { type: 'prepare', view: pp.view, seq: pp.seq, digest: pp.digest, replica: this.id };
      entry.ownPrepare = prepare;
      entry.prepares.set(this.id, prepare);
      this.broadcast(prepare);
    }
    this.checkPrepared(entry);
  }

  private onPrepare(from: ReplicaId, p: Prepare): void {
    if (this.status !== 'normal') return this.ignore(from, p, `in view change to ${this.view}`);
    if (p.view !== this.view) return this.ignore(from, p, `not in view ${p.view} (in ${this.view})`);
    if (p.replica !== from) return this.ignore(from, p, `names replica ${p.replica}`);
    if (from === this.primary) return this.ignore(from, p, 'the primary does not prepare');
    if (!this.inWatermarks(p.seq))
      return this.ignore(from, p, `n=${p.seq} outside (${this.lowWatermark}, ${this.highWatermark}]`);
    const unbound = this.outsideBinding(p.view, p.seq, p.digest);
    if (unbound) return this.ignore(from, p, unbound);
    const entry = this.entry(p.seq);
    const known = entry.prepares.get(from);
    if (known && known.view === p.view && known.digest === p.digest) return;
    entry.prepares.set(from, p);
    this.checkPrepared(entry);
  }

  /** prepared(m, v, n, i): the pre-prepare and 2f matching prepares from distinct backups (§4.2). */
  private checkPrepared(entry: LogEntry): void {
    const pp = entry.prePrepare;
    if (!pp || entry.prepared || entry.commitCertified) return;
    const matching: Prepare[] = [];
    for (const p of entry.prepares.values()) {
      if (p.view === pp.view && p.digest === pp.digest && p.replica !== pp.replica) matching.push(p);
    }
    if (matching.length < this.q.prepares) return;
    entry.prepared = true;
    entry.preparedClaim = { digest: pp.digest, view: pp.view };
    if (pp.seq > this.preparedSeq) this.preparedSeq = pp.seq;
    this.persist({ type: 'prepared', seq: pp.seq, digest: pp.digest, view: pp.view });
    this.event({ type: 'prepared', view: pp.view, seq: pp.seq, digest: pp.digest });
    const commit: Commit = { type: 'commit', view: pp.view, seq: pp.seq, digest: pp.digest, replica: this.id };
    entry.ownCommit = commit;
    entry.commits.set(this.id, commit);
    this.broadcast(commit);
    this.checkCommitted(entry);
    this.executeTentatively();
    // Requests held back while this batch was being ordered may go now (adaptive batching).
    if (this.isPrimary && this.pending.size > 0) this.proposeOnArrival();
  }

  /**
   * A COMMIT (§4.2). In a view change, COMMITs of the views before still count as evidence: 2f+1
   * matching ones prove a batch committed, and a replica that is changing views — alone, perhaps, while
   * the others go on in the old view — executes it all the same (checkCommitCertificate). It claims and
   * votes nothing new, so its VIEW-CHANGE stays true, and clients keep getting its replies: they need
   * 2f+1 of them (client.ts), so every correct replica must keep executing.
   */
  private onCommit(from: ReplicaId, c: Commit): void {
    const changing = this.status === 'view-change';
    if (changing && c.view >= this.view) return this.ignore(from, c, `in view change to ${this.view}`);
    if (!changing && c.view !== this.view) return this.ignore(from, c, `not in view ${c.view} (in ${this.view})`);
    if (c.replica !== from) return this.ignore(from, c, `names replica ${c.replica}`);
    if (!this.inWatermarks(c.seq))
      return this.ignore(from, c, `n=${c.seq} outside (${this.lowWatermark}, ${this.highWatermark}]`);
    const unbound = this.outsideBinding(c.view, c.seq, c.digest);
    if (unbound) return this.ignore(from, c, unbound);
    const entry = this.entry(c.seq);
    entry.commits.set(from, c);
    if (changing) {
      if (entry.committed || c.seq <= this.lastExecuted) return;
      if (entry.prePrepare?.view === c.view && entry.prepared) this.checkCommitted(entry);
      else this.checkCommitCertificate(entry, c);
      return;
    }
    if (entry.prePrepare) this.checkCommitted(entry);
    else this.checkCommitCertificate(entry, c);
  }

  /**
   * A replica that missed the pre-prepare (lost, and its primary gone into a view change that
   * nobody else joined) can still learn the batch: 2f+1 matching COMMITs from distinct replicas mean
   * f+1 correct replicas prepared it — it is *committed* (§4.2), whatever this replica saw. It takes
   * the batch by digest (from its log or FETCH-BATCH) and executes it, claiming nothing it did not do:
   * no PREPARE, no P or Q claim. Without it such a replica waited forever for the one message only the
   * primary can send (seed 1543). It does add its COMMIT: that vouches for nothing 2f+1 replicas have
   * not committed already, and a replica that prepared and still lacks one COMMIT needs it — without
   * it, the vote this replica would have cast had it got the pre-prepare went missing (seed 6977).
   */
  private checkCommitCertificate(entry: LogEntry, c: Commit): void {
    let matching = 0;
    for (const other of entry.commits.values()) if (other.view === c.view && other.digest === c.digest) matching++;
    if (matching < this.q.strong) return;
    const requests = c.digest === this.nullDigest ? [] : entry.batches.get(c.digest);
    const pp: PrePrepare = {
      type: 'pre-prepare',
      view: c.view,
      seq: c.seq,
      digest: c.digest,
      requests: requests ?? [],
      replica: primaryOf(c.view, this.q.n),
    };
    entry.prePrepare = pp;
    entry.batchMissing = requests === undefined;
    // Prepared referred to the pre-prepare this replaces (an older view's, in a view change); the P
    // claim stays as it was (seed 890 of --replicas 7 --twins 2).
    entry.prepared = false;
    entry.committed = true;
    entry.commitCertified = true;
    if (c.seq > this.preparedSeq) this.preparedSeq = c.seq;
    const commit: Commit = { type: 'commit', view: c.view, seq: c.seq, digest: c.digest, replica: this.id };
    entry.ownCommit = commit;
    entry.commits.set(this.id, commit);
    this.broadcast(commit);
    if (requests) this.holdBatch(entry, requests);
    else if (c.seq > this.lastExecuted) {
      const sources = [...entry.commits.values()]
        .filter((o) => o.view === c.view && o.digest === c.digest && o.replica !== this.id)
        .map((o) => o.replica);
      const missing: MissingBatch = { digest: c.digest, sources, attempts: 0, retryInTicks: 0 };
      this.missingBatches.set(c.seq, missing);
      this.requestBatch(c.seq, missing);
    }
    this.event({ type: 'committed-local', view: c.view, seq: c.seq, digest: c.digest });
    this.executeCommitted();
  }

  /** committed-local(m, v, n, i): prepared and 2f+1 matching commits, possibly including its own (§4.2). */
  private checkCommitted(entry: LogEntry): void {
    const pp = entry.prePrepare;
    if (!pp || !entry.prepared || entry.committed) return;
    let matching = 0;
    for (const c of entry.commits.values()) if (c.view === pp.view && c.digest === pp.digest) matching++;
    if (matching < this.q.strong) return;
    entry.committed = true;
    this.event({ type: 'committed-local', view: pp.view, seq: pp.seq, digest: pp.digest });
    this.executeCommitted();
  }

  /** Execute committed batches strictly in sequence order (§4.2). */
  private executeCommitted(): void {
    let progressed = false;
    for (;;) {
      const entry = this.log.get(this.lastExecuted + 1);
      if (!entry || !entry.committed || !entry.prePrepare || entry.batchMissing) break;
      if (this.tentative?.seq === entry.seq) this.commitTentative(entry.prePrepare);
      else this.executeBatch(entry.prePrepare);
      progressed = true;
    }
    if (!progressed) return;
    this.viewChangeTimeoutTicks = this.config.viewChangeTimeoutTicks;
    this.continueRequestTimer();
    this.propose();
    this.answerHeldReads();
    this.executeTentatively();
  }

  private executeBatch(pp: PrePrepare): void {
    const executed = this.runBatch(pp, false);
    this.batchExecuted(pp, executed);
  }

  /** Apply a batch's requests to the application and the reply table, and reply to each client. */
  private runBatch(pp: PrePrepare, tentative: boolean): ExecutedRequest[] {
    const executed: ExecutedRequest[] = [];
    for (const req of pp.requests) {
      if (req.timestamp <= this.clientTable.lastTimestamp(req.client)) {
        executed.push({ client: req.client, timestamp: req.timestamp, op: req.op, executed: false, result: null });
        continue;
      }
      const result = this.app.execute(req.op, { client: req.client, timestamp: req.timestamp, seq: pp.seq });
      this.clientTable.record(req.client, req.timestamp, result);
      this.reply(req.client, req.timestamp, result, tentative);
      executed.push({ client: req.client, timestamp: req.timestamp, op: req.op, executed: true, result });
    }
    return executed;
  }

  /** A batch's execution is final (committed, §4.2): its requests are done, h may move, a checkpoint may be due. */
  private batchExecuted(pp: PrePrepare, executed: ExecutedRequest[]): void {
    for (const req of pp.requests) {
      const key = requestKey(req.client, req.timestamp);
      this.inLog.delete(key);
      this.waiting.delete(key);
      this.setAside.delete(key);
      this.pending.delete(key);
    }
    this.lastExecuted = pp.seq;
    this.event({ type: 'executed', view: this.view, seq: pp.seq, digest: pp.digest, requests: executed });
    if (pp.seq % this.config.checkpointInterval === 0) this.takeCheckpoint(pp.seq);
  }

  /**
   * §5.1 tentative execution: the batch right after the committed prefix executes as soon as it is
   * prepared, and its clients get tentative replies (they need 2f+1 matching ones: then f+1 correct
   * replicas prepared it, and it survives any view change). It becomes final when it commits, and is
   * rolled back if the view changes first. At most one batch is tentative at a time.
   */
  private executeTentatively(): void {
    if (!this.config.tentativeExecution || this.tentative || this.status !== 'normal') return;
    const entry = this.log.get(this.lastExecuted + 1);
    const pp = entry?.prePrepare;
    if (!entry || !pp || !entry.prepared || entry.committed || entry.batchMissing) return;
    this.app.savepoint();
    this.clientTable.savepoint();
    const executed = this.runBatch(pp, true);
    const keys = new Set<string>();
    for (const e of executed) if (e.executed) keys.add(requestKey(e.client, e.timestamp));
    this.tentative = { seq: pp.seq, executed, keys };
    if (pp.seq > this.preparedSeq) this.preparedSeq = pp.seq;
    this.event({ type: 'executed-tentatively', view: this.view, seq: pp.seq, digest: pp.digest });
  }

  /** The tentative batch committed: keep its effects (no second reply: clients that lack 2f+1 retransmit). */
  private commitTentative(pp: PrePrepare): void {
    const tentative = this.tentative!;
    this.tentative = null;
    this.app.release();
    this.clientTable.release();
    this.batchExecuted(pp, tentative.executed);
    this.answerHeldReads();
  }

  /** Undo the tentative batch (a view change, or state about to be replaced): it executes again if it commits. */
  private abortTentative(reason: string): void {
    const tentative = this.tentative;
    if (!tentative) return;
    this.tentative = null;
    this.app.rollback();
    this.clientTable.rollback();
    this.event({ type: 'tentative-rolled-back', seq: tentative.seq, reason });
    this.answerHeldReads();
  }

  private reply(client: ClientId, timestamp: number, result: Uint8Array, tentative: boolean, readOnly = false): void {
    const reply: Reply = {
      type: 'reply',
      view: this.view,
      timestamp,
      client,
      replica: this.id,
      tentative: tentative || readOnly,
      readOnly,
      result,
    };
    this.outputs.push({ kind: 'reply', client, reply });
  }

  // ---------------------------------------------------------------------------------------------
  // §4.3 Checkpoints and garbage collection

  /** The state digest covers the application and the last-reply table (exactly-once survives state transfer). */
  private stateDigest(): Digest {
    const w = new ByteWriter();
    w.string(this.app.digest());
    w.string(this.clientTable.digest(this.crypto));
    return this.crypto.digest(w.finish());
  }

  private snapshot(): Uint8Array {
    const w = new ByteWriter();
    w.bytes(this.app.snapshot());
    w.bytes(this.clientTable.encode());
    return w.finish();
  }

  private takeCheckpoint(seq: number): void {
    const stateDigest = this.stateDigest();
    const message = this.sign<Checkpoint>({ type: 'checkpoint', seq, stateDigest, replica: this.id, sig: EMPTY });
    this.ownCheckpoints.set(seq, { stateDigest, snapshot: this.snapshot(), message });
    this.event({ type: 'checkpoint', seq, stateDigest });
    this.broadcast(message);
    this.recordCheckpointVote(message);
  }

  /**
   * A CHECKPOINT (§4.3), from its signer or relayed: it is signed, so who forwards it does not matter.
   * Peers re-send the proof of their stable checkpoint to a replica below it (onStatus) — one that
   * restarted from an older checkpoint while the others collected the log below theirs can learn of
   * the stable checkpoint, and fetch it, only from those relayed votes — its own among them, signed
   * before it crashed (seed 151, a checkpoint record lost in a crash).
   */
  private onCheckpoint(from: ReplicaId, cp: Checkpoint): void {
    if (cp.seq < this.lowWatermark) return this.ignore(from, cp, `n=${cp.seq} below h=${this.lowWatermark}`);
    if (cp.seq % this.config.checkpointInterval !== 0) return this.ignore(from, cp, `n=${cp.seq} is not a checkpoint`);
    // Our own vote comes back too, from before a crash: the proof may need it (the others may be one short).
    if (this.checkpointVotes.get(cp.seq)?.get(cp.replica)?.stateDigest === cp.stateDigest) return;
    if (!this.proofs.signatureValid(cp)) return this.ignore(from, cp, 'bad signature');
    this.recordCheckpointVote(cp);
  }

  private recordCheckpointVote(cp: Checkpoint): void {
    if (cp.seq > this.highWatermark) {
      // Beyond H keep one vote per replica: enough to learn that others are ahead, bounded in memory.
      for (const [seq, votes] of this.checkpointVotes) {
        if (seq > this.highWatermark && seq !== cp.seq && votes.delete(cp.replica) && votes.size === 0)
          this.checkpointVotes.delete(seq);
      }
    }
    let votes = this.checkpointVotes.get(cp.seq);
    if (!votes) this.checkpointVotes.set(cp.seq, (votes = new Map()));
    votes.set(cp.replica, cp);
    this.checkStable(cp.seq);
  }

  /** A checkpoint with 2f+1 matching CHECKPOINT messages is stable (§4.3). */
  private checkStable(seq: number): void {
    const votes = this.checkpointVotes.get(seq);
    if (!votes || votes.size < this.q.strong || seq <= this.lowWatermark) return;
    const byDigest = new Map<Digest, Checkpoint[]>();
    for (const cp of votes.values()) {
      const list = byDigest.get(cp.stateDigest) ?? [];
      list.push(cp);
      byDigest.set(cp.stateDigest, list);
    }
    for (const [stateDigest, proof] of byDigest) {
      if (proof.length < this.q.strong) continue;
      const own = this.ownCheckpoints.get(seq);
      if (own && own.stateDigest === stateDigest) {
        this.makeStable({ seq, stateDigest, proof, snapshot: own.snapshot });
      } else if (own || seq <= this.lastExecuted) {
        // Our state at seq differs from what 2f+1 replicas proved: ours is wrong; fetch theirs.
        this.startStateTransfer(seq, stateDigest, proof);
      } else if (!this.catchUp || this.catchUp.seq < seq) {
        // Others are ahead. Give our own execution a moment to get there, then fetch (§4.3, TOCS'02 §5.3).
        const urgent = seq >= this.highWatermark;
        this.catchUp = { seq, stateDigest, proof, inTicks: urgent ? 0 : this.config.stateTransferDelayTicks };
        if (urgent) this.startStateTransfer(seq, stateDigest, proof);
      }
      return;
    }
  }

  /** Advance h to a stable checkpoint and discard everything at or below it (§4.3). */
  private makeStable(stable: StableCheckpoint): void {
    this.stable = stable;
    for (const seq of this.log.keys()) if (seq <= stable.seq) this.log.delete(seq);
    // Votes and our own message for the stable checkpoint itself stay: retransmission stops once all n voted.
    for (const seq of this.checkpointVotes.keys()) if (seq < stable.seq) this.checkpointVotes.delete(seq);
    for (const seq of this.ownCheckpoints.keys()) if (seq < stable.seq) this.ownCheckpoints.delete(seq);
    if (this.catchUp && this.catchUp.seq <= stable.seq) this.catchUp = null;
    if (this.nextSeq <= stable.seq) this.nextSeq = stable.seq + 1;
    for (const key of this.answeredFetchBatchAt.keys())
      if (Number(key.split(':')[1]) <= stable.seq) this.answeredFetchBatchAt.delete(key);
    this.persist({
      type: 'stable-checkpoint',
      seq: stable.seq,
      stateDigest: stable.stateDigest,
      proof: stable.proof,
      snapshot: stable.snapshot,
    });
    this.event({
      type: 'checkpoint-stable',
      seq: stable.seq,
      stateDigest: stable.stateDigest,
      lowWatermark: this.lowWatermark,
      highWatermark: this.highWatermark,
    });
    // O entries of the current view that were above H may be inside the window now.
    this.installBound();
    this.propose();
  }

  // ---------------------------------------------------------------------------------------------
  // State transfer (TOCS'02 §5.3, simplified: the whole snapshot of a proven stable checkpoint, in chunks)

  private startStateTransfer(seq: number, stateDigest: Digest, proof: readonly Checkpoint[]): void {
    if (this.fetch && this.fetch.seq >= seq) return;
    const sources = proof.map((cp) => cp.replica).filter((r) => r !== this.id);
    const source = sources[0] ?? (this.id + 1) % this.q.n;
    this.fetch = { seq, stateDigest, proof, source, ...EMPTY_CHUNKS(), retryInTicks: 0, attempts: 0 };
    this.event({ type: 'state-transfer-started', seq, stateDigest, from: source });
    this.requestChunks(source, 'start');
  }

  private nextSource(fetch: Fetch): ReplicaId {
    const sources = fetch.proof.map((cp) => cp.replica).filter((r) => r !== this.id);
    return sources[(fetch.attempts + 1) % sources.length] ?? fetch.source;
  }

  private requestChunks(source: ReplicaId, _why: string): void {
    const fetch = this.fetch;
    if (!fetch) return;
    if (source !== fetch.source) {
      fetch.source = source;
      Object.assign(fetch, EMPTY_CHUNKS());
    }
    fetch.attempts++;
    fetch.retryInTicks = this.config.retransmitTicks * 2;
    const message: FetchState = { type: 'fetch-state', seq: fetch.seq, chunk: fetch.firstMissing, replica: this.id };
    this.send(source, message);
  }

  /** Chunks sent per FETCH-STATE: the requester asks again from the first chunk it lacks. */
  private static readonly CHUNKS_PER_FETCH = 16;

  /** The most chunks a snapshot can have: the largest state the replica accepts, in chunks. */
  private get chunkCountMax(): number {
    return Math.ceil(this.config.stateBytesMax / this.config.stateChunkBytes);
  }

  /**
   * A peer asks for the snapshot of a stable checkpoint (TOCS'02 §5.3). It gets one window of chunks,
   * and only if it asks for a real checkpoint at or below ours, and at most once per half
   * retransmission period: answering anyone any number of times turned a few bytes into hundreds of
   * megabytes (issue 18). A correct requester asks for the next window when the last chunk of this one
   * arrives, and again after its retry timeout, so it loses little.
   */
  private onFetchState(from: ReplicaId, fs: FetchState): void {
    if (fs.replica !== from) return this.ignore(from, fs, `names replica ${fs.replica}`);
    const stable = this.stable;
    if (fs.seq < 1) return this.ignore(from, fs, 'asks for the state at n=0');
    if (stable.seq === 0 || stable.seq < fs.seq)
      return this.ignore(from, fs, `no stable checkpoint at or above n=${fs.seq}`);
    const progress = this.peerProgress.get(from);
    if (progress && progress.stableSeq >= fs.seq)
      return this.ignore(from, fs, `its STATUS says its stable checkpoint is n=${progress.stableSeq} already`);
    if (!this.mayAnswer(this.answeredFetchStateAt, from)) {
      // Answered moments ago: the latest request waits for its turn (tick), the ones before it are dropped.
      this.deferredFetchStates.set(from, fs);
      return this.ignore(from, fs, 'answered a FETCH-STATE of this replica moments ago; it waits its turn');
    }
    this.deferredFetchStates.delete(from);
    this.sendChunks(from, fs);
  }

  /** One window of chunks of our stable checkpoint's snapshot, from the chunk asked for. */
  private sendChunks(to: ReplicaId, fs: FetchState): void {
    const stable = this.stable;
    if (stable.seq < fs.seq) return;
    const size = this.config.stateChunkBytes;
    const chunkCount = Math.max(1, Math.ceil(stable.snapshot.length / size));
    // A newer checkpoint than asked for restarts the transfer from chunk 0 at the requester.
    const first = stable.seq === fs.seq ? Math.min(fs.chunk, chunkCount) : 0;
    for (let chunk = first; chunk < Math.min(chunkCount, first + Replica.CHUNKS_PER_FETCH); chunk++) {
      const message: StateChunk = {
        type: 'state-chunk',
        seq: stable.seq,
        stateDigest: stable.stateDigest,
        proof: stable.proof,
        chunk,
        chunkCount,
        data: stable.snapshot.subarray(chunk * size, (chunk + 1) * size),
        replica: this.id,
      };
      this.send(to, message);
    }
  }

  /**
   * One chunk of the snapshot being fetched. Each is checked as it comes — its count against the
   * largest snapshot there can be, its size against the chunk size, the bytes so far against the
   * largest state — with work that does not grow with the count it claims: a source that names 10^8
   * chunks, or sends more bytes than any state holds, is refused at once (issue 18).
   */
  private onStateChunk(from: ReplicaId, sc: StateChunk): void {
    if (sc.replica !== from) return this.ignore(from, sc, `names replica ${sc.replica}`);
    let fetch = this.fetch;
    if (!fetch || sc.seq < fetch.seq) return this.ignore(from, sc, 'no state transfer wants it');
    if (sc.seq <= this.lastExecuted) return this.ignore(from, sc, `already at n=${this.lastExecuted}`);
    if (sc.chunkCount < 1 || sc.chunk >= sc.chunkCount) return this.ignore(from, sc, 'chunk index out of range');
    if (sc.chunkCount > this.chunkCountMax)
      return this.ignore(from, sc, `${sc.chunkCount} chunks: more than the largest state (${this.chunkCountMax})`);
    if (
      sc.data.length > this.config.stateChunkBytes ||
      (sc.chunk < sc.chunkCount - 1 && sc.data.length !== this.config.stateChunkBytes)
    )
      return this.ignore(from, sc, `chunk of ${sc.data.length} bytes (chunks are ${this.config.stateChunkBytes})`);
    if (sc.seq > fetch.seq || sc.stateDigest !== fetch.stateDigest) {
      const bad = this.proofs.checkpointProof(sc.seq, sc.stateDigest, sc.proof);
      if (bad) return this.ignore(from, sc, bad);
      fetch = this.fetch = {
        seq: sc.seq,
        stateDigest: sc.stateDigest,
        proof: sc.proof,
        source: from,
        ...EMPTY_CHUNKS(),
        retryInTicks: this.config.retransmitTicks * 2,
        attempts: fetch.attempts,
      };
    }
    if (from !== fetch.source) return this.ignore(from, sc, `fetching from ${fetch.source}`);
    if (fetch.chunkCount === 0) fetch.chunkCount = sc.chunkCount;
    if (sc.chunkCount !== fetch.chunkCount) return this.ignore(from, sc, 'chunk count changed');
    if (fetch.chunks.has(sc.chunk)) return;
    if (fetch.chunkBytes + sc.data.length > this.config.stateBytesMax) {
      this.event({
        type: 'state-transfer-rejected',
        seq: fetch.seq,
        from,
        reason: 'more bytes than the largest state',
      });
      return this.requestChunks(this.nextSource(fetch), 'too large');
    }
    fetch.chunks.set(sc.chunk, sc.data.slice());
    fetch.chunkBytes += sc.data.length;
    while (fetch.chunks.has(fetch.firstMissing)) fetch.firstMissing++;
    fetch.retryInTicks = this.config.retransmitTicks * 2;
    if (fetch.chunks.size === fetch.chunkCount) return this.completeStateTransfer(fetch, from);
    // The end of a window of chunks: ask for the next window from the first chunk still missing.
    if (sc.chunk === fetch.chunkCount - 1 || (sc.chunk + 1) % Replica.CHUNKS_PER_FETCH === 0)
      this.requestChunks(from, 'more');
  }

  private completeStateTransfer(fetch: Fetch, from: ReplicaId): void {
    this.abortTentative('state transfer');
    const snapshot = new Uint8Array(fetch.chunkBytes);
    let offset = 0;
    for (let i = 0; i < fetch.chunkCount; i++) {
      const chunk = fetch.chunks.get(i)!;
      snapshot.set(chunk, offset);
      offset += chunk.length;
    }
    const previous = this.snapshot();
    const bad = this.installSnapshot(snapshot, fetch.stateDigest);
    if (bad !== null) {
      this.installSnapshot(previous, null);
      this.event({ type: 'state-transfer-rejected', seq: fetch.seq, from, reason: bad });
      this.requestChunks(this.nextSource(fetch), 'rejected');
      return;
    }
    this.fetch = null;
    this.lastExecuted = fetch.seq;
    for (const key of [...this.waiting.keys()]) {
      const req = this.waiting.get(key)!;
      if (req.timestamp <= this.clientTable.lastTimestamp(req.client)) {
        this.waiting.delete(key);
        this.setAside.delete(key);
      }
    }
    for (const [key, req] of this.pending)
      if (req.timestamp <= this.clientTable.lastTimestamp(req.client)) this.pending.delete(key);
    this.event({ type: 'state-transfer-completed', seq: fetch.seq, stateDigest: fetch.stateDigest });
    this.makeStable({ seq: fetch.seq, stateDigest: fetch.stateDigest, proof: fetch.proof, snapshot });
    this.restartRequestTimer();
    this.executeCommitted();
    this.answerHeldReads();
  }

  /** Rate limit for answers to a peer (or a peer and a key): at most one per half retransmission period. */
  private mayAnswer<K>(answeredAt: Map<K, number>, key: K): boolean {
    const last = answeredAt.get(key);
    if (last !== undefined && this.ticks - last < Math.max(1, Math.ceil(this.config.retransmitTicks / 2))) return false;
    answeredAt.set(key, this.ticks);
    return true;
  }

  /** Replace application state and reply table by a snapshot; checks its digest. Returns a reason on failure. */
  private installSnapshot(snapshot: Uint8Array, expected: Digest | null): string | null {
    const r = new ByteReader(snapshot);
    const appBytes = r.bytes();
    const tableBytes = r.bytes();
    if (!r.ok || !r.atEnd()) return `malformed snapshot: ${r.error ?? 'trailing bytes'}`;
    const table = ClientTable.decode(tableBytes);
    if (!table.ok) return table.reason;
    const restored = this.app.restore(appBytes);
    if (!restored.ok) return `application state: ${restored.reason}`;
    this.clientTable.replaceWith(table.table);
    if (expected !== null && this.stateDigest() !== expected) return 'snapshot does not match the proven state digest';
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // §4.4 View changes

  /** The backup's timer: runs while it waits for some request to execute; restarted on progress. */
  private await(key: string, req: Request): void {
    this.waiting.set(key, req);
    if (this.viewChangeTimerTicks === null && this.status === 'normal') {
      this.viewChangeTimerTicks = this.viewChangeTimeoutTicks;
      this.timedRequest = key;
    }
  }

  /** A fresh timer for the oldest request we wait for (new view, installed state). */
  private restartRequestTimer(): void {
    if (this.status !== 'normal') return;
    const oldest = this.waiting.keys().next();
    this.timedRequest = oldest.done ? null : oldest.value;
    this.viewChangeTimerTicks = oldest.done ? null : this.viewChangeTimeoutTicks;
  }

  /**
   * After executions (§4.4): the timer stops when the request it was started for has executed, and
   * restarts if another is waiting. Progress on *other* requests does not reset it — otherwise a
   * primary that orders just often enough (Aardvark's slow primary) would never be suspected.
   */
  private continueRequestTimer(): void {
    if (this.status !== 'normal') return;
    if (this.timedRequest !== null && this.waiting.has(this.timedRequest) && this.viewChangeTimerTicks !== null) return;
    this.restartRequestTimer();
  }

  /** Move to view `newView` and multicast VIEW-CHANGE with C and P (§4.4). */
  private startViewChange(newView: number, reason: string): void {
    if (newView <= this.view && this.status === 'view-change') return;
    if (newView < this.view) return;
    this.abortTentative(`view change to ${newView}`);
    this.view = newView;
    this.status = 'view-change';
    this.currentNewView = null;
    // §4.5: the timer for the new view starts only once 2f+1 VIEW-CHANGEs for it are in (startNewViewTimer),
    // so a replica that alone suspects the primary waits instead of racing ahead through views.
    this.viewChangeTimerTicks = null;
    // Requests the old primary had not ordered stay with us (to re-propose if we become primary).
    for (const [key, req] of this.pending) this.waiting.set(key, req);
    this.pending.clear();
    // P and Q (TOCS'02 §4.5): what prepared here in the latest view, and every digest pre-prepared here.
    const prepared: LogClaim[] = [];
    const prePrepared: LogClaim[] = [];
    for (const entry of [...this.log.values()].sort((a, b) => a.seq - b.seq)) {
      if (entry.seq <= this.stable.seq) continue;
      if (entry.preparedClaim) prepared.push({ seq: entry.seq, ...entry.preparedClaim });
      for (const [digest, view] of [...entry.prePrepared].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
        prePrepared.push({ seq: entry.seq, digest, view });
    }
    const vc = this.sign<ViewChange>({
      type: 'view-change',
      newView,
      stableSeq: this.stable.seq,
      checkpointProof: this.stable.seq > 0 ? this.stable.proof : [],
      prepared,
      prePrepared,
      replica: this.id,
      sig: EMPTY,
    });
    this.persist({ type: 'view', view: newView, normal: false });
    this.event({ type: 'view-change-started', newView, reason, timeoutTicks: this.viewChangeTimeoutTicks });
    for (const v of this.viewChanges.keys()) if (v < newView) this.viewChanges.delete(v);
    this.storeViewChange(vc);
    this.ownViewChanges.set(newView, vc);
    this.broadcast(vc);
    this.startNewViewTimer();
    this.tryNewView();
  }

  private onViewChange(from: ReplicaId, vc: ViewChange): void {
    if (vc.replica !== from) return this.ignore(from, vc, `names replica ${vc.replica}`);
    if (vc.newView < this.view || (vc.newView === this.view && this.status === 'normal')) {
      // The sender missed the NEW-VIEW of a view we are in (or past): relay it; it is self-verifying.
      if (this.currentNewView && this.status === 'normal') this.send(from, this.currentNewView);
      return;
    }
    const known = this.viewChanges.get(vc.newView)?.get(from);
    if (known && equalBytes(known.sig, vc.sig)) return;
    const bad = this.proofs.viewChange(vc, this.config.logWindow);
    if (bad) return this.ignore(from, vc, bad);
    this.storeViewChange(vc);
    this.maybeJoinViewChange();
    if (vc.newView === this.view && this.status === 'view-change') {
      this.startNewViewTimer();
      this.tryNewView();
    }
  }

  /**
   * Whether the expired request timer may be set aside: we are catching up, and a VIEW-CHANGE from us
   * alone could not move the others (f+1 are needed) but would strand us in a view nobody else enters
   * (seen on the network-namespace LAN). Evidence of catching up: the timed request sits in our log at
   * n and f+1 peers in our view (one of them correct) report having executed n — or, weaker, f+1
   * peers report having executed more than we have (the request may not have reached our log yet: an
   * old primary back from a cut link). Either way at most SET_ASIDE_MAX times in a row without
   * executing anything in between, and SET_ASIDE_TOTAL_MAX times in all. Unbounded, the weaker
   * evidence let a primary that keeps f+1 backups just ahead of the one whose timer expires next, and
   * never orders one client's request, censor that client for ever (issue 12); bounded, the timer
   * fires within SET_ASIDE_TOTAL_MAX timeouts whatever peers say, so §4.5's liveness argument holds.
   */
  private timedRequestExecutedElsewhere(): boolean {
    const key = this.timedRequest;
    if (key === null) return false;
    const last = this.setAside.get(key) ?? { times: 0, total: 0, executed: this.lastExecuted };
    const times = this.lastExecuted > last.executed ? 0 : last.times;
    if (times >= SET_ASIDE_MAX || last.total >= SET_ASIDE_TOTAL_MAX) return false;
    const seq = this.inLog.get(key);
    let executedIt = 0;
    let ahead = 0;
    for (const peer of this.peerNormal.values()) {
      if (peer.view !== this.view) continue;
      if (seq !== undefined && peer.executed >= seq) executedIt++;
      if (peer.executed > this.lastExecuted) ahead++;
    }
    if (executedIt < this.q.weak && ahead < this.q.weak) return false;
    this.setAside.set(key, { times: times + 1, total: last.total + 1, executed: this.lastExecuted });
    return true;
  }

  /** The request the timer ran for, for the reason of a VIEW-CHANGE: its client, timestamp, and where it is in our log. */
  private describeTimed(): string {
    const key = this.timedRequest;
    const req = key === null ? undefined : this.waiting.get(key);
    if (!key || !req) return 'no request';
    const seq = this.inLog.get(key);
    return `c=${req.client} t=${req.timestamp}, ${seq === undefined ? 'not in our log' : `at n=${seq} in our log`}, executed here up to ${this.lastExecuted}`;
  }

  /**
   * Whether we heard from fewer than 2f other replicas (any message) within the last window: the
   * second half of the (undoubled) view-change timeout, so that the messages that started a timer do
   * not count when it expires, and at least two STATUS periods (every replica sends STATUS every
   * retransmitTicks). Never in the first window after start: there is nothing to judge by yet.
   */
  private cutOff(): boolean {
    const window = Math.max(Math.ceil(this.config.viewChangeTimeoutTicks / 2), 2 * this.config.retransmitTicks);
    if (this.ticks < window) return false;
    let heard = 0;
    for (const at of this.lastHeard.values()) if (at >= this.ticks - window) heard++;
    return heard < this.q.strong - 1;
  }

  /** Peers whose last STATUS said they work normally in `view`. */
  private peersNormalIn(view: number): number {
    let count = 0;
    for (const peer of this.peerNormal.values()) if (peer.view === view) count++;
    return count;
  }

  private startNewViewTimer(): void {
    if (this.status !== 'view-change' || this.viewChangeTimerTicks !== null) return;
    const forView = this.viewChanges.get(this.view);
    if (forView && forView.has(this.id) && forView.size >= this.q.strong)
      this.viewChangeTimerTicks = this.viewChangeTimeoutTicks;
  }

  private storeViewChange(vc: ViewChange): void {
    let forView = this.viewChanges.get(vc.newView);
    if (!forView) this.viewChanges.set(vc.newView, (forView = new Map()));
    forView.set(vc.replica, vc);
    // Bounded memory: per replica keep its highest view change and the one for our current view. The
    // latter stays valid evidence after the sender moved further (it never entered that view), and
    // dropping it could leave the view we wait in one VIEW-CHANGE short forever (seed 14915).
    for (const [v, others] of this.viewChanges) {
      if (v < vc.newView && v !== this.view && others.delete(vc.replica) && others.size === 0)
        this.viewChanges.delete(v);
    }
  }

  /** §4.5: on f+1 VIEW-CHANGEs for views above ours, join the smallest such view without waiting for the timer. */
  private maybeJoinViewChange(): void {
    const senders = new Set<ReplicaId>();
    let smallest = Infinity;
    for (const [v, forView] of this.viewChanges) {
      if (v <= this.view) continue;
      for (const r of forView.keys()) if (r !== this.id) senders.add(r);
      smallest = Math.min(smallest, v);
    }
    if (senders.size >= this.q.weak)
      this.startViewChange(smallest, `${senders.size} replicas moved to view ≥ ${smallest}`);
  }

  /**
   * The new primary: with 2f+1 VIEW-CHANGEs (its own among them) decide O and multicast NEW-VIEW
   * (§4.4). V is every valid VIEW-CHANGE it holds for the view; when they do not decide some sequence
   * number yet (planNewView), it waits for more — the VIEW-CHANGEs of all correct replicas always do.
   */
  private tryNewView(): void {
    if (this.status !== 'view-change' || !this.isPrimary) return;
    const forView = this.viewChanges.get(this.view);
    const own = forView?.get(this.id);
    if (!forView || !own || forView.size < this.q.strong) return;
    const viewChanges = [...forView.values()].sort((a, b) => a.replica - b.replica);
    const plan = planNewView(viewChanges, this.q, this.nullDigest);
    if (!plan.decided) return;
    const nv = this.sign<NewView>({
      type: 'new-view',
      view: this.view,
      viewChanges,
      order: plan.order,
      replica: this.id,
      sig: EMPTY,
    });
    this.broadcast(nv);
    this.enterNewView(nv, plan);
  }

  private onNewView(from: ReplicaId, nv: NewView): void {
    // The message must be the primary's (its signature, checked below); who relays it does not matter —
    // a NEW-VIEW is self-verifying, and peers relay it to a replica that missed it (issue 12).
    if (nv.replica !== primaryOf(nv.view, this.q.n))
      return this.ignore(from, nv, 'not signed by the primary of its view');
    if (nv.view < this.view || (nv.view === this.view && this.status === 'normal')) return;
    if (!this.proofs.signatureValid(nv)) return this.ignore(from, nv, 'bad signature');
    const senders = new Set<ReplicaId>();
    for (const vc of nv.viewChanges) {
      if (vc.newView !== nv.view) return this.ignore(from, nv, `contains a view change for view ${vc.newView}`);
      if (senders.has(vc.replica)) return this.ignore(from, nv, `repeats the view change of ${vc.replica}`);
      const bad = this.proofs.viewChange(vc, this.config.logWindow);
      if (bad) return this.ignore(from, nv, `view change of ${vc.replica}: ${bad}`);
      senders.add(vc.replica);
    }
    if (senders.size < this.q.strong) return this.ignore(from, nv, `${senders.size} < ${this.q.strong} view changes`);
    // Backups recompute O and accept the NEW-VIEW only if it is exactly what they compute (§4.4).
    const plan = planNewView(nv.viewChanges, this.q, this.nullDigest);
    if (!plan.decided) return this.ignore(from, nv, `its view changes do not decide n=${plan.undecidedSeq}`);
    if (plan.order.length !== nv.order.length)
      return this.ignore(from, nv, `O has ${nv.order.length} entries, expected ${plan.order.length}`);
    for (let i = 0; i < plan.order.length; i++) {
      const expected = plan.order[i]!;
      const got = nv.order[i]!;
      if (got.seq !== expected.seq || got.digest !== expected.digest)
        return this.ignore(from, nv, `O differs at n=${expected.seq}`);
    }
    this.enterNewView(nv, plan);
  }

  /**
   * Install view nv.view (§4.4): take min-s as stable (or fetch it), then pre-prepare / prepare
   * everything in O. The NEW-VIEW binds the whole view (TOCS'02 §4.4–4.5): a replica that installs it
   * with min-s above its own stable checkpoint still accepts nothing at n ≤ min-s while it fetches the
   * state — otherwise a faulty new primary that sends its NEW-VIEW to one lagging replica could
   * pre-prepare another batch there at an n that already committed, and a later view change could
   * carry that batch into O (issue 12). The binding is persisted with the view, so a restart keeps it.
   */
  private enterNewView(nv: NewView, plan: NewViewPlan & { decided: true }): void {
    this.abortTentative(`new view ${nv.view}`);
    this.view = nv.view;
    this.status = 'normal';
    this.currentNewView = nv;
    this.recentNewViews.set(nv.view, nv);
    for (const v of this.recentNewViews.keys()) if (v < nv.view - RECENT_NEW_VIEWS) this.recentNewViews.delete(v);
    this.viewChangeTimerTicks = null;
    for (const v of this.viewChanges.keys()) if (v <= nv.view) this.viewChanges.delete(v);
    this.ownViewChanges.clear();
    this.missingBatches.clear();
    this.setAside.clear();
    // Normal-case state of old views is void; the claims stay (they go into later VIEW-CHANGEs).
    for (const entry of this.log.values()) {
      entry.prePrepare = null;
      entry.batchMissing = false;
      entry.commitCertified = false;
      entry.prepared = false;
      entry.committed = false;
      entry.ownPrepare = null;
      entry.ownCommit = null;
      for (const [r, p] of entry.prepares) if (p.view < nv.view) entry.prepares.delete(r);
      for (const [r, c] of entry.commits) if (c.view < nv.view) entry.commits.delete(r);
    }
    this.inLog.clear();
    const claimants = new Map<number, ReplicaId[]>();
    for (const { seq, digest } of plan.order)
      claimants.set(
        seq,
        nv.viewChanges
          .filter((vc) => vc.replica !== this.id && vc.prePrepared.some((c) => c.seq === seq && c.digest === digest))
          .map((vc) => vc.replica),
      );
    this.bound = {
      view: nv.view,
      minSeq: plan.minSeq,
      order: new Map(plan.order.map((o) => [o.seq, o.digest])),
      claimants,
    };
    this.persist({
      type: 'view',
      view: nv.view,
      normal: true,
      newView: { minSeq: plan.minSeq, order: plan.order, message: nv },
    });
    this.event({
      type: 'new-view',
      view: nv.view,
      primary: this.primary,
      minSeq: plan.minSeq,
      maxSeq: plan.maxSeq,
      order: plan.order,
    });
    if (plan.minSeq > this.stable.seq && plan.minDigest !== null) {
      const own = this.ownCheckpoints.get(plan.minSeq);
      if (own && own.stateDigest === plan.minDigest)
        this.makeStable({
          seq: plan.minSeq,
          stateDigest: plan.minDigest,
          proof: plan.minProof,
          snapshot: own.snapshot,
        });
      else if (plan.minSeq > this.lastExecuted) this.startStateTransfer(plan.minSeq, plan.minDigest, plan.minProof);
    }
    this.installBound();
    this.nextSeq = Math.max(plan.maxSeq, plan.minSeq, this.stable.seq, this.lastExecuted) + 1;
    if (this.isPrimary) {
      for (const [key, req] of this.waiting)
        if (req.timestamp > this.clientTable.lastTimestamp(req.client)) this.enqueue(key, req);
      this.propose();
    } else {
      for (const req of this.waiting.values()) this.send(this.primary, req);
    }
    this.restartRequestTimer();
  }

  /**
   * Pre-prepare (and, at a backup, prepare) every O entry of the current view's NEW-VIEW that is inside
   * the watermarks and not in the log yet: at install, after a restart, and when the watermarks move up
   * to entries that were above H at install (a replica that fetched min-s's state).
   */
  private installBound(): void {
    const b = this.bound;
    if (!b || b.view !== this.view || this.status !== 'normal') return;
    for (const [seq, digest] of b.order) {
      if (!this.inWatermarks(seq) || this.log.get(seq)?.prePrepare?.view === b.view) continue;
      const requests = digest === this.nullDigest ? [] : this.log.get(seq)?.batches.get(digest);
      const pp: PrePrepare = {
        type: 'pre-prepare',
        view: b.view,
        seq,
        digest,
        requests: requests ?? [],
        replica: primaryOf(b.view, this.q.n),
      };
      this.acceptPrePrepare(pp, requests === undefined);
      if (requests === undefined && seq > this.lastExecuted) {
        // Ask first those whose Q says they pre-prepared it; one of them is correct (A2).
        const first = b.claimants.get(seq) ?? [];
        const others = Array.from({ length: this.q.n }, (_, r) => r).filter((r) => r !== this.id && !first.includes(r));
        const missing: MissingBatch = { digest, sources: [...first, ...others], attempts: 0, retryInTicks: 0 };
        this.missingBatches.set(seq, missing);
        this.requestBatch(seq, missing);
      }
    }
  }

  /**
   * Why a normal-case message of `view` at `seq` for `digest` falls outside what the view's NEW-VIEW
   * bound, or null if it does not: nothing at n ≤ min-s, only O's digest where O orders one.
   */
  private outsideBinding(view: number, seq: number, digest: Digest): string | null {
    const b = this.bound;
    if (!b || b.view !== view) return null;
    if (seq <= b.minSeq) return `n=${seq} ≤ min-s=${b.minSeq} of the NEW-VIEW of view ${view}`;
    const ordered = b.order.get(seq);
    if (ordered !== undefined && ordered !== digest)
      return `the NEW-VIEW of view ${view} orders d=${ordered.slice(0, 6)} at n=${seq}`;
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // Batches a NEW-VIEW ordered by digest (§4.4: "replicas fetch a missing request")

  private requestBatch(seq: number, missing: MissingBatch): void {
    const source = missing.sources[missing.attempts % missing.sources.length];
    missing.attempts++;
    missing.retryInTicks = this.config.retransmitTicks;
    if (source === undefined) return;
    this.send(source, { type: 'fetch-batch', seq, digest: missing.digest, replica: this.id });
  }

  private onFetchBatch(from: ReplicaId, fb: FetchBatch): void {
    if (fb.replica !== from) return this.ignore(from, fb, `names replica ${fb.replica}`);
    const requests = this.log.get(fb.seq)?.batches.get(fb.digest);
    if (!requests) return this.ignore(from, fb, 'no such batch here');
    if (!this.mayAnswer(this.answeredFetchBatchAt, `${from}:${fb.seq}`))
      return this.ignore(from, fb, 'sent this batch to this replica moments ago');
    this.send(from, { type: 'batch', seq: fb.seq, digest: fb.digest, requests, replica: this.id });
  }

  private onBatch(from: ReplicaId, b: Batch): void {
    if (b.replica !== from) return this.ignore(from, b, `names replica ${b.replica}`);
    const entry = this.log.get(b.seq);
    if (!entry?.batchMissing || entry.prePrepare?.digest !== b.digest)
      return this.ignore(from, b, 'not waiting for it');
    if (this.proofs.batchDigest(b.requests) !== b.digest)
      return this.ignore(from, b, 'batch does not match its digest');
    this.fillBatch(entry, b.requests);
  }

  /** The batch of a pre-prepare ordered by digest has arrived: log it, and execute if it was the one holding us up. */
  private fillBatch(entry: LogEntry, requests: readonly Request[]): void {
    const pp = entry.prePrepare!;
    entry.prePrepare = { ...pp, requests };
    entry.batchMissing = false;
    this.missingBatches.delete(entry.seq);
    this.holdBatch(entry, requests);
    if (!entry.commitCertified) this.persist(prePreparedRecord(entry.prePrepare, false));
    this.executeCommitted();
  }

  /** Keep a pre-prepared batch at its seq, and wait for its requests to execute (§4.4 timer). */
  private holdBatch(entry: LogEntry, requests: readonly Request[]): void {
    entry.batches.set(entry.prePrepare!.digest, requests);
    for (const req of requests) {
      const key = requestKey(req.client, req.timestamp);
      this.inLog.set(key, entry.seq);
      if (req.timestamp > this.clientTable.lastTimestamp(req.client)) this.await(key, req);
    }
  }

  /** Q: `digest` pre-prepared at this seq in `view`. Bounded: the oldest views go first, never what prepared. */
  private recordPrePrepared(entry: LogEntry, digest: Digest, view: number): void {
    if ((entry.prePrepared.get(digest) ?? -1) < view) entry.prePrepared.set(digest, view);
    while (entry.prePrepared.size > PRE_PREPARED_PER_SEQ_MAX) {
      let oldest: Digest | null = null;
      for (const [d, v] of entry.prePrepared)
        if (d !== entry.preparedClaim?.digest && (oldest === null || v < entry.prePrepared.get(oldest)!)) oldest = d;
      if (oldest === null) break;
      entry.prePrepared.delete(oldest);
      entry.batches.delete(oldest);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Retransmission. PBFT assumes messages are retransmitted until received (§4.5); as in the BFT
  // library, it is driven by STATUS messages: each replica says where it is, and its peers re-send what it lacks.

  private retransmit(): void {
    let firstUncommitted = this.lastExecuted + 1;
    for (const entry of this.log.values())
      if (!entry.committed && entry.seq < firstUncommitted) firstUncommitted = entry.seq;
    const status: Status = {
      type: 'status',
      view: this.view,
      normal: this.status === 'normal',
      lastExecuted: this.lastExecuted,
      firstUncommitted,
      stableSeq: this.stable.seq,
      replica: this.id,
    };
    this.broadcast(status);
    if (this.status === 'view-change') {
      const own = this.viewChanges.get(this.view)?.get(this.id);
      if (own) this.broadcast(own);
    }
  }

  /**
   * A peer's STATUS: note where it is, and re-send what it lacks — at most once per half retransmission
   * period per peer, whatever it sends: a peer that floods STATUS must not get the log re-sent each
   * time (bounded work per message, issue 18). A correct peer sends one per period.
   */
  private onStatus(from: ReplicaId, st: Status): void {
    if (st.replica !== from) return this.ignore(from, st, `names replica ${st.replica}`);
    if (st.normal) this.peerNormal.set(from, { view: st.view, executed: st.lastExecuted });
    else this.peerNormal.delete(from);
    this.peerProgress.set(from, { lastExecuted: st.lastExecuted, stableSeq: st.stableSeq });
    if (!this.mayAnswer(this.answeredStatusAt, from)) return;
    // Checkpoints: the proof of our stable checkpoint if the peer is below it, and our votes above its h.
    if (st.stableSeq < this.stable.seq) for (const cp of this.stable.proof) this.send(from, cp);
    for (const own of this.ownCheckpoints.values()) if (own.message.seq > st.stableSeq) this.send(from, own.message);
    // Views: a peer behind our view gets the NEW-VIEW that installed it; in a view change, our VIEW-CHANGE.
    const behind = st.view < this.view || (st.view === this.view && !st.normal);
    if (this.status === 'normal' && behind && this.currentNewView) this.send(from, this.currentNewView);
    // A peer waiting for the NEW-VIEW of a view we already left (we timed out there and moved on) gets it too.
    const awaited = st.normal || st.view === this.view ? undefined : this.recentNewViews.get(st.view);
    if (awaited) this.send(from, awaited);
    if (this.status === 'view-change' && st.view <= this.view) {
      // Our VIEW-CHANGE for the view the peer waits in (it may have missed it before we moved on), and our current one.
      const forPeer = st.normal ? undefined : this.ownViewChanges.get(st.view);
      if (forPeer && st.view !== this.view) this.send(from, forPeer);
      const own = this.ownViewChanges.get(this.view);
      if (own) this.send(from, own);
    }
    // A peer changing to a later view (alone, while we go on) still executes what commits here: our COMMITs.
    if (this.status === 'normal' && !st.normal && st.view > this.view) {
      let budget = RETRANSMIT_ENTRIES_MAX;
      for (const entry of this.log.values()) {
        if (entry.seq < st.firstUncommitted || !entry.ownCommit || !entry.committed) continue;
        this.send(from, entry.ownCommit);
        if (--budget <= 0) break;
      }
      return;
    }
    // The log: our messages for every sequence number the peer has not committed in this view (it may
    // have executed it in an earlier view, yet others need its votes in this one).
    if (this.status !== 'normal' || !st.normal || st.view !== this.view) return;
    let budget = RETRANSMIT_ENTRIES_MAX;
    for (const entry of this.log.values()) {
      const pp = entry.prePrepare;
      if (entry.seq < st.firstUncommitted || !pp) continue;
      if (pp.replica === this.id && !entry.batchMissing) this.send(from, pp);
      if (entry.ownPrepare) this.send(from, entry.ownPrepare);
      if (entry.ownCommit) this.send(from, entry.ownCommit);
      if (--budget <= 0) break;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  private inWatermarks(seq: number): boolean {
    return seq > this.lowWatermark && seq <= this.highWatermark;
  }

  private entry(seq: number): LogEntry {
    let entry = this.log.get(seq);
    if (!entry) {
      entry = {
        seq,
        prePrepare: null,
        batchMissing: false,
        commitCertified: false,
        prepares: new Map(),
        commits: new Map(),
        prepared: false,
        committed: false,
        ownPrepare: null,
        ownCommit: null,
        preparedClaim: null,
        prePrepared: new Map(),
        batches: new Map(),
      };
      this.log.set(seq, entry);
    }
    return entry;
  }

  private sign<T extends Checkpoint | ViewChange | NewView>(unsigned: T): T {
    return { ...unsigned, sig: this.crypto.sign(signingBytes(unsigned)) };
  }

  private send(to: ReplicaId, message: ReplicaMessage): void {
    this.outputs.push({ kind: 'send', to, message });
  }

  private broadcast(message: ReplicaMessage): void {
    this.outputs.push({ kind: 'broadcast', message });
  }

  private persist(record: PersistRecord): void {
    this.outputs.push({ kind: 'persist', record });
  }

  private event(event: ReplicaEvent): void {
    this.outputs.push({ kind: 'event', event });
  }

  private ignore(from: ReplicaId | ClientId, message: Message, reason: string): void {
    this.event({ type: 'ignored', from, message, reason });
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection (dashboard, simulator invariants)

  /** A read-only view of the log for observers: one row per sequence number between the watermarks. */
  logRows(): LogRow[] {
    const rows: LogRow[] = [];
    for (const entry of [...this.log.values()].sort((a, b) => a.seq - b.seq)) {
      const pp = entry.prePrepare;
      let prepares = 0;
      let commits = 0;
      if (pp) {
        for (const p of entry.prepares.values())
          if (p.view === pp.view && p.digest === pp.digest && p.replica !== pp.replica) prepares++;
        for (const c of entry.commits.values()) if (c.view === pp.view && c.digest === pp.digest) commits++;
      }
      rows.push({
        seq: entry.seq,
        view: pp?.view ?? null,
        digest: pp?.digest ?? null,
        batchSize: pp?.requests.length ?? 0,
        prepares,
        commits,
        phase:
          entry.seq <= this.lastExecuted
            ? 'executed'
            : entry.committed
              ? 'committed'
              : entry.prepared
                ? 'prepared'
                : pp
                  ? 'pre-prepared'
                  : 'empty',
      });
    }
    return rows;
  }

  /** Invariants that must hold after every input (checked by the simulator after each step). */
  checkInvariants(): string | null {
    if (this.lastExecuted < this.stable.seq)
      return `executed ${this.lastExecuted} below stable checkpoint ${this.stable.seq}`;
    for (const [seq, entry] of this.log) {
      if (seq <= this.stable.seq) return `log entry ${seq} at or below h=${this.stable.seq} was not collected`;
      if (seq > this.highWatermark) return `log entry ${seq} above H=${this.highWatermark}`;
      if (entry.committed && !entry.prepared && !entry.commitCertified)
        return `entry ${seq} committed without being prepared or a commit certificate`;
      const pp = entry.prePrepare;
      if (pp && pp.view !== this.view && this.status === 'normal')
        return `entry ${seq} holds a pre-prepare of view ${pp.view} in view ${this.view}`;
      if (entry.preparedClaim && entry.preparedClaim.view > this.view)
        return `entry ${seq} claims to have prepared in view ${entry.preparedClaim.view}, after ${this.view}`;
      if (entry.prepared && entry.preparedClaim?.digest !== pp?.digest)
        return `entry ${seq} prepared without claiming it`;
    }
    const next = this.log.get(this.lastExecuted + 1);
    if (next?.committed && next.prePrepare && !next.batchMissing && this.status === 'normal')
      return `entry ${this.lastExecuted + 1} committed but not executed`;
    if (this.status === 'normal' && this.viewChangeTimerTicks !== null && this.waiting.size === 0)
      return 'timer running with nothing to wait for';
    return null;
  }

  /** The state digest now (for checkers comparing replicas at equal sequence numbers). */
  currentStateDigest(): Digest {
    return this.stateDigest();
  }
}

export interface LogRow {
  readonly seq: number;
  readonly view: number | null;
  readonly digest: Digest | null;
  readonly batchSize: number;
  readonly prepares: number;
  readonly commits: number;
  readonly phase: 'empty' | 'pre-prepared' | 'prepared' | 'committed' | 'executed';
}

const EMPTY = new Uint8Array(0);
/** A fetch's chunk bookkeeping, empty (a new transfer or a new source). */
const EMPTY_CHUNKS = (): Pick<Fetch, 'chunks' | 'chunkBytes' | 'firstMissing' | 'chunkCount'> => ({
  chunks: new Map(),
  chunkBytes: 0,
  firstMissing: 0,
  chunkCount: 0,
});
/** NEW-VIEWs kept for peers that missed them. */
const RECENT_NEW_VIEWS = 4;
/** Read-only requests held while a batch is tentative; more are dropped (the client retries, ordered). */
const READS_HELD_MAX = 4096;
/** Log entries re-sent per STATUS, lowest first. */
const RETRANSMIT_ENTRIES_MAX = 64;
/** Times in a row a request's view-change timer may be set aside without executing anything (timedRequestExecutedElsewhere). */
const SET_ASIDE_MAX = 2;
/** Times in all, progress or not: a bound on how long one request can wait on evidence (a censoring primary's reach). */
const SET_ASIDE_TOTAL_MAX = 16;
/**
 * Q claims kept per sequence number. Each view pre-prepares at most one digest per sequence number,
 * so more than this many only arise from a run of faulty primaries; the highest views are the ones
 * the NEW-VIEW decision can use (A2 asks for a view at least that of the P claim).
 */
const PRE_PREPARED_PER_SEQ_MAX = 8;
