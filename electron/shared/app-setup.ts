/**
 * The app's own calls beside the LabApi: which cluster this instance runs, the start screen's
 * choices, the LAN list. Main answers them (electron/main/cluster-setup.ts); the preload exposes
 * them as `window.pbftLabApp`; the start screen (renderer/src/views/start) uses them. Only in the
 * desktop app: a dashboard served headless has no start screen.
 *
 * Types and constants only: shared by main, preload and renderer.
 */
import type { LanCluster } from '../../core/net/lan-cluster-info.ts';

export type { LanCluster, LanMachine } from '../../core/net/lan-cluster-info.ts';

/** A cluster as this app instance runs it: chosen on the start screen or by switches, and remembered. */
export interface ClusterSettings {
  /** 1–64 letters, digits, '.', '_' or '-'; not starting with '-'. */
  readonly cluster: string;
  /** n = 3f+1: 4, 7, 10, … */
  readonly size: number;
  /** The replica's data directory: identity key, cluster key, roster, checkpoint. */
  readonly dataDir: string;
  /**
   * This machine only: the replica listens on 127.0.0.1 and dials the other instances there, with no
   * mDNS and no beacon (a laptop with no network; `npm run lab:local`).
   */
  readonly local: boolean;
  /** Multiaddrs to dial (networks that block multicast). */
  readonly join: readonly string[];
  /** libp2p mDNS discovery and the cluster beacon (LAN clusters only). */
  readonly mdns: boolean;
}

/** The sizes the start screen offers (n = 3f+1 for f = 1, 2, 3). */
export const CLUSTER_SIZES = [4, 7, 10] as const;

/** A cluster name: 1–64 letters, digits, '.', '_' or '-', not starting with '-'. */
export const CLUSTER_NAME_PATTERN = /^[\w.][\w.-]{0,63}$/;

export type SetupPhase =
  /** No cluster chosen: the start screen. */
  | 'choose'
  /** The replica is starting (opening its data directory, listening). */
  | 'starting'
  /** The replica runs: the dashboard. */
  | 'running'
  /** The last start failed, or the replica's process ended: the start screen, with `error`. */
  | 'failed';

export interface SetupState {
  readonly phase: SetupPhase;
  /** The cluster running or starting, or the one that failed. */
  readonly cluster: ClusterSettings | null;
  /** Its join code (a new cluster's is known before it starts), to read out or copy. */
  readonly joinCode: string | null;
  /** Its key's fingerprint (8 hex digits): names the key without revealing it. */
  readonly fingerprint: string | null;
  /** Why the last start failed, in words for the start screen. */
  readonly error: string | null;
  /** The cluster before a change from the menu, to go back to (its key is in its data directory). */
  readonly previous: ClusterSettings | null;
  /** Clusters seen on the LAN by mDNS (while choosing). */
  readonly lan: { readonly clusters: readonly LanCluster[]; readonly error: string | null };
  /** Where new clusters' data directories go unless one is chosen. */
  readonly dataDirRoot: string;
}

export interface CreateClusterRequest {
  readonly cluster: string;
  readonly size: number;
  /** This machine only (loopback, no network needed). */
  readonly local: boolean;
  /** A directory chosen on the start screen (empty or new); null: one of its own under dataDirRoot. */
  readonly dataDir: string | null;
}

export interface JoinClusterRequest {
  readonly cluster: string;
  readonly size: number;
  /** The join code the first machine shows. */
  readonly joinCode: string;
  /** Multiaddrs to dial: those of the cluster picked from the LAN list, or typed. */
  readonly join: readonly string[];
  readonly local: boolean;
  readonly dataDir: string | null;
}

/** Request/response channels of the app (`ipcRenderer.invoke` → `ipcMain.handle`). */
export interface AppIpc {
  'app:state': { args: []; result: SetupState };
  'app:createCluster': { args: [request: CreateClusterRequest]; result: SetupState };
  'app:joinCluster': { args: [request: JoinClusterRequest]; result: SetupState };
  /** Start the previous cluster again (after a change from the menu). */
  'app:rejoin': { args: []; result: SetupState };
  /** Stop the replica and show the start screen (the menu's "Change cluster…" does the same). */
  'app:changeCluster': { args: []; result: SetupState };
  /** A folder picked in the system's dialog, or null if cancelled. */
  'app:chooseDataDir': { args: []; result: string | null };
}

export type AppChannel = keyof AppIpc;

/** `app:state` → `state`: the name the preload gives the channel on `window.pbftLabApp`. */
export type AppMethodName<C extends AppChannel> = C extends `app:${infer Method}` ? Method : never;

/** What the preload exposes as `window.pbftLabApp`: one async function per channel. */
export type PbftLabAppBridge = {
  [C in AppChannel as AppMethodName<C>]: (...args: AppIpc[C]['args']) => Promise<AppIpc[C]['result']>;
};

export type AppHandlers = {
  readonly [C in AppChannel]: (...args: AppIpc[C]['args']) => AppIpc[C]['result'] | Promise<AppIpc[C]['result']>;
};

export const APP_CHANNELS: readonly AppChannel[] = [
  'app:state',
  'app:createCluster',
  'app:joinCluster',
  'app:rejoin',
  'app:changeCluster',
  'app:chooseDataDir',
];

/** The name under which the preload exposes the app's calls: `window.pbftLabApp`. */
export const appBridgeKey = 'pbftLabApp';
