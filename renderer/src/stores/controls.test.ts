import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { EXCEED_F_MESSAGE } from '../../../core/host/lab-api.ts';
import { FakeLabApi, fakeSnapshot } from '../test-support/fake-lab-api.ts';
import { useConnectionStore } from './connection.ts';
import { useControlsStore } from './controls.ts';
import { useReplicaStore } from './replica.ts';

let api: FakeLabApi;

beforeEach(() => {
  setActivePinia(createPinia());
  api = new FakeLabApi();
  useConnectionStore().attach(api);
});

describe('controls store', () => {
  it('makes the replica Byzantine, then shows it from the refreshed snapshot', async () => {
    const controls = useControlsStore();
    await controls.loadCatalogue();
    expect(await controls.setBehaviour('silent')).toBe(true);
    expect(api.callsOf('setBehaviour')).toEqual([['silent']]);
    expect(useReplicaStore().behaviour).toBe('silent');
    expect(controls.active?.name).toBe('Silent');
    await controls.setBehaviour(null);
    expect(controls.active).toBeNull();
  });

  it('names a behaviour the catalogue does not know by its id', async () => {
    api.catalogue = [];
    api.snapshotValue = { ...api.snapshotValue, behaviour: 'mystery' };
    const controls = useControlsStore();
    await useReplicaStore().refresh();
    expect(controls.active).toEqual({ id: 'mystery', name: 'mystery', description: '', observe: '' });
  });

  it('reports a catalogue the host cannot give', async () => {
    api.behaviours = () => Promise.reject(new Error('unknown call behaviours'));
    const controls = useControlsStore();
    await controls.loadCatalogue();
    expect(controls.catalogueError).toBe('unknown call behaviours');
    expect(controls.catalogueLoaded).toBe(true);
  });

  it('sends fault commands and reports a refused one', async () => {
    const controls = useControlsStore();
    await controls.fault({ kind: 'pause' });
    expect(api.callsOf('fault')).toEqual([[{ kind: 'pause' }]]);
    api.failNext = new RangeError('delay must be 0..60000 ms');
    expect(await controls.fault({ kind: 'delay', ms: 1e9 })).toBe(false);
    expect(controls.error).toBe('delay must be 0..60000 ms');
    expect(controls.busy).toBe(false);
  });
});

describe('a switch beyond f (issue 19)', () => {
  const byzantineBefore = { 0: [{ n: 1, atMs: Date.UTC(2026, 11, 7, 9), behaviour: 'silent' }] };

  it('waits for a confirmation when the snapshot says it would make more than f faulty, then sends exceedF', async () => {
    api.snapshotValue = fakeSnapshot({ selfId: 2, histories: byzantineBefore });
    await useReplicaStore().refresh();
    const controls = useControlsStore();
    expect(await controls.setBehaviour('equivocate')).toBe(false);
    expect(controls.confirming).toEqual({ id: 'equivocate', refusal: null });
    expect(api.callsOf('setBehaviour')).toEqual([]);
    controls.cancelConfirmation();
    expect(controls.confirming).toBeNull();

    await controls.setBehaviour('equivocate');
    expect(await controls.confirmBeyondF()).toBe(true);
    expect(api.callsOf('setBehaviour')).toEqual([['equivocate', { exceedF: true }]]);
    expect(useReplicaStore().faulty).toMatchObject({ count: 2, beyondBound: true });
  });

  it('asks too when the host refuses a switch the snapshot did not see coming', async () => {
    const controls = useControlsStore();
    await useReplicaStore().refresh();
    // Replica 0's history reached the host after the dashboard's last snapshot.
    api.snapshotValue = fakeSnapshot({ selfId: 0, histories: { 1: byzantineBefore[0] } });
    expect(await controls.setBehaviour('silent')).toBe(false);
    expect(controls.confirming?.id).toBe('silent');
    expect(controls.confirming?.refusal).toContain(EXCEED_F_MESSAGE);
    expect(controls.error).toBeNull();
  });

  it('never asks to make the replica honest', async () => {
    // Replica 2 switched beyond f (confirmed) and is going back to honest.
    api.snapshotValue = fakeSnapshot({
      selfId: 2,
      behaviour: 'silent',
      histories: { ...byzantineBefore, 2: [{ n: 1, atMs: Date.UTC(2026, 11, 7, 10), behaviour: 'silent' }] },
    });
    await useReplicaStore().refresh();
    const controls = useControlsStore();
    expect(await controls.setBehaviour(null)).toBe(true);
    expect(controls.confirming).toBeNull();
  });
});
