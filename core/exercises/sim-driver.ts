/**
 * An exercise as a seeded simulation (`pbft-lab exercise run ID --sim`): the simulator of core/sim
 * with the exercise's script as its driver (SimulationHooks) — the script switches behaviours, pauses
 * replicas, cuts the network and wakes the clients as its steps say, in virtual time — and every
 * replica recorded, so the run is judged, exported and scrubbed exactly as a live one.
 *
 * The network is a quiet LAN (a few ms of delay, no loss): the exercise's faults are the only ones.
 * What the simulator maps differently from a machine: "pause" cuts the replica off from everyone
 * (it keeps ticking) where a paused machine is frozen.
 */
import { EQUIVOCATION_COALITION } from '../byzantine/coalition.ts';
import { FileStore } from '../app/file-store.ts';
import { simulatedCrypto } from '../crypto/node.ts';
import { defaultProtocolConfig, faultsTolerated } from '../pbft/config.ts';
import type { RunFile, StepMark } from '../record/run-file.ts';
import { RUN_SCHEMA } from '../record/run-file.ts';
import type { CoalitionSpec } from '../record/replay.ts';
import { SimRecorder } from '../record/sim-recorder.ts';
import { Prng } from '../sim/prng.ts';
import type { Fault, Scenario } from '../sim/scenario.ts';
import { Simulation, type RunResult, type SimEnvironment, type SimulationControl } from '../sim/simulation.ts';
import type { Action, Exercise } from './schema.ts';
import { ExerciseScript, type ReplicaProbe } from './script.ts';
import { ExerciseWorkload, THINK_MS_DEFAULT } from './workload.ts';

/** The simulator's fast keyed-hash signatures and the file store, as `pbft-lab sim` uses them. */
const env: SimEnvironment = {
  crypto: (n, seed) => simulatedCrypto(n, seed),
  app: (hasher) => new FileStore(hasher),
};

export interface SimulatedExercise {
  readonly run: RunFile;
  /** The simulator's own verdict (its checkers, and whether the run ended by its script). */
  readonly simulation: RunResult;
}

/** The longest the script can take: every step to its time limit. */
export function scriptDurationMaxMs(exercise: Exercise): number {
  return exercise.steps.reduce(
    (sum, s) => sum + ('afterMs' in s.until ? s.until.afterMs : s.until.timeoutMs + (s.until.thenMs ?? 0)),
    0,
  );
}

/** The protocol of an exercise: the host's defaults with the exercise's changes. */
export function exerciseProtocol(exercise: Exercise) {
  const k = exercise.protocol?.checkpointInterval;
  return defaultProtocolConfig(exercise.n, {
    ...(k === undefined ? {} : { checkpointInterval: k, logWindow: 2 * k }),
    ...(exercise.protocol?.viewChangeTimeoutTicks === undefined
      ? {}
      : { viewChangeTimeoutTicks: exercise.protocol.viewChangeTimeoutTicks }),
  });
}

export function runInSimulator(exercise: Exercise, seed = exercise.seed): SimulatedExercise {
  const n = exercise.n;
  const rng = new Prng(seed);
  const scenario: Scenario = {
    seed,
    n,
    f: faultsTolerated(n),
    protocol: exerciseProtocol(exercise),
    clients: exercise.clients.count,
    opsPerClient: 0,
    thinkMsMax: 0,
    // The host's client retransmits after 500 ms (ClientSession's default).
    clientRetransmitTicks: 50,
    network: { delayMsBase: 1, delayMsJitter: rng.int(1, 4), lossProbability: 0, duplicateProbability: 0 },
    faults: [],
    healAt: 0,
    deadlineMs: scriptDurationMaxMs(exercise) + 30_000,
    byzantine: null,
    clientBehaviour: exercise.clients.byzantine ?? null,
    readOnlyShare: 0,
    twins: null,
    adversary: null,
    disk: { deferredMsMin: 1, deferredMsMax: 3, writeAhead: true },
    earlyInvariants: true,
    workBounds: true,
    clientKeys: null,
  };
  const workload = new ExerciseWorkload(exercise.clients.count);
  if (exercise.clients.byzantine) workload.exempt.add(0);
  const recorder = new SimRecorder();
  const script = new ExerciseScript(exercise);
  const marks: StepMark[] = [];
  const coalitions: CoalitionSpec[] = [];
  const paused = new Map<number, Fault>();
  let partitions: Fault[] = [];
  const faulty = exercise.steps.flatMap((s) =>
    (s.actions ?? []).flatMap((a) => (a.do === 'behaviour' && a.behaviour !== null ? a.replicas : [])),
  );

  const apply = (action: Action, control: SimulationControl): void => {
    const now = control.nowMs();
    switch (action.do) {
      case 'behaviour':
        if (action.behaviour === EQUIVOCATION_COALITION.id)
          coalitions.push({ id: action.behaviour, members: [...action.replicas] });
        return control.setBehaviour(action.replicas, action.behaviour);
      case 'pause': {
        const fault: Fault = { kind: 'partition', at: now, until: Infinity, side: [action.replica], oneWay: false };
        paused.set(action.replica, fault);
        return control.startFault(fault);
      }
      case 'resume': {
        const fault = paused.get(action.replica);
        paused.delete(action.replica);
        if (fault) control.endFault(fault);
        return;
      }
      case 'partition':
        // A partition fault cuts its side off from everyone else: one per side but the last.
        for (const side of action.sides.slice(0, -1)) {
          const fault: Fault = { kind: 'partition', at: now, until: Infinity, side: [...side], oneWay: false };
          partitions.push(fault);
          control.startFault(fault);
        }
        return;
      case 'heal':
        for (const fault of partitions) control.endFault(fault);
        partitions = [];
        return;
      case 'requests':
        workload.enqueue(action.client, action.count, action.thinkMs ?? THINK_MS_DEFAULT);
        return;
    }
  };

  const probe =
    (control: SimulationControl) =>
    (r: number): ReplicaProbe | null => {
      if (paused.has(r)) return null;
      const replica = control.replica(r);
      return replica
        ? {
            view: replica.view,
            normal: replica.status === 'normal',
            executed: replica.lastExecuted,
            stable: replica.lowWatermark,
          }
        : null;
    };

  const simulation = new Simulation(scenario, env, {
    createReplica: recorder.createReplica,
    workload,
    faulty,
    script: (control) => {
      const now = control.nowMs();
      const poll = script.poll(now, probe(control), workload.idle);
      if (poll.mark) marks.push({ k: 'mark', ...poll.mark });
      for (const action of poll.actions) apply(action, control);
      for (const j of workload.due(now)) control.wake(j);
      return poll.done;
    },
  }).run();
  recorder.endAll();
  return {
    simulation,
    run: {
      header: {
        k: 'run',
        schema: RUN_SCHEMA,
        source: 'sim',
        createdAt: new Date().toISOString(),
        n,
        clock: 'virtual',
        exercise: { id: exercise.id, seed },
        ...(coalitions.length > 0 ? { coalitions } : {}),
      },
      sessions: recorder.sessions,
      ops: workload.clientOps(exercise.clients.byzantine !== undefined),
      marks,
      answers: [],
      verdicts: [],
    },
  };
}
