/**
 * Issue 16, recording and replay on real machines' software: four replica processes on loopback
 * (real libp2p, real data directories), a Byzantine backup (corrupt replies), a client revoked (an
 * ordered operation), the primary killed without warning and restarted. Every replica's record is
 * gathered (`pbft-lab record collect`) and replayed (`pbft-lab replay`): every output and state digest
 * matches. A tampered record is reported at the first step where the replay parts from it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hasher } from '../core/crypto/node.ts';
import { ClusterKey } from '../core/net/cluster-key.ts';
import { causalOrder } from '../core/record/causality.ts';
import { shivizLog } from '../core/record/export-shiviz.ts';
import { replayRun } from '../core/record/replay.ts';
import { parseRunFile } from '../core/record/run-file.ts';
import { checkShiviz, parseShiviz } from '../core/record/shiviz-check.ts';
import { buildTimeline } from '../core/record/timeline.ts';
import { canUseNetns, LoopbackNamespace } from './helpers/netns.ts';
import { eventually, fetchSnapshot, ReplicaProcess, submitVia } from './helpers/replica-process.ts';

const MAIN = fileURLToPath(new URL('../core/cli/main.ts', import.meta.url));
const usable = canUseNetns();

function pbftLab(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

/** An ordered revoke through a replica's API (the dashboard's Revoke…). */
async function revoke(apiUrl: string, clientId: string): Promise<void> {
  const url = new URL(apiUrl);
  const response = await fetch(`${url.origin}/api/revoke?token=${url.searchParams.get('token')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clientId }),
  });
  if (!response.ok) throw new Error(`revoke: HTTP ${response.status} ${await response.text()}`);
}

async function setBehaviour(apiUrl: string, id: string | null): Promise<void> {
  const url = new URL(apiUrl);
  const response = await fetch(`${url.origin}/api/behaviour?token=${url.searchParams.get('token')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id }),
  });
  if (!response.ok) throw new Error(`behaviour: HTTP ${response.status} ${await response.text()}`);
}

describe.skipIf(!usable.ok)(
  `a recorded run of four replica processes${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const space = new LoopbackNamespace();
    const cluster = `record-${randomBytes(4).toString('hex')}`;
    const clusterKey = ClusterKey.generate();
    const replicas: ReplicaProcess[] = [];
    let base = '';
    let runPath = '';
    const dump = () => replicas.map((r, i) => `--- replica process ${i}\n${r.output.slice(-30).join('\n')}`).join('\n');

    beforeAll(async () => {
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-record-'));
      space.create();
    });

    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.kill()));
      space.destroy();
      if (base) await rm(base, { recursive: true, force: true });
    });

    it('a Byzantine backup and a killed primary, then every record gathered into one run file', async () => {
      for (let i = 0; i < 4; i++) {
        const r = new ReplicaProcess({
          dataDir: join(base, `r${i}`),
          cluster,
          clusterKey,
          size: 4,
          extraArgs: ['--allow-loopback', '--api-host', space.nsIp, '--checkpoint-interval', '4'],
          wrapper: space.wrapper,
        });
        r.start();
        replicas.push(r);
      }
      const urls = await Promise.all(replicas.map((r) => r.url()));
      const snaps = await eventually(
        async () => {
          const s = await Promise.all(urls.map(fetchSnapshot));
          return s.every((x) => x.self.role === 'replica' && x.roster.join() === s[0]!.roster.join()) ? s : undefined;
        },
        30_000,
        'a roster agreed by all four',
      );
      const byId = (id: number) => replicas[snaps.findIndex((s) => s.self.replicaId === id)]!;
      const client = byId(3);
      const write = async (k: number) => {
        const outcome = await submitVia(client.apiUrl!, { kind: 'write', path: `/w${k}`, text: `write ${k}` });
        expect(outcome.result.kind, dump()).toBe('written');
      };
      for (let k = 0; k < 4; k++) await write(k);
      await setBehaviour(byId(2).apiUrl!, 'corrupt-reply');
      for (let k = 4; k < 8; k++) await write(k);
      // A revoke, ordered and executed by the file store as the cluster runs it (only the replicas'
      // own clients may revoke): the replay must rebuild that store, not a plain one.
      await revoke(client.apiUrl!, 'some-other-client-peer');
      await byId(0).kill('SIGKILL');
      for (let k = 8; k < 12; k++) await write(k);
      byId(0).start();
      await byId(0).url();
      for (let k = 12; k < 16; k++) await write(k);
      await eventually(
        async () => ((await fetchSnapshot(byId(0).apiUrl!)).checkpoints?.lastExecuted ?? 0) >= 16 || undefined,
        30_000,
        'the restarted primary to catch up',
      );
      // A clean stop: each session's record ends with its end line.
      await Promise.all(replicas.map((r) => r.kill('SIGTERM')));

      runPath = join(base, 'run.jsonl');
      const collect = await pbftLab([
        'record',
        'collect',
        ...replicas.flatMap((r) => ['--data-dir', r.options.dataDir]),
        '--out',
        runPath,
      ]);
      expect(collect.code, collect.out).toBe(0);
      const run = parseRunFile(await readFile(runPath, 'utf8'), runPath);
      expect(run.sessions.map((s) => `${s.replica}/${s.session}`).sort()).toEqual(['0/0', '0/1', '1/0', '2/0', '3/0']);
      // The dashboards' client operations are in the run file, for the history exports.
      expect(run.ops.length).toBe(16);
    }, 120_000);

    it('replays with every output and state digest matching, the Byzantine backup and the restart included', async () => {
      const replay = await pbftLab(['replay', runPath]);
      expect(replay.code, replay.out).toBe(0);
      expect(replay.out).toMatch(/every output and state digest matched/);
      const run = parseRunFile(await readFile(runPath, 'utf8'), runPath);
      const timeline = buildTimeline(run, sha256Hasher);
      expect(timeline.replay.ok).toBe(true);
      expect(timeline.correct).toEqual(new Set([0, 1, 3]));
      expect(timeline.events.some((e) => e.kind === 'event' && e.event.type === 'new-view')).toBe(true);
      // The ShiViz export of this run holds to ShiViz's rules, every receive after its send.
      expect(() => checkShiviz(parseShiviz(shivizLog(causalOrder(timeline, sha256Hasher))))).not.toThrow();
    });

    it('a tampered drain is reported at its own line; a dropped message at the first drain that needed it', async () => {
      const lines = (await readFile(runPath, 'utf8')).split('\n');
      // A recorded output digest of replica 1 changed in the middle of the run.
      const takes = lines.flatMap((l, i) => (/^\{"r":1,"s":0,"k":"take"/.test(l) && /"n":[1-9]/.test(l) ? [i] : []));
      const target = takes[Math.floor(takes.length / 2)]!;
      const altered = lines.map((l, i) =>
        i === target ? l.replace(/"out":"[0-9a-f]{16}"/, '"out":"0000000000000000"') : l,
      );
      const alteredPath = join(base, 'altered.jsonl');
      await writeFile(alteredPath, altered.join('\n'));
      const replay = await pbftLab(['replay', alteredPath]);
      expect(replay.code).toBe(1);
      expect(replay.out).toContain(`replica 1, session 0, line ${target + 1} of ${alteredPath}`);
      expect(replay.out).toMatch(/outputs differ: the recording has \d+ \(digest 0000000000000000\)/);

      // A message replica 3 received and answered, removed from its record.
      const steps = lines.flatMap((l, i) =>
        /^\{"r":3,"s":0,"k":"step","from":[0-9]/.test(l) &&
        /^\{"r":3,"s":0,"k":"take".*"n":[1-9]/.test(lines[i + 1] ?? '')
          ? [i]
          : [],
      );
      const dropped = steps[Math.floor(steps.length / 2)]!;
      const droppedPath = join(base, 'dropped.jsonl');
      await writeFile(droppedPath, lines.filter((_, i) => i !== dropped).join('\n'));
      const run = parseRunFile(await readFile(droppedPath, 'utf8'), droppedPath);
      const result = replayRun(run.sessions, { hasher: sha256Hasher });
      expect(result.ok).toBe(false);
      expect(result.divergence!.replica).toBe(3);
      expect(result.divergence!.line).toBeGreaterThanOrEqual(dropped + 1);
      // Everything before the reported step replays as recorded: it is the first divergent one.
      expect(replayRun(run.sessions, { hasher: sha256Hasher, stopAfter: result.divergence!.index }).ok).toBe(true);
    });
  },
);
