import { describe, expect, it } from 'vitest';
import { Ring } from './ring.ts';

describe('Ring', () => {
  it('keeps items oldest first while under capacity', () => {
    const ring = new Ring<number>(3);
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    expect(ring.size).toBe(2);
    expect(ring.last()).toBe(2);
    expect(ring.dropped).toBe(0);
  });

  it('forgets the oldest items beyond capacity and counts them', () => {
    const ring = new Ring<number>(3);
    for (let i = 1; i <= 7; i++) ring.push(i);
    expect(ring.toArray()).toEqual([5, 6, 7]);
    expect(ring.size).toBe(3);
    expect(ring.last()).toBe(7);
    expect(ring.dropped).toBe(4);
  });

  it('never holds more than its capacity however many items arrive', () => {
    const ring = new Ring<number>(100);
    for (let i = 0; i < 10_000; i++) ring.push(i);
    expect(ring.size).toBe(100);
    expect(ring.toArray()[0]).toBe(9_900);
  });

  it('clears', () => {
    const ring = new Ring<string>(2);
    ring.push('a');
    ring.push('b');
    ring.push('c');
    ring.clear();
    expect(ring.toArray()).toEqual([]);
    expect(ring.last()).toBeUndefined();
    expect(ring.dropped).toBe(0);
  });

  it('refuses a capacity below one', () => {
    expect(() => new Ring(0)).toThrow(RangeError);
  });
});
