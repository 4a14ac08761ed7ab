/**
 * A scenario: everything about one simulated run that the seed decides — cluster size, protocol
 * parameters, clients and workload, network behaviour and the fault schedule.
 */
import { defaultProtocolConfig, faultsTolerated, type ProtocolConfig } from '../pbft/config.ts';
import { CATALOGUE } from '../byzantine/catalogue.ts';
import type { PersistRecord } from '../pbft/outputs.ts';
import { adversaryFromSeed, type AdversaryScenario, type Strategy } from './network-adversary.ts';
import { Prng } from './prng.ts';
import { twinsFromSeed, type TwinsScenario } from './twins.ts';
import { clientKeysFromSeed, type ClientKeyModel } from './client-keys.ts';

/** What `--behaviour random` draws from: the fixed catalogue (the generic fuzz replica is asked for by name). */
const BEHAVIOUR_IDS = CATALOGUE.map((b) => b.id).filter((id) => id !== 'fuzz');

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
      /**
       * A crash point inside a write's window (issue 18): armed from `at` until `onPersist.until`, the
       * replica crashes the moment it starts writing a record of this kind, before the write is
       * durable, and restarts `downMs` later. Fires only if the fault budget allows it then. `replica`
       * -1: whichever correct replica writes such a record first.
       */
      readonly onPersist?: {
        readonly record: PersistRecord['type'];
        readonly until: number;
        readonly downMs: number;
        /**
         * With `replica` -1: fire on this many distinct correct replicas in a row, each as it writes
         * such a record (the f+1 backups that change view together, say). @default 1
         */
        readonly times?: number;
      };
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
  /** Twinned identities and their partitions per view (twins.ts), or null. */
  readonly twins: TwinsScenario | null;
  /** The targeting network adversary (network-adversary.ts), or null for random loss and delay only. */
  readonly adversary: AdversaryScenario | null;
  /** The disk as weak as the host's (weak-disk.ts). */
  readonly disk: DiskModel;
  /**
   * Check the protocol's rules after every step (watch.ts: the NEW-VIEW binds its view, a view announced
   * is never taken back; and the replica's own invariants), so a bug is caught where it starts; off, a
   * run goes on to show what the breach leads to (an agreement, linearizability or liveness failure).
   */
  readonly earlyInvariants: boolean;
  /** Check the bounds on work per received message and on answers per peer (watch.ts, issue 18). */
  readonly workBounds: boolean;
  /** Clients' MAC keys travel as the host sends them (client-keys.ts), or null: every replica knows every key. */
  readonly clientKeys: ClientKeyModel | null;
}

export interface DiskModel {
  /** Virtual ms for a record the host writes asynchronously (the view, the stable checkpoint) to become durable. */
  readonly deferredMsMin: number;
  readonly deferredMsMax: number;
  /**
   * Whether the driver holds the messages behind a record until it is durable (core/pbft/write-ahead.ts),
   * as the host does since issue 18; false models the host before that fix.
   */
  readonly writeAhead: boolean;
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
  /** Twin this many identities (Twins); they count as faulty. @default 0 */
  readonly twins?: number;
  /** Add the targeting network adversary. @default false */
  readonly adversary?: boolean;
  /** Hold messages behind records that are not yet durable (the host since issue 18). @default true */
  readonly writeAhead?: boolean;
  /** Check the protocol's rules after every step (watch.ts). @default true */
  readonly earlyInvariants?: boolean;
  /** Check the work and answer bounds per message (watch.ts). @default true */
  readonly workBounds?: boolean;
  /**
   * Model clients' MAC keys as the host distributes them (client-keys.ts): 'on' as the host does since
   * issue 13, 'unfixed' as it did before (a restarted replica on a new address the clients never
   * learn, no asking for a missing key), 'off' (every replica knows every key). @default 'off'
   */
  readonly clientKeys?: 'on' | 'unfixed' | 'off';
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
  // New parts of a scenario draw from streams of their own: every choice of an older seed stays as it was.
  const twins = (options.twins ?? 0) > 0 ? twinsFromSeed(new Prng(seed ^ 0x7a1e5), n, f, options.twins!) : null;
  const faultyIds = [...new Set([...(byzantine?.replicas ?? []), ...(twins?.identities ?? [])])];
  // Crashes and partitions share the fault budget f with the Byzantine replicas (at most f faulty in all).
  const budget = f - Math.min(f, faultyIds.length);
  const allowed = budget > 0 ? kinds : kinds.filter((k) => k === 'loss');
  let faultPhaseMs = allowed.length > 0 ? rng.int(1_000, 6_000) : 0;
  const faults = allowed.length > 0 ? faultSchedule(rng.fork(), n, budget, allowed, faultPhaseMs, faultyIds) : [];
  const worstDelay = network.delayMsBase + network.delayMsJitter;
  const extra = new Prng(seed ^ 0xad7e5);
  // Twins and the network adversary act before GST: give them a phase of their own.
  if (twins || options.adversary) faultPhaseMs = Math.max(faultPhaseMs, extra.int(2_000, 10_000));
  const disk = diskFromSeed(new Prng(seed ^ 0xd15c), options.writeAhead ?? true);
  if (budget > 0 && (kinds.includes('crash') || kinds.includes('restart')))
    faults.push(...persistCrashes(new Prng(seed ^ 0xc4a5), n, faultPhaseMs, faultyIds, f, new Prng(seed ^ 0xc4a5f)));
  const adversary = options.adversary
    ? adversaryFromSeed(
        extra,
        n,
        f,
        faultPhaseMs,
        protocol.viewChangeTimeoutTicks * TICK_MS,
        faultyIds,
        new Prng(seed ^ 0xfa17e),
      )
    : null;
  if (adversary && budget > 0 && (kinds.includes('crash') || kinds.includes('restart')))
    crashClog(new Prng(seed ^ 0xc10c), adversary, faults, f, faultPhaseMs, protocol.viewChangeTimeoutTicks * TICK_MS);
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
    twins,
    adversary,
    disk,
    earlyInvariants: options.earlyInvariants ?? true,
    workBounds: options.workBounds ?? true,
    clientKeys:
      (options.clientKeys ?? 'off') === 'off'
        ? null
        : clientKeysFromSeed(new Prng(seed ^ 0xc1e7), clients, n, faultPhaseMs, options.clientKeys === 'on'),
  };
}

function diskFromSeed(rng: Prng, writeAhead: boolean): DiskModel {
  const deferredMsMin = rng.int(1, 5);
  return { deferredMsMin, deferredMsMax: deferredMsMin + rng.pick([2, 10, 40]), writeAhead };
}

/**
 * Crash points inside the window of a write (issue 18): a correct replica crashes as it starts writing
 * its view record or its stable checkpoint, before the write is durable. Whether one fires depends on
 * the fault budget at that moment (the simulator checks it), so the fixed schedule is not changed.
 */
function persistCrashes(
  rng: Prng,
  n: number,
  phaseMs: number,
  faulty: readonly number[],
  f: number,
  later: Prng,
): Fault[] {
  const faults: Fault[] = [];
  const correct = Array.from({ length: n }, (_, r) => r).filter((r) => !faulty.includes(r));
  const count = rng.pick([0, 1, 2, 2, 3]);
  for (let i = 0; i < count && phaseMs > 0; i++) {
    const at = rng.int(0, Math.max(0, phaseMs - 500));
    // Half the time whichever correct replica writes such a record next (-1): a crash point that
    // follows the view change around the cluster, as two backups crashing in turn need.
    const replica = rng.chance(0.5) ? -1 : rng.pick(correct);
    const onPersist = {
      record: rng.pick(['view', 'view', 'stable-checkpoint'] as const),
      until: Math.min(phaseMs, at + rng.int(500, 4_000)),
      downMs: rng.pick([1, 20, 200, 1_000]),
    };
    // Drawn from a stream of its own (every older choice of a seed stays): now and then the next f+1
    // replicas in a row, each restarting at once (a quick restart needs no room in the budget f).
    const burst = replica === -1 && later.chance(0.5);
    faults.push({
      kind: 'crash',
      at,
      replica,
      restartAt: null,
      wipeDisk: false,
      onPersist: burst ? { ...onPersist, downMs: Math.min(onPersist.downMs, 20), times: f + 1 } : onPersist,
    });
  }
  return faults;
}

/**
 * Crash-clog (issue 18, defect 1): now and then the network and the crashes collude. From a seeded
 * moment, view-change traffic (VIEW-CHANGE, NEW-VIEW) reaches only the next primary for a while, and
 * the next f+1 correct replicas to write their view record crash as they write it, each back at once:
 * the replicas that started the view change come back in the old view while nobody but the next
 * primary has heard of it, and the old primary still leads them. Drawn from a stream of its own, so
 * every other choice of a seed stays as it was.
 */
function crashClog(
  rng: Prng,
  adversary: AdversaryScenario,
  faults: Fault[],
  f: number,
  healAt: number,
  timeoutMs: number,
): void {
  if (healAt <= 0 || !rng.chance(0.3)) return;
  const from = rng.int(0, Math.max(0, healAt - 200));
  (adversary.strategies as Strategy[]).push({
    kind: 'hold-view-change',
    selector: 'next-primary',
    fixed: 0,
    periodMs: 1000,
    durationMs: rng.int(timeoutMs, 4 * timeoutMs),
    from,
    until: healAt,
  });
  faults.push({
    kind: 'crash',
    at: from,
    replica: -1,
    restartAt: null,
    wipeDisk: false,
    onPersist: {
      record: 'view',
      until: Math.min(healAt, from + rng.int(500, 4_000)),
      downMs: rng.pick([1, 20]),
      times: f + 1,
    },
  });
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
