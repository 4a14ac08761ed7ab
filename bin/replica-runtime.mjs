// How `pbft-lab replica` runs: which file it loads (the prebuilt bundle while it matches the
// sources, else the TypeScript sources) and with which V8 flags (re-executing Node to apply them).
// Plain JavaScript on purpose: the first TypeScript module a process loads starts Node's type
// stripper, which alone costs the replica ~25 MiB (docs/performance.md, Memory).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const REPLICA_BUNDLE = fileURLToPath(new URL('../out/replica/main.mjs', import.meta.url));
export const REPLICA_SOURCES_MANIFEST = fileURLToPath(new URL('../out/replica/sources.json', import.meta.url));
export const REPLICA_SOURCE_ENTRY = fileURLToPath(new URL('../core/cli/replica-main.ts', import.meta.url));

/**
 * V8 flags for a replica process. Its live heap is ~20–30 MiB, but V8 sizes the heap for throughput:
 * a young generation of up to 2 × 64 MiB semi-spaces (no pointer compression in Node), and an old
 * generation allowed to grow to ~4× its live size before a full GC. Unbounded, a replica reached
 * 230–400 MiB RSS under load; with these flags it stays near 120–140 MiB (docs/performance.md, Memory).
 * 8 MiB semi-spaces rather than 4: with a thousand clients the smaller young generation cost a
 * tenth of the throughput in scavenges, for ~10 MiB less RSS.
 * The old-space cap bounds JavaScript objects only (file contents and snapshots live in
 * ArrayBuffers, outside it) and mainly lowers V8's heap growing factor (4 → 1.4).
 * `PBFT_LAB_NODE_FLAGS` replaces them (space-separated; empty for Node's defaults).
 */
export const REPLICA_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=512'];

/** @typedef {{ size: number; mtimeMs: number }} FileStamp */
/** @typedef {{ files: Record<string, FileStamp> }} SourcesManifest */

/**
 * Size and modification time of `path`, as the manifest records them.
 * @param {string} path
 * @returns {FileStamp}
 */
export function fileStamp(path) {
  const s = statSync(path);
  return { size: s.size, mtimeMs: Math.round(s.mtimeMs) };
}

/**
 * Why the bundle cannot stand in for the sources, or null when it can: it exists and every file it
 * was built from (ours and node_modules', relative to the project root) is unchanged since the build.
 * @param {string} [manifestPath]
 * @param {string} [root]
 * @returns {string | null}
 */
export function staleBundleReason(manifestPath = REPLICA_SOURCES_MANIFEST, root = ROOT) {
  /** @type {SourcesManifest} */
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return 'no prebuilt replica (npm run build:replica builds it)';
  }
  for (const [file, stamp] of Object.entries(manifest.files ?? {})) {
    let now;
    try {
      now = fileStamp(join(root, file));
    } catch {
      return `${file} is gone since the replica was built`;
    }
    if (now.size !== stamp.size || now.mtimeMs !== stamp.mtimeMs) return `${file} changed since the replica was built`;
  }
  return null;
}

/**
 * The file `pbft-lab replica` loads: the bundle while it is fresh, else the TypeScript sources.
 * @returns {{ entry: string; staleReason: string | null }}
 */
export function replicaEntry() {
  const staleReason = staleBundleReason();
  return { entry: staleReason === null ? REPLICA_BUNDLE : REPLICA_SOURCE_ENTRY, staleReason };
}

/**
 * The flags to apply, minus those the user already set (in NODE_OPTIONS or on Node's command line).
 * @param {NodeJS.ProcessEnv} env
 * @param {readonly string[]} execArgv
 * @returns {string[]}
 */
export function missingReplicaFlags(env, execArgv) {
  const wanted =
    env.PBFT_LAB_NODE_FLAGS === undefined ? REPLICA_NODE_FLAGS : env.PBFT_LAB_NODE_FLAGS.split(/\s+/).filter(Boolean);
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].map(flagName);
  return wanted.filter((flag) => !given.includes(flagName(flag)));
}

/**
 * `--max-semi-space-size=4` → `--max-semi-space-size` (V8 accepts `_` for `-`).
 * @param {string} flag
 */
function flagName(flag) {
  return (flag.split('=')[0] ?? flag).replaceAll('_', '-');
}

/**
 * Replaces this process (same pid, so signals and /proc keep working for whoever started it) with
 * Node running the same command under the replica's flags. Returns without doing anything when
 * there is nothing to add, or where Node cannot execve (Windows): the replica then runs with
 * Node's defaults.
 */
export function reexecWithReplicaFlags() {
  const flags = missingReplicaFlags(process.env, process.execArgv);
  if (flags.length === 0 || typeof process.execve !== 'function') return;
  process.execve(
    process.execPath,
    [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  );
}
