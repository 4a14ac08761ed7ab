/**
 * The event stream, kept for the Messages panel (the space-time diagram) and the activity notes of
 * the View and Checkpoints panels. Events arrive in bursts (every PREPARE and COMMIT of every batch),
 * so they go into bounded rings at once and reach the screen only when `flush()` runs, a few times a
 * second, instead of re-rendering the diagram per event.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { LabEvent } from '../../../core/host/lab-api.ts';
import { Ring } from '../lib/ring.ts';
import type { MessageEvent } from './diagram-layout.ts';

export const MESSAGE_EVENTS_KEPT = 800;
export const NOTES_KEPT = 12;

export interface Note {
  readonly id: number;
  readonly atMs: number;
  readonly text: string;
}

/** Host log lines worth showing on the View panel: the view-change protocol at work (§4.4). */
const VIEW_NOTE = /VIEW-CHANGE|NEW-VIEW|view change/i;
/** … and on the Checkpoints panel (§4.3) and state transfer. */
const CHECKPOINT_NOTE = /stable checkpoint|state transfer/i;

export const useMessagesStore = defineStore('messages', () => {
  const messageRing = new Ring<MessageEvent>(MESSAGE_EVENTS_KEPT);
  const viewNoteRing = new Ring<Note>(NOTES_KEPT);
  const checkpointNoteRing = new Ring<Note>(NOTES_KEPT);
  const activityRing = new Ring<Note>(NOTES_KEPT * 2);
  let nextId = 1;
  let dirty = false;

  const live = shallowRef<MessageEvent[]>([]);
  const viewNotes = shallowRef<Note[]>([]);
  const checkpointNotes = shallowRef<Note[]>([]);
  const activity = shallowRef<Note[]>([]);
  const paused = ref(false);
  /** The events held when the diagram was paused: scrolling back moves over these. */
  const frozen = shallowRef<MessageEvent[]>([]);
  const scrollBackMs = ref(0);
  const received = ref(0);

  function ingest(event: LabEvent): void {
    const id = nextId++;
    if (event.kind === 'message') {
      messageRing.push({ ...event, id });
    } else {
      const text = event.kind === 'log' ? event.line : event.text;
      const note = { id, atMs: event.atMs, text };
      if (VIEW_NOTE.test(text)) viewNoteRing.push(note);
      if (CHECKPOINT_NOTE.test(text)) checkpointNoteRing.push(note);
      // A Byzantine neighbour makes "ignored …" lines by the hundred; they would crowd out the rest.
      if (!/ ignored /.test(text)) activityRing.push(note);
    }
    dirty = true;
  }

  /** Copy what arrived since the last flush to the screen. */
  function flush(): void {
    if (!dirty) return;
    dirty = false;
    received.value = nextId - 1;
    if (!paused.value) live.value = messageRing.toArray();
    viewNotes.value = viewNoteRing.toArray();
    checkpointNotes.value = checkpointNoteRing.toArray();
    activity.value = activityRing.toArray();
  }

  function pause(): void {
    frozen.value = messageRing.toArray();
    scrollBackMs.value = 0;
    paused.value = true;
  }

  function resume(): void {
    paused.value = false;
    frozen.value = [];
    scrollBackMs.value = 0;
    dirty = true;
    flush();
  }

  /** What the diagram draws: the live ring, or what it held when paused. */
  const shown = computed(() => (paused.value ? frozen.value : live.value));
  const dropped = computed(() => {
    void received.value;
    return messageRing.dropped;
  });

  return {
    live,
    frozen,
    shown,
    paused,
    scrollBackMs,
    viewNotes,
    checkpointNotes,
    activity,
    received,
    dropped,
    ingest,
    flush,
    pause,
    resume,
  };
});
