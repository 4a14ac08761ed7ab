import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeLabApi } from '../test-support/fake-lab-api.ts';
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
