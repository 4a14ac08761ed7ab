import type { LabBridge, labBridgeKey } from '../../electron/shared/ipc.ts';

declare global {
  interface Window {
    /** The preload bridge (`pbftLab`); absent when the dashboard runs outside Electron (headless, tests). */
    readonly [labBridgeKey]?: LabBridge;
  }
}
