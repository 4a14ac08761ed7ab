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
});
