import type { PbftLabAppBridge, PbftLabBridge } from './api/lab.ts';

declare global {
  interface Window {
    /** The Electron preload's bridge; absent when the dashboard is served headless (and in tests). */
    readonly pbftLab?: PbftLabBridge;
    /** The start screen's calls (the desktop app only); absent headless and in tests. */
    readonly pbftLabApp?: PbftLabAppBridge;
  }
}
