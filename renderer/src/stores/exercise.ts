/**
 * The Exercises panel's state (students' and instructor's views alike): which exercise, which step,
 * the students' answers to the predictions, and the checks' verdicts once known.
 *
 * Who moves the exercise on is a controller: the room (issue 14) is to provide one that starts the
 * exercise on the cluster, advances it for everyone and pushes progress and verdicts back
 * (`setProgress`); without one, the panel steps through the exercise on this screen only.
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
    try {
      await controller.value?.start(selectedId.value);
      status.value = 'running';
      stepIndex.value = 0;
      error.value = null;
    } catch (cause) {
      error.value = errorText(cause);
    }
  }

  async function advance(): Promise<void> {
    try {
      await controller.value?.advance();
      if (!controller.value) {
        if (isLastStep.value) status.value = 'done';
        else stepIndex.value++;
      }
      error.value = null;
    } catch (cause) {
      error.value = errorText(cause);
    }
  }

  /** The room (or a live runner) says where the exercise is, and what the checks found. */
  function setProgress(progress: { stepIndex: number; done: boolean; verdicts?: readonly ScrubVerdict[] }): void {
    status.value = progress.done ? 'done' : 'running';
    stepIndex.value = progress.stepIndex;
    if (progress.verdicts) verdicts.value = progress.verdicts;
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
    exercise,
    step,
    isLastStep,
    select,
    start,
    advance,
    setProgress,
    answer,
  };
});
