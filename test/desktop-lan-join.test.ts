/**
 * Issue 17, "as four lab machines would run it": the built app's main process (electron stubbed,
 * its lab process a Node child), one per machine of a LAN made of four network namespaces on a
 * bridge, each started with no switches and empty user data, driven through its window's calls:
 *
 *   machine A: the start screen → create cluster → its join code;
 *   machines B, C, D: the start screen lists the cluster (seen by mDNS, with its size and members so
 *   far) → join it from the list with the code → the four agree on a roster and commit an operation;
 *   machine D: Cluster → Change Cluster… (the start screen again, the cluster offered back) → back.
 *
 * Needs root for the namespaces, and skips, saying so, without it: mDNS from a test must not reach
 * the machine's real network.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabSnapshot, SubmitOutcome } from '../core/host/lab-api.ts';
import { ClusterKey } from '../core/net/cluster-key.ts';
import type { LanCluster, SetupState } from '../electron/shared/app-setup.ts';
import { canUseNetns, NetnsLan } from './helpers/netns.ts';
import { buildApp, StubApp, type BuiltApp } from './helpers/stub-app.ts';

const usable = canUseNetns();
const N = 4;

describe.skipIf(!usable.ok)(
  `four lab machines: start screen, create, join from the LAN list${usable.ok ? '' : ` (skipped: ${usable.reason})`}`,
  () => {
    const lan = new NetnsLan(N);
    const cluster = `room-${randomBytes(3).toString('hex')}`;
    let built: BuiltApp;
    let base = '';
    const apps: StubApp[] = [];
    let joinCode = '';
    const dump = (): string => apps.map((a) => a.tail(30)).join('\n');

    beforeAll(async () => {
      built = await buildApp();
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-lan-join-'));
      lan.create();
      lan.hosts.forEach((host, i) => {
        const app = new StubApp({
          mainFile: built.mainFile,
          userDataDir: join(base, `machine-${'ABCD'[i]}`),
          wrapper: ['ip', 'netns', 'exec', host.ns],
          name: `machine ${'ABCD'[i]} (${host.ip})`,
        });
        app.start();
        apps.push(app);
      });
    });

    afterAll(async () => {
      await Promise.all(apps.map((a) => a.quit(10_000).catch(() => a.kill())));
      lan.destroy();
      await built?.remove();
      if (base) await rm(base, { recursive: true, force: true });
    });

    const state = (app: StubApp): Promise<SetupState> => app.call<SetupState>('app:state');
    const running = (app: StubApp): Promise<SetupState> =>
      app.waitFor(
        async () => {
          const s = await state(app);
          if (s.phase === 'failed') throw new Error(`${app.name}: ${s.error}`);
          return s.phase === 'running' ? s : undefined;
        },
        30_000,
        'running',
      );
    const snapshotOf = (app: StubApp): Promise<LabSnapshot> => app.call<LabSnapshot>('lab:snapshot');
    /** The cluster in this machine's LAN list, once it shows at least `members` members (and has formed). */
    const listed = (app: StubApp, members: number, formed = false): Promise<LanCluster> =>
      app.waitFor(
        async () =>
          (await state(app)).lan.clusters.find(
            (c) => c.cluster === cluster && c.members >= members && (!formed || c.formed),
          ),
        30_000,
        `shown "${cluster}" with ${members} members so far${formed ? ', formed,' : ''} in its LAN list`,
      );
    /** What the start screen sends when the person picks the cluster in the list and types the code. */
    const joinFromList = async (app: StubApp, entry: LanCluster): Promise<SetupState> => {
      const { reply } = await app.invoke<SetupState>('app:joinCluster', {
        cluster: entry.cluster,
        size: entry.size,
        joinCode: joinCode.toLowerCase().replaceAll('-', ' '),
        join: [...new Set(entry.machines.flatMap((m) => m.addresses))],
        local: false,
        dataDir: null,
      });
      if (!reply.ok) throw new Error(`${app.name}: join refused: ${reply.error.message}`);
      return reply.value;
    };

    it('every machine starts on the start screen: nothing chosen, nothing running', async () => {
      for (const app of apps) {
        const s = await state(app);
        expect(s).toMatchObject({ phase: 'choose', cluster: null, previous: null });
        // No LabApi before a cluster runs (the start screen makes no such call).
        const { reply } = await app.invoke('lab:snapshot');
        expect(reply.ok).toBe(false);
      }
    });

    it('machine A creates the cluster and gets its join code at once', async () => {
      const [a] = apps;
      const created = await a!.call<SetupState>('app:createCluster', { cluster, size: N, local: false, dataDir: null });
      expect(created.phase).toBe('starting');
      joinCode = created.joinCode!;
      expect(ClusterKey.fromJoinCode(joinCode).fingerprint).toBe(created.fingerprint);
      const s = await running(a!);
      expect(s.cluster).toMatchObject({ cluster, size: N, local: false, mdns: true });
      expect(s.cluster!.dataDir).toBe(join(base, 'machine-A', 'clusters', `${cluster}-${created.fingerprint}`));
    }, 60_000);

    it('machine B sees it in its LAN list (size 4, one member so far, the key’s fingerprint) and joins it from there', async () => {
      const [a, b] = apps;
      const entry = await listed(b!, 1);
      const fingerprint = ClusterKey.fromJoinCode(joinCode).fingerprint;
      expect(entry).toMatchObject({ cluster, size: N, fingerprint, members: 1, formed: false });
      expect(entry.machines).toHaveLength(1);
      expect(entry.machines[0]!.addresses.every((address) => address.includes(lan.subnet))).toBe(true);

      expect((await joinFromList(b!, entry)).phase).toBe('starting');
      await running(b!);
      const [snapA, snapB] = await a!.waitFor(
        async () => {
          const s = await Promise.all([snapshotOf(a!), snapshotOf(b!)]);
          return s[0].peers.some((p) => p.peerId === s[1].self.peerId) &&
            s[1].peers.some((p) => p.peerId === s[0].self.peerId)
            ? s
            : undefined;
        },
        30_000,
        `met machine B\n${dump()}`,
      );
      expect(snapA.self.clusterKey?.fingerprint).toBe(snapB.self.clusterKey?.fingerprint);
      expect(snapB.self.role).toBe('forming');
    }, 90_000);

    it('machines C and D see two members so far, join from the list, and the four form the cluster and commit', async () => {
      const [a, , c, d] = apps;
      for (const app of [c!, d!]) {
        const entry = await listed(app, 2);
        expect(entry.machines.length).toBeGreaterThanOrEqual(2);
        await joinFromList(app, entry);
      }
      await Promise.all([running(c!), running(d!)]);
      const snapshots = await a!.waitFor(
        async () => {
          const s = await Promise.all(apps.map(snapshotOf));
          return s.every((x) => x.self.role === 'replica' && x.roster.join() === s[0]!.roster.join()) ? s : undefined;
        },
        60_000,
        `four replicas with one roster\n${dump()}`,
      );
      expect(new Set(snapshots.map((s) => s.self.replicaId))).toEqual(new Set([0, 1, 2, 3]));
      const written = await d!.call<SubmitOutcome>('lab:submit', {
        kind: 'write',
        path: '/lab',
        text: 'four machines',
      });
      expect(written.result.kind).toBe('written');
      const read = await a!.call<SubmitOutcome>('lab:submit', { kind: 'read', path: '/lab' });
      expect(read.result).toMatchObject({ kind: 'data', text: 'four machines' });
    }, 150_000);

    it('machine D changes cluster from the menu (the start screen again, the cluster formed in its list) and goes back', async () => {
      const d = apps[3]!;
      const before = await snapshotOf(d);
      const menu = (await d.request('menu'))['menu'] as { submenu?: { id?: string; enabled: boolean }[] }[];
      expect(menu.flatMap((m) => m.submenu ?? []).find((i) => i.id === 'change-cluster')?.enabled).toBe(true);
      expect((await d.request('menu-click', { itemId: 'change-cluster' }))['error']).toBeUndefined();
      const choosing = await d.waitFor(
        async () => {
          const s = await state(d);
          return s.phase === 'choose' ? s : undefined;
        },
        20_000,
        'back on the start screen',
      );
      expect(choosing.previous).toMatchObject({ cluster, size: N });
      // The window was reloaded, so the page starts over on the start screen.
      expect((await d.request('reloads'))['reloads']).toBe(1);
      // A, B and C still announce it; their roster is agreed.
      const entry = await listed(d, N, true);
      expect(entry.machines.map((m) => m.role)).toContain('replica');

      await d.call('app:rejoin');
      await running(d);
      const again = await d.waitFor(
        async () => {
          const s = await snapshotOf(d);
          return s.self.role === 'replica' ? s : undefined;
        },
        30_000,
        'a replica again',
      );
      expect(again.self.replicaId).toBe(before.self.replicaId);
    }, 90_000);
  },
);
