/**
 * The Room tab's Exercises panel on its host's `roomExercise` call: a room observer given its
 * members' dashboards runs the exercise on them, so the panel's controller starts, advances and stops
 * it there, and each poll brings the session's progress (the step, what it waits for, the verdicts).
 * A host without the call (a replica's dashboard, the desktop app) or a room without its members'
 * dashboards leaves the panel stepping on this screen, saying what it needs.
 */
import { onScopeDispose } from 'vue';
import { ROOM_EXERCISES_NEED, type LabApi, type RoomExerciseStatus } from '../../../core/host/lab-api.ts';
import { useConnectionStore } from '../stores/connection.ts';
import { useExerciseStore, type ExerciseController } from '../stores/exercise.ts';
import { ROOM_POLL_MS } from '../stores/room.ts';
import { useInterval } from './use-interval.ts';

export function useRoomExercises(pollMs = ROOM_POLL_MS): void {
  const connection = useConnectionStore();
  const exercise = useExerciseStore();
  let lastProgress = '';
  let unsupported = false;
  let inFlight = false;

  const apply = (status: RoomExerciseStatus): void => {
    if (status.commands) {
      exercise.needs = null;
      if (!exercise.controller) exercise.controller = controllerOn(connection.requireApi(), apply);
    } else {
      exercise.controller = null;
      exercise.needs = status.needs ?? ROOM_EXERCISES_NEED;
    }
    // Only a new report moves the panel: the instructor may pick the next exercise meanwhile.
    const key = JSON.stringify(status.progress);
    if (status.progress && key !== lastProgress) exercise.setProgress(status.progress);
    lastProgress = key;
  };

  const poll = async (): Promise<void> => {
    const api = connection.api;
    if (unsupported || inFlight || !api) return;
    if (!api.roomExercise) {
      unsupported = true;
      exercise.needs = ROOM_EXERCISES_NEED;
      return;
    }
    inFlight = true;
    try {
      apply(await api.roomExercise({ kind: 'status' }));
    } catch (cause) {
      // A host that is no room of its own (a replica's WebSocket) answers NoRoomExercisesError.
      if (cause instanceof Error && cause.name === 'NoRoomExercisesError') {
        unsupported = true;
        exercise.controller = null;
        exercise.needs = ROOM_EXERCISES_NEED;
      }
    } finally {
      inFlight = false;
    }
  };

  useInterval(() => void poll(), pollMs, { immediate: true });
  onScopeDispose(() => {
    exercise.controller = null;
    exercise.needs = null;
  });
}

function controllerOn(api: LabApi, apply: (status: RoomExerciseStatus) => void): ExerciseController {
  const call = async (command: Parameters<NonNullable<LabApi['roomExercise']>>[0]): Promise<void> => {
    apply(await api.roomExercise!(command));
  };
  return {
    reportsProgress: true,
    start: (exerciseId) => call({ kind: 'start', exerciseId }),
    advance: () => call({ kind: 'advance' }),
    stop: () => call({ kind: 'stop' }),
  };
}
