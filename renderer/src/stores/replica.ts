/**
 * This machine's replica as the dashboard sees it: the latest snapshot (polled by
 * composables/use-snapshot-polling.ts) and the views of it the panels show.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { LabSnapshot } from '../../../core/host/lab-api.ts';
import { joinAddresses, otherPeerRows, rosterRows } from './cluster-rows.ts';
import { errorText, useConnectionStore } from './connection.ts';
import { faultyView, silentMembers } from './faulty-rows.ts';
import { collectRows, logRowViews, phaseCounts } from './log-rows.ts';
import type { LogRowInfo } from '../../../core/host/lab-api.ts';
import { useMetricsStore } from './metrics.ts';

export const useReplicaStore = defineStore('replica', () => {
  const connection = useConnectionStore();
  const metrics = useMetricsStore();
  const snapshot = shallowRef<LabSnapshot | null>(null);
  const error = ref<string | null>(null);
  /** performance.now() when the snapshot arrived: with its uptime, an estimate of the host's clock. */
  const receivedAt = ref(0);
  /** Executed rows the stable checkpoints have garbage-collected, newest first (log-rows.ts). */
  const collected = shallowRef<LogRowInfo[]>([]);
  let inFlight: Promise<void> | null = null;

  /** Fetch a snapshot; a call while one is on its way joins it instead of piling up. */
  function refresh(): Promise<void> {
    inFlight ??= (async () => {
      try {
        const next = await connection.requireApi().snapshot();
        const before = snapshot.value;
        // Another replica (the page reconnected elsewhere) or a restarted one: its own history only.
        if (before !== null && before.self.peerId !== next.self.peerId) collected.value = [];
        else if (before !== null)
          collected.value = collectRows(collected.value, before.log, next.log, next.checkpoints?.stableSeq ?? null);
        snapshot.value = next;
        receivedAt.value = performance.now();
        error.value = null;
        metrics.recordSnapshot(next);
      } catch (cause) {
        error.value = errorText(cause);
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  }

  /** The host's uptime now, estimated from the last snapshot (for the live edge of the diagram). */
  function estimatedUptimeMs(now: number = performance.now()): number | null {
    const s = snapshot.value;
    return s === null ? null : s.metrics.uptimeMs + (now - receivedAt.value);
  }

  const self = computed(() => snapshot.value?.self ?? null);
  const f = computed(() => snapshot.value?.self.f ?? 1);
  const view = computed(() => snapshot.value?.view ?? null);
  const checkpoints = computed(() => snapshot.value?.checkpoints ?? null);
  const faults = computed(() => snapshot.value?.faults ?? null);
  const behaviour = computed(() => snapshot.value?.behaviour ?? null);
  /** Who has been Byzantine in this run, against f (null while forming). */
  const faulty = computed(() => {
    const s = snapshot.value;
    return s?.faultySoFar ? faultyView(s.faultySoFar, s.self.replicaId) : null;
  });
  const silent = computed(() => (snapshot.value ? silentMembers(snapshot.value) : []));
  const roster = computed(() => (snapshot.value ? rosterRows(snapshot.value) : []));
  const otherPeers = computed(() => (snapshot.value ? otherPeerRows(snapshot.value) : []));
  const addresses = computed(() => (snapshot.value ? joinAddresses(snapshot.value) : []));
  const logRows = computed(() => logRowViews(snapshot.value?.log ?? [], f.value));
  const collectedRows = computed(() => logRowViews(collected.value, f.value));
  const logPhases = computed(() => phaseCounts(logRows.value));
  const isPrimary = computed(() => {
    const s = snapshot.value;
    return s !== null && s.view !== null && s.self.replicaId === s.view.primary;
  });

  return {
    snapshot,
    error,
    refresh,
    estimatedUptimeMs,
    self,
    f,
    view,
    checkpoints,
    faults,
    behaviour,
    faulty,
    silent,
    roster,
    otherPeers,
    addresses,
    logRows,
    collectedRows,
    logPhases,
    isPrimary,
  };
});
