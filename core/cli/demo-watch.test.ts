/** The demo names replicas by their ids, and says when the cluster has formed (issue 15, points 1 and 7). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDataDir } from '../host/storage.ts';
import { prepareDemoMembers } from './demo-identities.ts';
import { DemoWatch } from './demo-watch.ts';

describe('the demo', () => {
  it('makes the identities first, so replica-K holds the K-th smallest peer id (the roster order)', async () => {
    const base = await mkdtemp(join(tmpdir(), 'pbft-lab-demo-test-'));
    try {
      const members = await prepareDemoMembers(base, 'demo-t', 4);
      expect(members.map((m) => m.replicaId)).toEqual([0, 1, 2, 3]);
      expect(members.map((m) => m.peerId)).toEqual(members.map((m) => m.peerId).sort());
      for (const m of members) {
        const data = await openDataDir({ dir: join(base, `replica-${m.replicaId}`), cluster: 'demo-t', size: 4 });
        expect(data.peerId).toBe(m.peerId);
        await data.close();
      }
      // Run again on the same directory: the same members, in the same places.
      expect(await prepareDemoMembers(base, 'demo-t', 4)).toEqual(members);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('prints progress while forming and one table of replica → dashboard once every replica started', () => {
    const watch = new DemoWatch(4, 0);
    for (let k = 0; k < 4; k++) {
      watch.onLine(k, `dashboard and API: http://127.0.0.1:${7400 + k}/?token=t${k}`, 10);
      watch.onLine(k, `join with: --join /ip4/127.0.0.1/tcp/${4000 + k}/p2p/P${k}`, 10);
    }
    expect(watch.joinAddresses()).toHaveLength(4);
    expect(watch.onLine(0, '10:00:00.000 replica 0 started in view 0, stable checkpoint 0', 900)).toBe(false);
    expect(watch.progress('demo-x', 1000)).toBe(
      'forming cluster "demo-x": 4/4 listening, 1/4 replicas started (1.0 s)',
    );
    watch.onLine(1, '10:00:00.000 replica 1 started in view 0, stable checkpoint 0', 1000);
    watch.onLine(3, '10:00:00.000 replica 3 started in view 0, stable checkpoint 0', 1000);
    expect(watch.onLine(2, '10:00:00.000 replica 2 started in view 0, stable checkpoint 0', 1500)).toBe(true);
    expect(watch.table('demo-x')).toEqual([
      'cluster "demo-x" formed in 1.5 s; replica 0 is the primary of view 0. Dashboards:',
      '  replica 0  http://127.0.0.1:7400/?token=t0',
      '  replica 1  http://127.0.0.1:7401/?token=t1',
      '  replica 2  http://127.0.0.1:7402/?token=t2',
      '  replica 3  http://127.0.0.1:7403/?token=t3',
    ]);
  });
});
