// @vitest-environment happy-dom
import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { LabBridge } from '../../electron/shared/ipc.ts';
import App from './App.vue';

/** Stands in for the preload bridge that Electron exposes as window.pbftLab. */
function installBridge(bridge: LabBridge): void {
  Object.defineProperty(window, 'pbftLab', { value: bridge, configurable: true });
}

afterEach(() => {
  Reflect.deleteProperty(window, 'pbftLab');
});

describe('App', () => {
  it('shows the title', () => {
    const wrapper = mount(App);
    expect(wrapper.get('h1').text()).toBe('PBFT Lab');
    expect(wrapper.text()).toContain('dashboard coming');
  });

  it('shows the version reported through the bridge', async () => {
    installBridge({ version: () => Promise.resolve('1.2.3') });
    const wrapper = mount(App);
    await flushPromises();
    expect(wrapper.get('.version').text()).toBe('version 1.2.3');
  });

  it('shows no version outside Electron', async () => {
    const wrapper = mount(App);
    await flushPromises();
    expect(wrapper.find('.version').exists()).toBe(false);
  });
});
