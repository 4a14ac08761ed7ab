/**
 * An exercise is data (DESIGN.md "Exercises are data"; TEACHING.md §8b, after DSLabs' tests): a file
 * in core/exercises/data/, reviewed like code, read through `parseExercise` so that a mistake is
 * reported with its place in the file. The same exercise runs three ways — a seeded simulation, the
 * one-machine demo, four lab machines — because it names only what every driver can do: switch a
 * replica's behaviour, pause a replica, cut the network in two, send client requests.
 *
 * Written by hand rather than with a schema library: this branch cannot add dependencies, and the
 * checks below are few and give errors in the words of the exercise ("steps[2].until: …").
 * No Node imports: the dashboard's Exercises panel reads exercises too.
 */

export interface Exercise {
  /** Kebab-case, the file's name. */
  readonly id: string;
  readonly title: string;
  /** The paper's sections, e.g. "OSDI'99 §4.4; TOCS'02 §4.5". */
  readonly paper: string;
  /** What the students should understand afterwards, one sentence. */
  readonly goal: string;
  /** Replicas (3f+1). */
  readonly n: number;
  /** Protocol parameters the exercise needs (a small checkpoint interval shows garbage collection). */
  readonly protocol?: { readonly checkpointInterval?: number; readonly viewChangeTimeoutTicks?: number };
  /** Clients: how many (numbered 0…), and the behaviour of client 0 if it is Byzantine. */
  readonly clients: { readonly count: number; readonly byzantine?: string };
  /**
   * Where it may run. `simulator-only`: it breaks PBFT's assumptions in a way a live cluster cannot be
   * made to (shared state between colluding replicas), said so to the class.
   */
  readonly live: 'yes' | 'simulator-only';
  /** The seed of its simulation. */
  readonly seed: number;
  readonly steps: readonly Step[];
  readonly checks: readonly Check[];
  /** Shown after the run: what happened and why, with the paper's sections. Paragraphs. */
  readonly explanation: readonly string[];
  /** For the teacher's guide: what students usually get wrong. */
  readonly mistakes: readonly string[];
}

export interface Step {
  /** Kebab-case, unique in the exercise: checks name steps by it. */
  readonly id: string;
  readonly title: string;
  /** What the students do and look at. */
  readonly instructions: string;
  /** Asked before the step's actions happen (before the fault is switched on). */
  readonly predictions?: readonly Question[];
  /** Done when the step starts. */
  readonly actions?: readonly Action[];
  /** When the step is over, unless the instructor advances earlier. */
  readonly until: Until;
}

export interface Question {
  readonly id: string;
  readonly text: string;
  /** Multiple choice; absent: a free answer (a number, a replica id, a sentence). */
  readonly choices?: readonly string[];
  /** The expected answer (one of the choices, or the value), for the report and the teacher. */
  readonly answer: string;
  readonly why: string;
}

export type Action =
  /** Catalogue behaviour ids, 'equivocation-coalition' (all the replicas given, together), or null: honest. */
  | { readonly do: 'behaviour'; readonly replicas: readonly number[]; readonly behaviour: string | null }
  /** A frozen machine: receives, sends and ticks nothing (the dashboard's pause; in the simulator, cut off from all). */
  | { readonly do: 'pause'; readonly replica: number }
  | { readonly do: 'resume'; readonly replica: number }
  /** The network cut between the sides (every replica on exactly one side). */
  | { readonly do: 'partition'; readonly sides: readonly (readonly number[])[] }
  | { readonly do: 'heal' }
  /** A closed-loop client sends `count` writes, one after the other, `thinkMs` apart. */
  | {
      readonly do: 'requests';
      readonly client: number;
      readonly count: number;
      readonly thinkMs?: number;
    };

export type Until =
  | { readonly afterMs: number }
  /** When the condition holds (then `thenMs` more), or after `timeoutMs` at the latest. */
  | { readonly condition: Condition; readonly timeoutMs: number; readonly thenMs?: number };

/** Over replicas (default: those correct and not paused or cut off so far). */
export type Condition =
  | { readonly kind: 'view'; readonly atLeast: number; readonly replicas?: readonly number[] }
  | { readonly kind: 'executed'; readonly atLeast: number; readonly replicas?: readonly number[] }
  | { readonly kind: 'stable-checkpoint'; readonly atLeast: number; readonly replicas?: readonly number[] }
  /** Every client has sent all its requests and has its last result. */
  | { readonly kind: 'clients-idle' };

/** From the start of step `from` to the start of step `to` (or the end of the run). */
export interface Interval {
  readonly from: string;
  readonly to?: string;
}

interface CheckText {
  /** What the check says, as a sentence the class reads. */
  readonly title: string;
}

/** Expected observations over the recorded run; "correct replicas" are those never switched Byzantine. */
export type Check = CheckText &
  (
    | { readonly check: 'agreement'; readonly expect?: 'holds' | 'violated' }
    | { readonly check: 'linearizable' }
    | { readonly check: 'clients-complete'; readonly clients?: readonly number[] }
    | { readonly check: 'view-change'; readonly toView: number; readonly after: string; readonly withinMs: number }
    | { readonly check: 'no-view-change'; readonly during?: Interval }
    | {
        readonly check: 'progress';
        readonly during: Interval;
        readonly atLeast: number;
        readonly replicas?: readonly number[];
      }
    | { readonly check: 'no-progress'; readonly during: Interval; readonly graceMs?: number }
    | { readonly check: 'phases'; readonly seq: number }
    | { readonly check: 'quorums'; readonly seq: number }
    | { readonly check: 'state-transfer'; readonly replica: number; readonly after: string }
    | { readonly check: 'caught-up'; readonly replica: number }
    | { readonly check: 'wrong-replies-outvoted'; readonly replica: number }
    | {
        readonly check: 'ignored';
        readonly reason: string;
        readonly atLeast?: number;
        readonly by?: readonly number[];
        readonly type?: string;
      }
    | {
        readonly check: 'latency';
        readonly during: Interval;
        readonly medianAtLeastMs?: number;
        readonly medianAtMostMs?: number;
      }
  );

export type CheckKind = Check['check'];

export class ExerciseError extends Error {
  override readonly name = 'ExerciseError';
}

/** What the validator needs to know of the world: the behaviour catalogues. */
export interface ExerciseVocabulary {
  readonly behaviours: readonly string[];
  readonly clientBehaviours: readonly string[];
}

const ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** An exercise read from JSON, checked field by field; ExerciseError names the first problem and where. */
export function parseExercise(value: unknown, vocabulary: ExerciseVocabulary, where = 'exercise'): Exercise {
  const r = new Reader(where);
  const o = r.object(value, '');
  const n = r.integer(o.n, 'n', 4);
  if ((n - 1) % 3 !== 0) r.fail('n', `must be 3f+1 (4, 7, …), got ${n}`);
  const inRange = (x: unknown, path: string): number => {
    const id = r.integer(x, path, 0);
    if (id >= n) r.fail(path, `replica ${id} does not exist (n = ${n})`);
    return id;
  };
  const clientsObject = r.object(o.clients, 'clients');
  const clientCount = r.integer(clientsObject.count, 'clients.count', 1);
  const byzantineClient = r.optional(clientsObject.byzantine, (x) => r.string(x, 'clients.byzantine'));
  if (byzantineClient !== undefined && !vocabulary.clientBehaviours.includes(byzantineClient))
    r.fail('clients.byzantine', `unknown client behaviour "${byzantineClient}"`);
  const stepIds: string[] = [];
  const steps = r.array(o.steps, 'steps', 1).map((s, i) => {
    const path = `steps[${i}]`;
    const so = r.object(s, path);
    const id = r.id(so.id, `${path}.id`);
    if (stepIds.includes(id)) r.fail(`${path}.id`, `"${id}" is used twice`);
    stepIds.push(id);
    const step: Step = {
      id,
      title: r.string(so.title, `${path}.title`),
      instructions: r.string(so.instructions, `${path}.instructions`),
      ...r.field('predictions', so.predictions, (x) =>
        r.array(x, `${path}.predictions`).map((q, j) => question(r, q, `${path}.predictions[${j}]`)),
      ),
      ...r.field('actions', so.actions, (x) =>
        r.array(x, `${path}.actions`).map((a, j) => action(r, a, `${path}.actions[${j}]`)),
      ),
      until: until(r, so.until, `${path}.until`, inRange),
    };
    return step;
  });
  const stepRef = (x: unknown, path: string): string => {
    const id = r.string(x, path);
    if (!stepIds.includes(id)) r.fail(path, `no step "${id}"`);
    return id;
  };
  const interval = (x: unknown, path: string): Interval => {
    const io = r.object(x, path);
    return { from: stepRef(io.from, `${path}.from`), ...r.field('to', io.to, (t) => stepRef(t, `${path}.to`)) };
  };

  function action(r: Reader, x: unknown, path: string): Action {
    const a = r.object(x, path);
    const kind = r.oneOf(a.do, `${path}.do`, [
      'behaviour',
      'pause',
      'resume',
      'partition',
      'heal',
      'requests',
    ] as const);
    switch (kind) {
      case 'behaviour': {
        const behaviour = a.behaviour === null ? null : r.string(a.behaviour, `${path}.behaviour`);
        if (behaviour !== null && !vocabulary.behaviours.includes(behaviour))
          r.fail(`${path}.behaviour`, `unknown behaviour "${behaviour}"`);
        const replicas = r.array(a.replicas, `${path}.replicas`, 1).map((x, k) => inRange(x, `${path}.replicas[${k}]`));
        return { do: kind, replicas, behaviour };
      }
      case 'pause':
      case 'resume':
        return { do: kind, replica: inRange(a.replica, `${path}.replica`) };
      case 'partition': {
        const sides = r
          .array(a.sides, `${path}.sides`, 2)
          .map((side, k) =>
            r.array(side, `${path}.sides[${k}]`, 1).map((x, m) => inRange(x, `${path}.sides[${k}][${m}]`)),
          );
        const all = sides.flat().sort((p, q) => p - q);
        if (all.length !== n || all.some((id, k) => id !== k))
          r.fail(`${path}.sides`, `every replica 0…${n - 1} must be on exactly one side`);
        return { do: kind, sides };
      }
      case 'heal':
        return { do: kind };
      case 'requests': {
        const client = r.integer(a.client, `${path}.client`, 0);
        if (client >= clientCount) r.fail(`${path}.client`, `client ${client} does not exist (${clientCount} clients)`);
        return {
          do: kind,
          client,
          count: r.integer(a.count, `${path}.count`, 1),
          ...r.field('thinkMs', a.thinkMs, (t) => r.integer(t, `${path}.thinkMs`, 0)),
        };
      }
    }
  }

  const checks = r.array(o.checks, 'checks', 1).map((x, i): Check => {
    const path = `checks[${i}]`;
    const c = r.object(x, path);
    const title = r.string(c.title, `${path}.title`);
    const kind = r.oneOf(c.check, `${path}.check`, CHECK_KINDS);
    const p = (name: string): string => `${path}.${name}`;
    switch (kind) {
      case 'agreement':
        return {
          title,
          check: kind,
          ...r.field('expect', c.expect, (e) => r.oneOf(e, p('expect'), ['holds', 'violated'] as const)),
        };
      case 'linearizable':
        return { title, check: kind };
      case 'clients-complete':
        return {
          title,
          check: kind,
          ...r.field('clients', c.clients, (cs) =>
            r.array(cs, p('clients')).map((x, k) => r.integer(x, `${p('clients')}[${k}]`, 0)),
          ),
        };
      case 'view-change':
        return {
          title,
          check: kind,
          toView: r.integer(c.toView, p('toView'), 1),
          after: stepRef(c.after, p('after')),
          withinMs: r.integer(c.withinMs, p('withinMs'), 1),
        };
      case 'no-view-change':
        return { title, check: kind, ...r.field('during', c.during, (d) => interval(d, p('during'))) };
      case 'progress':
        return {
          title,
          check: kind,
          during: interval(c.during, p('during')),
          atLeast: r.integer(c.atLeast, p('atLeast'), 1),
          ...r.field('replicas', c.replicas, (rs) =>
            r.array(rs, p('replicas')).map((x, k) => inRange(x, `${p('replicas')}[${k}]`)),
          ),
        };
      case 'no-progress':
        return {
          title,
          check: kind,
          during: interval(c.during, p('during')),
          ...r.field('graceMs', c.graceMs, (g) => r.integer(g, p('graceMs'), 0)),
        };
      case 'phases':
      case 'quorums':
        return { title, check: kind, seq: r.integer(c.seq, p('seq'), 1) };
      case 'state-transfer':
        return { title, check: kind, replica: inRange(c.replica, p('replica')), after: stepRef(c.after, p('after')) };
      case 'caught-up':
      case 'wrong-replies-outvoted':
        return { title, check: kind, replica: inRange(c.replica, p('replica')) };
      case 'ignored': {
        const reason = r.string(c.reason, p('reason'));
        try {
          new RegExp(reason);
        } catch {
          r.fail(p('reason'), 'is not a regular expression');
        }
        return {
          title,
          check: kind,
          reason,
          ...r.field('atLeast', c.atLeast, (a) => r.integer(a, p('atLeast'), 1)),
          ...r.field('by', c.by, (b) => r.array(b, p('by')).map((x, k) => inRange(x, `${p('by')}[${k}]`))),
          ...r.field('type', c.type, (t) => r.string(t, p('type'))),
        };
      }
      case 'latency':
        return {
          title,
          check: kind,
          during: interval(c.during, p('during')),
          ...r.field('medianAtLeastMs', c.medianAtLeastMs, (m) => r.integer(m, p('medianAtLeastMs'), 0)),
          ...r.field('medianAtMostMs', c.medianAtMostMs, (m) => r.integer(m, p('medianAtMostMs'), 0)),
        };
    }
  });

  const protocolObject = r.optional(o.protocol, (x) => r.object(x, 'protocol'));
  const exercise: Exercise = {
    id: r.id(o.id, 'id'),
    title: r.string(o.title, 'title'),
    paper: r.string(o.paper, 'paper'),
    goal: r.string(o.goal, 'goal'),
    n,
    ...(protocolObject
      ? {
          protocol: {
            ...r.field('checkpointInterval', protocolObject.checkpointInterval, (x) =>
              r.integer(x, 'protocol.checkpointInterval', 1),
            ),
            ...r.field('viewChangeTimeoutTicks', protocolObject.viewChangeTimeoutTicks, (x) =>
              r.integer(x, 'protocol.viewChangeTimeoutTicks', 10),
            ),
          },
        }
      : {}),
    clients: { count: clientCount, ...(byzantineClient === undefined ? {} : { byzantine: byzantineClient }) },
    live: r.oneOf(o.live, 'live', ['yes', 'simulator-only'] as const),
    seed: r.integer(o.seed, 'seed', 0),
    steps,
    checks,
    explanation: r.array(o.explanation, 'explanation', 1).map((x, i) => r.string(x, `explanation[${i}]`)),
    mistakes: r.array(o.mistakes, 'mistakes', 1).map((x, i) => r.string(x, `mistakes[${i}]`)),
  };
  const unknown = Object.keys(o).filter((k) => !EXERCISE_KEYS.includes(k));
  if (unknown.length > 0) r.fail(unknown[0]!, 'is not a field of an exercise');
  if (byzantineClient !== undefined && clientCount < 2)
    r.fail('clients.count', 'a Byzantine client needs a correct one beside it');
  return exercise;
}

function question(r: Reader, x: unknown, path: string): Question {
  const q = r.object(x, path);
  const choices = r.optional(q.choices, (c) =>
    r.array(c, `${path}.choices`, 2).map((s, k) => r.string(s, `${path}.choices[${k}]`)),
  );
  const answer = r.string(q.answer, `${path}.answer`);
  if (choices && !choices.includes(answer)) r.fail(`${path}.answer`, `"${answer}" is not one of the choices`);
  return {
    id: r.id(q.id, `${path}.id`),
    text: r.string(q.text, `${path}.text`),
    ...(choices ? { choices } : {}),
    answer,
    why: r.string(q.why, `${path}.why`),
  };
}

function until(r: Reader, x: unknown, path: string, replica: (x: unknown, path: string) => number): Until {
  const u = r.object(x, path);
  if (u.afterMs !== undefined) return { afterMs: r.integer(u.afterMs, `${path}.afterMs`, 0) };
  const c = r.object(u.condition, `${path}.condition`);
  const kind = r.oneOf(c.kind, `${path}.condition.kind`, [
    'view',
    'executed',
    'stable-checkpoint',
    'clients-idle',
  ] as const);
  const replicas = r.field('replicas', c.replicas, (rs) =>
    r.array(rs, `${path}.condition.replicas`, 1).map((id, k) => replica(id, `${path}.condition.replicas[${k}]`)),
  );
  const condition: Condition =
    kind === 'clients-idle'
      ? { kind }
      : { kind, atLeast: r.integer(c.atLeast, `${path}.condition.atLeast`, 0), ...replicas };
  return {
    condition,
    timeoutMs: r.integer(u.timeoutMs, `${path}.timeoutMs`, 1),
    ...r.field('thenMs', u.thenMs, (t) => r.integer(t, `${path}.thenMs`, 0)),
  };
}

export const CHECK_KINDS = [
  'agreement',
  'linearizable',
  'clients-complete',
  'view-change',
  'no-view-change',
  'progress',
  'no-progress',
  'phases',
  'quorums',
  'state-transfer',
  'caught-up',
  'wrong-replies-outvoted',
  'ignored',
  'latency',
] as const satisfies readonly CheckKind[];

const EXERCISE_KEYS = [
  'id',
  'title',
  'paper',
  'goal',
  'n',
  'protocol',
  'clients',
  'live',
  'seed',
  'steps',
  'checks',
  'explanation',
  'mistakes',
  '$schema',
];

/** Field readers that fail with the field's path. */
class Reader {
  private readonly where: string;

  constructor(where: string) {
    this.where = where;
  }

  fail(path: string, problem: string): never {
    throw new ExerciseError(`${this.where}: ${path ? `${path} ` : ''}${problem}`);
  }

  object(x: unknown, path: string): Record<string, unknown> {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) this.fail(path, 'must be an object');
    return x as Record<string, unknown>;
  }

  array(x: unknown, path: string, min = 0): unknown[] {
    if (!Array.isArray(x)) this.fail(path, 'must be a list');
    if (x.length < min) this.fail(path, `needs at least ${min} item(s)`);
    return x;
  }

  string(x: unknown, path: string): string {
    if (typeof x !== 'string' || x.trim() === '') this.fail(path, 'must be a non-empty string');
    return x;
  }

  id(x: unknown, path: string): string {
    const s = this.string(x, path);
    if (!ID.test(s)) this.fail(path, `"${s}" must be kebab-case (a-z, 0-9, -)`);
    return s;
  }

  integer(x: unknown, path: string, min: number): number {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) this.fail(path, `must be a whole number ≥ ${min}`);
    return x;
  }

  oneOf<T extends string>(x: unknown, path: string, allowed: readonly T[]): T {
    if (!allowed.includes(x as T)) this.fail(path, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(x)}`);
    return x as T;
  }

  optional<T>(x: unknown, read: (x: unknown) => T): T | undefined {
    return x === undefined ? undefined : read(x);
  }

  /** `{ [name]: read(x) }`, or nothing when x is absent: spread into the object being built. */
  field<K extends string, T>(name: K, x: unknown, read: (x: unknown) => T): { [P in K]?: T } {
    return (x === undefined ? {} : { [name]: read(x) }) as { [P in K]?: T };
  }
}
