import { describe, expect, expectTypeOf, it } from 'vitest';
import { RoomModel } from '../../core/host/room-model.ts';
import type { IpcMainEvent, IpcMainInvokeEvent } from 'electron';
import { LAB_API_CALLS } from '../../core/host/lab-api.ts';
import type {
  BehaviourInfo,
  FaultCommand,
  LabApi,
  LabApiCall,
  LabEvent,
  LabOp,
  LabSnapshot,
  SubmitOutcome,
} from '../../core/host/lab-api.ts';
import type { LabChannelArgs, LabChannelResult, LabInvokeBridge, LabIpc, PbftLabBridge } from '../shared/ipc.ts';
import { labArgParsers, labHandlersFor, registerLabEventControl, registerLabHandlers } from './ipc.ts';

type Handler = (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>;
type Listener = (event: IpcMainEvent, ...args: unknown[]) => void;

const appUrl = 'file:///opt/pbft-lab/out/renderer/index.html';
const isTrusted = (url: string) => url === appUrl;

/** Just enough of ipcMain: remembers handlers and listeners so the test can invoke them. */
function fakeIpcMain() {
  const handlers = new Map<string, Handler>();
  const listeners = new Map<string, Listener[]>();
  const frame = (senderUrl: string | null) => (senderUrl === null ? null : { url: senderUrl });
  return {
    handlers,
    listeners,
    handle(channel: string, handler: Handler) {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, handler);
    },
    removeHandler(channel: string) {
      handlers.delete(channel);
    },
    on(channel: string, listener: Listener) {
      listeners.set(channel, [...(listeners.get(channel) ?? []), listener]);
      return this;
    },
    removeListener(channel: string, listener: Listener) {
      listeners.set(
        channel,
        (listeners.get(channel) ?? []).filter((l) => l !== listener),
      );
      return this;
    },
    invoke(channel: string, senderUrl: string | null, ...args: unknown[]): Promise<unknown> {
      const handler = handlers.get(channel);
      if (handler === undefined) throw new Error(`no handler for ${channel}`);
      return handler({ senderFrame: frame(senderUrl) } as unknown as IpcMainInvokeEvent, ...args);
    },
    send(channel: string, senderUrl: string | null, webContentsId: number, ...args: unknown[]): void {
      const event = { senderFrame: frame(senderUrl), sender: { id: webContentsId } } as unknown as IpcMainEvent;
      for (const listener of listeners.get(channel) ?? []) listener(event, ...args);
    },
  };
}

const snapshot = { self: { cluster: 'pbft-lab' } } as unknown as LabSnapshot;
const outcome: SubmitOutcome = {
  timestamp: 1,
  result: { kind: 'deleted', path: '/a' },
  matching: 2,
  latencyMs: 3,
};
const catalogue: BehaviourInfo[] = [{ id: 'silent', name: 'Silent', description: 'sends nothing', observe: 'gaps' }];

/** A LabApi that records each call with its arguments. */
function fakeHost() {
  const calls: [LabApiCall, ...unknown[]][] = [];
  const host: LabApi = {
    async snapshot() {
      calls.push(['snapshot']);
      return snapshot;
    },
    subscribe() {
      throw new Error('not used by the handlers');
    },
    async submit(op) {
      calls.push(['submit', op]);
      return outcome;
    },
    async fault(command) {
      calls.push(['fault', command]);
      return { paused: command.kind === 'pause', disconnectedFrom: [], delayMs: 0 };
    },
    async revokeClient(clientId) {
      calls.push(['revokeClient', clientId]);
    },
    async behaviours() {
      calls.push(['behaviours']);
      return catalogue;
    },
    async setBehaviour(id, options) {
      calls.push(options === undefined ? ['setBehaviour', id] : ['setBehaviour', id, options]);
      return id;
    },
    async room(query) {
      calls.push(query === undefined ? ['room'] : ['room', query]);
      return new RoomModel().state(query);
    },
  };
  return { host, calls };
}

function registered(api: LabApi = fakeHost().host) {
  const ipcMain = fakeIpcMain();
  const remove = registerLabHandlers(
    ipcMain,
    labHandlersFor(api, () => '0.1.0'),
    isTrusted,
  );
  return { ipcMain, remove };
}

describe('the channel map', () => {
  const apiChannels = LAB_API_CALLS.map((call) => `lab:${call}`);

  it('gives the bridge exactly the LabApi’s calls, version, and events in batches (compile time)', () => {
    // (Flattened: expect-type compares intersections by their structure, not their members.)
    type Flatten<T> = { [K in keyof T]: T[K] };
    type BatchSubscribe = { subscribeBatches(listener: (events: readonly LabEvent[]) => void): () => void };
    expectTypeOf<Flatten<LabInvokeBridge & BatchSubscribe>>().toEqualTypeOf<Flatten<PbftLabBridge>>();
    expectTypeOf<keyof LabIpc>().toEqualTypeOf<`lab:${LabApiCall}` | 'lab:version'>();
    // Each channel carries its LabApi method's parameters and resolved result.
    expectTypeOf<{ [K in LabApiCall]: LabChannelArgs<`lab:${K}`> }>().toEqualTypeOf<{
      [K in LabApiCall]: Parameters<LabApi[K]>;
    }>();
    expectTypeOf<{ [K in LabApiCall]: LabChannelResult<`lab:${K}`> }>().toEqualTypeOf<{
      [K in LabApiCall]: Awaited<ReturnType<LabApi[K]>>;
    }>();
  });

  it('has a parser and a handler for every LabApi call, and main registers each one', () => {
    const expected = ['lab:version', ...apiChannels].sort();
    expect(Object.keys(labArgParsers).sort()).toEqual(expected);
    expect(Object.keys(labHandlersFor(fakeHost().host, () => '0.1.0')).sort()).toEqual(expected);
    expect([...registered().ipcMain.handlers.keys()].sort()).toEqual(expected);
  });
});

describe('registerLabHandlers', () => {
  it('forwards each call to the host and replies with its result', async () => {
    const { host, calls } = fakeHost();
    const { ipcMain } = registered(host);
    const op: LabOp = { kind: 'write', path: '/notes.txt', text: 'hello' };
    const command: FaultCommand = { kind: 'disconnect', peerId: '12D3KooWpeer' };

    expect(await ipcMain.invoke('lab:version', appUrl)).toEqual({ ok: true, value: '0.1.0' });
    expect(await ipcMain.invoke('lab:snapshot', appUrl)).toEqual({ ok: true, value: snapshot });
    expect(await ipcMain.invoke('lab:submit', appUrl, op)).toEqual({ ok: true, value: outcome });
    expect(await ipcMain.invoke('lab:fault', appUrl, { kind: 'pause' })).toEqual({
      ok: true,
      value: { paused: true, disconnectedFrom: [], delayMs: 0 },
    });
    await ipcMain.invoke('lab:fault', appUrl, command);
    expect(await ipcMain.invoke('lab:revokeClient', appUrl, 'client-7')).toEqual({ ok: true, value: undefined });
    expect(await ipcMain.invoke('lab:behaviours', appUrl)).toEqual({ ok: true, value: catalogue });
    expect(await ipcMain.invoke('lab:setBehaviour', appUrl, 'silent')).toEqual({ ok: true, value: 'silent' });
    expect(await ipcMain.invoke('lab:setBehaviour', appUrl, null)).toEqual({ ok: true, value: null });
    expect(await ipcMain.invoke('lab:setBehaviour', appUrl, 'flood', { exceedF: true })).toEqual({
      ok: true,
      value: 'flood',
    });

    expect(calls).toEqual([
      ['snapshot'],
      ['submit', op],
      ['fault', { kind: 'pause' }],
      ['fault', command],
      ['revokeClient', 'client-7'],
      ['behaviours'],
      ['setBehaviour', 'silent'],
      ['setBehaviour', null],
      ['setBehaviour', 'flood', { exceedF: true }],
    ]);
  });

  it('passes the host only the declared fields of an argument', async () => {
    const { host, calls } = fakeHost();
    const { ipcMain } = registered(host);
    await ipcMain.invoke('lab:submit', appUrl, { kind: 'read', path: '/a', text: 'ignored', extra: { deep: 1 } });
    await ipcMain.invoke('lab:fault', appUrl, { kind: 'delay', ms: 20, peerId: 'ignored' });
    await ipcMain.invoke('lab:setBehaviour', appUrl, 'silent', { exceedF: false, force: true });
    expect(calls).toEqual([
      ['submit', { kind: 'read', path: '/a' }],
      ['fault', { kind: 'delay', ms: 20 }],
      ['setBehaviour', 'silent', {}],
    ]);
  });

  it.each([
    ['lab:submit', [{ kind: 'format', path: '/' }], 'op.kind: expected write, append, read, delete, stat or list'],
    ['lab:submit', [{ kind: 'write', path: '/a', text: 'x', base64: 'eA==' }], 'op: give text or base64, not both'],
    ['lab:submit', [], 'submit: expected 1 argument(s), got 0'],
    ['lab:fault', [{ kind: 'delay', ms: -1 }], 'fault.ms: expected a finite number ≥ 0'],
    ['lab:fault', [{ kind: 'disconnect', peerId: '' }], 'fault.peerId: expected a non-empty string'],
    ['lab:revokeClient', [''], 'clientId: expected a non-empty string'],
    ['lab:revokeClient', [42], 'clientId: expected a non-empty string'],
    [
      'lab:setBehaviour',
      ['Drop Everything'],
      'behaviour: expected a catalogue id (lowercase letters, digits, -) or null',
    ],
    ['lab:setBehaviour', [], 'setBehaviour: expected 1 or 2 argument(s), got 0'],
    ['lab:setBehaviour', ['silent', { exceedF: 'yes' }], 'options.exceedF: expected true or false'],
    ['lab:setBehaviour', ['silent', true], 'options: expected a JSON object'],
    ['lab:setBehaviour', ['silent', {}, {}], 'setBehaviour: expected 1 or 2 argument(s), got 3'],
    ['lab:snapshot', ['extra'], 'snapshot: expected 0 argument(s), got 1'],
    ['lab:behaviours', [1], 'behaviours: expected 0 argument(s), got 1'],
    ['lab:version', [null], 'version: expected 0 argument(s), got 1'],
  ])('refuses %s with %j as a BadRequestError, without calling the host', async (channel, args, message) => {
    const { host, calls } = fakeHost();
    const { ipcMain } = registered(host);
    expect(await ipcMain.invoke(channel, appUrl, ...args)).toEqual({
      ok: false,
      error: { name: 'BadRequestError', message },
    });
    expect(calls).toEqual([]);
  });

  it("replies with the host's error name and message, never its stack", async () => {
    class NotFormedError extends Error {
      override name = 'NotFormedError';
    }
    const { host } = fakeHost();
    host.submit = async () => {
      throw new NotFormedError('the cluster has not formed yet: no roster');
    };
    const { ipcMain } = registered(host);
    const reply = await ipcMain.invoke('lab:submit', appUrl, { kind: 'stat', path: '/a' });
    expect(reply).toEqual({
      ok: false,
      error: { name: 'NotFormedError', message: 'the cluster has not formed yet: no roster' },
    });
    expect(JSON.stringify(reply)).not.toContain('at ');
  });

  it('refuses frames that are not the app page, without calling the host', async () => {
    const { host, calls } = fakeHost();
    const { ipcMain } = registered(host);
    await expect(ipcMain.invoke('lab:snapshot', 'https://example.com/')).rejects.toMatchObject({
      name: 'UntrustedSenderError',
      message: 'refused lab:snapshot: sender https://example.com/ is not the app',
    });
    await expect(ipcMain.invoke('lab:setBehaviour', null, 'silent')).rejects.toMatchObject({
      name: 'UntrustedSenderError',
    });
    expect(calls).toEqual([]);
  });

  it('removes every handler it registered', () => {
    const { ipcMain, remove } = registered();
    expect(ipcMain.handlers.size).toBe(LAB_API_CALLS.length + 1);
    remove();
    expect(ipcMain.handlers.size).toBe(0);
  });
});

describe('registerLabEventControl', () => {
  function control() {
    const ipcMain = fakeIpcMain();
    const requests: number[] = [];
    const logged: string[] = [];
    const remove = registerLabEventControl(
      ipcMain,
      isTrusted,
      (id) => requests.push(id),
      (line) => logged.push(line),
    );
    return { ipcMain, requests, logged, remove };
  }

  it('reports which renderer asks for events', () => {
    const { ipcMain, requests } = control();
    ipcMain.send('lab:listen', appUrl, 3);
    ipcMain.send('lab:listen', appUrl, 4);
    expect(requests).toEqual([3, 4]);
  });

  it('ignores other frames, and says so in the log', () => {
    const { ipcMain, requests, logged } = control();
    ipcMain.send('lab:listen', 'https://example.com/', 3);
    ipcMain.send('lab:listen', null, 3);
    expect(requests).toEqual([]);
    expect(logged).toEqual([
      'refused lab:listen: sender https://example.com/ is not the app',
      'refused lab:listen: sender (no frame) is not the app',
    ]);
  });

  it('stops listening when removed', () => {
    const { ipcMain, requests, remove } = control();
    remove();
    ipcMain.send('lab:listen', appUrl, 3);
    expect(requests).toEqual([]);
  });
});
