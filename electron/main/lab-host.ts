/**
 * How this app instance's replica is chosen at launch: command-line switches (scripts,
 * `npm run lab:local`), else the cluster remembered from the last start, else the start screen. And
 * what a failed start says, and the quit that waits for the replica. Plain functions that take what
 * they need from Electron, tested under Node (lab-host.test.ts).
 */
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { multiaddr } from '@multiformats/multiaddr';
import { faultsTolerated } from '../../core/pbft/config.ts';
import { ClusterKey } from '../../core/net/cluster-key.ts';
import { CLUSTER_NAME_PATTERN, type ClusterSettings } from '../shared/app-setup.ts';
import type { ClusterKeyStart } from '../lab-process/protocol.ts';
import type { RememberedSettings } from './app-settings.ts';

export const DEFAULT_CLUSTER = 'pbft-lab';
export const DEFAULT_SIZE = 4;
/** Where a replica started by switches keeps its data when no --data-dir is given, inside userData. */
export const DATA_DIR_NAME = 'replica';
/** Where the start screen's clusters keep theirs: one directory per cluster, inside userData. */
export const CLUSTERS_DIR_NAME = 'clusters';
/** How long quitting waits for the host to stop before giving up on it. */
export const HOST_STOP_TIMEOUT_MS = 5_000;

/** The app's own switches, as `pbft-lab --help` would list them (README.md, "The desktop app"). */
export const LAUNCH_SWITCHES_USAGE = [
  '--cluster NAME        the cluster to run (default pbft-lab)',
  '--size N              its size, 3f+1: 4, 7, 10, … (default 4)',
  "--data-dir DIR        the replica's data directory (default <user data>/replica)",
  '--cluster-key CODE    join the cluster of this join code',
  '--new-cluster         create a cluster (its join code is shown); refused if DIR already has one',
  '--join MULTIADDR      dial this address (repeatable; where multicast is blocked)',
  '--local               this machine only: loopback, no mDNS (several instances on one laptop)',
  '--no-mdns             no LAN discovery',
  '--start-screen        show the start screen even if a cluster is remembered',
  "--user-data-dir DIR   this instance's user data (settings, lock): one per instance on one machine",
].join('\n');

/** How the app starts: a cluster to run at once, or the start screen. */
export type LaunchPlan =
  | {
      readonly kind: 'start';
      readonly settings: ClusterSettings;
      readonly key: ClusterKeyStart;
      readonly from: 'switches' | 'remembered';
    }
  | { readonly kind: 'choose' };

/** A switch or environment variable has a value the app cannot use. */
export class LabSettingsError extends Error {
  override name = 'LabSettingsError';
}

export interface Launch {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly userDataDir: string;
  /** For a relative --data-dir. @default process.cwd() */
  readonly cwd?: string;
}

/**
 * The launch plan. Any of `--cluster`, `--size`, `--data-dir`, `--cluster-key`, `--new-cluster`,
 * `--local`, `--join` (or PBFT_LAB_CLUSTER / PBFT_LAB_SIZE) means the switches choose the cluster:
 * it starts at once, defaults filling the rest, and is remembered. Otherwise the remembered cluster
 * starts (its key is in its data directory), unless `--start-screen`; with nothing remembered, the
 * start screen. Unknown arguments are left alone: Electron and Chromium have their own.
 */
export function planLaunch(launch: Launch, remembered: RememberedSettings): LaunchPlan {
  const { values } = parseArgs({
    args: [...launch.argv],
    options: {
      cluster: { type: 'string' },
      size: { type: 'string' },
      'data-dir': { type: 'string' },
      'cluster-key': { type: 'string' },
      'new-cluster': { type: 'boolean' },
      join: { type: 'string', multiple: true },
      local: { type: 'boolean' },
      'no-mdns': { type: 'boolean' },
      'start-screen': { type: 'boolean' },
    },
    strict: false,
    allowPositionals: true,
  });
  const noMdns = values['no-mdns'] === true || launch.env['PBFT_LAB_NO_MDNS'] === '1';
  const cluster = switchOrEnv(values.cluster, '--cluster', launch.env, 'PBFT_LAB_CLUSTER');
  const size = switchOrEnv(values.size, '--size', launch.env, 'PBFT_LAB_SIZE');
  const dataDir = switchOrEnv(values['data-dir'], '--data-dir', {}, '');
  const code = switchOrEnv(values['cluster-key'], '--cluster-key', {}, '');
  const chosen =
    cluster ?? size ?? dataDir ?? code ?? values['new-cluster'] ?? values.local ?? values.join ?? undefined;
  if (chosen === undefined) {
    if (values['start-screen'] === true || remembered.cluster === null) return { kind: 'choose' };
    const settings = noMdns ? { ...remembered.cluster, mdns: false } : remembered.cluster;
    return { kind: 'start', settings, key: { kind: 'stored' }, from: 'remembered' };
  }

  const name = cluster ?? { value: DEFAULT_CLUSTER, from: 'the default cluster name' };
  if (!CLUSTER_NAME_PATTERN.test(name.value)) {
    throw new LabSettingsError(
      `${name.from} must be 1–64 letters, digits, '.', '_' or '-' (not starting with '-'), got "${name.value}"`,
    );
  }
  const n = size === undefined ? DEFAULT_SIZE : Number(size.value);
  if (size !== undefined) {
    try {
      faultsTolerated(n);
    } catch {
      throw new LabSettingsError(`${size.from} must be 3f+1 (4, 7, 10, …), got "${size.value}"`);
    }
  }
  if (code !== undefined && values['new-cluster'] === true)
    throw new LabSettingsError('--new-cluster and --cluster-key contradict each other: give one');
  const local = values.local === true;
  const settings: ClusterSettings = {
    cluster: name.value,
    size: n,
    dataDir:
      dataDir === undefined
        ? join(launch.userDataDir, DATA_DIR_NAME)
        : isAbsolute(dataDir.value)
          ? dataDir.value
          : resolve(launch.cwd ?? process.cwd(), dataDir.value),
    local,
    join: joinAddresses(values.join),
    mdns: !noMdns && !local,
  };
  return { kind: 'start', settings, key: keyStart(code, values['new-cluster'] === true), from: 'switches' };
}

function keyStart(code: Setting | undefined, newCluster: boolean): ClusterKeyStart {
  if (newCluster) return { kind: 'new' };
  if (code === undefined) return { kind: 'stored-or-new' };
  try {
    return { kind: 'join', joinCode: ClusterKey.fromJoinCode(code.value).joinCode };
  } catch (error) {
    throw new LabSettingsError(`--cluster-key: ${(error as Error).message}`);
  }
}

type Setting = { readonly value: string; readonly from: string };

function switchOrEnv(
  value: string | boolean | (string | boolean)[] | undefined,
  switchName: string,
  env: Readonly<Record<string, string | undefined>>,
  envName: string,
): Setting | undefined {
  if (value !== undefined) {
    // Without strict parsing, `--size` alone (or followed by another switch) comes out as `true`.
    if (typeof value !== 'string') throw new LabSettingsError(`${switchName} needs a value`);
    return { value, from: switchName };
  }
  const fromEnv = env[envName];
  return fromEnv === undefined || fromEnv === '' ? undefined : { value: fromEnv, from: envName };
}

function joinAddresses(values: (string | boolean)[] | undefined): string[] {
  return (values ?? []).map((value) => {
    if (typeof value !== 'string') throw new LabSettingsError('--join needs a multiaddr');
    try {
      multiaddr(value);
    } catch (error) {
      throw new LabSettingsError(
        `--join ${value}: not a multiaddr (${error instanceof Error ? error.message : error}); ` +
          'expected something like /ip4/192.168.1.20/tcp/41234/p2p/12D3KooW…',
      );
    }
    return value;
  });
}

/** The dialog for a failed start: what went wrong, in the error's own words, and what to do. */
export function describeStartFailure(
  error: unknown,
  settings: ClusterSettings | null,
): { title: string; content: string } {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : '';
  if (name === 'LabSettingsError') {
    return {
      title: 'PBFT Lab: invalid setting',
      content: `${message}\n\nPBFT Lab's switches:\n${LAUNCH_SWITCHES_USAGE}`,
    };
  }
  if (name === 'DataDirError' && settings !== null) {
    return {
      title: 'PBFT Lab cannot use its data directory',
      content:
        `${message}\n\n` +
        `This machine's replica keeps its identity and state in ${settings.dataDir}. ` +
        `If it belongs to another cluster, choose a data directory of its own for this one ` +
        `(or start PBFT Lab with that cluster's --cluster and --size). ` +
        `To join cluster "${settings.cluster}" of ${settings.size} as a new replica instead, ` +
        `move that directory aside (this machine then gets a new identity).`,
    };
  }
  return {
    title: 'PBFT Lab could not start its replica',
    content:
      `${name && name !== 'Error' ? `${name}: ` : ''}${message}` +
      (settings === null ? '' : `\n\nCluster "${settings.cluster}" of ${settings.size}; data in ${settings.dataDir}.`),
  };
}

/**
 * The `before-quit` listener: the first quit is held back (preventDefault) until the host has
 * stopped, so the replica leaves its peers cleanly and its data directory is closed; then it quits
 * again, and that quit goes through. A host that takes longer than `timeoutMs` is left behind.
 */
export function createQuitGuard(options: {
  readonly stopHost: () => Promise<void>;
  readonly quit: () => void;
  readonly log: (line: string) => void;
  /** @default HOST_STOP_TIMEOUT_MS */
  readonly timeoutMs?: number;
}): (event: { preventDefault(): void }) => void {
  let state: 'running' | 'stopping' | 'stopped' = 'running';
  const timeoutMs = options.timeoutMs ?? HOST_STOP_TIMEOUT_MS;
  return (event) => {
    if (state === 'stopped') return;
    event.preventDefault();
    if (state === 'stopping') return;
    state = 'stopping';
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        options.log(`the replica did not stop within ${timeoutMs} ms; quitting anyway`);
        resolve();
      }, timeoutMs);
    });
    const stopped = options.stopHost().catch((error: unknown) => {
      options.log(`stopping the replica failed: ${describeError(error)}`);
    });
    void Promise.race([stopped, timeout]).then(() => {
      clearTimeout(timer);
      state = 'stopped';
      options.quit();
    });
  };
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
