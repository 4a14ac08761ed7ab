/**
 * The replica this app instance hosts: its settings (command-line switches, environment), its
 * start with a clear error dialog on failure, and its stop before the app quits. Plain functions
 * that take what they need from Electron, tested under Node with a fake host (lab-host.test.ts).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { multiaddr } from '@multiformats/multiaddr';
import { faultsTolerated } from '../../core/pbft/config.ts';
import type { LabApi } from '../../core/host/lab-api.ts';
import type { ReplicaHostOptions } from '../../core/host/replica-host.ts';

export const DEFAULT_CLUSTER = 'pbft-lab';
export const DEFAULT_SIZE = 4;
/** Where the replica keeps its identity key, roster and checkpoint, inside Electron's userData. */
export const DATA_DIR_NAME = 'replica';
/** How long quitting waits for the host to stop before giving up on it. */
export const HOST_STOP_TIMEOUT_MS = 5_000;

/** What `app.whenReady` needs to start the host, read from the launch. */
export interface LabHostSettings {
  readonly dataDir: string;
  readonly cluster: string;
  readonly size: number;
  /** Multiaddrs to dial (networks that block multicast). */
  readonly join: readonly string[];
  /** LAN discovery by mDNS; `--no-mdns` or PBFT_LAB_NO_MDNS=1 turns it off (tests, multicast-free networks). */
  readonly mdns: boolean;
}

/** A switch or environment variable has a value the host cannot use. */
export class LabSettingsError extends Error {
  override name = 'LabSettingsError';
}

/**
 * Reads `--cluster NAME`, `--size N` and `--join MULTIADDR` (repeatable; `--name=value` works too)
 * from the process's arguments, falling back to PBFT_LAB_CLUSTER and PBFT_LAB_SIZE, then to
 * `pbft-lab` and 4. Unknown arguments are left alone: Electron and Chromium have their own.
 */
export function readLabHostSettings(launch: {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly userDataDir: string;
}): LabHostSettings {
  const { values } = parseArgs({
    args: [...launch.argv],
    options: {
      cluster: { type: 'string' },
      size: { type: 'string' },
      join: { type: 'string', multiple: true },
      'no-mdns': { type: 'boolean' },
    },
    strict: false,
    allowPositionals: true,
  });
  const cluster = switchOrEnv(values.cluster, '--cluster', launch.env, 'PBFT_LAB_CLUSTER') ?? {
    value: DEFAULT_CLUSTER,
    from: 'the default cluster name',
  };
  if (!/^[\w.][\w.-]{0,63}$/.test(cluster.value)) {
    throw new LabSettingsError(
      `${cluster.from} must be 1–64 letters, digits, '.', '_' or '-' (not starting with '-'), got "${cluster.value}"`,
    );
  }
  const sizeSetting = switchOrEnv(values.size, '--size', launch.env, 'PBFT_LAB_SIZE');
  const size = sizeSetting === undefined ? DEFAULT_SIZE : Number(sizeSetting.value);
  if (sizeSetting !== undefined) {
    try {
      faultsTolerated(size);
    } catch {
      throw new LabSettingsError(`${sizeSetting.from} must be 3f+1 (4, 7, 10, …), got "${sizeSetting.value}"`);
    }
  }
  const mdns = values['no-mdns'] !== true && launch.env['PBFT_LAB_NO_MDNS'] !== '1';
  return {
    mdns,
    dataDir: join(launch.userDataDir, DATA_DIR_NAME),
    cluster: cluster.value,
    size,
    join: joinAddresses(values.join),
  };
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

/** What main needs of a ReplicaHost: the LabApi, and a start and a stop. */
export interface LabHost extends LabApi {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartLabHostDeps {
  /** `new ReplicaHost(options)`; a fake in tests. */
  readonly createHost: (options: ReplicaHostOptions) => LabHost;
  /** `dialog.showErrorBox`. */
  readonly showErrorBox: (title: string, content: string) => void;
  /** The host's log lines and main's own. */
  readonly log: (line: string) => void;
}

/**
 * Reads the settings, creates the host and starts it. On any failure (a bad switch, a data
 * directory of another cluster, a port that cannot be bound…) it stops what the host had opened,
 * shows one error dialog that says what went wrong and what to do, and resolves with null: the
 * caller then quits.
 */
export async function startLabHost(
  launch: Parameters<typeof readLabHostSettings>[0],
  deps: StartLabHostDeps,
): Promise<LabHost | null> {
  let settings: LabHostSettings;
  try {
    settings = readLabHostSettings(launch);
  } catch (error) {
    reportStartFailure(error, null, deps);
    return null;
  }
  let host: LabHost;
  try {
    host = deps.createHost({
      dataDir: settings.dataDir,
      cluster: settings.cluster,
      size: settings.size,
      join: [...settings.join],
      mdns: settings.mdns,
      log: deps.log,
    });
  } catch (error) {
    reportStartFailure(error, settings, deps);
    return null;
  }
  try {
    await host.start();
  } catch (error) {
    try {
      await host.stop();
    } catch (stopError) {
      deps.log(`stopping the half-started replica failed: ${describeError(stopError)}`);
    }
    reportStartFailure(error, settings, deps);
    return null;
  }
  deps.log(`replica of cluster "${settings.cluster}" (n = ${settings.size}) started; data in ${settings.dataDir}`);
  return host;
}

function reportStartFailure(error: unknown, settings: LabHostSettings | null, deps: StartLabHostDeps): void {
  const { title, content } = describeStartFailure(error, settings);
  deps.log(`${title}: ${describeError(error)}`);
  deps.showErrorBox(title, content);
}

/** The dialog for a failed start: what went wrong, in the error's own words, and what to do. */
export function describeStartFailure(
  error: unknown,
  settings: LabHostSettings | null,
): { title: string; content: string } {
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : '';
  if (name === 'LabSettingsError') {
    return {
      title: 'PBFT Lab: invalid setting',
      content: `${message}\n\nStart PBFT Lab with, for example: --cluster pbft-lab --size 4 [--join MULTIADDR]…`,
    };
  }
  if (name === 'DataDirError' && settings !== null) {
    return {
      title: 'PBFT Lab cannot use its data directory',
      content:
        `${message}\n\n` +
        `This machine's replica keeps its identity and state in ${settings.dataDir}. ` +
        `If it belongs to another cluster, start PBFT Lab with that cluster's --cluster and --size. ` +
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
