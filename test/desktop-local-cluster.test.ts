/**
 * Issue 17, "offline, one machine": four desktop instances on a laptop with no network form a
 * cluster. Each is the built app's main process (electron stubbed) with its lab process, started
 * with the command line `npm run lab:local` gives it (electron/lab-local.mjs): a user-data directory
 * of its own, one local-only cluster, its join code. As root, all four run in a network namespace
 * with nothing but `lo` (no other interface, no route, no multicast); otherwise on this machine's
 * loopback, which a local-only cluster uses alone anyway (no mDNS, nothing but 127.0.0.1).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabSnapshot, SubmitOutcome } from '../core/host/lab-api.ts';
import { ClusterKey } from '../core/net/cluster-key.ts';
import type { SetupState } from '../electron/shared/app-setup.ts';
import { labLocalInstances } from '../electron/lab-local.mjs';
import { canUseNetns, OfflineNamespace } from './helpers/netns.ts';
import { buildApp, StubApp, type BuiltApp } from './helpers/stub-app.ts';

const netns = canUseNetns();
const N = 4;

describe(`four desktop instances, one local-only cluster (${netns.ok ? 'in a namespace with only lo' : `on this machine's loopback: ${netns.reason}`})`, () => {
  const offline = new OfflineNamespace();
  let built: BuiltApp;
  let base = '';
  const apps: StubApp[] = [];
  const lab = {
    dir: '',
    cluster: `local-${randomBytes(3).toString('hex')}`,
    size: N,
    joinCode: ClusterKey.generate().joinCode,
  };
  const dump = (): string => apps.map((a) => a.tail(25)).join('\n');

  beforeAll(async () => {
    built = await buildApp();
    base = await mkdtemp(join(tmpdir(), 'pbft-lab-local-'));
    lab.dir = base;
    if (netns.ok) offline.create();
  });

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.quit(10_000).catch(() => a.kill())));
    if (netns.ok) offline.destroy();
    await built?.remove();
    if (base) await rm(base, { recursive: true, force: true });
  });

  const startApp = (userDataDir: string, args: readonly string[], name: string): StubApp => {
    const app = new StubApp({
      mainFile: built.mainFile,
      userDataDir,
      args,
      name,
      wrapper: netns.ok ? offline.wrapper : undefined,
    });
    app.start();
    return app;
  };

  const snapshotOf = (app: StubApp): Promise<LabSnapshot> => app.call<LabSnapshot>('lab:snapshot');

  it('the namespace has no network but loopback', () => {
    if (!netns.ok) return;
    const links = execFileSync('ip', ['-n', offline.ns, '-o', 'link'], { encoding: 'utf8' });
    expect(
      links
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1]!.trim()),
    ).toEqual(['lo']);
    const routes = execFileSync('ip', ['-n', offline.ns, 'route', 'show', 'table', 'all'], { encoding: 'utf8' });
    expect(routes).not.toMatch(/224\.0\.0\.0|default/);
  });

  it('form one cluster on loopback, with no mDNS, and commit an operation', async () => {
    const started = Date.now();
    for (const instance of labLocalInstances(lab)) {
      apps.push(startApp(instance.userDataDir, instance.args, `machine-${instance.machine}`));
    }
    // Each window: the switches chose the cluster, so no start screen; the replica starts at once.
    for (const app of apps) {
      const state = await app.waitFor(
        async () => {
          const s = await app.call<SetupState>('app:state');
          return s.phase === 'running'
            ? s
            : s.phase === 'failed'
              ? Promise.reject(new Error(s.error ?? ''))
              : undefined;
        },
        30_000,
        'running',
      );
      expect(state.cluster).toMatchObject({ cluster: lab.cluster, size: N, local: true, mdns: false });
    }
    const snapshots = await apps[0]!.waitFor(
      async () => {
        const s = await Promise.all(apps.map(snapshotOf));
        return s.every((x) => x.self.role === 'replica' && x.roster.join() === s[0]!.roster.join()) ? s : undefined;
      },
      60_000,
      `four replicas with one roster\n${dump()}`,
    );
    console.log(`local cluster of ${N} formed ${Date.now() - started} ms after the four starts`);
    expect(new Set(snapshots.map((s) => s.self.replicaId))).toEqual(new Set([0, 1, 2, 3]));
    for (const s of snapshots) {
      expect(s.self.addresses.every((a) => a.startsWith('/ip4/127.0.0.1/'))).toBe(true);
      for (const peer of s.peers) expect(peer.addresses.every((a) => a.startsWith('/ip4/127.0.0.1/'))).toBe(true);
    }

    const written = await apps[1]!.call<SubmitOutcome>('lab:submit', {
      kind: 'write',
      path: '/offline',
      text: 'no wifi',
    });
    expect(written.result.kind).toBe('written');
    const read = await apps[3]!.call<SubmitOutcome>('lab:submit', { kind: 'read', path: '/offline' });
    expect(read.result).toMatchObject({ kind: 'data', text: 'no wifi' });
  }, 150_000);

  it('an instance restarted without switches starts the remembered cluster and rejoins as the same replica', async () => {
    const machine2 = labLocalInstances(lab)[1]!;
    const before = await snapshotOf(apps[1]!);
    expect(await apps[1]!.quit()).toBe(0);
    apps[1] = startApp(machine2.userDataDir, [], 'machine-2 again');
    const again = await apps[1].waitFor(
      async () => {
        const s = await snapshotOf(apps[1]!).catch(() => undefined);
        return s?.self.role === 'replica' ? s : undefined;
      },
      45_000,
      'a replica again',
    );
    expect(again.self.peerId).toBe(before.self.peerId);
    expect(again.self.replicaId).toBe(before.self.replicaId);
    expect(again.self.cluster).toBe(lab.cluster);
  }, 90_000);
});
