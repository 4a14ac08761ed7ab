/** The bounded per-peer outbound queue: FIFO, batches, and oldest-first eviction at both bounds. */
import { describe, expect, it } from 'vitest';
import { BoundedFrameQueue } from './frame-queue.ts';

const frame = (tag: number, size = 1): Uint8Array => new Uint8Array(size).fill(tag);

describe('BoundedFrameQueue', () => {
  it('keeps FIFO order and coalesces batches up to the byte budget, a big frame alone', () => {
    const queue = new BoundedFrameQueue({ maxFrames: 10, maxBytes: 1000 });
    queue.push(frame(1, 10));
    queue.push(frame(2, 10));
    queue.push(frame(3, 500));
    queue.push(frame(4, 10));
    expect(queue.takeBatch(25).map((f) => f[0])).toEqual([1, 2]);
    expect(queue.takeBatch(25).map((f) => f[0])).toEqual([3]);
    expect(queue.takeBatch(25).map((f) => f[0])).toEqual([4]);
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
  });

  it('evicts the oldest frames when the frame bound is reached', () => {
    const queue = new BoundedFrameQueue({ maxFrames: 3, maxBytes: 1000 });
    const evicted = [1, 2, 3, 4, 5].map((tag) => queue.push(frame(tag)));
    expect(evicted).toEqual([0, 0, 0, 1, 1]);
    expect(queue.takeBatch(1000).map((f) => f[0])).toEqual([3, 4, 5]);
  });

  it('evicts the oldest frames when the byte bound is reached, and never holds more than maxBytes', () => {
    const queue = new BoundedFrameQueue({ maxFrames: 100, maxBytes: 100 });
    for (let tag = 0; tag < 50; tag++) {
      queue.push(frame(tag, 30));
      expect(queue.bytes).toBeLessThanOrEqual(100);
    }
    expect(queue.takeBatch(1000).map((f) => f[0])).toEqual([47, 48, 49]);
  });

  it('refuses a frame larger than the whole byte bound and counts it as dropped', () => {
    const queue = new BoundedFrameQueue({ maxFrames: 10, maxBytes: 10 });
    queue.push(frame(1, 5));
    expect(queue.push(frame(2, 11))).toBe(1);
    expect(queue.length).toBe(1);
  });

  it('stays correct across many push/take cycles (head compaction)', () => {
    const queue = new BoundedFrameQueue({ maxFrames: 20_000, maxBytes: 1 << 20 });
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 3000; i++) {
        queue.push(Uint8Array.of(next++ & 0xff));
      }
      for (const f of queue.takeBatch(2500)) {
        expect(f[0]).toBe(expected++ & 0xff);
      }
    }
    expect(queue.length).toBe(next - expected);
    expect(queue.clear()).toBe(next - expected);
    expect(queue.length).toBe(0);
  });
});
