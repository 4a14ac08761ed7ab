/**
 * Issue 16: exercises end to end on the one-machine demo. For each exercise, a fresh `pbft-lab demo`
 * (four replica processes, real libp2p, real data directories) and `pbft-lab exercise run ID --urls …`
 * driving it through the dashboards' API, both in a network namespace of their own. Every check of
 * the exercise must pass, and the run file the command writes must replay digest for digest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachLine } from '../core/process/lines.ts';
import { exerciseById } from '../core/exercises/catalogue.ts';
import { judgeRun } from '../core/exercises/judge.ts';
import { LabApiCluster } from '../core/exercises/live-cluster.ts';
import { ExerciseSession, type ExerciseProgress } from '../core/exercises/session.ts';
import { parseRunFile } from '../core/record/run-file.ts';
import { canUseNetns, LoopbackNamespace } from './helpers/netns.ts';
import { eventually } from './helpers/replica-process.ts';

const BIN = fileURLToPath(new URL('../bin/pbft-lab.mjs', import.meta.url));
const usable = canUseNetns();

interface Run {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

describe.skipIf(!usable.ok)(
  `exercises on the one-machine demo${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const space = new LoopbackNamespace();
    let base = '';
    const running: Run[] = [];

    const start = (args: string[]): Run => {
      const child = spawn(space.wrapper[0]!, [...space.wrapper.slice(1), process.execPath, BIN, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PBFT_LAB_CACHE_DIR: base },
      });
      const lines: string[] = [];
      for (const stream of [child.stdout!, child.stderr!]) forEachLine(stream, (line) => lines.push(line));
      const run = {
        child,
        lines,
        exited: new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code))),
      };
      running.push(run);
      return run;
    };

    beforeAll(async () => {
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-exercises-'));
      space.create();
    });

    afterAll(async () => {
      for (const run of running) if (run.child.exitCode === null) run.child.kill('SIGKILL');
      space.destroy();
      if (base) await rm(base, { recursive: true, force: true });
    });

    const exercises = ['silent-primary', 'corrupt-replies', 'byzantine-client', 'lagging-replica'];
    exercises.forEach((id, i) => {
      it(`${id}: every check passes on a fresh demo, and its run replays digest for digest`, async () => {
        const portBase = 23_000 + Math.floor(Math.random() * 300) * 10 + i;
        const exercise = exerciseById(id);
        const demo = start([
          'demo',
          '--data-dir',
          join(base, id),
          '--api-port-base',
          String(portBase),
          ...(exercise.protocol?.checkpointInterval
            ? ['--checkpoint-interval', String(exercise.protocol.checkpointInterval)]
            : []),
        ]);
        try {
          await eventually(
            () => (demo.lines.some((l) => /formed in/.test(l)) ? true : undefined),
            90_000,
            'the demo to form',
          ).catch((error: Error) => {
            throw new Error(`${error.message}\n${demo.lines.join('\n')}`);
          });
          const urls = [0, 1, 2, 3].map((k) => {
            const line = demo.lines.find((l) => new RegExp(`^  replica ${k}  http`).test(l))!;
            return /(http\S+)/.exec(line)![1]!;
          });
          const out = join(base, `${id}.jsonl`);
          const run = start([
            'exercise',
            'run',
            id,
            '--urls',
            urls.join(','),
            '--out',
            out,
            '--report',
            join(base, `${id}.md`),
          ]);
          const code = await run.exited;
          expect(code, `${run.lines.join('\n')}\n--- demo\n${demo.lines.slice(-60).join('\n')}`).toBe(0);
          expect(run.lines.join('\n')).toMatch(/replay: every output and state digest matched/);

          const file = parseRunFile(await readFile(out, 'utf8'), out);
          expect(file.header).toMatchObject({ source: 'demo', clock: 'wall', exercise: { id } });
          expect(new Set(file.sessions.map((s) => s.replica))).toEqual(new Set([0, 1, 2, 3]));
          const judgement = judgeRun(exercise, file);
          expect(judgement.timeline.replay.divergence).toBeNull();
          expect(judgement.verdicts.filter((v) => !v.ok)).toEqual([]);
          expect(await readFile(join(base, `${id}.md`), 'utf8')).toContain(
            `${exercise.checks.length} of ${exercise.checks.length} passed`,
          );
        } finally {
          demo.child.kill('SIGTERM');
          await demo.exited;
        }
      }, 150_000);
    });

    it("normal-case from a screen (the room's instructor panel): started, advanced by hand, each step reported, judged at the end", async () => {
      const portBase = 26_000 + Math.floor(Math.random() * 300) * 10;
      // The API on the namespace's own address, so that this process (outside it) drives the cluster.
      const demo = start([
        'demo',
        '--data-dir',
        join(base, 'session'),
        '--api-port-base',
        String(portBase),
        '--api-host',
        space.nsIp,
      ]);
      try {
        await eventually(
          () => (demo.lines.some((l) => /formed in/.test(l)) ? true : undefined),
          90_000,
          'the demo to form',
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${demo.lines.join('\n')}`);
        });
        const urls = [0, 1, 2, 3].map((k) => {
          const line = demo.lines.find((l) => new RegExp(`^  replica ${k}  http`).test(l))!;
          return /(http\S+)/.exec(line)![1]!;
        });
        const cluster = await LabApiCluster.connect(urls);
        const progress: ExerciseProgress[] = [];
        const session = new ExerciseSession(cluster, (p) => {
          progress.push(p);
          // The instructor ends the first step ("look around", 500 ms) at once.
          if (p.stepIndex === 0 && !p.done) session.advance();
        });
        try {
          session.start('normal-case');
          expect(session.running).toBe(true);
          expect(() => session.start('normal-case')).toThrow(/is running/);
          await session.finished;
        } finally {
          await cluster.close();
        }
        const last = progress.at(-1)!;
        expect(last.error, JSON.stringify(progress)).toBeUndefined();
        expect(progress.filter((p) => !p.done).map((p) => p.stepIndex)).toEqual([-1, 0, 1, 2]);
        expect(last).toMatchObject({ exerciseId: 'normal-case', done: true, replayOk: true });
        expect(last.verdicts!.filter((v) => !v.ok)).toEqual([]);
        expect(session.running).toBe(false);
        expect(session.lastRun!.verdicts).toEqual(last.verdicts);
        expect(() => session.advance()).toThrow(/no exercise is running/);
      } finally {
        demo.child.kill('SIGTERM');
        await demo.exited;
      }
    }, 150_000);

    it('refuses an exercise that runs only in the simulator, and says why', async () => {
      const run = start(['exercise', 'run', 'colluding-replicas', '--urls', 'http://127.0.0.1:1/?token=x']);
      expect(await run.exited).toBe(1);
      expect(run.lines.join('\n')).toMatch(/colluding-replicas runs only in the simulator/);
    });
  },
);
