// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PbftLabBridge } from './api/lab.ts';
import App from './App.vue';
import { useAppSetupStore } from './stores/app-setup.ts';
import { useConnectionStore } from './stores/connection.ts';
import { FakeAppBridge } from './test-support/fake-app-bridge.ts';
import { fakeBridge, FakeLabApi } from './test-support/fake-lab-api.ts';

/** Stands in for the preload bridge that Electron exposes as window.pbftLab. */
function installBridge(bridge: PbftLabBridge): void {
  Object.defineProperty(window, 'pbftLab', { value: bridge, configurable: true });
}

let unmount: (() => void) | null = null;

beforeEach(() => {
  setActivePinia(createPinia());
});

afterEach(() => {
  unmount?.();
  unmount = null;
  Reflect.deleteProperty(window, 'pbftLab');
});

describe('App', () => {
  it('in Electron, connects through window.pbftLab and shows the dashboard with the version', async () => {
    const fake = new FakeLabApi();
    installBridge(fakeBridge(fake, () => Promise.resolve('1.2.3')));
    const wrapper = mount(App);
    unmount = () => wrapper.unmount();
    await flushPromises();
    expect(useConnectionStore().transport).toBe('electron');
    expect(wrapper.get('[data-testid=connection-status]').text()).toContain('Electron');
    expect(wrapper.text()).toContain('v1.2.3');
    expect(wrapper.get('[data-testid=dashboard-title]').text()).toBe('PBFT Lab — replica 0');
    expect(fake.callsOf('snapshot').length).toBeGreaterThan(0);
  });

  it('says so when the replica cannot be reached', async () => {
    const connection = useConnectionStore();
    await connection.connect({
      bridge: undefined,
      href: 'http://127.0.0.1:1/?token=x',
      replaceUrl: () => {},
      connect: () => Promise.reject(new Error('could not connect to ws://127.0.0.1:1/api/ws')),
    });
    const wrapper = mount(App);
    unmount = () => wrapper.unmount();
    expect(wrapper.get('[data-testid=connection-error]').text()).toContain('could not connect');
    expect(wrapper.find('[data-testid=cluster-panel]').exists()).toBe(false);
  });

  it('in the desktop app, shows the start screen while no cluster runs, and the dashboard once one does', async () => {
    const app = new FakeAppBridge();
    Object.defineProperty(window, 'pbftLabApp', { value: app, configurable: true });
    const fake = new FakeLabApi();
    installBridge(fakeBridge(fake));
    const wrapper = mount(App);
    unmount = () => wrapper.unmount();
    await flushPromises();
    expect(wrapper.find('[data-testid=start-screen]').exists()).toBe(true);
    expect(useConnectionStore().status).toBe('idle');
    expect(fake.callsOf('snapshot')).toEqual([]);

    app.set({ phase: 'running' });
    await useAppSetupStore().refresh();
    await flushPromises();
    expect(wrapper.find('[data-testid=start-screen]').exists()).toBe(false);
    expect(useConnectionStore().transport).toBe('electron');
    expect(fake.callsOf('snapshot').length).toBeGreaterThan(0);
    Reflect.deleteProperty(window, 'pbftLabApp');
  });
});
