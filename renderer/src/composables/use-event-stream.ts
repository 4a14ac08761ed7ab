import { onScopeDispose } from 'vue';
import { useConnectionStore } from '../stores/connection.ts';
import { useMessagesStore } from '../stores/messages.ts';
import { useInterval } from './use-interval.ts';

/** How often events that arrived reach the screen. */
export const EVENT_FLUSH_MS = 250;

/** Subscribe to the replica's events while the calling component lives; unsubscribe after. */
export function useEventStream(flushMs: number = EVENT_FLUSH_MS): void {
  const messages = useMessagesStore();
  const unsubscribe = useConnectionStore()
    .requireApi()
    .subscribe((event) => messages.ingest(event));
  onScopeDispose(unsubscribe);
  useInterval(() => messages.flush(), flushMs, { immediate: true });
}
