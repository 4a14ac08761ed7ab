/**
 * An exercise's steps as a state machine, like the replica it drives (sans-IO): a driver polls it
 * with the time and what it sees of the replicas, and does the actions it hands back. The simulator
 * polls it after every event (virtual time), the live driver every few hundred ms (wall time); the
 * instructor's "advance" ends a step early. Nothing here waits, sleeps or talks to a network.
 */
import type { Action, Condition, Exercise, Step } from './schema.ts';

/** What a driver sees of one replica (null: down, paused or unreachable). */
export interface ReplicaProbe {
  readonly view: number;
  readonly normal: boolean;
  readonly executed: number;
  readonly stable: number;
}

export interface ScriptMark {
  readonly step: string;
  readonly w: number;
  readonly previousTimedOut?: boolean;
}

export interface ScriptPoll {
  /** Actions to do now, in order. */
  readonly actions: readonly Action[];
  /** A step that started now. */
  readonly mark: ScriptMark | null;
  readonly done: boolean;
}

export interface ScriptState {
  /** The step running (-1 before the first). */
  readonly index: number;
  readonly step: Step | null;
  readonly stepStartedW: number;
  /** What the step waits for, in words. */
  readonly waitingFor: string;
  readonly done: boolean;
}

export class ExerciseScript {
  readonly exercise: Exercise;
  private index = -1;
  private startedW = 0;
  private metW: number | null = null;
  private advanceAsked = false;
  private finished = false;
  /** Who is faulty or out of reach so far: conditions by default look at the others. */
  private readonly byzantine = new Set<number>();
  private readonly paused = new Set<number>();

  constructor(exercise: Exercise) {
    this.exercise = exercise;
  }

  /** The instructor ends the current step now (or starts the first). */
  advance(): void {
    this.advanceAsked = true;
  }

  get state(): ScriptState {
    const step = this.exercise.steps[this.index] ?? null;
    return {
      index: this.index,
      step,
      stepStartedW: this.startedW,
      waitingFor: step ? describeUntil(step) : 'the start',
      done: this.finished,
    };
  }

  poll(w: number, probe: (replica: number) => ReplicaProbe | null, clientsIdle: boolean): ScriptPoll {
    if (this.finished) return { actions: [], mark: null, done: true };
    if (this.index === -1) return this.start(0, w, false);
    const step = this.exercise.steps[this.index]!;
    const over = this.stepOver(step, w, probe, clientsIdle);
    if (over === null) return { actions: [], mark: null, done: false };
    if (this.index + 1 >= this.exercise.steps.length) {
      this.finished = true;
      return { actions: [], mark: null, done: true };
    }
    return this.start(this.index + 1, w, over === 'timed-out');
  }

  /** Replicas a condition looks at by default: the correct ones not paused. */
  defaultReplicas(): number[] {
    return Array.from({ length: this.exercise.n }, (_, r) => r).filter(
      (r) => !this.byzantine.has(r) && !this.paused.has(r),
    );
  }

  private start(index: number, w: number, previousTimedOut: boolean): ScriptPoll {
    this.index = index;
    this.startedW = w;
    this.metW = null;
    this.advanceAsked = false;
    const step = this.exercise.steps[index]!;
    const actions = step.actions ?? [];
    for (const a of actions) {
      if (a.do === 'behaviour') for (const r of a.replicas) if (a.behaviour !== null) this.byzantine.add(r);
      if (a.do === 'pause') this.paused.add(a.replica);
      if (a.do === 'resume') this.paused.delete(a.replica);
    }
    return {
      actions,
      mark: { step: step.id, w, ...(previousTimedOut ? { previousTimedOut: true } : {}) },
      done: false,
    };
  }

  /** 'met', 'timed-out', or null while the step goes on. */
  private stepOver(
    step: Step,
    w: number,
    probe: (replica: number) => ReplicaProbe | null,
    clientsIdle: boolean,
  ): 'met' | 'timed-out' | null {
    if (this.advanceAsked) return 'met';
    const until = step.until;
    const elapsed = w - this.startedW;
    if ('afterMs' in until) return elapsed >= until.afterMs ? 'met' : null;
    if (this.metW === null && this.holds(until.condition, probe, clientsIdle)) this.metW = w;
    if (this.metW !== null && w - this.metW >= (until.thenMs ?? 0)) return 'met';
    return elapsed >= until.timeoutMs ? 'timed-out' : null;
  }

  private holds(condition: Condition, probe: (replica: number) => ReplicaProbe | null, clientsIdle: boolean): boolean {
    if (condition.kind === 'clients-idle') return clientsIdle;
    const replicas = condition.replicas ?? this.defaultReplicas();
    return replicas.every((r) => {
      const p = probe(r);
      if (!p) return false;
      switch (condition.kind) {
        case 'view':
          return p.normal && p.view >= condition.atLeast;
        case 'executed':
          return p.executed >= condition.atLeast;
        case 'stable-checkpoint':
          return p.stable >= condition.atLeast;
      }
    });
  }
}

export function describeUntil(step: Step): string {
  const until = step.until;
  if ('afterMs' in until) return `${(until.afterMs / 1000).toFixed(1)} s`;
  const c = until.condition;
  const who = 'replicas' in c && c.replicas ? `replicas ${c.replicas.join(', ')}` : 'the correct replicas';
  const what =
    c.kind === 'clients-idle'
      ? 'every client to finish its requests'
      : c.kind === 'view'
        ? `${who} in view ${c.atLeast} or later`
        : c.kind === 'executed'
          ? `${who} to execute sequence number ${c.atLeast}`
          : `${who} to reach stable checkpoint ${c.atLeast}`;
  return `${what} (at most ${(until.timeoutMs / 1000).toFixed(0)} s)`;
}
