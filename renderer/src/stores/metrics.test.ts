import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { fakeSnapshot } from '../test-support/fake-lab-api.ts';
import { LATENCY_POINTS, THROUGHPUT_POINTS, percentile, useMetricsStore } from './metrics.ts';

beforeEach(() => {
  setActivePinia(createPinia());
});

describe('metrics store', () => {
  it('keeps a bounded throughput history however long the dashboard runs', () => {
    const metrics = useMetricsStore();
    for (let i = 0; i < THROUGHPUT_POINTS + 50; i++) {
      metrics.recordSnapshot(fakeSnapshot({ uptimeMs: i * 500, executedRequests: i }));
    }
    expect(metrics.throughput).toHaveLength(THROUGHPUT_POINTS);
    expect(metrics.currentThroughput).toBe(2);
  });

  it('keeps a bounded latency history of this dashboard’s submits', () => {
    const metrics = useMetricsStore();
    metrics.recordSnapshot(fakeSnapshot({ uptimeMs: 0 }), 0);
    for (let i = 0; i < LATENCY_POINTS + 5; i++) {
      metrics.recordSubmit(
        { timestamp: i, result: { kind: 'deleted', path: '/x' }, matching: 3, latencyMs: i },
        i * 1000,
      );
    }
    expect(metrics.latency).toHaveLength(LATENCY_POINTS);
    expect(metrics.latency.at(-1)?.latencyMs).toBe(LATENCY_POINTS + 4);
  });

  it('percentile is the nearest rank', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5, 1, 3], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 1)).toBe(4);
  });

  it('places a submit on the host uptime clock, the one throughput uses: one time axis (issue 15, point 10)', () => {
    const metrics = useMetricsStore();
    // The page opened 2 s after a host that has been up for 60 s.
    metrics.recordSnapshot(fakeSnapshot({ uptimeMs: 60_000, executedRequests: 0 }), 2_000);
    metrics.recordSnapshot(fakeSnapshot({ uptimeMs: 60_500, executedRequests: 5 }), 2_500);
    metrics.recordSubmit({ timestamp: 1, result: { kind: 'deleted', path: '/x' }, matching: 3, latencyMs: 7 }, 3_000);
    expect(metrics.throughput.at(-1)?.atMs).toBe(60_500);
    expect(metrics.latency).toEqual([{ atS: 61, latencyMs: 7 }]);
  });
});
