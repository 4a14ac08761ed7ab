/**
 * The room as the Room tab sees it: the latest RoomState (polled from the LabApi's `room` call) and
 * the telemetry events gathered so far, a bounded ring for the space-time diagram.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { RoomEvent, RoomState } from '../../../core/host/room-types.ts';
import { errorText, useConnectionStore } from './connection.ts';

/** Events the page keeps (the diagram scrubs back over them). */
export const ROOM_EVENTS_KEPT_PAGE = 20_000;
export const ROOM_POLL_MS = 400;

export const useRoomStore = defineStore('room', () => {
  const connection = useConnectionStore();
  const state = shallowRef<RoomState | null>(null);
  const events = shallowRef<RoomEvent[]>([]);
  const error = ref<string | null>(null);
  /** False when this host has no room (an older host, or the Electron bridge without the call). */
  const available = computed(() => connection.api !== null && typeof connection.api.room === 'function');
  let cursor = 0;
  let inFlight: Promise<void> | null = null;

  function refresh(): Promise<void> {
    inFlight ??= (async () => {
      try {
        const api = connection.requireApi();
        if (!api.room) throw new Error('this host has no room');
        // Catch up in a few calls when far behind (each answer is bounded).
        for (let i = 0; i < 5; i++) {
          const next = await api.room({ after: cursor });
          state.value = next;
          if (next.events.length > 0) {
            const merged = events.value.concat(next.events);
            events.value = merged.length > ROOM_EVENTS_KEPT_PAGE ? merged.slice(-ROOM_EVENTS_KEPT_PAGE) : merged;
          }
          cursor = next.cursor;
          if (next.events.length < 1000) break;
        }
        error.value = null;
      } catch (cause) {
        error.value = errorText(cause);
      } finally {
        inFlight = null;
      }
    })();
    return inFlight;
  }

  /** Forget what was gathered (a new room, or a test). */
  function reset(): void {
    state.value = null;
    events.value = [];
    cursor = 0;
  }

  return { state, events, error, available, refresh, reset };
});
