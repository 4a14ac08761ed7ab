/**
 * Issue 16: the instructor's Exercises panel in the room runs the exercise on the cluster. A fresh
 * `pbft-lab demo` (four replica processes) and `pbft-lab room` beside it, in a network namespace of
 * their own: the room finds the demo's dashboards in the file the demo left (or is given them with
 * `--member-urls`), and its LabApi's `roomExercise` calls — what the Room tab's panel sends — start
 * silent-primary on the replicas, advance its first step, and bring back every check passed. The
 * members' tokens never leave the room's process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabApiConnection } from '../core/host/api-client.ts';
import type { RoomExerciseStatus } from '../core/host/lab-api.ts';
import { hintsFile, readHintedDashboards } from '../core/cli/cluster-hints.ts';
import { forEachLine } from '../core/process/lines.ts';
import { canUseNetns, LoopbackNamespace } from './helpers/netns.ts';
import { eventually } from './helpers/replica-process.ts';
import { RoomProcess } from './helpers/room-process.ts';

const BIN = fileURLToPath(new URL('../bin/pbft-lab.mjs', import.meta.url));
const usable = canUseNetns();

describe.skipIf(!usable.ok)(`exercises from the room${usable.ok ? '' : ` (skipped: ${usable.reason})`}`, () => {
  const space = new LoopbackNamespace();
  const cluster = `room-ex-${randomBytes(3).toString('hex')}`;
  const portBase = 24_000 + Math.floor(Math.random() * 400) * 10;
  const demoLines: string[] = [];
  const rooms: RoomProcess[] = [];
  const apis: LabApiConnection[] = [];
  let cache = '';
  let demo: ChildProcess | null = null;
  let urls: string[] = [];

  const startRoom = async (args: string[]): Promise<{ room: RoomProcess; api: LabApiConnection }> => {
    const room = new RoomProcess(
      ['--cluster', cluster, '--no-mdns', '--host', space.nsIp, ...args],
      [...space.wrapper, 'env', `PBFT_LAB_CACHE_DIR=${cache}`],
    );
    rooms.push(room);
    const api = await room.connect();
    apis.push(api);
    return { room, api };
  };

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pbft-lab-cache-'));
    space.create();
    demo = spawn(
      space.wrapper[0]!,
      [
        ...space.wrapper.slice(1),
        process.execPath,
        BIN,
        'demo',
        '--cluster',
        cluster,
        '--api-port-base',
        String(portBase),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PBFT_LAB_CACHE_DIR: cache } },
    );
    for (const stream of [demo.stdout!, demo.stderr!]) forEachLine(stream, (line) => demoLines.push(line));
    await eventually(
      () => (demoLines.some((l) => /formed in/.test(l)) ? true : undefined),
      90_000,
      'the demo to form',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${demoLines.join('\n')}`);
    });
    urls = [0, 1, 2, 3].map((k) => {
      const line = demoLines.find((l) => new RegExp(`^  replica ${k}  http`).test(l))!;
      return /(http\S+)/.exec(line)![1]!;
    });
  }, 120_000);

  afterAll(async () => {
    for (const api of apis) api.close();
    for (const room of rooms) await room.stop();
    if (demo && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo!.once('exit', resolve));
      demo.kill('SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (demo.exitCode === null) demo.kill('SIGKILL');
    }
    space.destroy();
    if (cache) await rm(cache, { recursive: true, force: true });
  }, 30_000);

  it("beside the demo, the room finds the replicas' dashboards in the file the demo left (its user's only)", async () => {
    await eventually(
      async () => ((await readHintedDashboards(cluster, 4, cache)).length === 4 ? true : undefined),
      5_000,
      'the demo to leave its dashboards',
    );
    expect(await readHintedDashboards(cluster, 4, cache)).toEqual(urls);
    expect((await stat(hintsFile(cluster, 4, cache))).mode & 0o777).toBe(0o600);
    const { room, api } = await startRoom([]);
    const status = await api.roomExercise({ kind: 'status' });
    expect(status).toMatchObject({ commands: true, needs: null, running: false, progress: null });
    // The members as the page sees them: without their tokens.
    expect(status.members).toEqual(urls.map((u) => u.replace(/\?token=.*$/, '')));
    expect(JSON.stringify(status)).not.toMatch(/token/);
    expect(room.output.join('\n')).toMatch(/exercises: on the demo's 4 replicas/);
    // Only a member of the cluster may be told to start; an unknown exercise is refused by name.
    await expect(api.roomExercise({ kind: 'start', exerciseId: 'no-such-exercise' })).rejects.toThrow(
      /no exercise "no-such-exercise"/,
    );
    await expect(api.roomExercise({ kind: 'advance' })).rejects.toThrow(/no exercise is running/);
    await expect(api.roomExercise({ kind: 'start', exerciseId: 'colluding-replicas' })).rejects.toThrow(
      /runs only in the simulator/,
    );
    await room.stop();
  }, 30_000);

  it('--member-urls: start silent-primary on the members, advance its first step, every check passes', async () => {
    // The demo's join code and addresses still come from its file; the dashboards from the flag.
    const { room, api } = await startRoom(['--member-urls', urls.join(',')]);
    expect(room.output.join('\n')).toMatch(/exercises: on the 4 members given \(--member-urls\)/);
    const reports: RoomExerciseStatus[] = [];
    const status = async (): Promise<RoomExerciseStatus> => {
      const s = await api.roomExercise({ kind: 'status' });
      reports.push(s);
      return s;
    };
    const started = await api.roomExercise({ kind: 'start', exerciseId: 'silent-primary' });
    expect(started).toMatchObject({ commands: true, running: true, progress: { exerciseId: 'silent-primary' } });
    await expect(api.roomExercise({ kind: 'start', exerciseId: 'silent-primary' })).rejects.toThrow(
      /an exercise is running/,
    );

    // The instructor ends the warm-up at once ("next step"), as the panel's button does.
    await eventually(
      async () => ((await status()).progress?.stepIndex === 0 ? true : undefined),
      10_000,
      'the first step to start',
    );
    await api.roomExercise({ kind: 'advance' });
    await eventually(
      async () => ((await status()).progress!.stepIndex >= 1 ? true : undefined),
      5_000,
      'the advance to end the warm-up',
    );
    const judged = await eventually(
      async () => {
        const s = await status();
        return s.progress?.done ? s : undefined;
      },
      90_000,
      `the run to be judged\n${JSON.stringify(reports.at(-1))}`,
    );
    const progress = judged.progress!;
    expect(progress.error, JSON.stringify(progress)).toBeUndefined();
    expect(judged.running).toBe(false);
    expect(progress).toMatchObject({ exerciseId: 'silent-primary', done: true, replayOk: true, stepIndex: 2 });
    expect(progress.verdicts).toHaveLength(5);
    expect(progress.verdicts!.filter((v) => !v.ok)).toEqual([]);
    // Each step was reported as it ran, with what it waited for.
    const steps = new Set(reports.flatMap((r) => (r.progress && !r.progress.done ? [r.progress.stepIndex] : [])));
    expect([...steps]).toEqual(expect.arrayContaining([0, 1]));
    expect(reports.some((r) => /view/.test(r.progress?.waitingFor ?? ''))).toBe(true);
    expect(room.output.join('\n')).toMatch(/room: exercise silent-primary judged: 5 of 5 checks passed/);
    // The cluster is no longer fresh (view 1, writes executed): the next exercise is refused, and says why.
    await expect(api.roomExercise({ kind: 'start', exerciseId: 'normal-case' })).rejects.toThrow(
      /an exercise starts on a fresh cluster/,
    );
  }, 150_000);
});
