/** Main's side of the lab process, with a fake utility process: calls, replies, events, exits. */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LabEvent } from '../../core/host/lab-api.ts';
import type { ToLabProcess } from '../lab-process/protocol.ts';
import { LabProcessClient, type LabChild } from './lab-process-client.ts';

class FakeChild extends EventEmitter {
  readonly posted: ToLabProcess[] = [];
  killed = false;
  postMessage(message: ToLabProcess): void {
    this.posted.push(message);
  }
  kill(): boolean {
    this.killed = true;
    return true;
  }
  /** The lab process answers the last call. */
  reply(value: unknown, ok = true): void {
    const call = this.posted.filter((m) => m.type === 'call').at(-1) as { id: number };
    this.emit(
      'message',
      ok ? { type: 'reply', id: call.id, ok, value } : { type: 'reply', id: call.id, ok, error: value },
    );
  }
}

function client(timeoutsMs = {}) {
  const children: FakeChild[] = [];
  const lab = new LabProcessClient({
    fork: () => {
      const child = new FakeChild();
      children.push(child);
      setImmediate(() => child.emit('message', { type: 'ready' }));
      return child as unknown as LabChild;
    },
    log: () => {},
    timeoutsMs,
  });
  return { lab, children };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LabProcessClient', () => {
  it('forks the lab process once, waits until it is ready, and resolves a call with its reply', async () => {
    const { lab, children } = client();
    await lab.ensureStarted();
    await lab.ensureStarted();
    expect(children).toHaveLength(1);
    const snapshot = lab.snapshot();
    expect(children[0]!.posted).toEqual([{ type: 'call', id: 1, method: 'snapshot', args: [] }]);
    children[0]!.reply({ self: { cluster: 'x' } });
    await expect(snapshot).resolves.toEqual({ self: { cluster: 'x' } });
  });

  it('rejects with the host’s own error name and message', async () => {
    const { lab, children } = client();
    await lab.ensureStarted();
    const switched = lab.setBehaviour('flood');
    children[0]!.reply({ name: 'FaultBoundError', message: 'beyond f' }, false);
    await expect(switched).rejects.toMatchObject({ name: 'FaultBoundError', message: 'beyond f' });
  });

  it('rejects a call the process does not answer in time, and every call when it ends', async () => {
    const { lab, children } = client({ snapshot: 50 });
    await lab.ensureStarted();
    await expect(lab.snapshot()).rejects.toMatchObject({ name: 'LabProcessUnavailableError' });
    const exits: number[] = [];
    lab.onExit((code) => exits.push(code));
    const pending = lab.submit({ kind: 'read', path: '/x' });
    children[0]!.emit('exit', 9);
    await expect(pending).rejects.toThrow("the replica's process ended (exit code 9)");
    expect(exits).toEqual([9]);
    await expect(lab.snapshot()).rejects.toThrow('not running');
  });

  it('streams events to its listeners: listen on the first, unlisten after the last; a new process streams again', async () => {
    const { lab, children } = client();
    await lab.ensureStarted();
    const seen: string[] = [];
    const stopA = lab.subscribe((e) => seen.push(`a ${e.kind}`));
    const stopB = lab.subscribe((e) => seen.push(`b ${e.kind}`));
    const events: LabEvent[] = [
      { kind: 'log', atMs: 1, line: 'one' },
      { kind: 'replica', atMs: 2, type: 'view', text: 'two' },
    ];
    children[0]!.emit('message', { type: 'events', events });
    expect(seen).toEqual(['a log', 'b log', 'a replica', 'b replica']);
    stopA();
    stopA();
    stopB();
    expect(children[0]!.posted).toEqual([{ type: 'listen' }, { type: 'unlisten' }]);

    lab.subscribe(() => {});
    children[0]!.emit('exit', 1);
    await lab.ensureStarted();
    expect(children[1]!.posted).toEqual([{ type: 'listen' }]);
  });

  it('stops the replica, ends the process and waits for it to exit, without telling the exit listeners', async () => {
    const { lab, children } = client();
    await lab.ensureStarted();
    const exits: number[] = [];
    lab.onExit((code) => exits.push(code));
    let done = false;
    const closed = lab.close().then(() => (done = true));
    expect(children[0]!.posted.at(-1)).toMatchObject({ type: 'call', method: 'stop' });
    children[0]!.reply(undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(children[0]!.killed).toBe(true);
    expect(done).toBe(false); // its last lines and its data directory's lock go before the app does
    children[0]!.emit('exit', 0);
    await closed;
    expect(exits).toEqual([]); // a quit, not a crash: nobody starts it again
  });

  it('hands the LAN list to its listeners', async () => {
    const { lab, children } = client();
    await lab.ensureStarted();
    const lists: unknown[] = [];
    lab.onLan((clusters, error) => lists.push({ clusters, error }));
    children[0]!.emit('message', { type: 'lan', clusters: [{ cluster: 'x' }], error: null });
    expect(lists).toEqual([{ clusters: [{ cluster: 'x' }], error: null }]);
  });
});
