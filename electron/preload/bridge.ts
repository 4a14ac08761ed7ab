/**
 * `window.pbftLab`, built from a minimal IPC interface so it is tested under Node with a fake
 * (bridge.test.ts); index.ts hands it Electron's `ipcRenderer` and exposes the result.
 *
 * The bridge holds functions only, never `ipcRenderer` or an IPC event: the renderer can make the
 * LabApi's calls and nothing else.
 */
import type { LabEvent } from '../../core/host/lab-api.ts';
import { labEventsChannel, labListenChannel } from '../shared/ipc.ts';
import type { LabChannel, LabChannelArgs, LabChannelResult, LabIpcReply, PbftLabBridge } from '../shared/ipc.ts';

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

export function createLabBridge(ipc: BridgeIpc, reportListenerError: (error: unknown) => void): PbftLabBridge {
  const call =
    <C extends LabChannel>(channel: C) =>
    async (...args: LabChannelArgs<C>): Promise<LabChannelResult<C>> => {
      const reply = (await ipc.invoke(channel, ...args)) as LabIpcReply<LabChannelResult<C>>;
      if (reply.ok) return reply.value;
      throw new LabCallError(reply.error);
    };

  // Listeners by subscription: subscribing the same function twice gives two subscriptions.
  const listeners = new Map<symbol, (event: LabEvent) => void>();
  let listening = false;
  const deliver = (_event: unknown, events: unknown): void => {
    if (!Array.isArray(events)) return;
    for (const event of events as LabEvent[]) {
      for (const listener of [...listeners.values()]) {
        // One listener's error must not cost the others (or the rest of the batch) their events.
        try {
          listener(event);
        } catch (error) {
          reportListenerError(error);
        }
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
    subscribe(listener) {
      if (typeof listener !== 'function') throw new TypeError('subscribe: expected a listener function');
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
