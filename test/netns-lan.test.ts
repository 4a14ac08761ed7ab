/**
 * Issue "one replica per machine", test group 2: a real LAN in network namespaces. Four namespaces
 * joined by a bridge, each with its own address and one headless replica; mDNS discovery across real
 * interfaces, cluster formation, committed operations, the primary's link cut (view change) and
 * recovery when it returns. Skips, saying why, when not root.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKey } from '../core/net/cluster-key.ts';
import type { LabSnapshot } from '../core/host/lab-api.ts';
import { canUseNetns, NetnsLan } from './helpers/netns.ts';
import { eventually, fetchSnapshot, ReplicaProcess, submitVia } from './helpers/replica-process.ts';

const usable = canUseNetns();
const N = 4;

describe.skipIf(!usable.ok)(
  `a LAN of four network namespaces${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const lan = new NetnsLan(N);
    const replicas: ReplicaProcess[] = [];
    const cluster = `lan-${randomBytes(3).toString('hex')}`;
    const clusterKey = ClusterKey.generate();
    let base = '';

    beforeAll(async () => {
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-netns-'));
      lan.create();
    });

    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.kill()));
      lan.destroy();
      if (base) await rm(base, { recursive: true, force: true });
    });

    it('replicas discover each other by mDNS across real interfaces and agree on a roster', async () => {
      const started = Date.now();
      lan.hosts.forEach((host, i) => {
        const r = new ReplicaProcess({
          dataDir: join(base, `r${i}`),
          cluster,
          clusterKey,
          size: N,
          listen: `/ip4/${host.ip}/tcp/0`,
          extraArgs: ['--api-host', host.ip],
          wrapper: ['ip', 'netns', 'exec', host.ns],
        });
        r.start();
        replicas.push(r);
      });
      const urls = await Promise.all(replicas.map((r) => r.url(30_000)));
      const snaps = await eventually(
        async () => {
          const s = await Promise.all(urls.map(fetchSnapshot));
          return s.every((x) => x.self.role === 'replica' && x.roster.join() === s[0]!.roster.join()) ? s : undefined;
        },
        45_000,
        'four replicas with one roster',
      );
      console.log(`netns LAN: cluster formed ${Date.now() - started} ms after the four starts`);
      // Each replica found the others on their LAN addresses, not on loopback.
      for (const s of snaps) {
        const addresses = s.peers.filter((p) => p.replicaId !== null).flatMap((p) => p.addresses);
        expect(addresses.length).toBeGreaterThan(0);
        expect(addresses.every((a) => a.includes(lan.subnet))).toBe(true);
      }
    }, 90_000);

    it('commits operations submitted on one machine, visible on every machine', async () => {
      const outcome = await submitVia(replicas[1]!.apiUrl!, {
        kind: 'write',
        path: '/lan',
        text: 'hello over the bridge',
      });
      expect(outcome.result.kind).toBe('written');
      expect(outcome.matching).toBeGreaterThanOrEqual(2);
      const read = await submitVia(replicas[3]!.apiUrl!, { kind: 'read', path: '/lan' });
      expect(read.result.kind === 'data' && read.result.text).toBe('hello over the bridge');
    }, 60_000);

    it("cutting the primary's link causes a view change; operations go on; the primary recovers when the link returns", async () => {
      const snaps: LabSnapshot[] = await Promise.all(replicas.map((r) => fetchSnapshot(r.apiUrl!)));
      const primaryId = snaps[0]!.view!.primary;
      const primaryIndex = snaps.findIndex((s) => s.self.replicaId === primaryId);
      const primaryHost = lan.hosts[primaryIndex]!;
      lan.setLink(primaryHost, false);
      const others = replicas.filter((_, i) => i !== primaryIndex);
      const outcome = await submitVia(others[0]!.apiUrl!, { kind: 'write', path: '/during-cut', text: 'x' });
      expect(outcome.result.kind).toBe('written');
      const views = await Promise.all(others.map((r) => fetchSnapshot(r.apiUrl!)));
      expect(views.every((s) => s.view!.view > 0 && s.view!.primary !== primaryId)).toBe(true);

      lan.setLink(primaryHost, true);
      for (let i = 0; i < 3; i++)
        await submitVia(others[1]!.apiUrl!, { kind: 'write', path: `/after-${i}`, text: String(i) });
      const target = Math.max(
        ...(await Promise.all(others.map((r) => fetchSnapshot(r.apiUrl!)))).map((s) => s.checkpoints!.lastExecuted),
      );
      let last: LabSnapshot | null = null;
      const recovered = await eventually(
        async () => {
          const s = await fetchSnapshot(replicas[primaryIndex]!.apiUrl!);
          last = s;
          return s.checkpoints && s.checkpoints.lastExecuted >= target && s.view!.status === 'normal' ? s : undefined;
        },
        45_000,
        'the old primary to catch up after its link returned',
      ).catch((error: Error) => {
        const state = last
          ? JSON.stringify({ view: last.view, checkpoints: last.checkpoints, peers: last.peers })
          : 'no snapshot';
        throw new Error(
          `${error.message}\nold primary: ${state}\n${replicas[primaryIndex]!.output.slice(-40).join('\n')}`,
        );
      });
      expect(recovered.view!.view).toBeGreaterThan(0);
    }, 120_000);
  },
);
