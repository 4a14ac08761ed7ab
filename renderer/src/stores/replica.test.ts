import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeLabApi, fakeSnapshot } from '../test-support/fake-lab-api.ts';
import { useConnectionStore } from './connection.ts';
import { useMetricsStore } from './metrics.ts';
import { useReplicaStore } from './replica.ts';

let api: FakeLabApi;

beforeEach(() => {
  setActivePinia(createPinia());
  api = new FakeLabApi();
  useConnectionStore().attach(api);
});

describe('replica store', () => {
  it('takes the roster, view and log from a snapshot', async () => {
    api.snapshotValue = fakeSnapshot({
      selfId: 1,
      view: 1,
      log: [{ seq: 4, view: 1, digest: 'ab'.repeat(32), batchSize: 2, prepares: 2, commits: 3, phase: 'executed' }],
    });
    const replica = useReplicaStore();
    await replica.refresh();
    expect(replica.roster.find((r) => r.isPrimary)?.replicaId).toBe(1);
    expect(replica.isPrimary).toBe(true);
    expect(replica.logRows[0]).toMatchObject({ seq: 4, phase: 'executed', commits: { met: true, label: '3/2f+1=3' } });
    expect(replica.error).toBeNull();
  });

  it('joins a refresh already on its way instead of sending another', async () => {
    const replica = useReplicaStore();
    await Promise.all([replica.refresh(), replica.refresh(), replica.refresh()]);
    expect(api.callsOf('snapshot')).toHaveLength(1);
    await replica.refresh();
    expect(api.callsOf('snapshot')).toHaveLength(2);
  });

  it('keeps the last snapshot and reports the error when a refresh fails', async () => {
    const replica = useReplicaStore();
    await replica.refresh();
    api.failNext = new Error('the connection closed');
    await replica.refresh();
    expect(replica.error).toBe('the connection closed');
    expect(replica.snapshot).not.toBeNull();
  });

  it('feeds the throughput history from snapshot deltas', async () => {
    const replica = useReplicaStore();
    api.snapshotValue = fakeSnapshot({ uptimeMs: 1_000, executedRequests: 0 });
    await replica.refresh();
    api.snapshotValue = fakeSnapshot({ uptimeMs: 1_500, executedRequests: 10 });
    await replica.refresh();
    api.snapshotValue = fakeSnapshot({ uptimeMs: 2_000, executedRequests: 15 });
    await replica.refresh();
    expect(useMetricsStore().throughput).toEqual([
      { atMs: 1_500, perSecond: 20 },
      { atMs: 2_000, perSecond: 10 },
    ]);
  });

  it('starts the throughput history afresh when the host restarted', async () => {
    const replica = useReplicaStore();
    for (const [uptimeMs, executedRequests] of [
      [1_000, 0],
      [1_500, 10],
      [200, 0],
      [700, 5],
    ] as const) {
      api.snapshotValue = fakeSnapshot({ uptimeMs, executedRequests });
      await replica.refresh();
    }
    expect(useMetricsStore().throughput).toEqual([{ atMs: 700, perSecond: 10 }]);
  });
});
