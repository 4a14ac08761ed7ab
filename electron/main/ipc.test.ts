import { describe, expect, it } from 'vitest';
import type { IpcMainInvokeEvent } from 'electron';
import { registerLabHandlers, UntrustedSenderError } from './ipc.ts';

type Listener = (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown;

/** Just enough of ipcMain: remembers handlers so the test can invoke them. */
function fakeIpcMain() {
  const listeners = new Map<string, Listener>();
  return {
    listeners,
    handle(channel: string, listener: Listener) {
      if (listeners.has(channel)) throw new Error(`second handler for ${channel}`);
      listeners.set(channel, listener);
    },
    removeHandler(channel: string) {
      listeners.delete(channel);
    },
    invoke(channel: string, senderUrl: string | null, ...args: unknown[]) {
      const listener = listeners.get(channel);
      if (listener === undefined) throw new Error(`no handler for ${channel}`);
      const event = { senderFrame: senderUrl === null ? null : { url: senderUrl } } as unknown as IpcMainInvokeEvent;
      return listener(event, ...args);
    },
  };
}

const appUrl = 'file:///opt/pbft-lab/out/renderer/index.html';
const isTrusted = (url: string) => url === appUrl;

describe('registerLabHandlers', () => {
  it('answers lab:version from the app page', () => {
    const ipcMain = fakeIpcMain();
    registerLabHandlers(ipcMain, { 'lab:version': () => '0.1.0' }, isTrusted);
    expect(ipcMain.invoke('lab:version', appUrl)).toBe('0.1.0');
  });

  it('refuses frames that are not the app page', () => {
    const ipcMain = fakeIpcMain();
    registerLabHandlers(ipcMain, { 'lab:version': () => '0.1.0' }, isTrusted);
    expect(() => ipcMain.invoke('lab:version', 'https://example.com/')).toThrow(
      expect.objectContaining({ name: 'UntrustedSenderError' }),
    );
    expect(() => ipcMain.invoke('lab:version', null)).toThrow(UntrustedSenderError);
  });

  it('removes every handler it registered', () => {
    const ipcMain = fakeIpcMain();
    const remove = registerLabHandlers(ipcMain, { 'lab:version': () => '0.1.0' }, isTrusted);
    expect([...ipcMain.listeners.keys()]).toEqual(['lab:version']);
    remove();
    expect(ipcMain.listeners.size).toBe(0);
  });
});
