import { useReplicaStore } from '../stores/replica.ts';
import { useInterval } from './use-interval.ts';

/** How often the panels refresh from a snapshot (the issue: "poll snapshot() every ~500 ms"). */
export const SNAPSHOT_POLL_MS = 500;

/** Keep the replica store's snapshot fresh while the calling component lives. */
export function useSnapshotPolling(ms: number = SNAPSHOT_POLL_MS): void {
  const replica = useReplicaStore();
  useInterval(() => void replica.refresh(), ms, { immediate: true });
}
