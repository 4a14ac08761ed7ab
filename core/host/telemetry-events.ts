/**
 * The telemetry event stream (DESIGN.md "Telemetry and the room"): what a replica publishes on
 * `/pbft-lab/telemetry/1.0.0`, what the room draws, and what a recording or a ShiViz export reads.
 * Plain JSON data only (it crosses libp2p, WebSocket and Electron's bridge).
 *
 * Causal order without wall clocks: every event carries the replica's vector clock `vc` (one entry
 * per replica id). A replica ticks its own entry at each event it logs; every replica frame carries
 * the sender's clock (core/host/wire.ts, TRACED-REPLICA) and the receiver merges it in before it ticks.
 * So a → b (happens-before) implies vc(a) < vc(b), and sum(vc) is a causally consistent row order.
 *
 * Message ids pair a send with its receives:
 *   - replica → replica: `${sender}.${incarnation}.${index}`, the sender's own clock entry at the
 *     send (carried in the frame), so every receiver of a broadcast names the same id;
 *   - a client's REQUEST: `req:${client}:${timestamp}` (clients publish no telemetry: the room draws
 *     their lanes from the replicas' receives and replies);
 *   - REPLYs: `rep:${sender}.${incarnation}.${index}`: one event for the replies a replica sends one client
 *     node in one frame (a batch's replies to its logical clients), naming every request in `requests`.
 * Clock entries count only the events a replica logs while it runs; STATUS messages carry and merge
 * clocks but are not events (they repeat every few hundred ms). An exporter that needs every entry to
 * rise by exactly one per exported line (ShiViz) renumbers over the lines it exports.
 */

import type { LabSnapshot } from './lab-api.ts';

export const TELEMETRY_SCHEMA = 1;

/** The facts of a PBFT message that the room shows and filters on. */
export interface TelemetryMessage {
  /** The PBFT type: request, pre-prepare, prepare, commit, reply, checkpoint, view-change, new-view… */
  readonly type: string;
  /** Its view (a VIEW-CHANGE's new view), or null. */
  readonly view: number | null;
  readonly seq: number | null;
  /** The batch digest (a CHECKPOINT's state digest), or null. */
  readonly digest: string | null;
  /** Requests it carries or answers, as `client:timestamp` (a REQUEST, a PRE-PREPARE's batch, a REPLY). */
  readonly requests?: readonly string[];
  /** The one-line description (core/pbft/codec.ts `describe`). */
  readonly text: string;
}

export interface TelemetrySend extends TelemetryMessage {
  readonly kind: 'send';
  readonly msgId: string;
  /** Replica ids it was sent to, or the client id of a REPLY. */
  readonly to: readonly number[] | string;
}

export interface TelemetryReceive extends TelemetryMessage {
  readonly kind: 'receive';
  readonly msgId: string;
  /** The authenticated sender: a replica id, or a client id. */
  readonly from: number | string;
}

/** A protocol event of the replica itself (core/pbft/outputs.ts `ReplicaEvent`, reduced to JSON facts). */
export interface TelemetryState {
  readonly kind: 'state';
  /** The ReplicaEvent's type: pre-prepared, prepared, committed-local, executed, checkpoint, checkpoint-stable,
   *  view-change-started, new-view, state-transfer-started/-completed/-rejected, executed-tentatively… */
  readonly type: string;
  readonly view: number | null;
  readonly seq: number | null;
  readonly digest: string | null;
  /** Executed: the requests of the batch, as `client:timestamp`. */
  readonly requests?: readonly string[];
  /** view-change-started: why (the timer's request, or f+1 VIEW-CHANGEs seen). */
  readonly reason?: string;
  /** new-view: the new primary, min-s, max-s and O (seq → digest). */
  readonly primary?: number;
  readonly minSeq?: number;
  readonly maxSeq?: number;
  readonly order?: readonly { readonly seq: number; readonly digest: string }[];
  /** checkpoint-stable: the watermarks h and H. */
  readonly low?: number;
  readonly high?: number;
  /** state-transfer-*: from which replica. */
  readonly from?: number;
  readonly text: string;
}

/** A Byzantine behaviour switched on or off on this replica (the truth, for the instructor). */
export interface TelemetryBehaviour {
  readonly kind: 'behaviour';
  readonly behaviour: string | null;
  readonly text: string;
}

/** The machine's network faults changed (pause, cut links, delay). */
export interface TelemetryFault {
  readonly kind: 'fault';
  readonly paused: boolean;
  /** Replica ids (or peer ids of non-members) it is cut off from. */
  readonly disconnectedFrom: readonly (number | string)[];
  readonly delayMs: number;
  readonly text: string;
}

export type TelemetryBody = TelemetrySend | TelemetryReceive | TelemetryState | TelemetryBehaviour | TelemetryFault;

export interface TelemetryEvent {
  /** The replica that logged it: its id in the roster. */
  readonly replica: number;
  /** This run of that replica's host (a restart starts a new one): ids stay unique across restarts. */
  readonly incarnation: string;
  /** The replica's own clock entry at this event (vc[replica]); rises with every event it logs. */
  readonly index: number;
  /** The vector clock, by replica id. */
  readonly vc: readonly number[];
  /** The replica machine's wall clock (ms since 1970): for display only, machines' clocks disagree. */
  readonly wallMs: number;
  readonly body: TelemetryBody;
}

/** Message id of a replica-to-replica message. */
export function replicaMessageId(sender: number, incarnation: string, index: number): string {
  return `${sender}.${incarnation}.${index}`;
}

/** Message id of a client's REQUEST (the same at every replica that receives it). */
export function requestMessageId(client: string, timestamp: number): string {
  return `req:${client}:${timestamp}`;
}

/** `client:timestamp`, the name of one request through its life. */
export function requestKey(client: string, timestamp: number): string {
  return `${client}:${timestamp}`;
}

/** Whether a happened before b (vector clocks of one roster). */
export function happenedBefore(a: readonly number[], b: readonly number[]): boolean {
  let strictly = false;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x > y) return false;
    if (x < y) strictly = true;
  }
  return strictly;
}

/** What a publisher says first on each telemetry stream. */
export interface TelemetryHello {
  readonly schema: number;
  readonly peerId: string;
  readonly cluster: string;
  readonly size: number;
  /** Its replica id; null while the cluster forms, or on a machine beyond n. */
  readonly replica: number | null;
  readonly incarnation: string | null;
  readonly roster: readonly string[];
}

/**
 * The JSON frames of a telemetry stream: a hello, then snapshots once a second (the replica's state,
 * links and faults). Its events travel in binary frames between them (telemetry-binary.ts).
 */
export type TelemetryFrame =
  { readonly t: 'hello'; readonly hello: TelemetryHello } | { readonly t: 'snapshot'; readonly snapshot: LabSnapshot };
