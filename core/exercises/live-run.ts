/**
 * An exercise on a live cluster: the one-machine demo or lab machines. The exercise's script
 * (script.ts) is polled every 200 ms with what the dashboards show; its actions go to the replicas
 * through the LiveCluster (their LabApi), its clients' requests through a replica's own client (the
 * dashboard's) or, for a Byzantine client, a network client of the runner's own. At the end every
 * replica's record of the run is gathered into a run file, judged like a simulated one.
 *
 * Time is this machine's wall clock, and the replicas' records use theirs: on one machine (the demo)
 * they are the same clock; lab machines should keep theirs in sync (NTP) for the checks that time
 * something (a view change within 5 s).
 */
import { EQUIVOCATION_COALITION } from '../byzantine/coalition.ts';
import type { LabOp, LabSnapshot, SubmitOutcome } from '../host/lab-api.ts';
import { wallNow } from '../host/recorder.ts';
import { RUN_SCHEMA, type ClientOp, type RunFile, type StepMark } from '../record/run-file.ts';
import type { Json } from '../record/values.ts';
import { LabApiCluster, LiveClusterError, type LiveCluster } from './live-cluster.ts';
import type { Action, Exercise } from './schema.ts';
import { ExerciseScript, type ScriptState } from './script.ts';
import { labOpBytes, labResultBytes, THINK_MS_DEFAULT, writeOp } from './workload.ts';

export interface LiveRunOptions {
  /** How often the script looks at the replicas. @default 200 */
  readonly pollMs?: number;
  /** Who ran it, for the run file. @default 'lab' */
  readonly source?: 'demo' | 'lab';
  /** A line for the instructor's terminal. */
  readonly print?: (line: string) => void;
  /** Each time the script moves on (the Exercises panel shows it). */
  readonly onState?: (state: ScriptState) => void;
  /** Give the instructor the script to advance by hand (else each step ends by its `until`). */
  readonly script?: ExerciseScript;
  /** Stops the run at its next poll (the cluster is restored; the run rejects with LiveClusterError). */
  readonly signal?: AbortSignal;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The CLI's way in: `pbft-lab exercise run ID --urls …`. */
export async function runLive(
  exercise: Exercise,
  urls: readonly string[],
  print: (line: string) => void,
): Promise<RunFile> {
  refuseSimulatorOnly(exercise);
  const cluster = await LabApiCluster.connect(urls);
  try {
    refuseStaleCluster(cluster.initial);
    const loopback = urls.every((u) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname));
    print(`${exercise.title} (${exercise.id}) on ${cluster.n} replicas (${loopback ? 'one machine' : 'lab machines'})`);
    return await runLiveExercise(exercise, cluster, { print, source: loopback ? 'demo' : 'lab' });
  } finally {
    await cluster.close();
  }
}

/** An exercise starts on a fresh cluster: its steps name replica 0 the primary and count from 1. */
export function refuseStaleCluster(snapshots: readonly LabSnapshot[]): void {
  const stale = snapshots.filter(
    (s) => (s.view?.view ?? 0) !== 0 || (s.checkpoints?.lastExecuted ?? 0) > 0 || s.behaviour !== null,
  );
  if (stale.length > 0)
    throw new LiveClusterError(
      `an exercise starts on a fresh cluster (view 0, nothing executed, every replica honest); replica ${stale[0]!.self.replicaId} is in view ${stale[0]!.view?.view ?? '?'} with ${stale[0]!.checkpoints?.lastExecuted ?? '?'} executed: start a new demo, or new data directories on the lab machines`,
    );
}

export function refuseSimulatorOnly(exercise: Exercise): void {
  if (exercise.live === 'simulator-only')
    throw new LiveClusterError(
      `${exercise.id} runs only in the simulator (pbft-lab exercise run ${exercise.id} --sim): it needs colluding replicas that share what they send, which a live cluster cannot have`,
    );
}

/** Runs the exercise's steps on the cluster and returns the run file (not yet judged). */
export async function runLiveExercise(
  exercise: Exercise,
  cluster: LiveCluster,
  options: LiveRunOptions = {},
): Promise<RunFile> {
  refuseSimulatorOnly(exercise);
  if (cluster.n !== exercise.n)
    throw new LiveClusterError(`${exercise.id} wants ${exercise.n} replicas, the cluster has ${cluster.n}`);
  const print = options.print ?? (() => {});
  const pollMs = options.pollMs ?? 200;
  const script = options.script ?? new ExerciseScript(exercise);
  const startW = wallNow();
  const marks: StepMark[] = [];
  const clients = new LiveClients(exercise, cluster);
  const cuts: [number, number][] = [];
  const paused = new Set<number>();
  const switched = new Set<number>();

  const apply = async (action: Action): Promise<void> => {
    switch (action.do) {
      case 'behaviour':
        if (action.behaviour === EQUIVOCATION_COALITION.id)
          throw new LiveClusterError('the equivocation coalition exists only in the simulator');
        for (const r of action.replicas) {
          await cluster.setBehaviour(r, action.behaviour);
          switched.add(r);
        }
        return;
      case 'pause':
        paused.add(action.replica);
        return cluster.fault(action.replica, { kind: 'pause' });
      case 'resume':
        paused.delete(action.replica);
        return cluster.fault(action.replica, { kind: 'resume' });
      case 'partition':
        // Each machine cuts itself off from every machine on another side: both ends, so nothing leaks.
        for (const [i, side] of action.sides.entries())
          for (const other of action.sides.slice(i + 1))
            for (const a of side)
              for (const b of other) {
                await cluster.fault(a, { kind: 'disconnect', peerId: cluster.roster[b]! });
                await cluster.fault(b, { kind: 'disconnect', peerId: cluster.roster[a]! });
                cuts.push([a, b]);
              }
        return;
      case 'heal':
        for (const [a, b] of cuts.splice(0)) {
          await cluster.fault(a, { kind: 'reconnect', peerId: cluster.roster[b]! });
          await cluster.fault(b, { kind: 'reconnect', peerId: cluster.roster[a]! });
        }
        return;
      case 'requests':
        return clients.enqueue(action.client, action.count, action.thinkMs ?? THINK_MS_DEFAULT);
    }
  };

  try {
    for (;;) {
      if (options.signal?.aborted) throw new LiveClusterError('stopped by the instructor');
      const probes = await cluster.probe();
      const now = wallNow();
      const poll = script.poll(now, (r) => probes[r] ?? null, clients.idle);
      if (poll.mark) {
        marks.push({ k: 'mark', ...poll.mark });
        const step = exercise.steps.find((s) => s.id === poll.mark!.step)!;
        print(
          `  ${((now - startW) / 1000).toFixed(2).padStart(6)} s  step ${step.id}: ${step.title}${poll.mark.previousTimedOut ? '  (the step before ended on its time limit)' : ''}`,
        );
        options.onState?.(script.state);
      }
      for (const action of poll.actions) await apply(action);
      if (poll.done) break;
      await sleep(pollMs);
    }
    // Replicas write their records every 100 ms: let the last lines land.
    await clients.stop();
    await sleep(400);
    const endW = wallNow();
    const sessions = await cluster.records({ fromW: startW, untilW: endW });
    return {
      header: {
        k: 'run',
        schema: RUN_SCHEMA,
        source: options.source ?? 'lab',
        createdAt: new Date().toISOString(),
        n: exercise.n,
        clock: 'wall',
        exercise: { id: exercise.id },
      },
      sessions,
      ops: clients.history,
      marks,
      answers: [],
      verdicts: [],
    };
  } finally {
    // Leave the cluster as found: honest, connected, running (and send nothing more).
    clients.halt();
    for (const [a, b] of cuts) {
      await cluster.fault(a, { kind: 'reconnect', peerId: cluster.roster[b]! }).catch(() => {});
      await cluster.fault(b, { kind: 'reconnect', peerId: cluster.roster[a]! }).catch(() => {});
    }
    for (const r of paused) await cluster.fault(r, { kind: 'resume' }).catch(() => {});
    for (const r of switched) await cluster.setBehaviour(r, null).catch(() => {});
  }
}

/**
 * The exercise's clients on a live cluster: correct client j sends through the dashboard client of a
 * replica the exercise leaves alone (never paused, never Byzantine: its own client must keep
 * running); a Byzantine client is a network client of the runner's own.
 */
class LiveClients {
  readonly history: ClientOp[] = [];
  private readonly exercise: Exercise;
  private readonly cluster: LiveCluster;
  private readonly queues: number[];
  private readonly busy: boolean[];
  private readonly sent: number[];
  private readonly workers: Promise<void>[] = [];
  private readonly hosts: number[];
  private byzantine: Promise<{ id: string; submit(op: LabOp): Promise<SubmitOutcome> }> | null = null;
  private stopped = false;

  constructor(exercise: Exercise, cluster: LiveCluster) {
    this.exercise = exercise;
    this.cluster = cluster;
    const count = exercise.clients.count;
    this.queues = Array.from({ length: count }, () => 0);
    this.busy = Array.from({ length: count }, () => false);
    this.sent = Array.from({ length: count }, () => 0);
    const touched = new Set(
      exercise.steps.flatMap((s) =>
        (s.actions ?? []).flatMap((a) => (a.do === 'behaviour' ? a.replicas : a.do === 'pause' ? [a.replica] : [])),
      ),
    );
    const free = Array.from({ length: exercise.n }, (_, r) => exercise.n - 1 - r).filter((r) => !touched.has(r));
    this.hosts = free.length > 0 ? free : [exercise.n - 1];
  }

  get idle(): boolean {
    return this.queues.every((q, j) => this.isByzantine(j) || (q === 0 && !this.busy[j]));
  }

  enqueue(client: number, count: number, thinkMs: number): void {
    this.queues[client]! += count;
    if (this.busy[client]) return;
    this.busy[client] = true;
    this.workers.push(this.work(client, thinkMs));
  }

  async stop(): Promise<void> {
    this.halt();
    await Promise.all(this.workers);
  }

  /** No further requests (those in flight end on their own). */
  halt(): void {
    this.stopped = true;
  }

  private isByzantine(client: number): boolean {
    return client === 0 && this.exercise.clients.byzantine !== undefined;
  }

  private async work(client: number, thinkMs: number): Promise<void> {
    const byzantine = this.isByzantine(client);
    try {
      const via = byzantine
        ? await (this.byzantine ??= this.cluster.byzantineClient(this.exercise.clients.byzantine!))
        : null;
      const host = this.hosts[client % this.hosts.length]!;
      const clientId = via?.id ?? this.cluster.roster[host]!;
      while (this.queues[client]! > 0 && !this.stopped) {
        this.queues[client]!--;
        const op = writeOp(client, ++this.sent[client]!);
        const invokedW = wallNow();
        try {
          const outcome = via ? await via.submit(op) : await this.cluster.submit(host, op);
          this.history.push(this.record(client, clientId, op, invokedW, outcome, byzantine));
        } catch {
          this.history.push(this.record(client, clientId, op, invokedW, null, byzantine));
        }
        if (this.queues[client]! > 0) await sleep(thinkMs);
      }
    } finally {
      this.busy[client] = false;
    }
  }

  private record(
    client: number,
    clientId: string,
    op: LabOp,
    invokedW: number,
    outcome: SubmitOutcome | null,
    byzantine: boolean,
  ): ClientOp {
    return {
      k: 'op',
      client,
      clientId,
      ...(byzantine ? { byzantine: true } : {}),
      timestamp: outcome?.timestamp ?? null,
      op: op as unknown as Json,
      opBytes: labOpBytes(op),
      invokedW,
      completedW: outcome ? wallNow() : null,
      result: (outcome?.result ?? null) as unknown as Json,
      resultBytes: outcome ? labResultBytes(outcome.result) : null,
      ...(outcome ? { matching: outcome.matching } : {}),
      outcome: outcome ? 'ok' : 'info',
    };
  }
}
