import { describe, expect, it } from 'vitest';
import { LAB_API_CALLS } from '../../core/host/lab-api.ts';
import type { LabEvent, LabOp } from '../../core/host/lab-api.ts';
import type { LabIpcReply } from '../shared/ipc.ts';
import { createLabBridge } from './bridge.ts';
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
  it('exposes exactly the LabApi calls, subscribe and version, all functions', () => {
    const { ipc } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    expect(Object.keys(bridge).sort()).toEqual([...LAB_API_CALLS, 'subscribe', 'version'].sort());
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

describe('subscribe', () => {
  it('asks main for events once, with the first listener, and keeps the stream for the page', () => {
    const { ipc, sent, listeners } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    expect(sent).toEqual([]);

    const first = bridge.subscribe(() => {});
    const second = bridge.subscribe(() => {});
    first();
    second();
    bridge.subscribe(() => {});

    expect(sent).toEqual([['lab:listen']]);
    expect(listeners.get('lab:events')).toHaveLength(1);
  });

  it('gives a later subscriber only the events that arrive after it subscribed', () => {
    const { ipc, push } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    const early: number[] = [];
    const late: number[] = [];
    bridge.subscribe((event) => early.push(event.atMs));
    push('lab:events', [logEvent(1)]);
    bridge.subscribe((event) => late.push(event.atMs));
    push('lab:events', [logEvent(2)]);
    expect(early).toEqual([1, 2]);
    expect(late).toEqual([2]);
  });

  it('subscribes the same function twice as two subscriptions, each with its own unsubscribe', () => {
    const { ipc, push } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    const seen: number[] = [];
    const listener = (event: LabEvent) => seen.push(event.atMs);
    const unsubscribeFirst = bridge.subscribe(listener);
    bridge.subscribe(listener);
    push('lab:events', [logEvent(1)]);
    unsubscribeFirst();
    unsubscribeFirst(); // a second call changes nothing
    push('lab:events', [logEvent(2)]);
    expect(seen).toEqual([1, 1, 2]);
  });

  it('delivers each batch event by event, in order, to every listener, and never the IPC event', () => {
    const { ipc, push } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    const seenA: unknown[] = [];
    const seenB: unknown[] = [];
    bridge.subscribe((event) => seenA.push(event));
    const unsubscribeB = bridge.subscribe((event) => seenB.push(event));

    push('lab:events', [logEvent(1), logEvent(2)]);
    unsubscribeB();
    push('lab:events', [logEvent(3)]);

    expect(seenA).toEqual([logEvent(1), logEvent(2), logEvent(3)]);
    expect(seenB).toEqual([logEvent(1), logEvent(2)]);
  });

  it('reports a throwing listener and still delivers the rest of the batch to everyone', () => {
    const { ipc, push } = fakeIpcRenderer(() => ok(null));
    const reported: unknown[] = [];
    const bridge = createLabBridge(ipc, (error) => reported.push(error));
    const seen: number[] = [];
    bridge.subscribe((event) => {
      if (event.atMs === 1) throw new Error('listener bug');
    });
    bridge.subscribe((event) => seen.push(event.atMs));

    push('lab:events', [logEvent(1), logEvent(2)]);

    expect(seen).toEqual([1, 2]);
    expect(reported).toEqual([new Error('listener bug')]);
  });

  it('refuses a listener that is not a function', () => {
    const { ipc, sent } = fakeIpcRenderer(() => ok(null));
    const bridge = createLabBridge(ipc, () => {});
    expect(() => bridge.subscribe('alert' as unknown as () => void)).toThrow(TypeError);
    expect(sent).toEqual([]);
  });
});
