/** Sparse samples are points, not a ramp that suggests a trend (issue 15, point 10). */
import { describe, expect, it } from 'vitest';
import { SPARSE_POINTS, styleFor } from './use-line-chart.ts';

describe('line chart style', () => {
  it('draws a few samples as points and a long series as a line', () => {
    expect(styleFor(3, false)).toEqual({ showLine: false, fill: false, pointRadius: 3 });
    expect(styleFor(SPARSE_POINTS, false)).toEqual({ showLine: true, fill: true, pointRadius: 0 });
  });

  it('draws separate events (latencies) as points however many there are', () => {
    expect(styleFor(500, true).showLine).toBe(false);
  });
});
