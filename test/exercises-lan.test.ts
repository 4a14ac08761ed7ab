/**
 * Issue 16: an exercise on "four lab machines" — four network namespaces on one bridge, each with its
 * own address and one headless replica (mDNS, as in class) — driven from outside them, as from the
 * instructor's laptop, by `pbft-lab exercise run ID --urls …`: every check passes, the records are
 * gathered over the replicas' API and the run replays digest for digest. The exercise is the partition
 * and its healing, the one that cuts links between machines.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exerciseById } from '../core/exercises/catalogue.ts';
import { judgeRun } from '../core/exercises/judge.ts';
import { ClusterKey } from '../core/net/cluster-key.ts';
import { parseRunFile } from '../core/record/run-file.ts';
import { canUseNetns, NetnsLan } from './helpers/netns.ts';
import { eventually, fetchSnapshot, ReplicaProcess } from './helpers/replica-process.ts';

const BIN = fileURLToPath(new URL('../bin/pbft-lab.mjs', import.meta.url));
const usable = canUseNetns();
const N = 4;

function pbftLab(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe.skipIf(!usable.ok)(
  `an exercise on four lab machines (network namespaces)${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const lan = new NetnsLan(N);
    const replicas: ReplicaProcess[] = [];
    const cluster = `class-${randomBytes(3).toString('hex')}`;
    const clusterKey = ClusterKey.generate();
    let base = '';

    beforeAll(async () => {
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-exercise-lan-'));
      lan.create();
    });

    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.kill()));
      lan.destroy();
      if (base) await rm(base, { recursive: true, force: true });
    });

    it('partition-heal: every check passes, and the run gathered over the API replays digest for digest', async () => {
      const exercise = exerciseById('partition-heal');
      lan.hosts.forEach((host, i) => {
        const r = new ReplicaProcess({
          dataDir: join(base, `r${i}`),
          cluster,
          clusterKey,
          size: N,
          listen: `/ip4/${host.ip}/tcp/0`,
          extraArgs: [
            '--api-host',
            host.ip,
            ...(exercise.protocol?.checkpointInterval
              ? ['--checkpoint-interval', String(exercise.protocol.checkpointInterval)]
              : []),
          ],
          wrapper: ['ip', 'netns', 'exec', host.ns],
        });
        r.start();
        replicas.push(r);
      });
      const urls = await Promise.all(replicas.map((r) => r.url(30_000)));
      await eventually(
        async () => {
          const s = await Promise.all(urls.map(fetchSnapshot));
          return s.every((x) => x.self.role === 'replica' && x.roster.join() === s[0]!.roster.join()) || undefined;
        },
        45_000,
        'four replicas with one roster',
      );
      const out = join(base, 'run.jsonl');
      const run = await pbftLab(['exercise', 'run', exercise.id, '--urls', urls.join(','), '--out', out]);
      const dump = () =>
        `${run.out}\n${replicas.map((r, i) => `--- ${i}\n${r.output.slice(-20).join('\n')}`).join('\n')}`;
      expect(run.code, dump()).toBe(0);
      expect(run.out).toMatch(/on 4 replicas \(lab machines\)/);
      expect(run.out).toMatch(/replay: every output and state digest matched/);

      const file = parseRunFile(await readFile(out, 'utf8'), out);
      expect(file.header).toMatchObject({ source: 'lab', clock: 'wall', exercise: { id: exercise.id } });
      expect(new Set(file.sessions.map((s) => s.replica))).toEqual(new Set([0, 1, 2, 3]));
      const judgement = judgeRun(exercise, file);
      expect(judgement.timeline.replay.divergence).toBeNull();
      expect(judgement.verdicts.filter((v) => !v.ok)).toEqual([]);
      const replay = await pbftLab(['replay', out]);
      expect(replay.code, replay.out).toBe(0);
    }, 180_000);
  },
);
