/**
 * A scenario: everything about one simulated run that the seed decides — cluster size, protocol
 * parameters, clients and workload, network behaviour and the fault schedule.
 */
import { defaultProtocolConfig, faultsTolerated, type ProtocolConfig } from '../pbft/config.ts';
import { CATALOGUE } from '../byzantine/catalogue.ts';
import { Prng } from './prng.ts';

const BEHAVIOUR_IDS = CATALOGUE.map((b) => b.id);

export const FAULT_KINDS = ['crash', 'restart', 'partition', 'loss'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface NetworkProfile {
  /** One-way delay = base + uniform jitter, in virtual ms. */
  readonly delayMsBase: number;
  readonly delayMsJitter: number;
  /** Background loss and duplication, whole run (small: bursts are faults). */
  readonly lossProbability: number;
  readonly duplicateProbability: number;
}

/** A fault during the fault phase, in virtual ms from the start. */
export type Fault =
  | {
      readonly kind: 'crash';
      readonly at: number;
      readonly replica: number;
      readonly restartAt: number | null;
      readonly wipeDisk: boolean;
    }
  | {
      readonly kind: 'partition';
      readonly at: number;
      readonly until: number;
      readonly side: readonly number[];
      readonly oneWay: boolean;
    }
  | {
      readonly kind: 'loss';
      readonly at: number;
      readonly until: number;
      readonly lossProbability: number;
      readonly delayMsExtra: number;
      readonly duplicateProbability: number;
    };

export interface Scenario {
  readonly seed: number;
  readonly n: number;
  readonly f: number;
  readonly protocol: ProtocolConfig;
  readonly clients: number;
  readonly opsPerClient: number;
  /** Client think time between operations, virtual ms. */
  readonly thinkMsMax: number;
  readonly clientRetransmitTicks: number;
  readonly network: NetworkProfile;
  readonly faults: readonly Fault[];
  /** End of the fault phase: afterwards the network is healed and every replica is up. */
  readonly healAt: number;
  /** Liveness bound: every operation must complete by this virtual time. */
  readonly deadlineMs: number;
  /** Byzantine replicas and what they do (null: every replica is correct). */
  readonly byzantine: { readonly replicas: readonly number[]; readonly behaviour: string } | null;
  /** A faulty client's behaviour (client-0 runs it), or null. */
  readonly clientBehaviour: string | null;
  /** Share of reads, stats and lists that clients send on the §5.1 read-only path. */
  readonly readOnlyShare: number;
}

export interface ScenarioOptions {
  readonly replicas?: number;
  readonly clients?: number;
  readonly ops?: number;
  /** Fault kinds allowed in the fault phase; empty = a fault-free run (loss and delay only as background). */
  readonly faults?: readonly FaultKind[];
  /** How many replicas are Byzantine (K). @default 0 */
  readonly faulty?: number;
  /** Their behaviour: a catalogue id, 'random' (drawn from the seed), or 'equivocation-coalition'. */
  readonly behaviour?: string;
  /** Make client-0 faulty with this client behaviour (core/byzantine/client-behaviours.ts). */
  readonly clientBehaviour?: string;
}

/** Behaviours that only do something at the primary: the primary of view 0 is then among the faulty. */
export const PRIMARY_BEHAVIOURS = new Set([
  'equivocate',
  'delay-preprepare',
  'censor-client',
  'equivocation-coalition',
]);

/** Virtual ms per tick (the network host ticks every 10 ms too). */
export const TICK_MS = 10;

export function scenarioFromSeed(seed: number, options: ScenarioOptions = {}): Scenario {
  const rng = new Prng(seed);
  const n = options.replicas ?? rng.pick([4, 4, 7]);
  const f = faultsTolerated(n);
  const checkpointInterval = rng.pick([4, 8, 16, 32]);
  const protocol = defaultProtocolConfig(n, {
    checkpointInterval,
    logWindow: checkpointInterval * rng.pick([2, 3, 4]),
    batchSizeMax: rng.pick([1, 2, 8, 32, 128]),
    batchesInFlightMax: rng.int(1, 8),
    viewChangeTimeoutTicks: rng.pick([40, 60, 100]),
    retransmitTicks: rng.pick([5, 10, 20]),
    stateTransferDelayTicks: rng.pick([5, 20]),
    stateChunkBytes: rng.pick([64, 512, 4096, 65536]),
  });
  // A faulty client needs a correct one beside it, whose operations must complete.
  const clients = Math.max(options.clients ?? rng.int(1, 4), options.clientBehaviour ? 2 : 1);
  const opsPerClient = options.ops ?? rng.int(10, 40);
  const kinds = options.faults ?? [];
  const network: NetworkProfile = {
    delayMsBase: rng.int(0, 5),
    delayMsJitter: rng.pick([1, 5, 20, 40]),
    lossProbability: kinds.includes('loss') ? rng.pick([0, 0, 0.01, 0.03]) : rng.pick([0, 0, 0.005]),
    duplicateProbability: rng.pick([0, 0.01, 0.05]),
  };
  const byzantine = byzantineFromSeed(rng.fork(), n, options);
  // Crashes and partitions share the fault budget f with the Byzantine replicas (at most f faulty in all).
  const budget = f - Math.min(f, byzantine?.replicas.length ?? 0);
  const allowed = budget > 0 ? kinds : kinds.filter((k) => k === 'loss');
  const faultPhaseMs = allowed.length > 0 ? rng.int(1_000, 6_000) : 0;
  const faults =
    allowed.length > 0 ? faultSchedule(rng.fork(), n, budget, allowed, faultPhaseMs, byzantine?.replicas ?? []) : [];
  const worstDelay = network.delayMsBase + network.delayMsJitter;
  return {
    seed,
    n,
    f,
    protocol,
    clients,
    opsPerClient,
    thinkMsMax: rng.pick([0, 5, 50]),
    clientRetransmitTicks: rng.pick([20, 30, 50]),
    network,
    faults,
    healAt: faultPhaseMs,
    // Generous: after healing, view changes with doubled timeouts and state transfer must still fit.
    deadlineMs: faultPhaseMs + 60_000 + opsPerClient * clients * (4 * worstDelay + 20),
    byzantine,
    clientBehaviour: options.clientBehaviour ?? null,
    // Drawn last, from a stream of its own: every other choice of a seed is as it was before read-only ops.
    readOnlyShare: new Prng(seed ^ 0x0ead0).pick([0, 0.5, 1]),
  };
}

function byzantineFromSeed(rng: Prng, n: number, options: ScenarioOptions): Scenario['byzantine'] {
  const count = options.faulty ?? 0;
  if (count <= 0) return null;
  if (count >= n) throw new RangeError(`--faulty ${count}: at least one replica must be correct (n = ${n})`);
  const behaviour =
    options.behaviour === undefined || options.behaviour === 'random' ? rng.pick(BEHAVIOUR_IDS) : options.behaviour;
  const replicas: number[] = PRIMARY_BEHAVIOURS.has(behaviour) || rng.chance(0.5) ? [0] : [];
  while (replicas.length < count) {
    const r = rng.int(0, n - 1);
    if (!replicas.includes(r)) replicas.push(r);
  }
  return { replicas: replicas.sort((a, b) => a - b), behaviour };
}

/**
 * Faults for the fault phase. At most f replicas are crashed at any moment; partitions cut off at
 * most f replicas (the minority side) so a quorum of 2f+1 always exists after healing.
 */
function faultSchedule(
  rng: Prng,
  n: number,
  f: number,
  kinds: readonly FaultKind[],
  phaseMs: number,
  byzantine: readonly number[],
): Fault[] {
  const faults: Fault[] = [];
  const count = rng.int(1, 4);
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(kinds);
    const at = rng.int(0, Math.max(0, phaseMs - 200));
    const until = Math.min(phaseMs, at + rng.int(200, 3_000));
    if (kind === 'crash' || kind === 'restart') {
      // Prefer the primary of view 0 now and then: its crash forces a view change.
      const replica = rng.chance(0.4) && !byzantine.includes(0) ? 0 : rng.int(0, n - 1);
      if (byzantine.includes(replica)) continue;
      const restart = kind === 'restart' || rng.chance(0.5);
      faults.push({
        kind: 'crash',
        at,
        replica,
        restartAt: restart ? until : null,
        wipeDisk: restart && rng.chance(0.4),
      });
    } else if (kind === 'partition') {
      const size = rng.int(1, f);
      const side: number[] = [];
      while (side.length < size) {
        const r = rng.chance(0.3) ? 0 : rng.int(0, n - 1);
        if (!side.includes(r) && !byzantine.includes(r)) side.push(r);
        else if (side.length + byzantine.length >= n) break;
      }
      faults.push({ kind: 'partition', at, until, side, oneWay: rng.chance(0.3) });
    } else {
      faults.push({
        kind: 'loss',
        at,
        until,
        lossProbability: rng.pick([0.1, 0.3, 0.6]),
        delayMsExtra: rng.pick([0, 20, 100]),
        duplicateProbability: rng.pick([0, 0.1]),
      });
    }
  }
  return limitConcurrentCrashes(faults, f);
}

/**
 * Keep at most f replicas faulty at once, counting distinct replicas: crashed, partitioned away, or
 * restarted with a wiped disk — such a replica has forgotten what it prepared (core/pbft/persistence.ts)
 * and counts as faulty for the rest of the fault phase.
 */
function limitConcurrentCrashes(faults: Fault[], f: number): Fault[] {
  const faultyUntil = (fault: Fault & { kind: 'crash' | 'partition' }): number =>
    fault.kind === 'partition' ? fault.until : fault.restartAt === null || fault.wipeDisk ? Infinity : fault.restartAt;
  const kept: Fault[] = [];
  for (const fault of faults.sort((a, b) => a.at - b.at)) {
    if (fault.kind === 'loss') {
      kept.push(fault);
      continue;
    }
    const down = new Set<number>();
    for (const other of kept) {
      if (other.kind === 'loss') continue;
      const end = faultyUntil(other);
      const start = other.at;
      const faultEnd = faultyUntil(fault);
      if (start < faultEnd && fault.at < end)
        for (const r of other.kind === 'crash' ? [other.replica] : other.side) down.add(r);
    }
    for (const r of fault.kind === 'crash' ? [fault.replica] : fault.side) down.add(r);
    if (down.size <= f) kept.push(fault);
  }
  return kept;
}
