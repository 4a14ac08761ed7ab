/**
 * The preload: exposes `window.pbftLab` (PbftLabBridge: the LabApi plus `version`), one function
 * per call, and nothing else (never `ipcRenderer` itself). Runs sandboxed, so it is built as one
 * CommonJS file that requires only `electron`.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { labBridgeKey } from '../shared/ipc.ts';
import { createLabBridge } from './bridge.ts';
import type { BridgeIpc } from './bridge.ts';

const ipc: BridgeIpc = ipcRenderer;

contextBridge.exposeInMainWorld(
  labBridgeKey,
  createLabBridge(ipc, (error) => console.error('PBFT Lab: a LabEvent listener threw:', error)),
);
