/**
 * One process per data directory (issue 13, finding 5): two replicas on one directory would be the
 * same peer, with two views of one log. Opening takes an exclusive lock, closing releases it.
 *
 *   pbft-lab.lock   {pid, host, bootId?, startTicks?, since}: created with O_EXCL, removed at close
 *
 * A lock whose process is gone (killed, crashed, the machine rebooted) is stale and taken over: the
 * process is gone when no process has its pid, or — on Linux, where the boot id and the process's
 * start time are known — when the machine has rebooted or the pid now belongs to a later process.
 * A lock from another host (a directory on a shared drive) is never judged stale.
 */
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

export const LOCK_FILE = 'pbft-lab.lock';
/** A lock file with no readable holder this old was left by a crash between its creation and its write. */
const UNREADABLE_STALE_MS = 10_000;

/** Who holds a lock. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** Linux: /proc/sys/kernel/random/boot_id when the lock was taken. */
  readonly bootId?: string;
  /** Linux: the holder's start time, in clock ticks after boot (/proc/<pid>/stat, field 22). */
  readonly startTicks?: number;
  /** ISO 8601. */
  readonly since: string;
}

/** Why the lock cannot be taken: held by a live process, or the lock file cannot be made. */
export type LockRefusal =
  | { readonly kind: 'held'; readonly holder: LockHolder | null; readonly file: string }
  | { readonly kind: 'error'; readonly file: string; readonly error: unknown };

export interface DataDirLock {
  readonly file: string;
  /** Remove the lock file, if it is still ours. */
  release(): Promise<void>;
}

/** Take the lock of `dir`, taking over a stale one; returns why not otherwise. */
export async function lockDirectory(dir: string): Promise<DataDirLock | LockRefusal> {
  const file = path.join(dir, LOCK_FILE);
  const self = currentHolder();
  const content = JSON.stringify(self) + '\n';
  // Twice at most: the second attempt follows the removal of a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
      return { file, release: () => release(file, content) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return { kind: 'error', file, error };
    }
    const holder = await readHolder(file);
    if (!(await isStale(file, holder))) return { kind: 'held', holder, file };
    await unlink(file).catch(() => {});
  }
  return { kind: 'held', holder: await readHolder(file), file };
}

async function release(file: string, content: string): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => null);
  if (current === content) await unlink(file).catch(() => {});
}

function currentHolder(): LockHolder {
  const bootId = linuxBootId();
  const startTicks = linuxStartTicks(process.pid);
  return {
    pid: process.pid,
    host: hostname(),
    ...(bootId !== undefined ? { bootId } : {}),
    ...(startTicks !== undefined ? { startTicks } : {}),
    since: new Date().toISOString(),
  };
}

async function readHolder(file: string): Promise<LockHolder | null> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<LockHolder> | null;
    if (!value || !Number.isSafeInteger(value.pid) || (value.pid as number) <= 0 || typeof value.host !== 'string')
      return null;
    return value as LockHolder;
  } catch {
    return null;
  }
}

async function isStale(file: string, holder: LockHolder | null): Promise<boolean> {
  if (holder === null) {
    // Unreadable: being written right now, or left by a crash just after it was created.
    const age = await stat(file).then(
      (s) => Date.now() - s.mtimeMs,
      () => Infinity,
    );
    return age > UNREADABLE_STALE_MS;
  }
  if (holder.host !== hostname()) return false;
  const bootId = linuxBootId();
  if (holder.bootId !== undefined && bootId !== undefined && holder.bootId !== bootId) return true;
  if (!processExists(holder.pid)) return true;
  const startTicks = linuxStartTicks(holder.pid);
  return holder.startTicks !== undefined && startTicks !== undefined && holder.startTicks !== startTicks;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function linuxBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function linuxStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[22 - 3]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** A refusal as one sentence for DataDirError. */
export function describeRefusal(refusal: LockRefusal): string {
  if (refusal.kind === 'error') {
    const code = (refusal.error as NodeJS.ErrnoException | null)?.code ?? String(refusal.error);
    return `cannot be locked (${refusal.file}: ${code})`;
  }
  const holder = refusal.holder;
  if (!holder)
    return `is locked by another process that is starting or crashed (${refusal.file} names no holder yet); try again in a few seconds`;
  const where = holder.host === hostname() ? '' : ` on host ${holder.host}`;
  return (
    `is in use by process ${holder.pid}${where} (since ${holder.since}): another pbft-lab replica runs on it. ` +
    `Stop that one, or give this one a data directory of its own. If no such process runs, delete ${refusal.file}`
  );
}
