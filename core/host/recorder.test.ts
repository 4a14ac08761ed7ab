/**
 * The host's recorder: a session file per replica process in the data directory, replayable digest
 * for digest; bounded (a full file ends with a line that says so, and what it holds still replays)
 * and rotated (the oldest sessions go).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hasher } from '../crypto/node.ts';
import { sessionsFromLines } from '../record/format.ts';
import { replayRun } from '../record/replay.ts';
import { scenarioFromSeed } from '../sim/scenario.ts';
import { Simulation } from '../sim/simulation.ts';
import { env } from '../testing/sweep.ts';
import { HostRecorder } from './recorder.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A simulated run whose replicas record through HostRecorders, one data directory each (no restarts). */
async function recordThroughHosts(recorder: (r: number, dir: string) => HostRecorder): Promise<string[]> {
  const base = await mkdtemp(path.join(tmpdir(), 'pbft-lab-recorder-'));
  dirs.push(base);
  const recorders = await Promise.all(
    [0, 1, 2, 3].map(async (r) => {
      const rec = recorder(r, path.join(base, `r${r}`));
      await rec.open();
      return rec;
    }),
  );
  new Simulation(
    scenarioFromSeed(3, { replicas: 4, faults: ['partition', 'loss'], faulty: 1, behaviour: 'wrong-digest' }),
    env,
    {
      createReplica: (parts) =>
        recorders[parts.identity]!.replica(
          { ...parts, id: parts.identity },
          { peerId: `peer-${parts.identity}`, roster: ['peer-0', 'peer-1', 'peer-2', 'peer-3'], cluster: 'test' },
        ),
    },
  ).run();
  for (const rec of recorders) await rec.close();
  return recorders.map((_, r) => path.join(base, `r${r}`));
}

describe('the host recorder', () => {
  it('writes one session file per replica into the data directory, and it replays digest for digest', async () => {
    const dataDirs = await recordThroughHosts((_, dir) => new HostRecorder({ dir }));
    const sessions = [];
    for (const dir of dataDirs) {
      const names = await readdir(dir);
      expect(names).toHaveLength(1);
      expect(names[0]).toMatch(/^record-.*-r\d\.jsonl$/);
      const text = await readFile(path.join(dir, names[0]!), 'utf8');
      sessions.push(...sessionsFromLines(text.split('\n'), names[0]!));
    }
    const last = sessions[0]!.entries.at(-1)!;
    expect(last).toMatchObject({ k: 'end', why: 'stopped' });
    const start = sessions[0]!.entries[0]!;
    expect(start).toMatchObject({ k: 'start', peerId: 'peer-0', cluster: 'test' });
    const result = replayRun(sessions, { hasher: sha256Hasher });
    expect(result.divergence).toBeNull();
  });

  it('stops a session at its size limit with an end line, and what it holds still replays', async () => {
    const dataDirs = await recordThroughHosts((_, dir) => new HostRecorder({ dir, fileBytesMax: 40_000 }));
    const sessions = [];
    for (const dir of dataDirs) {
      const [name] = await readdir(dir);
      const text = await readFile(path.join(dir, name!), 'utf8');
      expect(text.length).toBeLessThan(41_000);
      sessions.push(...sessionsFromLines(text.split('\n'), name!));
    }
    expect(sessions[0]!.entries.at(-1)).toMatchObject({ k: 'end', why: 'truncated' });
    expect(replayRun(sessions, { hasher: sha256Hasher }).divergence).toBeNull();
  });

  it('keeps at most filesMax sessions, deleting the oldest when one starts', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pbft-lab-rotate-'));
    dirs.push(dir);
    for (let i = 0; i < 5; i++)
      await writeFile(path.join(dir, `record-2024-01-0${i + 1}T00-00-00-000Z-r0.jsonl`), '{}\n');
    await writeFile(path.join(dir, 'notes.txt'), 'not a record');
    await new HostRecorder({ dir, filesMax: 3 }).open();
    expect((await readdir(dir)).sort()).toEqual([
      'notes.txt',
      'record-2024-01-04T00-00-00-000Z-r0.jsonl',
      'record-2024-01-05T00-00-00-000Z-r0.jsonl',
    ]);
  });

  it('reads only its own files', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'pbft-lab-read-'));
    dirs.push(dir);
    const recorder = new HostRecorder({ dir });
    expect(await recorder.read('../identity.key')).toBeNull();
    expect(await recorder.read('record-x-r0.jsonl')).toBeNull();
  });
});
