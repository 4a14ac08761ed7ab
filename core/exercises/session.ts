/**
 * One exercise at a time, run from a screen: the instructor's Exercises panel (in the room, issue 14)
 * picks and starts an exercise, advances its steps by hand, and everyone sees which step is running
 * and, at the end, the checks' verdicts. This is the room-independent half: the room provides the
 * LiveCluster (its members, through their LabApi) and carries each progress report to the
 * dashboards (the renderer's exercise store: `setProgress`); the panel's ExerciseController calls
 * `start` and `advance`.
 *
 * The run is the CLI's (`pbft-lab exercise run ID --urls …`): the same script, the same records
 * gathered at the end, judged the same way; `lastRun` keeps the judged run file for the room's Save.
 */
import type { RunFile, Verdict } from '../record/run-file.ts';
import { exerciseById } from './catalogue.ts';
import { judgeRun, withVerdicts } from './judge.ts';
import type { LiveCluster } from './live-cluster.ts';
import { runLiveExercise } from './live-run.ts';
import { ExerciseScript } from './script.ts';

export interface ExerciseProgress {
  readonly exerciseId: string;
  /** The step running, from 0 (-1 before the first starts). */
  readonly stepIndex: number;
  /** What the running step waits for, in words. */
  readonly waitingFor?: string;
  readonly done: boolean;
  /** Once the run is over and judged. */
  readonly verdicts?: readonly Verdict[];
  /** The replay of the gathered records matched them (once judged). */
  readonly replayOk?: boolean;
  /** Why the run stopped early (the cluster refused, a replica was unreachable…). */
  readonly error?: string;
}

export interface ExerciseSessionOptions {
  /** How often the script looks at the replicas. @default 200 */
  readonly pollMs?: number;
  readonly source?: 'demo' | 'lab';
}

export class ExerciseSessionError extends Error {
  override readonly name = 'ExerciseSessionError';
}

export class ExerciseSession {
  private readonly cluster: LiveCluster;
  private readonly onProgress: (progress: ExerciseProgress) => void;
  private readonly options: ExerciseSessionOptions;
  private script: ExerciseScript | null = null;
  private run: RunFile | null = null;
  private abort: AbortController | null = null;
  /** Settles when the run started last is over (judged, or stopped by an error). */
  finished: Promise<void> = Promise.resolve();

  constructor(
    cluster: LiveCluster,
    onProgress: (progress: ExerciseProgress) => void,
    options: ExerciseSessionOptions = {},
  ) {
    this.cluster = cluster;
    this.onProgress = onProgress;
    this.options = options;
  }

  get running(): boolean {
    return this.script !== null;
  }

  /** The last run, judged (its verdicts in it), for saving; null until one has finished. */
  get lastRun(): RunFile | null {
    return this.run;
  }

  /** Starts an exercise on the cluster; it runs until its last step ends. One at a time. */
  start(exerciseId: string): void {
    if (this.script) throw new ExerciseSessionError('an exercise is running: let it finish first');
    const exercise = exerciseById(exerciseId);
    const script = new ExerciseScript(exercise);
    const abort = new AbortController();
    this.script = script;
    this.abort = abort;
    this.onProgress({ exerciseId, stepIndex: -1, done: false });
    this.finished = runLiveExercise(exercise, this.cluster, {
      script,
      pollMs: this.options.pollMs,
      source: this.options.source,
      signal: abort.signal,
      onState: (state) =>
        this.onProgress({ exerciseId, stepIndex: state.index, waitingFor: state.waitingFor, done: false }),
    })
      .then((raw) => {
        const judgement = judgeRun(exercise, raw);
        this.run = withVerdicts(raw, judgement);
        this.onProgress({
          exerciseId,
          stepIndex: exercise.steps.length - 1,
          done: true,
          verdicts: judgement.verdicts,
          replayOk: judgement.timeline.replay.ok,
        });
      })
      .catch((error: unknown) => {
        this.onProgress({
          exerciseId,
          stepIndex: script.state.index,
          done: true,
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.script = null;
        this.abort = null;
      });
  }

  /** Stops the running exercise at the script's next poll: the cluster is restored, nothing is judged. */
  stop(): void {
    if (!this.abort) throw new ExerciseSessionError('no exercise is running');
    this.abort.abort();
  }

  /** Ends the running step now (the instructor's "next step"); the next one starts at the script's next poll. */
  advance(): void {
    if (!this.script) throw new ExerciseSessionError('no exercise is running');
    this.script.advance();
  }
}
