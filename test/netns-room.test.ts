/**
 * The room on a LAN of network namespaces (issue 14): four replicas on four "machines" and
 * `pbft-lab room` on a fifth, joined by a bridge. The room finds the cluster by mDNS across real
 * interfaces with the cluster key, shows every replica within 10 s of its start, pairs every
 * replica-to-replica message it shows, and explains the view change that cutting the primary's
 * cable causes, while the checker stays quiet. Skips, saying why, when not root.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabApiConnection } from '../core/host/api-client.ts';
import type { RoomEvent } from '../core/host/room-types.ts';
import { ClusterKey } from '../core/net/cluster-key.ts';
import { canUseNetns, NetnsLan } from './helpers/netns.ts';
import { eventually, fetchSnapshot, ReplicaProcess, submitVia } from './helpers/replica-process.ts';
import { receivesAndUnpaired, RoomProcess } from './helpers/room-process.ts';

const usable = canUseNetns();
const N = 4;

describe.skipIf(!usable.ok)(
  `the room on a LAN of network namespaces${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const lan = new NetnsLan(N + 1);
    const replicas: ReplicaProcess[] = [];
    const cluster = `room-lan-${randomBytes(3).toString('hex')}`;
    const clusterKey = ClusterKey.generate();
    let room: RoomProcess | null = null;
    let api: LabApiConnection | null = null;
    const events: RoomEvent[] = [];
    let cursor = 0;
    let base = '';

    const poll = async () => {
      const state = await api!.room({ after: cursor });
      events.push(...state.events);
      cursor = state.cursor;
      return state;
    };

    beforeAll(async () => {
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-netns-room-'));
      lan.create();
      lan.hosts.slice(0, N).forEach((host, i) => {
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
      await eventually(
        async () =>
          (await Promise.all(urls.map(fetchSnapshot))).every((s) => s.self.role === 'replica') ? true : undefined,
        40_000,
        'the cluster to form',
      );
    }, 60_000);

    afterAll(async () => {
      api?.close();
      await room?.stop();
      await Promise.all(replicas.map((r) => r.kill()));
      lan.destroy();
      if (base) await rm(base, { recursive: true, force: true });
    });

    it('pbft-lab room on a fifth machine shows the whole cluster within 10 s, every message paired', async () => {
      const host = lan.hosts[N]!;
      const started = Date.now();
      room = new RoomProcess(
        ['--cluster', cluster, '--cluster-key', clusterKey.joinCode, '--no-cache', '--host', host.ip],
        ['ip', 'netns', 'exec', host.ns],
      );
      api = await room.connect();
      await eventually(
        async () =>
          (await poll()).replicas.filter((r) => r.connected && r.view !== null).length === N ? true : undefined,
        10_000,
        `four replicas in the room\n${room.output.join('\n')}`,
      );
      console.log(`netns room: the whole cluster in the room ${Date.now() - started} ms after pbft-lab room started`);
      expect(Date.now() - started).toBeLessThan(10_000);
      // Messages in flight while the room subscribed have no send in it: judge those sent from here on.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await poll();
      const since = cursor;
      for (let i = 0; i < 4; i++)
        await submitVia(replicas[i]!.apiUrl!, { kind: 'write', path: `/lan-room-${i}`, text: String(i) });
      const state = await eventually(
        async () => {
          const s = await poll();
          return s.checks.find((c) => c.id === 'agreement')?.status === 'ok' ? s : undefined;
        },
        15_000,
        'the checker to compare executed batches',
      );
      const { receives, unpaired } = await receivesAndUnpaired(events, poll, since);
      expect(receives.length).toBeGreaterThan(20);
      expect(unpaired).toEqual([]);
      expect(state.checks.filter((c) => c.status === 'violated')).toEqual([]);
    }, 60_000);

    it('a cut primary cable: the view change explained step by step, the checker quiet', async () => {
      const snaps = await Promise.all(replicas.map((r) => fetchSnapshot(r.apiUrl!)));
      const primary = snaps[0]!.view!.primary;
      const index = snaps.findIndex((s) => s.self.replicaId === primary);
      lan.setLink(lan.hosts[index]!, false);
      const other = replicas.find((_, i) => i !== index)!;
      await submitVia(other.apiUrl!, { kind: 'write', path: '/lan-room-cut', text: 'x' }, 60_000);
      const state = await eventually(
        async () => {
          const s = await poll();
          const episode = s.viewChanges.find((e) => e.suspected === primary);
          return episode?.newView && episode.installedBy.length >= 3 ? s : undefined;
        },
        30_000,
        'the view change in the room',
      );
      const episode = state.viewChanges.find((e) => e.suspected === primary)!;
      expect(episode.newPrimary).toBe((primary + 1) % N);
      expect(episode.quorumAt).not.toBeNull();
      expect(episode.steps.length).toBeGreaterThanOrEqual(5);
      expect(state.checks.filter((c) => c.status === 'violated')).toEqual([]);
      lan.setLink(lan.hosts[index]!, true);
    }, 90_000);
  },
);
