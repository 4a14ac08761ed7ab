import { describe, expect, it } from 'vitest';
import type { Prepare, Status } from '../pbft/messages.ts';
import { EVENT_HISTORY, HostEvents, REPEAT_WINDOW_MS, short } from './host-events.ts';
import type { LabEvent } from './lab-api.ts';
import { ReplicaActivity } from './replica-activity.ts';

const prepare: Prepare = { type: 'prepare', view: 2, seq: 5, digest: 'ab'.repeat(32), replica: 1 };
const status: Status = {
  type: 'status',
  view: 2,
  normal: true,
  lastExecuted: 4,
  firstUncommitted: 5,
  stableSeq: 0,
  replica: 1,
};

describe('HostEvents', () => {
  it('gives a late subscriber the last events, then the new ones; the terminal gets info lines only', () => {
    const printed: string[] = [];
    const events = new HostEvents((line) => printed.push(line));
    for (let i = 0; i < EVENT_HISTORY + 10; i++) events.note(`line ${i}`, i % 2 === 0 ? 'info' : 'debug');
    const seen: LabEvent[] = [];
    const unsubscribe = events.subscribe((e) => seen.push(e));
    expect(seen).toHaveLength(EVENT_HISTORY);
    expect(seen[0]).toMatchObject({ kind: 'log', line: 'line 10' });
    events.emitReplica('executed', 'r0 v0 executed n=1');
    unsubscribe();
    events.emitReplica('executed', 'r0 v0 executed n=2');
    expect(seen.at(-1)).toMatchObject({ kind: 'replica', text: 'r0 v0 executed n=1' });
    expect(printed).toHaveLength((EVENT_HISTORY + 10) / 2);
  });

  it('shows protocol messages with their view and sequence number, but not STATUS', () => {
    const events = new HostEvents(() => {});
    const seen: LabEvent[] = [];
    events.subscribe((e) => seen.push(e));
    events.emitMessage('in', 1, status);
    events.emitMessage('out', 'all', prepare);
    expect(seen).toEqual([
      expect.objectContaining({ kind: 'message', direction: 'out', peer: 'all', view: 2, seq: 5 }),
    ]);
  });

  it('shortens peer ids to their tail', () => {
    expect(short('12D3KooWAbCdEfGhIjKlMnOp')).toBe('…IjKlMnOp');
    expect(short('peer-a')).toBe('peer-a');
  });
});

describe('ReplicaActivity', () => {
  it('counts executed requests (not the ones exactly-once skipped), view changes and state transfers', () => {
    const events = new HostEvents(() => {});
    const activity = new ReplicaActivity(events);
    const executed = (ran: boolean) => ({
      client: 'c',
      timestamp: 1,
      op: new Uint8Array(),
      executed: ran,
      result: null,
    });
    activity.onEvent(0, 0, {
      type: 'executed',
      view: 0,
      seq: 1,
      digest: 'd',
      requests: [executed(true), executed(false), executed(true)],
    });
    activity.onEvent(0, 1, {
      type: 'view-change-started',
      newView: 1,
      reason: 'request timer expired (c=alice t=1, not in our log, executed here up to 0)',
      timeoutTicks: 100,
    });
    activity.onEvent(0, 1, { type: 'state-transfer-completed', seq: 64, stateDigest: 'd' });
    activity.onEvent(0, 1, { type: 'ignored', from: 2, message: status, reason: 'old' });
    expect(activity.counters).toEqual({
      executedRequests: 2,
      executedBatches: 1,
      viewChanges: 1,
      stateTransfers: 1,
      ignoredMessages: 1,
    });
  });
});

describe('HostEvents log noise (issue 15, point 8)', () => {
  it('shows a repeated "… ignored: …" line once per window, then with the count held back', () => {
    const printed: string[] = [];
    let clock = 0;
    const events = new HostEvents(
      (line) => printed.push(line),
      () => clock,
    );
    const ignored = 'HELLO from …abcd1234 ignored: cluster "other" of 4, not "lab" of 4';
    for (let s = 0; s < 25; s++) {
      events.note(ignored);
      events.note('HELLO from …ffff0000 ignored: cluster "other" of 4, not "lab" of 4');
      clock += 1_000;
    }
    expect(printed).toHaveLength(2);
    clock = REPEAT_WINDOW_MS + 1;
    events.note(ignored);
    expect(printed.at(-1)).toBe(`${ignored} (and 24 more like it since it was last shown)`);
    // Lines that are not about something ignored are never held back.
    events.note('fault: pause');
    events.note('fault: pause');
    expect(printed.slice(-2)).toEqual(['fault: pause', 'fault: pause']);
  });
});
