/**
 * Where a cluster's members were last seen, so `pbft-lab client` dials them at once instead of
 * waiting for mDNS on every call. The demo writes its cluster's file when the replicas listen (and
 * removes it when they stop); a client that learnt the roster writes the members it reached.
 *
 * A hint is only an address to try: the client still accepts a roster only when f+1 members vouch
 * for it (network-client.ts), and still listens to mDNS, so a stale or planted file costs a dial,
 * never trust. The demo also leaves its dashboards' URLs (with their tokens) for `pbft-lab room`,
 * which runs the instructor's exercises through them. Files live in `$PBFT_LAB_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/pbft-lab`, else `~/.cache/pbft-lab`, one per cluster name and size:
 * `clusters/NAME-of-N.json`, mode 0600.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface ClusterHints {
  readonly cluster: string;
  readonly size: number;
  /** Full multiaddrs, each ending in `/p2p/PEER`. */
  readonly addresses: readonly string[];
  /** ISO 8601. */
  readonly savedAt: string;
  /**
   * The cluster's join code, when the demo wrote the file: the demo's own secret, on this machine, in
   * a file only its user can read (mode 0600) — so `pbft-lab client --cluster NAME` reaches the demo
   * without typing it. A client never writes a join code here.
   */
  readonly joinCode?: string;
  /**
   * The demo's dashboards by replica id, each URL with its token (`http://127.0.0.1:7400/?token=…`):
   * the same file, mode 0600, so `pbft-lab room --cluster NAME` beside the demo can run exercises on
   * its replicas. Secrets of this machine's user, as the join code; a client never writes them.
   */
  readonly dashboards?: readonly string[];
}

/** What only the demo writes; a client rewriting the file keeps it. */
export interface DemoSecrets {
  readonly joinCode?: string;
  readonly dashboards?: readonly string[];
}

/** At most this many addresses are kept or read (a file is small, whoever wrote it). */
const ADDRESSES_MAX = 64;
/** A file older than this is not used: a demo of yesterday is gone. */
export const HINTS_MAX_AGE_MS = 24 * 60 * 60 * 1000;

export function hintsDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PBFT_LAB_CACHE_DIR) return env.PBFT_LAB_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pbft-lab');
}

export function hintsFile(cluster: string, size: number, dir = hintsDir()): string {
  // Cluster names are 1–64 of [\w.-] (replica-command.ts); anything else is not looked up.
  if (!/^[\w.-]{1,64}$/.test(cluster)) throw new RangeError(`not a cluster name: "${cluster}"`);
  return join(dir, 'clusters', `${cluster}-of-${size}.json`);
}

/** The cluster's file if it is usable (ours, fresh, well formed), else null. */
async function readHintsFile(cluster: string, size: number, dir: string): Promise<Partial<ClusterHints> | null> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(hintsFile(cluster, size, dir), 'utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const hints = parsed as Partial<ClusterHints>;
  if (hints.cluster !== cluster || hints.size !== size || !Array.isArray(hints.addresses)) return null;
  const savedAt = Date.parse(String(hints.savedAt));
  if (!(Date.now() - savedAt < HINTS_MAX_AGE_MS)) return null;
  return hints;
}

/** The join code the demo left for its cluster, if any. */
export async function readHintedJoinCode(cluster: string, size: number, dir = hintsDir()): Promise<string | null> {
  const hints = await readHintsFile(cluster, size, dir);
  return typeof hints?.joinCode === 'string' && hints.joinCode.length < 256 ? hints.joinCode : null;
}

/** The dashboards' URLs the demo left for its cluster (by replica id), if all of them are there. */
export async function readHintedDashboards(cluster: string, size: number, dir = hintsDir()): Promise<string[]> {
  return dashboardsOf(await readHintsFile(cluster, size, dir), size);
}

function dashboardsOf(hints: Partial<ClusterHints> | null, size: number): string[] {
  const urls = hints?.dashboards;
  if (!Array.isArray(urls) || urls.length !== size) return [];
  const good = urls.filter((u): u is string => typeof u === 'string' && /^https?:\/\/\S+$/.test(u) && u.length < 1024);
  return good.length === size ? good : [];
}

/** The addresses last seen for the cluster; none if there is no usable file. */
export async function readClusterHints(cluster: string, size: number, dir = hintsDir()): Promise<string[]> {
  const hints = await readHintsFile(cluster, size, dir);
  if (!hints) return [];
  return hints
    .addresses!.filter((a): a is string => typeof a === 'string' && a.includes('/p2p/') && a.length < 512)
    .slice(0, ADDRESSES_MAX);
}

/** Best effort: a cache that cannot be written only makes the next call slower. */
export async function writeClusterHints(
  cluster: string,
  size: number,
  addresses: readonly string[],
  dir = hintsDir(),
  secrets: DemoSecrets = {},
): Promise<boolean> {
  const file = hintsFile(cluster, size, dir);
  // A client rewriting the file keeps the demo's join code and dashboards.
  const before = secrets.joinCode && secrets.dashboards ? null : await readHintsFile(cluster, size, dir);
  const joinCode = secrets.joinCode ?? (await readHintedJoinCode(cluster, size, dir)) ?? undefined;
  const dashboards = secrets.dashboards ?? dashboardsOf(before, size);
  const hints: ClusterHints = {
    cluster,
    size,
    addresses: [...new Set(addresses)].slice(0, ADDRESSES_MAX),
    savedAt: new Date().toISOString(),
    ...(joinCode ? { joinCode } : {}),
    ...(dashboards.length > 0 ? { dashboards: [...dashboards] } : {}),
  };
  const temp = `${file}.tmp-${randomBytes(8).toString('hex')}`;
  try {
    await mkdir(join(dir, 'clusters'), { recursive: true, mode: 0o700 });
    await writeFile(temp, JSON.stringify(hints, null, 2) + '\n', { mode: 0o600 });
    await rename(temp, file);
    return true;
  } catch {
    await rm(temp, { force: true }).catch(() => {});
    return false;
  }
}

export async function removeClusterHints(cluster: string, size: number, dir = hintsDir()): Promise<void> {
  await rm(hintsFile(cluster, size, dir), { force: true }).catch(() => {});
}
