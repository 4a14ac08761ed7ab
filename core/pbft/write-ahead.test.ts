import { describe, expect, it } from 'vitest';
import type { Output, PersistRecord } from './outputs.ts';
import { WriteAheadQueue } from './write-ahead.ts';

const view = (v: number, normal = false): Output => ({ kind: 'persist', record: { type: 'view', view: v, normal } });
const prepared = (seq: number): Output => ({
  kind: 'persist',
  record: { type: 'prepared', seq, digest: 'd', view: 0 },
});
const status = (v: number): Output => ({
  kind: 'broadcast',
  message: { type: 'status', view: v, normal: true, lastExecuted: 0, firstUncommitted: 1, stableSeq: 0, replica: 1 },
});
const event: Output = { kind: 'event', event: { type: 'checkpoint', seq: 4, stateDigest: 'x' } };

/** View and checkpoint records written asynchronously (as the host writes them); log records at once. */
const hostLike = (record: PersistRecord) =>
  record.type === 'view' || record.type === 'stable-checkpoint' ? 'deferred' : 'immediate';

describe('write-ahead (issue 18: durable before visible)', () => {
  it('holds the VIEW-CHANGE that follows a view record until the record is durable', () => {
    const q = new WriteAheadQueue(hostLike);
    const step = q.push([view(1), status(1), event]);
    expect(step.write.map((w) => w.record.type)).toEqual(['view']);
    expect(step.release).toEqual([event]);
    expect(q.heldCount).toBe(1);
    const later = q.push([status(1)]);
    expect(later.release).toEqual([]);
    const done = q.durable(step.write[0]!.id);
    expect(done.release).toEqual([status(1), status(1)]);
    expect(q.waiting).toBe(false);
  });

  it('lets records written at once pass without holding anything', () => {
    const q = new WriteAheadQueue(hostLike);
    const step = q.push([prepared(3), status(0)]);
    expect(step.write.map((w) => w.durability)).toEqual(['immediate']);
    expect(step.release).toEqual([status(0)]);
  });

  it('writes records behind a deferred one only once it is durable, in order, and holds again behind the next', () => {
    const q = new WriteAheadQueue(hostLike);
    const first = q.push([view(1), prepared(2), status(1), view(2), status(2)]);
    expect(first.write.map((w) => w.record.type)).toEqual(['view']);
    const second = q.durable(first.write[0]!.id);
    expect(second.write.map((w) => w.record.type)).toEqual(['prepared', 'view']);
    expect(second.release).toEqual([status(1)]);
    const third = q.durable(second.write[1]!.id);
    expect(third.release).toEqual([status(2)]);
  });

  it('loses what it held on a crash', () => {
    const q = new WriteAheadQueue(hostLike);
    q.push([view(1), status(1)]);
    q.clear();
    expect(q.heldCount).toBe(0);
    expect(q.push([status(1)]).release).toEqual([status(1)]);
  });
});
