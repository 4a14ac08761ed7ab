/**
 * What the room shows (DESIGN.md "Telemetry and the room"), as plain JSON: the answer of the LabApi's
 * `room` call. Computed by RoomModel (room-model.ts) from every replica's telemetry; drawn by the
 * dashboard's Room tab (renderer/src/views/room).
 */
import type { FaultySoFar, LabFaults } from './lab-api.ts';
import type { TelemetryEvent } from './telemetry-events.ts';

/** A telemetry event as the room received it: `at` numbers arrivals (the cursor of `room({ after })`). */
export interface RoomEvent extends TelemetryEvent {
  readonly at: number;
}

export interface RoomReplica {
  readonly replicaId: number;
  readonly peerId: string;
  /** Whether the room's subscription to it is up (it publishes telemetry). */
  readonly connected: boolean;
  /** Milliseconds since its last snapshot reached the room; null: none yet. */
  readonly lastHeardMsAgo: number | null;
  readonly view: number | null;
  readonly primary: number | null;
  readonly status: 'normal' | 'view-change' | null;
  readonly lastExecuted: number | null;
  readonly stableSeq: number | null;
  readonly low: number | null;
  readonly high: number | null;
  /** Its links to the other replicas, as it sees them. */
  readonly links: readonly { readonly replicaId: number; readonly connected: boolean; readonly cut: boolean }[];
  /** The Byzantine behaviour switched on there (the truth: the instructor's view), or null. */
  readonly behaviour: string | null;
  /** Byzantine at some point of the run (a replica that was counts for good). */
  readonly byzantineSoFar: boolean;
  readonly faults: LabFaults | null;
  /** Events of it the room lost (its queue overflowed, or the stream broke). */
  readonly lost: number;
}

export type CheckStatus = 'ok' | 'violated' | 'warning' | 'unknown';

/** One invariant, live (DSLabs' icons): its status, one sentence why, the replicas it names. */
export interface RoomCheck {
  readonly id: 'agreement' | 'checkpoints' | 'views' | 'view-change-progress' | 'assumption';
  readonly name: string;
  readonly status: CheckStatus;
  readonly text: string;
  /** Replicas the check names as the cause (violating, or stalled). */
  readonly culprits: readonly number[];
  /** A sequence number to jump to (the first bad one), if any. */
  readonly seq?: number;
  /** Room events that witness it (their `at`), oldest first. */
  readonly witness?: readonly number[];
}

export interface CrossLogCell {
  readonly phase: 'pre-prepared' | 'prepared' | 'committed' | 'executed';
  readonly digest: string | null;
  readonly view: number | null;
  /** Its digest differs from the one most replicas have at this number. */
  readonly differs: boolean;
}

export interface CrossLogRow {
  readonly seq: number;
  /** By replica id (null: nothing known there). */
  readonly cells: readonly (CrossLogCell | null)[];
  /** State digests of the checkpoint at this number, by replica id, if it is one. */
  readonly checkpoint: readonly ({ readonly digest: string; readonly differs: boolean } | null)[] | null;
}

export interface ViewChangeVote {
  readonly replicaId: number;
  /** Why it moved (its own words, with the request its timer was for when the room saw it). */
  readonly reason: string;
  /** Its VIEW-CHANGE as it described it (stable checkpoint, prepared certificates P, pre-prepared Q). */
  readonly message: string | null;
  /** The room event of its VIEW-CHANGE send (or its start, if the send was not seen). */
  readonly at: number;
}

export interface ViewChangeEpisode {
  readonly view: number;
  readonly newPrimary: number;
  /** The primary of the view before, which the votes suspected. */
  readonly suspected: number;
  readonly votes: readonly ViewChangeVote[];
  /** When the new primary held 2f+1 VIEW-CHANGEs (its own included): the room event, or null if not yet. */
  readonly quorumAt: number | null;
  /** The NEW-VIEW, once the new primary sent it. */
  readonly newView: {
    readonly at: number;
    readonly minSeq: number;
    readonly maxSeq: number;
    /** O: what the new view re-proposes, seq → digest (null: the null request filling a gap). */
    readonly order: readonly { readonly seq: number; readonly digest: string; readonly isNull: boolean }[];
  } | null;
  /** Replicas that installed the view, in the order the room saw it. */
  readonly installedBy: readonly number[];
  /** The chapters, in order, as sentences a student can follow. */
  readonly steps: readonly { readonly at: number; readonly text: string }[];
}

/**
 * The room's state. `panels` carries what other modules add (an exercise's checks, say): each
 * RoomPanel (room-model.ts) contributes its JSON under its id, and the Room tab shows it.
 */
export interface RoomState {
  readonly cluster: string | null;
  readonly size: number | null;
  readonly f: number | null;
  readonly replicas: readonly RoomReplica[];
  /** Client ids the room has seen requests from, in order of appearance. */
  readonly clients: readonly string[];
  readonly crossLog: readonly CrossLogRow[];
  readonly checks: readonly RoomCheck[];
  readonly viewChanges: readonly ViewChangeEpisode[];
  readonly faultySoFar: FaultySoFar | null;
  /** Events after the cursor asked for (at most a bounded number), oldest first. */
  readonly events: readonly RoomEvent[];
  /** The last event's `at`: pass it as `after` next time. */
  readonly cursor: number;
  /** Events before this `at` are no longer kept (the room's own history is bounded). */
  readonly oldest: number;
  readonly panels: Readonly<Record<string, unknown>>;
}

export interface RoomQuery {
  /** Only events after this cursor (0: from the oldest kept). */
  readonly after?: number;
  /** At most this many events. @default ROOM_EVENTS_PER_ANSWER */
  readonly limit?: number;
}
