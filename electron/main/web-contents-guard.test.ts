import { EventEmitter } from 'node:events';
import type { WebContents } from 'electron';
import { describe, expect, it } from 'vitest';
import { guardWebContents } from './web-contents-guard.ts';
import { isAppUrl, resolveRendererEntry } from './window.ts';

const appEntry = resolveRendererEntry({ isPackaged: true, devServerUrl: undefined, mainDir: '/opt/pbft-lab/out/main' });
const isAllowed = (url: string) => isAppUrl(url, appEntry);

/** Just enough of a WebContents: events to emit and the window-open handler main installs. */
function guardedContents() {
  const emitter = new EventEmitter();
  let windowOpenHandler: ((details: { url: string }) => unknown) | null = null;
  const contents = Object.assign(emitter, {
    setWindowOpenHandler(handler: (details: { url: string }) => unknown) {
      windowOpenHandler = handler;
    },
  });
  const log: string[] = [];
  guardWebContents(contents as unknown as WebContents, isAllowed, (line) => log.push(line));
  /** Emits `event` as Electron would and says whether a listener prevented it. */
  const prevented = (event: string, details: Record<string, unknown> = {}): boolean => {
    let wasPrevented = false;
    emitter.emit(event, { ...details, preventDefault: () => (wasPrevented = true) });
    return wasPrevented;
  };
  return { prevented, openWindow: (url: string) => windowOpenHandler?.({ url }), log };
}

const away = ['https://example.com/', 'http://127.0.0.1:8080/', 'file:///etc/passwd', 'app://evil.example/index.html'];

describe('guardWebContents', () => {
  it('refuses navigation away from the app page and lets the page reload or change its hash', () => {
    const { prevented, log } = guardedContents();
    for (const url of away) expect(prevented('will-navigate', { url }), url).toBe(true);
    expect(prevented('will-navigate', { url: 'app://pbft-lab/index.html#/log' })).toBe(false);
    expect(log).toContain('refused will-navigate to https://example.com/');
  });

  it('refuses a redirect away like a navigation away (it stops the whole navigation)', () => {
    const { prevented, log } = guardedContents();
    for (const url of away) expect(prevented('will-redirect', { url }), url).toBe(true);
    expect(prevented('will-redirect', { url: 'app://pbft-lab/index.html' })).toBe(false);
    expect(log).toContain('refused will-redirect to file:///etc/passwd');
  });

  it('refuses a subframe navigating away, and leaves the main frame to will-navigate', () => {
    const { prevented, log } = guardedContents();
    expect(prevented('will-frame-navigate', { url: 'https://example.com/', isMainFrame: false })).toBe(true);
    expect(prevented('will-frame-navigate', { url: 'app://pbft-lab/index.html', isMainFrame: false })).toBe(false);
    expect(prevented('will-frame-navigate', { url: 'https://example.com/', isMainFrame: true })).toBe(false);
    expect(log).toEqual(['refused will-frame-navigate to https://example.com/']);
  });

  it('denies every new window, the app page included', () => {
    const { openWindow, log } = guardedContents();
    expect(openWindow('https://example.com/')).toEqual({ action: 'deny' });
    expect(openWindow('app://pbft-lab/index.html')).toEqual({ action: 'deny' });
    expect(log).toContain('refused a new window for https://example.com/');
  });

  it('refuses to attach a webview', () => {
    const { prevented } = guardedContents();
    expect(prevented('will-attach-webview')).toBe(true);
  });
});
