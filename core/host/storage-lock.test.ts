/**
 * One process per data directory (issue 13, finding 5): a second `pbft-lab replica` on a running
 * replica's directory would start as the same peer. It is refused, naming the holder's pid; a lock
 * whose process is gone is taken over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_FILE } from './storage-lock.ts';
import { DataDirError, openDataDir } from './storage.ts';

const OPTIONS = { cluster: 'lab', size: 4 } as const;

let root: string;
let dir: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'pbft-lab-lock-'));
  dir = path.join(root, 'data');
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

async function refusal(): Promise<DataDirError> {
  const error: unknown = await openDataDir({ dir, ...OPTIONS }).then(
    async (dd) => {
      await dd.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataDirError);
  return error as DataDirError;
}

/** Another process with the directory open; resolves once it has it. */
async function holder(): Promise<ChildProcess> {
  const script = path.join(root, 'holder.mjs');
  await writeFile(
    script,
    `import { openDataDir } from ${JSON.stringify(pathToFileURL(path.join(import.meta.dirname, 'storage.ts')).href)};
await openDataDir({ dir: ${JSON.stringify(dir)}, cluster: 'lab', size: 4 });
console.log('ready');
setInterval(() => {}, 1000);
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (data: Buffer) => {
      if (data.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the holder exited (${code}) before it had the directory`)));
  });
  return child;
}

describe('the data directory lock', () => {
  it('refuses a second process, naming the holder’s pid; once the holder is killed its lock is stale and taken over', async () => {
    const child = await holder();
    const error = await refusal();
    expect(error.message).toContain(`is in use by process ${child.pid}`);
    expect(error.message).toContain(LOCK_FILE);

    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const dd = await openDataDir({ dir, ...OPTIONS });
    expect(JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await dd.close();
  });

  it('refuses a second open in the same process until the first is closed, and close removes the lock', async () => {
    const first = await openDataDir({ dir, ...OPTIONS });
    expect((await refusal()).message).toContain(`is in use by process ${process.pid}`);
    await first.close();
    expect(await readdir(dir)).not.toContain(LOCK_FILE);
    const second = await openDataDir({ dir, ...OPTIONS });
    await second.close();
  });

  it('releases the lock when it refuses the directory for another reason', async () => {
    await openDataDir({ dir, ...OPTIONS }).then((dd) => dd.close());
    await expect(openDataDir({ dir, cluster: 'physics', size: 4 })).rejects.toThrow(/belongs to cluster "lab"/);
    expect(await readdir(dir)).not.toContain(LOCK_FILE);
  });

  it.skipIf(!existsSync('/proc/sys/kernel/random/boot_id'))(
    'takes over a lock from before a reboot, even when its pid is alive now',
    async () => {
      await openDataDir({ dir, ...OPTIONS }).then((dd) => dd.close());
      const stale = { pid: process.pid, host: os.hostname(), bootId: 'a-boot-before', since: '2020-01-01T00:00:00Z' };
      await writeFile(path.join(dir, LOCK_FILE), JSON.stringify(stale));
      const dd = await openDataDir({ dir, ...OPTIONS });
      await dd.close();
    },
  );

  it('does not take over a lock of another host (a shared drive)', async () => {
    await openDataDir({ dir, ...OPTIONS }).then((dd) => dd.close());
    const remote = { pid: 1, host: `not-${os.hostname()}`, since: '2020-01-01T00:00:00Z' };
    await writeFile(path.join(dir, LOCK_FILE), JSON.stringify(remote));
    expect((await refusal()).message).toContain(`is in use by process 1 on host not-${os.hostname()}`);
  });
});
