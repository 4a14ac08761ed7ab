import { describe, expect, it } from 'vitest';
import { LAB_API_CALLS } from '../../core/host/lab-api.ts';
import type { LabEvent, LabOp } from '../../core/host/lab-api.ts';
import type { LabIpcReply } from '../shared/ipc.ts';
import { APP_CHANNELS } from '../shared/app-setup.ts';
import { createAppBridge, createLabBridge } from './bridge.ts';
import type { BridgeIpc } from './bridge.ts';

type IpcListener = (event: unknown, ...args: unknown[]) => void;

/** Stands in for ipcRenderer: records invokes and sends, and lets the test push events. */
function fakeIpcRenderer(reply: (channel: string, args: unknown[]) => LabIpcReply<unknown>) {
  const invoked: [string, ...unknown[]][] = [];
  const sent: [string, ...unknown[]][] = [];
  const listeners = new Map<string, IpcListener[]>();
  const ipc: BridgeIpc = {
    async invoke(channel, ...args) {
      invoked.push([channel, ...args]);
      return reply(channel, args);
    },
    send(channel, ...args) {
      sent.push([channel, ...args]);
    },
    on(channel, listener) {
      listeners.set(channel, [...(listeners.get(channel) ?? []), listener]);
    },
    removeListener(channel, listener) {
      listeners.set(
        channel,
        (listeners.get(channel) ?? []).filter((l) => l !== listener),
      );
    },
  };
  const push = (channel: string, payload: unknown): void => {
    for (const listener of listeners.get(channel) ?? []) listener({ sender: 'ipc event' }, payload);
  };
  return { ipc, invoked, sent, listeners, push };
}

const ok = (value: unknown): LabIpcReply<unknown> => ({ ok: true, value });

function logEvent(atMs: number): LabEvent {
  return { kind: 'log', atMs, line: `line ${atMs}` };
}

describe('createLabBridge', () => {
  it('exposes exactly the LabApi calls, subscribeBatches and version, all functions', () => {
    const { ipc } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    expect(Object.keys(bridge).sort()).toEqual([...LAB_API_CALLS, 'subscribeBatches', 'version'].sort());
    for (const value of Object.values(bridge)) expect(typeof value).toBe('function');
  });

  it('invokes one channel per call with the arguments, and resolves with the value', async () => {
    const { ipc, invoked } = fakeIpcRenderer((channel, args) => ok({ channel, args }));
    const bridge = createLabBridge(ipc, () => {});
    const op: LabOp = { kind: 'list', dir: '/' };

    expect(await bridge.submit(op)).toEqual({ channel: 'lab:submit', args: [op] });
    await bridge.version();
    await bridge.snapshot();
    await bridge.fault({ kind: 'resume' });
    await bridge.revokeClient('client-1');
    await bridge.behaviours();
    await bridge.setBehaviour(null);

    expect(invoked).toEqual([
      ['lab:submit', op],
      ['lab:version'],
      ['lab:snapshot'],
      ['lab:fault', { kind: 'resume' }],
      ['lab:revokeClient', 'client-1'],
      ['lab:behaviours'],
      ['lab:setBehaviour', null],
    ]);
  });

  it("rejects with the host's message when main replies with an error", async () => {
    const { ipc } = fakeIpcRenderer(() => ({
      ok: false,
      error: { name: 'BadRequestError', message: 'op.kind: expected write, append, read, delete, stat or list' },
    }));
    const bridge = createLabBridge(ipc, () => {});
    await expect(bridge.submit({ kind: 'format' } as unknown as LabOp)).rejects.toMatchObject({
      name: 'BadRequestError',
      message: 'op.kind: expected write, append, read, delete, stat or list',
    });
  });
});

describe('subscribeBatches', () => {
  it('asks main for events once, with the first listener, and keeps the stream for the page', () => {
    const { ipc, sent, listeners } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    expect(sent).toEqual([]);

    const first = bridge.subscribeBatches(() => {});
    const second = bridge.subscribeBatches(() => {});
    first();
    second();
    bridge.subscribeBatches(() => {});

    expect(sent).toEqual([['lab:listen']]);
    expect(listeners.get('lab:events')).toHaveLength(1);
  });

  it('calls each listener once per batch, with the whole batch in order: one contextBridge crossing, not one per event', () => {
    const { ipc, push } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    const calls: LabEvent[][] = [];
    bridge.subscribeBatches((events) => calls.push([...events]));
    const batch = Array.from({ length: 2_000 }, (_, i) => logEvent(i));
    push('lab:events', batch);
    push('lab:events', [logEvent(2_000)]);
    expect(calls.map((c) => c.length)).toEqual([2_000, 1]);
    expect(calls[0]).toEqual(batch);
  });

  it('gives a later subscriber only the batches that arrive after it subscribed; never the IPC event', () => {
    const { ipc, push } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    const early: unknown[][] = [];
    const late: unknown[][] = [];
    bridge.subscribeBatches((events) => early.push([...events]));
    push('lab:events', [logEvent(1)]);
    const unsubscribe = bridge.subscribeBatches((events) => late.push([...events]));
    push('lab:events', [logEvent(2)]);
    unsubscribe();
    unsubscribe(); // a second call changes nothing
    push('lab:events', [logEvent(3)]);
    expect(early).toEqual([[logEvent(1)], [logEvent(2)], [logEvent(3)]]);
    expect(late).toEqual([[logEvent(2)]]);
  });

  it('reports a throwing listener and still delivers the batch to the others; ignores an empty or malformed batch', () => {
    const { ipc, push } = fakeIpcRenderer(() => ok(null));
    const reported: unknown[] = [];
    const bridge = createLabBridge(ipc, (error) => reported.push(error));
    const seen: number[] = [];
    bridge.subscribeBatches(() => {
      throw new Error('listener bug');
    });
    bridge.subscribeBatches((events) => seen.push(events.length));
    push('lab:events', [logEvent(1), logEvent(2)]);
    push('lab:events', []);
    push('lab:events', 'not a batch');
    expect(seen).toEqual([2]);
    expect(reported).toEqual([new Error('listener bug')]);
  });

  it('refuses a listener that is not a function', () => {
    const { ipc, sent } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    expect(() => bridge.subscribeBatches('alert' as unknown as () => void)).toThrow(TypeError);
    expect(sent).toEqual([]);
  });
});

describe('createAppBridge', () => {
  it('exposes one function per app channel, invoking it and unwrapping the reply', async () => {
    const { ipc, invoked } = fakeIpcRenderer((channel, args) =>
      channel === 'app:joinCluster'
        ? { ok: false, error: { name: 'BadRequestError', message: 'check the code' } }
        : ok({ channel, args }),
    );
    const bridge = createAppBridge(ipc);
    expect(Object.keys(bridge).sort()).toEqual(APP_CHANNELS.map((c) => c.slice('app:'.length)).sort());
    const request = { cluster: 'room-101', size: 4, local: false, dataDir: null };
    expect(await bridge.createCluster(request)).toEqual({ channel: 'app:createCluster', args: [request] });
    await expect(bridge.joinCluster({ ...request, joinCode: 'x', join: [] })).rejects.toMatchObject({
      name: 'BadRequestError',
      message: 'check the code',
    });
    await bridge.state();
    expect(invoked.map(([channel]) => channel)).toEqual(['app:createCluster', 'app:joinCluster', 'app:state']);
  });
});
