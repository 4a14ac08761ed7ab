// @vitest-environment happy-dom
/**
 * The start screen with a fake `window.pbftLabApp`: create (the code shown and copied), join a
 * cluster from the LAN list with its code, join by code and address, a failed start and the way
 * back, and what the forms refuse before asking main.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAppSetupStore } from '../../stores/app-setup.ts';
import { FAKE_JOIN_CODE, FakeAppBridge, lanCluster } from '../../test-support/fake-app-bridge.ts';
import StartView from './index.vue';

let wrapper: VueWrapper | null = null;
let bridge: FakeAppBridge;

beforeEach(() => {
  setActivePinia(createPinia());
  bridge = new FakeAppBridge();
  useAppSetupStore().attach(bridge);
});

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.restoreAllMocks();
});

async function mountStart(): Promise<VueWrapper> {
  wrapper = mount(StartView, { attachTo: document.body });
  await flushPromises();
  return wrapper;
}

describe('the start screen', () => {
  it('creates a cluster, shows its join code, copies it, and opens the dashboard once the replica runs', async () => {
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const w = await mountStart();
    await w.get('[data-testid=create-name]').setValue('room-101');
    await w.get('[data-testid=create-size-7]').setValue(true);
    await w.get('[data-testid=create-submit]').trigger('submit');
    await flushPromises();
    expect(bridge.requests).toEqual([
      { name: 'createCluster', args: [{ cluster: 'room-101', size: 7, local: false, dataDir: null }] },
    ]);
    expect(w.get('[data-testid=created-join-code]').text()).toBe(FAKE_JOIN_CODE);
    await w.get('[data-testid=copy-join-code]').trigger('click');
    await flushPromises();
    expect(writeText).toHaveBeenCalledWith(FAKE_JOIN_CODE);
    expect(w.find('[data-testid=copied]').exists()).toBe(true);

    const open = w.get('[data-testid=open-dashboard]');
    expect(open.attributes('disabled')).toBeDefined();
    bridge.set({ phase: 'running' });
    await useAppSetupStore().refresh();
    await flushPromises();
    expect(open.attributes('disabled')).toBeUndefined();
    await open.trigger('click');
    expect(useAppSetupStore().dashboardReady).toBe(true);
  });

  it('selects the code for Ctrl+C when the clipboard is refused', async () => {
    Object.defineProperty(navigator, 'clipboard', {
      value: { writeText: vi.fn(async () => Promise.reject(new Error('denied'))) },
      configurable: true,
    });
    const w = await mountStart();
    await w.get('[data-testid=create-submit]').trigger('submit');
    await flushPromises();
    await w.get('[data-testid=copy-join-code]').trigger('click');
    await flushPromises();
    expect(w.text()).toContain('press Ctrl+C');
  });

  it('creates a local cluster in a chosen data directory', async () => {
    const w = await mountStart();
    await w.get('[data-testid=create-local]').setValue(true);
    await w.get('[data-testid=create-cluster] [data-testid=choose-data-dir]').trigger('click');
    await flushPromises();
    expect(w.get('[data-testid=create-cluster] [data-testid=data-dir-chosen]').text()).toBe('/media/usb/pbft');
    await w.get('[data-testid=create-submit]').trigger('submit');
    await flushPromises();
    expect(bridge.requests.at(-1)).toEqual({
      name: 'createCluster',
      args: [{ cluster: 'pbft-lab', size: 4, local: true, dataDir: '/media/usb/pbft' }],
    });
  });

  it('lists the clusters seen on the LAN, and joins one with its code: its name, size and addresses go along', async () => {
    bridge.set({
      lan: {
        clusters: [
          lanCluster(),
          lanCluster({ cluster: 'evening', size: 7, fingerprint: 'ffff0000', members: 7, formed: true }),
        ],
        error: null,
      },
    });
    const w = await mountStart();
    const rows = w.findAll('[data-testid=lan-cluster]');
    expect(rows.map((r) => r.attributes('data-cluster'))).toEqual(['room-101', 'evening']);
    expect(rows[0]!.text()).toContain('2 of 4 so far');
    expect(rows[0]!.text()).toContain('099b930e');
    expect(rows[1]!.text()).toContain('formed: 7 of 7');

    await rows[0]!.get('[data-testid=lan-pick]').trigger('click');
    await w.get('[data-testid=join-code]').setValue('too short');
    await w.get('[data-testid=join-submit]').trigger('submit');
    await flushPromises();
    expect(w.text()).toContain('a join code has 56 letters and digits, this one 8');
    expect(bridge.requests).toEqual([]);

    await w.get('[data-testid=join-code]').setValue(FAKE_JOIN_CODE.toLowerCase());
    await w.get('[data-testid=join-submit]').trigger('submit');
    await flushPromises();
    expect(bridge.requests).toEqual([
      {
        name: 'joinCluster',
        args: [
          {
            cluster: 'room-101',
            size: 4,
            joinCode: FAKE_JOIN_CODE.toLowerCase(),
            join: [lanCluster().machines[0]!.addresses[0]],
            local: false,
            dataDir: null,
          },
        ],
      },
    ]);
    expect(w.find('[data-testid=starting]').exists()).toBe(true);
  });

  it('joins by code and address where mDNS is blocked, and shows what main refused', async () => {
    const w = await mountStart();
    expect(w.find('[data-testid=lan-empty]').exists()).toBe(true);
    await w.get('[data-testid=join-manual]').trigger('click');
    await w.get('[data-testid=join-name]').setValue('room-204');
    await w.get('[data-testid=join-size]').setValue('7');
    await w.get('[data-testid=join-address]').setValue(' /ip4/192.168.1.20/tcp/41234 ');
    await w.get('[data-testid=join-code]').setValue(FAKE_JOIN_CODE);
    bridge.failNext = 'join code: the join code does not check out: a character is mistyped';
    await w.get('[data-testid=join-submit]').trigger('submit');
    await flushPromises();
    expect(w.get('[data-testid=join-error]').text()).toContain('a character is mistyped');
    await w.get('[data-testid=join-submit]').trigger('submit');
    await flushPromises();
    expect(bridge.requests.at(-1)!.args[0]).toMatchObject({
      cluster: 'room-204',
      size: 7,
      join: ['/ip4/192.168.1.20/tcp/41234'],
    });
  });

  it('shows why the replica did not start, and tries again', async () => {
    const cluster = { cluster: 'room-101', size: 4, dataDir: '/d', local: false, join: [], mdns: true };
    bridge.set({
      phase: 'failed',
      cluster,
      error: 'PBFT Lab cannot use its data directory: in use by another process',
    });
    const w = await mountStart();
    expect(w.get('[data-testid=start-error]').text()).toContain('in use by another process');
    await w.get('[data-testid=retry]').trigger('click');
    await flushPromises();
    expect(bridge.requests.map((r) => r.name)).toEqual(['rejoin']);
  });

  it('offers the cluster before a change from the menu', async () => {
    bridge.set({ previous: { cluster: 'room-101', size: 4, dataDir: '/d', local: true, join: [], mdns: false } });
    const w = await mountStart();
    expect(w.get('[data-testid=previous-cluster]').text()).toContain('"room-101" of 4 (this computer only)');
    await w.get('[data-testid=back-to-previous]').trigger('click');
    await flushPromises();
    expect(bridge.requests.map((r) => r.name)).toEqual(['rejoin']);
  });
});
