/**
 * Issue "one replica per machine", test group 1: four headless replicas as separate processes on
 * loopback find each other by mDNS, agree on a roster, and commit client operations; the primary is
 * killed → view change → operations go on; it restarts with its data directory → it catches up.
 * Real libp2p (TCP, Noise, Yamux, mDNS), real processes, real files. The processes run in a network
 * namespace of their own whose loopback carries the mDNS multicast, so nothing leaves the machine.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKey } from '../core/net/cluster-key.ts';
import { canUseNetns, LoopbackNamespace } from './helpers/netns.ts';
import { eventually, fetchSnapshot, ReplicaProcess, submitVia } from './helpers/replica-process.ts';

const usable = canUseNetns();
const N = 4;

describe.skipIf(!usable.ok)(
  `four replicas on loopback, separate processes${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const space = new LoopbackNamespace();
    const cluster = `test-${randomBytes(4).toString('hex')}`;
    const clusterKey = ClusterKey.generate();
    const replicas: ReplicaProcess[] = [];
    let base = '';
    const live = () => replicas.filter((r) => r.running);
    const dump = () => replicas.map((r, i) => `--- replica process ${i}\n${r.output.slice(-40).join('\n')}`).join('\n');

    beforeAll(async () => {
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-loopback-'));
      space.create();
    });

    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.kill()));
      space.destroy();
      if (base) await rm(base, { recursive: true, force: true });
    });

    it('discover each other by mDNS, agree on one roster, and commit client operations', async () => {
      const started = Date.now();
      for (let i = 0; i < N; i++) {
        const r = new ReplicaProcess({
          dataDir: join(base, `r${i}`),
          cluster,
          clusterKey,
          size: N,
          extraArgs: ['--allow-loopback', '--api-host', space.nsIp],
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
      console.log(`loopback: cluster formed ${Date.now() - started} ms after the four process starts`);
      expect(new Set(snaps.map((s) => s.self.replicaId))).toEqual(new Set([0, 1, 2, 3]));

      const written = await submitVia(urls[2]!, { kind: 'write', path: '/hello', text: 'world' });
      expect(written.result.kind).toBe('written');
      expect(written.matching).toBeGreaterThanOrEqual(2);
      const read = await submitVia(urls[0]!, { kind: 'read', path: '/hello' });
      expect(read.result.kind === 'data' && read.result.text).toBe('world');
    }, 90_000);

    it('the primary is killed: a view change installs a new primary and operations go on', async () => {
      const snaps = await Promise.all(replicas.map((r) => fetchSnapshot(r.apiUrl!)));
      const primary = snaps[0]!.view!.primary;
      const victim = replicas[snaps.findIndex((s) => s.self.replicaId === primary)]!;
      await victim.kill();
      const outcome = await submitVia(live()[0]!.apiUrl!, { kind: 'write', path: '/after-crash', text: 'still here' });
      expect(outcome.result.kind, dump()).toBe('written');
      const views = await Promise.all(live().map((r) => fetchSnapshot(r.apiUrl!)));
      expect(views.every((s) => s.view!.view > 0 && s.view!.primary !== primary)).toBe(true);
    }, 90_000);

    it('the old primary restarts with its data directory, rejoins as the same replica and catches up', async () => {
      const before = await fetchSnapshot(live()[0]!.apiUrl!);
      const dead = replicas.find((r) => !r.running)!;
      dead.start();
      const url = await dead.url();
      for (let i = 0; i < 5; i++)
        await submitVia(live()[0]!.apiUrl!, { kind: 'write', path: `/more-${i}`, text: String(i) });
      const target = Math.max(
        ...(await Promise.all(replicas.filter((r) => r !== dead).map((r) => fetchSnapshot(r.apiUrl!)))).map(
          (s) => s.checkpoints!.lastExecuted,
        ),
      );
      const restarted = await eventually(
        async () => {
          const s = await fetchSnapshot(url);
          return s.checkpoints && s.checkpoints.lastExecuted >= target ? s : undefined;
        },
        40_000,
        `the restarted replica to execute up to ${target}\n${dump()}`,
      );
      expect(restarted.roster).toEqual(before.roster);
      expect(restarted.self.role).toBe('replica');
    }, 90_000);
  },
);
