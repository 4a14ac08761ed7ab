/**
 * `window.pbftLab` and `window.pbftLabApp`, built from a minimal IPC interface so they are tested
 * under Node with a fake (bridge.test.ts); index.ts hands them Electron's `ipcRenderer` and exposes
 * the results.
 *
 * The bridges hold functions only, never `ipcRenderer` or an IPC event: the renderer can make the
 * LabApi's calls and the start screen's, and nothing else. Events reach the page a batch per call.
 */
import type { LabEvent } from '../../core/host/lab-api.ts';
import { labEventsChannel, labListenChannel } from '../shared/ipc.ts';
import type { LabChannel, LabChannelArgs, LabChannelResult, LabIpcReply, PbftLabBridge } from '../shared/ipc.ts';
import type { AppChannel, AppIpc, PbftLabAppBridge } from '../shared/app-setup.ts';

/** What the bridge uses of `ipcRenderer`. */
export interface BridgeIpc {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  send(channel: string, ...args: unknown[]): void;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/** A LabApi call failed in the main process; `message` is the host's own. */
export class LabCallError extends Error {
  constructor(remote: { readonly name: string; readonly message: string }) {
    super(remote.message);
    // Lost when the error crosses the contextBridge (only the message survives), kept for callers
    // inside the preload world and for tests.
    this.name = remote.name;
  }
}

/** Invokes a channel and unwraps main's reply: the value, or a LabCallError with the host's message. */
function invoker(ipc: BridgeIpc) {
  return async (channel: string, args: readonly unknown[]): Promise<unknown> => {
    const reply = (await ipc.invoke(channel, ...args)) as LabIpcReply<unknown>;
    if (reply.ok) return reply.value;
    throw new LabCallError(reply.error);
  };
}

export function createLabBridge(ipc: BridgeIpc, reportListenerError: (error: unknown) => void): PbftLabBridge {
  const invoke = invoker(ipc);
  const call =
    <C extends LabChannel>(channel: C) =>
    (...args: LabChannelArgs<C>): Promise<LabChannelResult<C>> =>
      invoke(channel, args) as Promise<LabChannelResult<C>>;

  // Listeners by subscription: subscribing the same function twice gives two subscriptions.
  const listeners = new Map<symbol, (events: readonly LabEvent[]) => void>();
  let listening = false;
  const deliver = (_event: unknown, events: unknown): void => {
    if (!Array.isArray(events) || events.length === 0) return;
    for (const listener of [...listeners.values()]) {
      // One call per batch: it crosses the contextBridge once. A listener's error costs the others nothing.
      try {
        listener(events as LabEvent[]);
      } catch (error) {
        reportListenerError(error);
      }
    }
  };

  return {
    version: call('lab:version'),
    snapshot: call('lab:snapshot'),
    submit: call('lab:submit'),
    fault: call('lab:fault'),
    revokeClient: call('lab:revokeClient'),
    behaviours: call('lab:behaviours'),
    setBehaviour: call('lab:setBehaviour'),
    room: call('lab:room'),
    subscribeBatches(listener) {
      if (typeof listener !== 'function') throw new TypeError('subscribeBatches: expected a listener function');
      // Like a WebSocket connection, the page starts its event stream once (main replays the host's
      // recent history, then sends live events) and keeps it until it unloads; subscribe and
      // unsubscribe only add and remove listeners here, so a later subscriber gets no old events.
      if (!listening) {
        listening = true;
        ipc.on(labEventsChannel, deliver);
        ipc.send(labListenChannel);
      }
      const key = Symbol('subscription');
      listeners.set(key, listener);
      return () => {
        listeners.delete(key);
      };
    },
  };
}

/** `window.pbftLabApp`: the start screen's calls (electron/shared/app-setup.ts), one function per channel. */
export function createAppBridge(ipc: BridgeIpc): PbftLabAppBridge {
  const invoke = invoker(ipc);
  const call =
    <C extends AppChannel>(channel: C) =>
    (...args: AppIpc[C]['args']): Promise<AppIpc[C]['result']> =>
      invoke(channel, args) as Promise<AppIpc[C]['result']>;
  return {
    state: call('app:state'),
    createCluster: call('app:createCluster'),
    joinCluster: call('app:joinCluster'),
    rejoin: call('app:rejoin'),
    changeCluster: call('app:changeCluster'),
    chooseDataDir: call('app:chooseDataDir'),
  };
}
