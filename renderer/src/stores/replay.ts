/**
 * The scrubbing view's state: the run's summary, the position on its steps, play/pause at a speed,
 * which replica the panels show, and the replicas' state at the position. The dashboard's own panels
 * (View, Checkpoints, Log) show the chosen replica: its replayed snapshot goes into the replica store,
 * where a live one would.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { ScrubEvent, ScrubState, ScrubSummary } from '../../../core/record/scrub-types.ts';
import { httpReplaySource, type ReplaySource } from '../api/replay.ts';
import { errorText } from './connection.ts';
import { clampPosition, positionAtOrBefore, SPEEDS } from './replay-position.ts';
import { useReplicaStore } from './replica.ts';

/** Events shown around the position: this many steps before and after. */
export const EVENTS_AROUND = 12;

export const useReplayStore = defineStore('replay', () => {
  const replicaStore = useReplicaStore();
  let source: ReplaySource = httpReplaySource;
  const summary = shallowRef<ScrubSummary | null>(null);
  const state = shallowRef<ScrubState | null>(null);
  const events = shallowRef<ScrubEvent[]>([]);
  const position = ref(0);
  const selected = ref(0);
  const playing = ref(false);
  const speed = ref(3);
  const error = ref<string | null>(null);
  let timer: ReturnType<typeof setInterval> | null = null;
  let loading: Promise<void> = Promise.resolve();

  const steps = computed(() => summary.value?.steps ?? []);
  const index = computed(() => steps.value[position.value] ?? 0);
  const seconds = computed(() => {
    const s = summary.value;
    return s && state.value ? (state.value.w - s.startW) / 1000 : 0;
  });

  async function load(from: ReplaySource = httpReplaySource): Promise<void> {
    source = from;
    try {
      summary.value = await source.summary();
      await goTo(0);
    } catch (cause) {
      error.value = errorText(cause);
    }
  }

  /** Move to a position; the fetches run one after the other, the last asked for wins. */
  function goTo(to: number): Promise<void> {
    position.value = clampPosition(to, steps.value);
    const wanted = position.value;
    loading = loading.then(async () => {
      if (wanted !== position.value) return;
      try {
        const [next, around] = await Promise.all([
          source.state(steps.value[wanted] ?? 0),
          source.events(Math.max(0, wanted - EVENTS_AROUND), wanted + EVENTS_AROUND),
        ]);
        state.value = next;
        events.value = around;
        show();
        error.value = null;
      } catch (cause) {
        error.value = errorText(cause);
      }
    });
    return loading;
  }

  /** The chosen replica's replayed snapshot, into the store the dashboard's panels read. */
  function show(): void {
    replicaStore.snapshot = state.value?.replicas[selected.value] ?? null;
  }

  function select(replica: number): void {
    selected.value = replica;
    show();
  }

  const step = (by: number): Promise<void> => goTo(position.value + by);
  /** A replay index (a check's witness, a chapter's start): the step at or just before it. */
  const goToIndex = (replayIndex: number): Promise<void> => goTo(positionAtOrBefore(steps.value, replayIndex));

  function goToSeq(seq: number): Promise<void> | null {
    const found = summary.value?.seqs.find((s) => s.seq === seq);
    return found ? goToIndex(found.index) : null;
  }

  function play(): void {
    if (playing.value) return;
    playing.value = true;
    restartTimer();
  }

  function pause(): void {
    playing.value = false;
    if (timer) clearInterval(timer);
    timer = null;
  }

  function setSpeed(to: number): void {
    speed.value = Math.max(0, Math.min(SPEEDS.length - 1, to));
    if (playing.value) restartTimer();
  }

  function restartTimer(): void {
    if (timer) clearInterval(timer);
    timer = setInterval(() => {
      if (position.value >= steps.value.length - 1) return pause();
      void step(1);
    }, 1000 / SPEEDS[speed.value]!.stepsPerSecond);
  }

  return {
    summary,
    state,
    events,
    position,
    index,
    seconds,
    selected,
    playing,
    speed,
    error,
    steps,
    load,
    goTo,
    step,
    goToIndex,
    goToSeq,
    select,
    play,
    pause,
    setSpeed,
  };
});
