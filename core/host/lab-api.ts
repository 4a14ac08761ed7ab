/**
 * The LabApi: the one contract between a replica host and any dashboard (DESIGN.md "The LabApi").
 * In Electron it crosses the preload bridge; headless it crosses a WebSocket (api-server.ts). So
 * everything here is plain JSON data: no Uint8Array, no class instances, no functions.
 */
import type { RoomQuery, RoomState } from './room-types.ts';

export type { RoomQuery, RoomState } from './room-types.ts';

/** File-store operations as JSON (file contents as UTF-8 text or base64). */
/**
 * `readOnly` (read, stat, list): a §5.1 read-only request, sent to every replica and answered from
 * its current state without ordering (no sequence number, no log row), accepted on 2f+1 matching
 * replies; retried as an ordered request if they do not match in time.
 */
export type LabOp =
  | { readonly kind: 'write' | 'append'; readonly path: string; readonly text?: string; readonly base64?: string }
  | { readonly kind: 'delete'; readonly path: string }
  | { readonly kind: 'read' | 'stat'; readonly path: string; readonly readOnly?: boolean }
  | { readonly kind: 'list'; readonly dir: string; readonly readOnly?: boolean };

export interface LabFileStat {
  readonly path: string;
  readonly size: number;
  readonly version: number;
  readonly modifiedSeq: number;
}

export type LabResult =
  | { readonly kind: 'written'; readonly stat: LabFileStat }
  | { readonly kind: 'data'; readonly stat: LabFileStat; readonly text: string | null; readonly base64: string }
  | { readonly kind: 'deleted'; readonly path: string }
  | { readonly kind: 'listing'; readonly dir: string; readonly entries: readonly LabFileStat[] }
  | { readonly kind: 'stat'; readonly stat: LabFileStat }
  /** The answer to revokeClient's ordered revoke: the client peer now refused by every replica. */
  | { readonly kind: 'revoked'; readonly client: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export interface SubmitOutcome {
  readonly timestamp: number;
  readonly result: LabResult;
  /** How many replicas sent this same result (≥ f+1 committed ones, or ≥ 2f+1 when tentative, to be accepted). */
  readonly matching: number;
  /** Accepted on f+1 committed replies; false: on 2f+1 tentative ones (§5.1 tentative execution). Absent: committed. */
  readonly committed?: boolean;
  /** Accepted as a §5.1 read-only request (2f+1 matching, not ordered). Absent: ordered. */
  readonly readOnly?: boolean;
  readonly latencyMs: number;
}

export type Role =
  /** Discovering peers, agreeing on the roster: the protocol has not started. */
  | 'forming'
  /** A member of the roster: runs a replica. */
  | 'replica'
  /** A machine beyond n: follows the cluster, runs no replica. */
  | 'observer';

export interface PeerInfo {
  readonly peerId: string;
  /** Its replica id in the roster, null for an observer or a peer not (yet) in it. */
  readonly replicaId: number | null;
  readonly addresses: readonly string[];
  readonly connected: boolean;
  /** Milliseconds since we last received a frame from it, null if never. */
  readonly lastHeardMsAgo: number | null;
  /** Cut off by a fault toggle on this machine. */
  readonly disconnected: boolean;
}

export interface LogRowInfo {
  readonly seq: number;
  readonly view: number | null;
  readonly digest: string | null;
  readonly batchSize: number;
  readonly prepares: number;
  readonly commits: number;
  readonly phase: 'empty' | 'pre-prepared' | 'prepared' | 'committed' | 'executed';
}

export interface LabSnapshot {
  readonly self: {
    readonly peerId: string;
    readonly cluster: string;
    readonly size: number;
    readonly f: number;
    readonly role: Role;
    readonly replicaId: number | null;
    /** Addresses to give another machine for `--join`. */
    readonly addresses: readonly string[];
    /**
     * The cluster secret: its join code (for the other machines: `--cluster-key`, a QR code) and a
     * fingerprint that names it without revealing it. Null when running without one (measurements).
     */
    readonly clusterKey?: { readonly fingerprint: string; readonly joinCode: string } | null;
    /** A room observer (`pbft-lab room`): it runs no replica and no client; its page is the Room tab. */
    readonly roomOnly?: boolean;
  };
  /** The agreed roster: peer ids by replica id (empty while forming). */
  readonly roster: readonly string[];
  /**
   * While forming: the roster this machine would adopt once each of its members announces it (the n
   * smallest peer ids of the key holders it has heard), so a person can check it first. Null otherwise.
   */
  readonly proposedRoster?: readonly string[] | null;
  readonly view: {
    readonly view: number;
    readonly primary: number;
    readonly status: 'normal' | 'view-change';
  } | null;
  readonly log: readonly LogRowInfo[];
  readonly checkpoints: {
    readonly stableSeq: number;
    readonly stableDigest: string;
    /** Replica ids whose signed CHECKPOINTs prove the stable checkpoint. */
    readonly proofFrom: readonly number[];
    readonly lowWatermark: number;
    readonly highWatermark: number;
    readonly lastExecuted: number;
  } | null;
  readonly peers: readonly PeerInfo[];
  readonly metrics: LabMetrics;
  readonly faults: LabFaults;
  /** The Byzantine behaviour this replica runs, or null when it is honest. */
  readonly behaviour: string | null;
  /**
   * Which replicas have been Byzantine in this run, by the members' signed behaviour histories
   * (core/host/behaviour-ledger.ts); null while forming (no roster yet).
   */
  readonly faultySoFar: FaultySoFar | null;
  /**
   * Client peers revoked by the replicated state (ordered revokes, executed here): every replica
   * refuses their requests. Absent on a machine that runs no replica.
   */
  readonly revokedClients?: readonly string[];
  /**
   * What this replica can honestly tell about its peers from its own inputs alone (peer-witness.ts):
   * evidence such as "r0 (primary): no PRE-PREPARE for a request waiting 2.1 s".
   */
  readonly peerNotes?: readonly string[];
  /** The truth about this replica itself that its own state does not show (silent, left behind in an old view). */
  readonly selfNotes?: readonly string[];
  /** Its view changes, oldest first, kept by the host (a dashboard polling later still sees them). */
  readonly viewHistory?: readonly ViewHistoryEntry[];
}

export interface ViewHistoryEntry {
  /** Host uptime when it happened, ms. */
  readonly atMs: number;
  readonly view: number;
  /** It moved to `view` (sent VIEW-CHANGE), or installed it (NEW-VIEW accepted). */
  readonly kind: 'started' | 'installed';
  readonly text: string;
}

/** One switch of a replica's behaviour, as its history records it. */
export interface BehaviourSwitch {
  /** 1, 2, 3… for each switch of this replica, never reused (a restart keeps counting). */
  readonly n: number;
  /** When, by the switching machine's own clock (ms since 1970; machines' clocks may disagree). */
  readonly atMs: number;
  /** The behaviour from then on (a catalogue id), or null: honest again. */
  readonly behaviour: string | null;
  /** Honest again because the machine restarted (a restarted replica runs honest). */
  readonly restart?: true;
}

/**
 * PBFT's bound is at most f faulty replicas over the whole run: a replica that was Byzantine once
 * counts for good, even after it is made honest again.
 */
export interface FaultySoFar {
  readonly f: number;
  /** Distinct replicas of the roster that have run a Byzantine behaviour at some point of this run. */
  readonly count: number;
  /** count > f: PBFT's assumption no longer holds, and violations are to be expected (not bugs). */
  readonly beyondBound: boolean;
  /** One per roster member, by replica id. */
  readonly members: readonly MemberBehaviour[];
}

export interface MemberBehaviour {
  readonly replicaId: number;
  readonly peerId: string;
  /**
   * Whether its signed history has reached this machine (this machine's own: always). A member not
   * heard from (silent since this machine started, say) may have been Byzantine without it showing here.
   */
  readonly known: boolean;
  /** The behaviour it runs by its history (null: honest). */
  readonly behaviour: string | null;
  /** Its first switch to a Byzantine behaviour, or null if it has never been Byzantine. */
  readonly firstByzantine: BehaviourSwitch | null;
  /** Its switches, oldest first: the first Byzantine one and the latest (at most BEHAVIOUR_HISTORY_MAX). */
  readonly history: readonly BehaviourSwitch[];
}

/** One entry of the Byzantine catalogue (docs/byzantine.md). */
export interface BehaviourInfo {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** What a student should see on the dashboards when it is on. */
  readonly observe: string;
}

export interface LabMetrics {
  readonly uptimeMs: number;
  readonly executedRequests: number;
  readonly executedBatches: number;
  readonly viewChanges: number;
  readonly stateTransfers: number;
  readonly ignoredMessages: number;
  readonly framesIn: number;
  readonly framesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly framesDropped: number;
  /** Bytes of inbound frames begun but not complete, held for roster members and for everyone else (bounded). */
  readonly partialFrameBytes?: { readonly members: number; readonly nonMembers: number };
}

export interface LabFaults {
  /**
   * Paused: the replica neither receives nor sends nor ticks (a "frozen" machine), not even between
   * its own client and itself; frames the delay was holding are lost.
   */
  readonly paused: boolean;
  /** Peer ids this machine is cut off from (both directions; frames the delay was holding for them are lost). */
  readonly disconnectedFrom: readonly string[];
  /** Added one-way delay on everything this machine sends, ms. */
  readonly delayMs: number;
}

export type FaultCommand =
  | { readonly kind: 'pause' }
  | { readonly kind: 'resume' }
  | { readonly kind: 'disconnect'; readonly peerId: string }
  | { readonly kind: 'reconnect'; readonly peerId: string }
  | { readonly kind: 'delay'; readonly ms: number };

/** Events for the live panels (messages diagram, log, view, checkpoints). */
export type LabEvent =
  | {
      readonly kind: 'message';
      readonly atMs: number;
      readonly direction: 'in' | 'out';
      /** The other side: a replica id, or a client/peer id string. */
      readonly peer: number | string;
      readonly type: string;
      readonly view: number | null;
      readonly seq: number | null;
      readonly text: string;
    }
  | { readonly kind: 'replica'; readonly atMs: number; readonly type: string; readonly text: string }
  | {
      /** A member's behaviour history gained a switch (its own, or one that reached this machine). */
      readonly kind: 'behaviour';
      readonly atMs: number;
      readonly replicaId: number;
      readonly peerId: string;
      readonly change: BehaviourSwitch;
      /** The tally once this switch is counted: distinct replicas Byzantine so far, against f. */
      readonly faultySoFar: number;
      readonly f: number;
      readonly text: string;
    }
  | { readonly kind: 'log'; readonly atMs: number; readonly line: string };

export interface LabApi {
  snapshot(): Promise<LabSnapshot>;
  /** Live events; returns the unsubscribe function. */
  subscribe(listener: (event: LabEvent) => void): () => void;
  /** Submit a file-store operation as this machine's client; resolves when f+1 replicas agree. */
  submit(op: LabOp): Promise<SubmitOutcome>;
  fault(command: FaultCommand): Promise<LabFaults>;
  /**
   * Revoke a client (its peer and all its logical clients): an operation ordered through PBFT, so
   * every replica refuses its requests from then on, across restarts and state transfer. Resolves
   * once f+1 replicas executed it; rejects if they answer NOT_ALLOWED (a replica's own client) or
   * do not answer within 10 s.
   */
  revokeClient(clientId: string): Promise<void>;
  /** The catalogue of Byzantine behaviours this replica can be switched to. */
  behaviours(): Promise<readonly BehaviourInfo[]>;
  /**
   * Make this replica Byzantine (an id from the catalogue) or honest again (null); returns the active
   * one. A switch that would make more than f replicas Byzantine over the run is refused with
   * FaultBoundError unless `options.exceedF` confirms it.
   */
  setBehaviour(id: string | null, options?: SetBehaviourOptions): Promise<string | null>;
  /**
   * The room (issue 14): every replica's telemetry, the cross-replica log, the checker and the
   * view-change explainer, and the diagram's events after `query.after`.
   */
  room(query?: RoomQuery): Promise<RoomState>;
  /**
   * The room's exercises (issue 16), on a room observer given its members' dashboards
   * (`pbft-lab room --member-urls`): start one on the members, end the running step, stop it, or
   * only ask where it is. Absent on hosts that are no room of their own (a replica, the desktop app):
   * their Room tab's Exercises panel steps on the screen only. Headless (WebSocket) only.
   */
  roomExercise?(command: RoomExerciseCommand): Promise<RoomExerciseStatus>;
}

export type RoomExerciseCommand =
  | { readonly kind: 'status' }
  | { readonly kind: 'start'; readonly exerciseId: string }
  /** End the running step now (the instructor's "next step"). */
  | { readonly kind: 'advance' }
  /** Stop the run: the cluster is restored (honest, connected, running), nothing is judged. */
  | { readonly kind: 'stop' };

/** One check's result, once the run is judged. */
export interface RoomExerciseVerdict {
  /** The check's index in the exercise. */
  readonly check: number;
  readonly title: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Where the exercise is, as the room's ExerciseSession last reported it. */
export interface RoomExerciseProgress {
  readonly exerciseId: string;
  /** The step running, from 0 (-1 before the first starts). */
  readonly stepIndex: number;
  /** What the running step waits for, in words. */
  readonly waitingFor?: string;
  readonly done: boolean;
  readonly verdicts?: readonly RoomExerciseVerdict[];
  /** The replay of the gathered records matched them (once judged). */
  readonly replayOk?: boolean;
  /** Why the run stopped early (refused, stopped by the instructor, a replica unreachable…). */
  readonly error?: string;
}

export interface RoomExerciseStatus {
  /** The room can run exercises on its members (it holds each member's dashboard URL). */
  readonly commands: boolean;
  /** When it cannot: what it needs, in words for the panel. */
  readonly needs: string | null;
  /** The members' dashboards, without their tokens (the tokens stay in the room's process). */
  readonly members: readonly string[];
  readonly running: boolean;
  /** The last report of the exercise running, or run last; null before the first start. */
  readonly progress: RoomExerciseProgress | null;
}

export interface SetBehaviourOptions {
  /** Go ahead even if this makes more than f replicas Byzantine in this run (PBFT's assumption broken). */
  readonly exceedF?: boolean;
}

/**
 * The words of a refused switch (FaultBoundError, core/host/behaviour-ledger.ts). A dashboard
 * recognises the refusal by them: an error that crosses Electron's contextBridge keeps only its message.
 */
export const EXCEED_F_MESSAGE = "this breaks PBFT's assumption (at most f faulty replicas): expect violations";

/** What a Room tab's Exercises panel says when its host cannot run exercises on the members. */
export const ROOM_EXERCISES_NEED =
  'To run it on the replicas, start the room with their dashboards: pbft-lab room --member-urls URL0,URL1,… ' +
  "(each replica's dashboard URL with its token, as pbft-lab demo and pbft-lab replica print them; " +
  'beside pbft-lab demo on this machine the room finds them itself). Until then this panel steps on this screen only.';

/** The calls of the LabApi, by name, for transports that carry them as messages. */
export const LAB_API_CALLS = [
  'snapshot',
  'submit',
  'fault',
  'revokeClient',
  'behaviours',
  'setBehaviour',
  'room',
] as const;
export type LabApiCall = (typeof LAB_API_CALLS)[number];

/** Calls only the headless WebSocket carries (optional on the LabApi: a room observer's). */
export const LAB_WS_ONLY_CALLS = ['roomExercise'] as const;
export type LabWsCall = LabApiCall | (typeof LAB_WS_ONLY_CALLS)[number];
