/**
 * The Metrics panel's histories: throughput from snapshot deltas and the latency of this dashboard's
 * own submits, each a bounded ring (STYLE.md: never an ever-growing array).
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { LabSnapshot, SubmitOutcome } from '../../../core/host/lab-api.ts';
import { Ring } from '../lib/ring.ts';
import { hostRestarted, throughputBetween, type MetricsSample, type RatePoint } from './throughput.ts';

/** Two minutes of 500 ms polls. */
export const THROUGHPUT_POINTS = 240;
export const LATENCY_POINTS = 120;

export interface LatencyPoint {
  /**
   * Seconds of host uptime when the result came: the throughput chart's clock too, so both charts
   * share one time axis.
   */
  readonly atS: number;
  readonly latencyMs: number;
}

export const useMetricsStore = defineStore('metrics', () => {
  // The rings are private: their contents reach Vue through `revision`, copied out on change.
  const throughputRing = new Ring<RatePoint>(THROUGHPUT_POINTS);
  const latencyRing = new Ring<LatencyPoint>(LATENCY_POINTS);
  const revision = ref(0);
  let previous: MetricsSample | null = null;
  /** The last snapshot's host uptime and when (page clock) it came: page time → host uptime. */
  let anchor: { uptimeMs: number; atMs: number } | null = null;

  function recordSnapshot(snapshot: LabSnapshot, atMs: number = performance.now()): void {
    const sample = { uptimeMs: snapshot.metrics.uptimeMs, executedRequests: snapshot.metrics.executedRequests };
    anchor = { uptimeMs: sample.uptimeMs, atMs };
    if (previous !== null && hostRestarted(previous, sample)) throughputRing.clear();
    const point = previous === null ? null : throughputBetween(previous, sample);
    previous = sample;
    if (point !== null) {
      throughputRing.push(point);
      revision.value++;
    }
  }

  function recordSubmit(outcome: SubmitOutcome, atMs: number = performance.now()): void {
    // Before the first snapshot (the dashboard polls at once) there is no host clock yet: at 0.
    const uptimeMs = anchor === null ? 0 : anchor.uptimeMs + (atMs - anchor.atMs);
    latencyRing.push({ atS: uptimeMs / 1000, latencyMs: outcome.latencyMs });
    revision.value++;
  }

  const throughput = computed(() => {
    void revision.value;
    return throughputRing.toArray();
  });
  const latency = computed(() => {
    void revision.value;
    return latencyRing.toArray();
  });
  const currentThroughput = computed(() => throughput.value.at(-1)?.perSecond ?? null);
  const latencyP50 = computed(() =>
    percentile(
      latency.value.map((p) => p.latencyMs),
      0.5,
    ),
  );

  return { throughput, latency, currentThroughput, latencyP50, recordSnapshot, recordSubmit };
});

/** The q-quantile (nearest rank) of some numbers, null for none. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
