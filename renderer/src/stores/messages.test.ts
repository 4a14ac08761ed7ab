import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { messageEvent } from '../test-support/fake-lab-api.ts';
import { MESSAGE_EVENTS_KEPT, useMessagesStore } from './messages.ts';

beforeEach(() => {
  setActivePinia(createPinia());
});

describe('messages store', () => {
  it('shows events only when flushed, in arrival order, each with its own id', () => {
    const messages = useMessagesStore();
    messages.ingest(messageEvent(1, 'out', 'all', 'pre-prepare'));
    messages.ingest(messageEvent(2, 'in', 1, 'prepare'));
    expect(messages.shown).toEqual([]);
    messages.flush();
    expect(messages.shown.map((e) => [e.type, e.id])).toEqual([
      ['pre-prepare', 1],
      ['prepare', 2],
    ]);
  });

  it('keeps a bounded ring of message events', () => {
    const messages = useMessagesStore();
    for (let i = 0; i < MESSAGE_EVENTS_KEPT + 100; i++) messages.ingest(messageEvent(i, 'in', 1, 'commit'));
    messages.flush();
    expect(messages.shown).toHaveLength(MESSAGE_EVENTS_KEPT);
    expect(messages.shown[0]!.atMs).toBe(100);
    expect(messages.dropped).toBe(100);
  });

  it('pause freezes the diagram while events keep arriving; resume catches up', () => {
    const messages = useMessagesStore();
    messages.ingest(messageEvent(1, 'out', 0, 'prepare'));
    messages.flush();
    messages.pause();
    messages.ingest(messageEvent(2, 'out', 0, 'commit'));
    messages.flush();
    expect(messages.shown.map((e) => e.atMs)).toEqual([1]);
    messages.scrollBackMs = 500;
    messages.resume();
    expect(messages.shown.map((e) => e.atMs)).toEqual([1, 2]);
    expect(messages.scrollBackMs).toBe(0);
  });

  it('sorts host log lines into view-change and checkpoint notes, leaving out floods of ignored messages', () => {
    const messages = useMessagesStore();
    messages.ingest({ kind: 'log', atMs: 1, line: 'r1 v0 VIEW-CHANGE to view 1: timer expired' });
    messages.ingest({ kind: 'log', atMs: 2, line: 'r1 v1 stable checkpoint n=128 d=abcd' });
    messages.ingest({ kind: 'log', atMs: 3, line: 'r1 v1 ignored PREPARE v=0 n=3: wrong view' });
    messages.ingest({ kind: 'replica', atMs: 4, type: 'executed', text: 'r1 v1 executed n=3 (1 requests)' });
    messages.flush();
    expect(messages.viewNotes.map((n) => n.atMs)).toEqual([1]);
    expect(messages.checkpointNotes.map((n) => n.atMs)).toEqual([2]);
    expect(messages.activity.map((n) => n.atMs)).toEqual([1, 2, 4]);
  });
});
