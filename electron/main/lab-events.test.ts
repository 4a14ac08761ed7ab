import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LabEvent } from '../../core/host/lab-api.ts';
import { LabEventForwarder } from './lab-events.ts';

/** A host's subscribe: replays `history` on subscribe, then lets the test emit live events. */
function fakeHost(history: LabEvent[] = []) {
  const listeners = new Set<(event: LabEvent) => void>();
  return {
    subscribe(listener: (event: LabEvent) => void) {
      for (const event of history) listener(event);
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(event: LabEvent) {
      for (const listener of listeners) listener(event);
    },
    get listenerCount() {
      return listeners.size;
    },
  };
}

function message(atMs: number): LabEvent {
  return { kind: 'message', atMs, direction: 'out', peer: 1, type: 'PREPARE', view: 0, seq: atMs, text: 'p' };
}

function forwarderFor(host: ReturnType<typeof fakeHost>, options: { maxEventsPerBatch?: number } = {}) {
  const batches: LabEvent[][] = [];
  const logged: string[] = [];
  const forwarder = new LabEventForwarder({
    subscribe: (listener) => host.subscribe(listener),
    send: (events) => batches.push([...events]),
    log: (line) => logged.push(line),
    flushIntervalMs: 50,
    ...options,
  });
  return { forwarder, batches, logged };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('LabEventForwarder', () => {
  it('sends nothing until the renderer listens, then the replayed history and live events', () => {
    const host = fakeHost([message(1), message(2)]);
    const { forwarder, batches } = forwarderFor(host);
    host.emit(message(3));
    vi.advanceTimersByTime(100);
    expect(batches).toEqual([]);

    forwarder.listen();
    host.emit(message(4));
    vi.advanceTimersByTime(50);
    expect(batches).toEqual([[message(1), message(2), message(4)]]);
  });

  it('sends at most one batch per flush interval', () => {
    const host = fakeHost();
    const { forwarder, batches } = forwarderFor(host);
    forwarder.listen();
    for (let i = 0; i < 10; i++) {
      host.emit(message(i));
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(50);
    expect(batches.map((batch) => batch.length)).toEqual([5, 5]);
    expect(batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => message(i)));
  });

  it('keeps at most maxEventsPerBatch events and tells the dashboard how many it dropped', () => {
    const host = fakeHost();
    const { forwarder, batches } = forwarderFor(host, { maxEventsPerBatch: 3 });
    forwarder.listen();
    for (let i = 1; i <= 10; i++) host.emit(message(i));
    vi.advanceTimersByTime(50);
    expect(batches).toEqual([
      [
        message(1),
        message(2),
        message(3),
        { kind: 'log', atMs: 10, line: 'dashboard: 7 events not shown (7 beyond 3 in 50 ms)' },
      ],
    ]);
    host.emit(message(11));
    vi.advanceTimersByTime(50);
    expect(batches[1]).toEqual([message(11)]);
  });

  it('keeps nothing while the window is hidden, and says what was missed when it shows again', () => {
    const host = fakeHost();
    const { forwarder, batches } = forwarderFor(host);
    forwarder.listen();
    forwarder.setHidden(true);
    for (let i = 1; i <= 1000; i++) host.emit(message(i));
    vi.advanceTimersByTime(1000);
    expect(batches).toEqual([]);

    forwarder.setHidden(false);
    vi.advanceTimersByTime(50);
    expect(batches).toEqual([
      [{ kind: 'log', atMs: 1000, line: 'dashboard: 1000 events not shown (1000 while the window was hidden)' }],
    ]);
  });

  it('unsubscribes and drops the pending batch on unlisten', () => {
    const host = fakeHost();
    const { forwarder, batches } = forwarderFor(host);
    forwarder.listen();
    host.emit(message(1));
    forwarder.unlisten();
    vi.advanceTimersByTime(100);
    expect(batches).toEqual([]);
    expect(host.listenerCount).toBe(0);
    expect(forwarder.listening).toBe(false);
  });

  it('re-subscribes when a new page listens: one subscription, and the history replayed again', () => {
    const host = fakeHost([message(1)]);
    const { forwarder, batches } = forwarderFor(host);
    forwarder.listen();
    vi.advanceTimersByTime(50);
    forwarder.listen();
    expect(host.listenerCount).toBe(1);
    host.emit(message(2));
    vi.advanceTimersByTime(50);
    expect(batches).toEqual([[message(1)], [message(1), message(2)]]);
  });

  it('logs a failed send instead of throwing from a timer', () => {
    const host = fakeHost();
    const logged: string[] = [];
    const forwarder = new LabEventForwarder({
      subscribe: (listener) => host.subscribe(listener),
      send: () => {
        throw new Error('Object has been destroyed');
      },
      log: (line) => logged.push(line),
    });
    forwarder.listen();
    host.emit(message(1));
    expect(() => vi.runAllTimers()).not.toThrow();
    expect(logged).toEqual(['cannot send events to the dashboard: Object has been destroyed']);
  });
});
