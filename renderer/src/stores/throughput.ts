/**
 * Throughput from consecutive snapshots: executed requests per second over the host's own uptime
 * clock (LabMetrics.uptimeMs), so a slow or paused dashboard poll does not distort the rate.
 */
import type { LabMetrics } from '../../../core/host/lab-api.ts';

export type MetricsSample = Pick<LabMetrics, 'uptimeMs' | 'executedRequests'>;

export interface RatePoint {
  /** Host uptime at the end of the interval, ms. */
  readonly atMs: number;
  readonly perSecond: number;
}

/**
 * The rate between two samples, or null when there is none to compute: the same snapshot twice, or
 * counters that went backwards (the host restarted, so the samples belong to different runs).
 */
export function throughputBetween(previous: MetricsSample, next: MetricsSample): RatePoint | null {
  const elapsedMs = next.uptimeMs - previous.uptimeMs;
  const executed = next.executedRequests - previous.executedRequests;
  if (elapsedMs <= 0 || executed < 0) return null;
  return { atMs: next.uptimeMs, perSecond: (executed * 1000) / elapsedMs };
}

/** The host restarted between two samples: its uptime went back. */
export function hostRestarted(previous: MetricsSample, next: MetricsSample): boolean {
  return next.uptimeMs < previous.uptimeMs || next.executedRequests < previous.executedRequests;
}

/** A chart's x label for a point: seconds of host uptime. */
export function uptimeLabel(atMs: number): string {
  return `${(atMs / 1000).toFixed(1)} s`;
}
