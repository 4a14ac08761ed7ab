import { createPinia, setActivePinia } from 'pinia';
import { flushPromises } from '@vue/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeLabApi } from '../test-support/fake-lab-api.ts';
import { useClientStore } from './client.ts';
import { useConnectionStore } from './connection.ts';
import { useMetricsStore } from './metrics.ts';

let api: FakeLabApi;

beforeEach(() => {
  setActivePinia(createPinia());
  api = new FakeLabApi();
  useConnectionStore().attach(api);
});

describe('client store', () => {
  it('submits an operation, keeps its outcome and records its latency', async () => {
    const client = useClientStore();
    const record = await client.submit({ kind: 'stat', path: '/a' });
    expect(record.outcome?.matching).toBe(3);
    expect(client.last).toBe(record);
    expect(useMetricsStore().latency.map((p) => p.latencyMs)).toEqual([42]);
  });

  it('after a write, lists / again so the file browser follows', async () => {
    api.submitOutcome = (op) => ({
      timestamp: 1,
      result:
        op.kind === 'list'
          ? { kind: 'listing', dir: '/', entries: [{ path: '/a', size: 1, version: 1, modifiedSeq: 1 }] }
          : { kind: 'written', stat: { path: '/a', size: 1, version: 1, modifiedSeq: 1 } },
      matching: 2,
      latencyMs: 5,
    });
    const client = useClientStore();
    await client.submit({ kind: 'write', path: '/a', text: 'x' });
    await flushPromises();
    expect(api.callsOf('submit').map(([op]) => (op as { kind: string }).kind)).toEqual(['write', 'list']);
    expect(client.files?.map((f) => f.path)).toEqual(['/a']);
  });

  it('keeps a failed submit as a record with its reason', async () => {
    api.failNext = new Error('the cluster has not formed yet: no roster');
    const client = useClientStore();
    const record = await client.submit({ kind: 'read', path: '/a' });
    expect(record.outcome).toBeNull();
    expect(record.error).toContain('not formed');
    expect(client.pending).toBe(0);
  });

  it('keeps a short history, newest first', async () => {
    const client = useClientStore();
    for (let i = 0; i < 10; i++) await client.submit({ kind: 'stat', path: `/f${i}` });
    expect(client.history).toHaveLength(6);
    expect(client.history[0]!.op).toEqual({ kind: 'stat', path: '/f9' });
  });

  it('browses with a read-only list / (§5.1), so opening a dashboard orders nothing (issue 15, point 5)', async () => {
    const client = useClientStore();
    await client.refreshFiles();
    expect(api.callsOf('submit').map(([op]) => op)).toEqual([{ kind: 'list', dir: '/', readOnly: true }]);
  });

  it('a refresh asked for while one runs follows it, once', async () => {
    const client = useClientStore();
    const first = client.refreshFiles();
    void client.refreshFiles();
    void client.refreshFiles();
    await first;
    await flushPromises();
    expect(api.callsOf('submit')).toHaveLength(2);
  });
});
