/**
 * The Exercises panel's state (students' and instructor's views alike): which exercise, which step,
 * the students' answers to the predictions, and the checks' verdicts once known.
 *
 * Who moves the exercise on is a controller: the room (`useRoomExercises`, given its members'
 * dashboards) provides one that starts the exercise on the cluster, advances or stops it, and brings
 * its progress and verdicts back (`setProgress`); without one, the panel steps through the exercise on
 * this screen only, and `needs` says what the room would need to run it on the replicas.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { EXERCISES } from '../../../core/exercises/catalogue.ts';
import type { Exercise } from '../../../core/exercises/schema.ts';
import type { ScrubVerdict } from '../../../core/record/scrub-types.ts';
import { errorText } from './connection.ts';

export interface ExerciseController {
  start(exerciseId: string): Promise<void>;
  advance(): Promise<void>;
  /** Stop the run (the cluster is restored, nothing judged). */
  stop?(): Promise<void>;
  /** It reports where the run is through `setProgress` (else the panel moves on when a call succeeds). */
  readonly reportsProgress?: boolean;
}

/** Where a run is, as a controller reports it (the room's RoomExerciseProgress). */
export interface ExerciseProgressReport {
  readonly exerciseId?: string;
  readonly stepIndex: number;
  readonly waitingFor?: string;
  readonly done: boolean;
  readonly verdicts?: readonly ScrubVerdict[];
  readonly error?: string;
}

export type ExerciseStatus = 'choosing' | 'running' | 'done';

export const useExerciseStore = defineStore('exercise', () => {
  const exercises: readonly Exercise[] = EXERCISES;
  const selectedId = ref(exercises[0]?.id ?? '');
  const status = ref<ExerciseStatus>('choosing');
  const stepIndex = ref(0);
  const answers = ref<Record<string, string>>({});
  const verdicts = shallowRef<readonly ScrubVerdict[] | null>(null);
  const controller = shallowRef<ExerciseController | null>(null);
  const error = ref<string | null>(null);
  /** What the step running waits for, in words (when a controller says). */
  const waitingFor = ref<string | null>(null);
  /** Without a controller: what the host would need to run the exercise on the replicas (the room's words). */
  const needs = ref<string | null>(null);

  const exercise = computed(() => exercises.find((e) => e.id === selectedId.value) ?? null);
  const step = computed(() => (status.value === 'choosing' ? null : (exercise.value?.steps[stepIndex.value] ?? null)));
  const isLastStep = computed(() => stepIndex.value >= (exercise.value?.steps.length ?? 1) - 1);

  function select(id: string): void {
    if (status.value === 'running') return;
    selectedId.value = id;
    status.value = 'choosing';
    stepIndex.value = 0;
    answers.value = {};
    verdicts.value = null;
  }

  async function start(): Promise<void> {
    error.value = null;
    try {
      await controller.value?.start(selectedId.value);
      if (!controller.value?.reportsProgress) {
        status.value = 'running';
        stepIndex.value = 0;
      }
    } catch (cause) {
      error.value = errorText(cause);
    }
  }

  async function advance(): Promise<void> {
    error.value = null;
    try {
      await controller.value?.advance();
      if (!controller.value) {
        if (isLastStep.value) status.value = 'done';
        else stepIndex.value++;
      }
    } catch (cause) {
      error.value = errorText(cause);
    }
  }

  async function stop(): Promise<void> {
    error.value = null;
    try {
      await controller.value?.stop?.();
    } catch (cause) {
      error.value = errorText(cause);
    }
  }

  /**
   * The room (or a live runner) says where the exercise is, and what the checks found: each check
   * pending until the run is judged. A run stopped early (`error`) leaves the panel choosing again.
   */
  function setProgress(progress: ExerciseProgressReport): void {
    if (progress.exerciseId !== undefined && progress.exerciseId !== selectedId.value) {
      selectedId.value = progress.exerciseId;
      answers.value = {};
    }
    status.value = !progress.done ? 'running' : progress.error ? 'choosing' : 'done';
    stepIndex.value = Math.max(progress.stepIndex, 0);
    waitingFor.value = progress.done ? null : (progress.waitingFor ?? null);
    verdicts.value = progress.verdicts ?? null;
    if (progress.error) error.value = progress.error;
  }

  function answer(questionId: string, value: string): void {
    answers.value = { ...answers.value, [questionId]: value };
  }

  return {
    exercises,
    selectedId,
    status,
    stepIndex,
    answers,
    verdicts,
    controller,
    error,
    waitingFor,
    needs,
    exercise,
    step,
    isLastStep,
    select,
    start,
    advance,
    stop,
    setProgress,
    answer,
  };
});
