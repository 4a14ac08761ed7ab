/**
 * The preload: exposes `window.pbftLab`, one function per channel of the shared map, and nothing
 * else (never `ipcRenderer` itself). Runs sandboxed, so it is built as one CommonJS file that
 * requires only `electron`.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { labBridgeKey } from '../shared/ipc.ts';
import type { LabArgs, LabBridge, LabChannel, LabResult } from '../shared/ipc.ts';

/** A function that invokes one channel; the renderer never sees the channel name or the event. */
function invoker<C extends LabChannel>(channel: C): (...args: LabArgs<C>) => Promise<LabResult<C>> {
  return (...args) => ipcRenderer.invoke(channel, ...args) as Promise<LabResult<C>>;
}

const bridge: LabBridge = {
  version: invoker('lab:version'),
};

contextBridge.exposeInMainWorld(labBridgeKey, bridge);
