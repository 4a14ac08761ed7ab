/**
 * Faults mean what they say (issue 19): a paused machine neither ticks, nor sends, nor receives, and
 * a cut link carries nothing either way — including frames an added delay was holding when the fault
 * started (a frozen or unplugged machine loses them), and deliveries inside the machine.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HostFaults } from './host-faults.ts';

const frame = (n: number) => new Uint8Array([n]);
const B = '12D3KooWP66MjFs4RiTZQDVV9JobvhtTNdUiz59JDv5FaHHqLXDn';
const C = '12D3KooWLncgR14gDQ8ADbDRo4xc7n2qJZzV8HaPtViMvNqcbbWU';

function setup() {
  const transmitted: { peer: string; n: number }[] = [];
  const faults = new HostFaults((peer, bytes) => transmitted.push({ peer, n: bytes[0]! }));
  return { faults, transmitted };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('HostFaults', () => {
  it('delays frames by the added delay', () => {
    const { faults, transmitted } = setup();
    faults.apply({ kind: 'delay', ms: 3_000 });
    faults.send(B, frame(1));
    vi.advanceTimersByTime(2_999);
    expect(transmitted).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(transmitted).toEqual([{ peer: B, n: 1 }]);
  });

  it('a pause drops what the delay was holding, and nothing leaves or enters until resumed', () => {
    const { faults, transmitted } = setup();
    faults.apply({ kind: 'delay', ms: 3_000 });
    faults.send(B, frame(1));
    faults.send(C, frame(2));
    faults.apply({ kind: 'pause' });
    faults.send(B, frame(3));
    expect(faults.receives(B)).toBe(false);
    vi.advanceTimersByTime(10_000);
    expect(transmitted).toEqual([]);
    faults.apply({ kind: 'resume' });
    expect(faults.receives(B)).toBe(true);
    faults.send(B, frame(4));
    vi.advanceTimersByTime(3_000);
    expect(transmitted).toEqual([{ peer: B, n: 4 }]);
  });

  it('a cut link drops what the delay was holding for that peer only, and carries nothing either way', () => {
    const { faults, transmitted } = setup();
    faults.apply({ kind: 'delay', ms: 3_000 });
    faults.send(B, frame(1));
    faults.send(C, frame(2));
    faults.apply({ kind: 'disconnect', peerId: B });
    faults.send(B, frame(3));
    expect(faults.receives(B)).toBe(false);
    expect(faults.receives(C)).toBe(true);
    vi.advanceTimersByTime(3_000);
    expect(transmitted).toEqual([{ peer: C, n: 2 }]);
  });

  it('a delivery inside the machine (its own client and replica) does not happen while paused', async () => {
    const { faults } = setup();
    const delivered: number[] = [];
    faults.deliverLocally(() => delivered.push(1));
    faults.apply({ kind: 'pause' });
    faults.deliverLocally(() => delivered.push(2));
    await Promise.resolve();
    faults.apply({ kind: 'resume' });
    faults.deliverLocally(() => delivered.push(3));
    await Promise.resolve();
    expect(delivered).toEqual([3]);
  });

  it('refuses a delay out of range and a malformed peer id, changing nothing', () => {
    const { faults } = setup();
    expect(() => faults.apply({ kind: 'delay', ms: 60_001 })).toThrow(RangeError);
    expect(() => faults.apply({ kind: 'disconnect', peerId: 'not a peer id' })).toThrow();
    expect(faults.current()).toEqual({ paused: false, disconnectedFrom: [], delayMs: 0 });
  });
});
