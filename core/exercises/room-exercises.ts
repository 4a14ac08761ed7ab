/**
 * The room's exercises (issue 16): the instructor's Exercises panel in the Room tab starts an
 * exercise, advances its steps and sees the verdicts, and the room applies each step to its members
 * through their dashboards' LabApi (`pbft-lab room --member-urls`, or the dashboards the demo left on
 * this machine). One ExerciseSession over a LabApiCluster per run, connected at the start and closed
 * when the run is over; the panel asks where it is (`status`) as it polls the room.
 *
 * The members' URLs carry their tokens: they stay in this process. The panel sees them without.
 */
import {
  ROOM_EXERCISES_NEED,
  type RoomExerciseCommand,
  type RoomExerciseProgress,
  type RoomExerciseStatus,
} from '../host/lab-api.ts';
import { exerciseById } from './catalogue.ts';
import { LabApiCluster, LiveClusterError, redact } from './live-cluster.ts';
import { refuseSimulatorOnly, refuseStaleCluster } from './live-run.ts';
import { ExerciseSession, type ExerciseProgress } from './session.ts';

export interface RoomExercisesOptions {
  /** Only members of this cluster (the one the room watches). */
  readonly cluster: string;
  /** Each member's dashboard URL with its token; empty: the room cannot command its members. */
  readonly memberUrls: readonly string[];
  /** How often the script looks at the replicas. @default 200 */
  readonly pollMs?: number;
  readonly log?: (line: string) => void;
}

export class RoomExercises {
  private readonly options: RoomExercisesOptions;
  private session: ExerciseSession | null = null;
  private starting = false;
  private progress: RoomExerciseProgress | null = null;

  constructor(options: RoomExercisesOptions) {
    this.options = options;
  }

  get commands(): boolean {
    return this.options.memberUrls.length > 0;
  }

  status(): RoomExerciseStatus {
    return {
      commands: this.commands,
      needs: this.commands ? null : ROOM_EXERCISES_NEED,
      members: this.options.memberUrls.map(redact),
      running: this.starting || (this.session?.running ?? false),
      progress: this.progress,
    };
  }

  async command(command: RoomExerciseCommand): Promise<RoomExerciseStatus> {
    switch (command.kind) {
      case 'status':
        break;
      case 'start':
        await this.start(command.exerciseId);
        break;
      case 'advance':
        this.requireRunning().advance();
        break;
      case 'stop':
        this.requireRunning().stop();
        break;
    }
    return this.status();
  }

  /** Stops a run still going (the room is stopping); the cluster is restored before this settles. */
  async close(): Promise<void> {
    if (this.session?.running) this.session.stop();
    await this.session?.finished;
  }

  private requireRunning(): ExerciseSession {
    if (!this.session?.running) throw new LiveClusterError('no exercise is running');
    return this.session;
  }

  private async start(exerciseId: string): Promise<void> {
    if (!this.commands) throw new LiveClusterError(ROOM_EXERCISES_NEED);
    if (this.starting || this.session?.running)
      throw new LiveClusterError('an exercise is running: let it finish, or stop it');
    const exercise = exerciseById(exerciseId);
    refuseSimulatorOnly(exercise);
    this.starting = true;
    let cluster: LabApiCluster | null = null;
    try {
      cluster = await LabApiCluster.connect(this.options.memberUrls);
      const other = cluster.initial.find((s) => s.self.cluster !== this.options.cluster);
      if (other)
        throw new LiveClusterError(
          `the member URLs are of cluster "${other.self.cluster}", the room watches "${this.options.cluster}": give the room its own cluster's dashboards`,
        );
      refuseStaleCluster(cluster.initial);
    } catch (error) {
      this.starting = false;
      await cluster?.close();
      throw error;
    }
    const connected = cluster;
    const log = this.options.log ?? (() => {});
    const session = new ExerciseSession(connected, (p) => this.report(p), {
      pollMs: this.options.pollMs,
      source: this.options.memberUrls.every((u) => isLoopback(u)) ? 'demo' : 'lab',
    });
    this.session = session;
    this.starting = false;
    log(`room: exercise ${exerciseId} started on the members`);
    session.start(exerciseId);
    void session.finished.finally(async () => {
      await connected.close();
      const last = this.progress;
      log(
        `room: exercise ${exerciseId} ${last?.error ? `stopped: ${last.error}` : `judged: ${(last?.verdicts ?? []).filter((v) => v.ok).length} of ${last?.verdicts?.length ?? 0} checks passed`}`,
      );
    });
  }

  private report(progress: ExerciseProgress): void {
    this.progress = {
      exerciseId: progress.exerciseId,
      stepIndex: progress.stepIndex,
      done: progress.done,
      ...(progress.waitingFor !== undefined ? { waitingFor: progress.waitingFor } : {}),
      ...(progress.verdicts
        ? { verdicts: progress.verdicts.map(({ check, title, ok, detail }) => ({ check, title, ok, detail })) }
        : {}),
      ...(progress.replayOk !== undefined ? { replayOk: progress.replayOk } : {}),
      ...(progress.error !== undefined ? { error: progress.error } : {}),
    };
  }
}

function isLoopback(url: string): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
}
