/**
 * The messages between the main process and the lab process: the utility process that runs this
 * machine's replica (a ReplicaHost), the cluster beacon, and the LAN scan of the start screen.
 *
 * Electron's performance guidance: the main process only brokers windows and IPC; a replica ticking
 * every 10 ms, Noise, Yamux, Ed25519 and a Byzantine `flood` would stall window input and every IPC
 * call there. So main forwards the window's LabApi calls here over the utility process's
 * MessagePort (`process.parentPort`) and answers what it can alone (the version, the start screen's
 * state). Events come back in batches, at most one message per flush interval.
 *
 * Types only (and constants): main, the lab process and the stub share this file.
 */
import type { LabApiCall, LabEvent } from '../../core/host/lab-api.ts';
import type { LanCluster } from '../../core/net/lan-cluster-info.ts';
import type { ClusterSettings } from '../shared/app-setup.ts';

export type { ClusterSettings } from '../shared/app-setup.ts';

/**
 * Which cluster key the replica starts with (core/host/cluster-secret.ts). Join codes cross the
 * port as text: a ClusterKey keeps its bytes in a private field, which a structured clone drops.
 */
export type ClusterKeyStart =
  /** A new cluster whose key main generated, so the start screen shows its code at once (a new data directory). */
  | { readonly kind: 'created'; readonly joinCode: string }
  /** Join the cluster of this code. */
  | { readonly kind: 'join'; readonly joinCode: string }
  /** A new cluster, its key made by the host; refused if the data directory already has one (`--new-cluster`). */
  | { readonly kind: 'new' }
  /** The key the data directory holds (a remembered cluster, a restart). */
  | { readonly kind: 'stored' }
  /** The data directory's key, or a new cluster's (the command line without --cluster-key). */
  | { readonly kind: 'stored-or-new' };

export interface LabStartRequest {
  readonly settings: ClusterSettings;
  readonly key: ClusterKeyStart;
}

/** What a started replica tells main. */
export interface LabStarted {
  readonly peerId: string;
  readonly joinCode: string | null;
  readonly fingerprint: string | null;
  readonly listenAddresses: readonly string[];
}

/** What main may call in the lab process: the LabApi, and the lab process's own. */
export type LabProcessMethod = LabApiCall | 'start' | 'stop' | 'scan' | 'unscan';

/** main → lab process. */
export type ToLabProcess =
  | { readonly type: 'call'; readonly id: number; readonly method: LabProcessMethod; readonly args: readonly unknown[] }
  /** Start (again) sending events: the host replays its recent history first, as to a new page. */
  | { readonly type: 'listen' }
  | { readonly type: 'unlisten' };

/** lab process → main. */
export type FromLabProcess =
  /** Sent once, when the lab process is ready for calls. */
  | { readonly type: 'ready' }
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string };
    }
  /** A batch of the host's events, in order. */
  | { readonly type: 'events'; readonly events: readonly LabEvent[] }
  /** The LAN scan's list changed (or failed: `error`). */
  | { readonly type: 'lan'; readonly clusters: readonly LanCluster[]; readonly error: string | null };

export const LAB_PROCESS_METHODS: readonly LabProcessMethod[] = [
  'snapshot',
  'submit',
  'fault',
  'revokeClient',
  'behaviours',
  'setBehaviour',
  'room',
  'start',
  'stop',
  'scan',
  'unscan',
];
