import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from './latency-histogram.ts';
import { percentiles } from './report.ts';

describe('LatencyHistogram', () => {
  it('is exact to the microsecond below 1 ms', () => {
    const h = new LatencyHistogram();
    const samples = Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000); // 0.001 … 1.000 ms
    for (const ms of samples) h.record(ms);
    const exact = percentiles(samples);
    expect(h.percentileMs(0.5)).toBeCloseTo(exact.p50, 6);
    expect(h.percentileMs(0.99)).toBeCloseTo(exact.p99, 6);
    expect(h.percentileMs(1)).toBe(1);
  });

  it('stays within 1/64 above 1 ms, up to hours', () => {
    for (const ms of [1.5, 7.3, 123.4, 9_999.9, 3_600_000]) {
      const h = new LatencyHistogram();
      h.record(ms);
      h.record(ms * 10); // the maximum, so the percentile below is not clamped to it
      expect(Math.abs(h.percentileMs(0.5) - ms) / ms).toBeLessThan(1 / 64);
    }
  });

  it('adds up the histograms of several processes through their JSON form', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let i = 0; i < 90; i++) a.record(2);
    for (let i = 0; i < 10; i++) b.record(50);
    const merged = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(a)));
    merged.add(JSON.parse(JSON.stringify(b)));
    expect(merged.count).toBe(100);
    expect(merged.percentileMs(0.9)).toBeCloseTo(2, 1);
    expect(merged.percentileMs(0.91)).toBeCloseTo(50, 0);
    expect(merged.percentileMs(1)).toBe(50);
    expect(new LatencyHistogram().percentileMs(0.5)).toBeNaN();
  });
});
