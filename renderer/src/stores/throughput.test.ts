import { describe, expect, it } from 'vitest';
import { hostRestarted, throughputBetween, uptimeLabel } from './throughput.ts';

describe('throughput from snapshot deltas', () => {
  it('is executed requests per second over the host uptime between two snapshots', () => {
    expect(
      throughputBetween({ uptimeMs: 1_000, executedRequests: 10 }, { uptimeMs: 1_500, executedRequests: 30 }),
    ).toEqual({ atMs: 1_500, perSecond: 40 });
  });

  it('is zero when nothing executed', () => {
    expect(
      throughputBetween({ uptimeMs: 0, executedRequests: 5 }, { uptimeMs: 500, executedRequests: 5 })?.perSecond,
    ).toBe(0);
  });

  it('uses the host clock, not the poll rate: a late poll does not inflate the rate', () => {
    const point = throughputBetween({ uptimeMs: 0, executedRequests: 0 }, { uptimeMs: 4_000, executedRequests: 100 });
    expect(point?.perSecond).toBe(25);
  });

  it('has no point for the same snapshot twice or after a host restart', () => {
    const sample = { uptimeMs: 2_000, executedRequests: 9 };
    expect(throughputBetween(sample, sample)).toBeNull();
    expect(throughputBetween(sample, { uptimeMs: 300, executedRequests: 0 })).toBeNull();
    expect(hostRestarted(sample, { uptimeMs: 300, executedRequests: 0 })).toBe(true);
    expect(hostRestarted(sample, { uptimeMs: 2_500, executedRequests: 9 })).toBe(false);
  });

  it('labels points by uptime in seconds', () => {
    expect(uptimeLabel(12_345)).toBe('12.3 s');
  });
});
