/**
 * The preload: exposes `window.pbftLab` (PbftLabBridge: the LabApi's calls, `version`, events in
 * batches) and `window.pbftLabApp` (the start screen's calls), one function per call, and nothing
 * else (never `ipcRenderer` itself). Runs sandboxed, so it is built as one CommonJS file that
 * requires only `electron`.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { appBridgeKey } from '../shared/app-setup.ts';
import { labBridgeKey } from '../shared/ipc.ts';
import { createAppBridge, createLabBridge } from './bridge.ts';
import type { BridgeIpc } from './bridge.ts';

const ipc: BridgeIpc = ipcRenderer;

contextBridge.exposeInMainWorld(
  labBridgeKey,
  createLabBridge(ipc, (error) => console.error('PBFT Lab: a LabEvent listener threw:', error)),
);
contextBridge.exposeInMainWorld(appBridgeKey, createAppBridge(ipc));
