/**
 * One simulated run: n replicas and some clients in virtual time on one thread, a network that
 * delays, loses, duplicates and reorders, the seed's faults and adversaries, and the checkers watching
 * every step. Every message crosses the real codec (encoded at send, decoded at delivery).
 *
 * The adversaries (docs/byzantine.md): Byzantine replicas from the catalogue or the generic fuzz
 * replica (core/byzantine), Twins — two unmodified replicas with one identity in different partitions
 * (twins.ts) — and the targeting network adversary (network-adversary.ts). The disk is as weak as the
 * host's: records written asynchronously become durable later, a crash loses the rest (weak-disk.ts),
 * and the write-ahead rule decides whether messages wait for them (core/pbft/write-ahead.ts).
 */
import type { StateMachine } from '../app/state-machine.ts';
import { Client } from '../pbft/client.ts';
import { decodeMessage, describe, encodeMessage } from '../pbft/codec.ts';
import type { ProtocolConfig } from '../pbft/config.ts';
import type { Hasher, ClientCrypto, ReplicaCrypto } from '../pbft/crypto.ts';
import type { ClientId, Message, Reply, ReplicaId, ReplicaMessage } from '../pbft/messages.ts';
import type { Output } from '../pbft/outputs.ts';
import type { PersistedState } from '../pbft/persistence.ts';
import { Replica } from '../pbft/replica.ts';
import { WriteAheadQueue, type RecordToWrite } from '../pbft/write-ahead.ts';
import type { Behaviour } from '../byzantine/behaviour.ts';
import { createBehaviour } from '../byzantine/catalogue.ts';
import { EQUIVOCATION_COALITION, equivocationCoalition } from '../byzantine/coalition.ts';
import { FaultyReplica } from '../byzantine/faulty-replica.ts';
import { FaultyClient } from '../byzantine/client-behaviours.ts';
import { Checkers, type Violation } from './checkers.ts';
import { EventQueue } from './event-queue.ts';
import { NetworkAdversary, type ReplicaView } from './network-adversary.ts';
import { Prng } from './prng.ts';
import { TICK_MS, type Fault, type Scenario } from './scenario.ts';
import { identityOf, roundOf, twinsConnected } from './twins.ts';
import { ProtocolWatch, watchBounds } from './watch.ts';
import { hostDurability, WeakDisk } from './weak-disk.ts';
import { Workload, type HistoryEntry } from './workload.ts';
import { KeyRing } from './client-keys.ts';

/** What the simulator needs from outside the sans-IO core: crypto and the application. */
export interface SimEnvironment {
  crypto(
    n: number,
    seed: number,
  ): { hasher: Hasher; replica(id: ReplicaId): ReplicaCrypto; client(id: ClientId): ClientCrypto };
  app(hasher: Hasher): StateMachine;
}

/** What the simulator hands a replica factory to build one replica process (a start or a restart). */
export interface ReplicaParts {
  readonly identity: ReplicaId;
  readonly config: ProtocolConfig;
  readonly crypto: ReplicaCrypto;
  readonly app: (hasher: Hasher) => StateMachine;
  readonly persisted: PersistedState | undefined;
  /** The Byzantine behaviours' random source (the run's PRNG). */
  readonly random: () => number;
  readonly newApp: () => StateMachine;
  /** Virtual ms now. */
  readonly nowMs: () => number;
}

/**
 * What a driver may change about a run (core/exercises). `createReplica` builds each replica process
 * instead of the plain honest replica behind its Byzantine switch (the exercises record every input).
 */
export interface SimulationHooks {
  readonly createReplica?: (parts: ReplicaParts) => FaultyReplica;
  /** The clients' operations, instead of the seed's random workload. */
  readonly workload?: SimWorkload;
  /** Replicas a script will make Byzantine: no checker judges them, for the whole run. */
  readonly faulty?: readonly ReplicaId[];
  /** After every event: the script acts through the control; true ends the run (instead of the workload finishing). */
  readonly script?: (control: SimulationControl) => boolean;
}

/** The workload's side the simulation uses (workload.ts has the seeded one). */
export type SimWorkload = Pick<
  Workload,
  | 'next'
  | 'submitted'
  | 'completed'
  | 'finished'
  | 'history'
  | 'exempt'
  | 'completedCount'
  | 'submittedCount'
  | 'pendingDescriptions'
>;

/** What a script may do to a running simulation, and see of it. */
export interface SimulationControl {
  nowMs(): number;
  /** The replica of an identity's first instance, to look at (null while it is crashed). */
  replica(identity: ReplicaId): Replica | null;
  /** Switch replicas to a catalogue behaviour, the equivocation coalition (all of them together), or honest (null). */
  setBehaviour(identities: readonly ReplicaId[], behaviour: string | null): void;
  /** A fault from now on: a crash until its restart, a partition or loss until `until` or `endFault`. */
  startFault(fault: Fault): void;
  endFault(fault: Fault): void;
  /** Client j has operations to send (its workload's `next` has something again). */
  wake(client: number): void;
}

/** The honest replica behind its Byzantine switch: how the simulator builds a replica by default. */
export function plainReplica(parts: ReplicaParts): FaultyReplica {
  const replica = new Replica({
    id: parts.identity,
    config: parts.config,
    crypto: parts.crypto,
    app: parts.app(parts.crypto),
    persisted: parts.persisted,
  });
  return new FaultyReplica(replica, parts.crypto, parts.random, parts.newApp);
}

/** What the adversaries did in a run (so a sweep shows they really acted). */
export interface AdversaryStats {
  /** Messages a Twins partition kept from an instance. */
  twinsBlocked: number;
  /** Rounds (views) of the Twins scenario that some correct replica reached. */
  twinsRounds: number;
  /** The network adversary: messages held, dropped, replayed; decisions on the faulty replicas' links. */
  held: number;
  dropped: number;
  replayed: number;
  faultyLinkDecisions: number;
  /** Crash points inside a write's window that fired. */
  persistCrashes: number;
  /** Messages the write-ahead rule held until a record was durable. */
  writeAheadHeld: number;
  /** Requests a replica could not authenticate because it lacked the client's key (client-keys.ts). */
  keyMissing: number;
  /** What the Byzantine behaviours counted (the fuzz replica's mutations, …), summed over replicas. */
  behaviour: Record<string, number>;
}

export interface RunResult {
  readonly seed: number;
  readonly n: number;
  readonly clients: number;
  readonly ok: boolean;
  readonly violations: readonly Violation[];
  /** Set when some operation of a correct client did not complete by the deadline. */
  readonly livenessFailure: string | null;
  readonly committedOps: number;
  readonly submittedOps: number;
  /** Virtual ms when the last operation completed (the run's liveness bound is `deadlineMs`). */
  readonly lastCompletionMs: number;
  readonly deadlineMs: number;
  readonly viewChanges: number;
  readonly stateTransfers: number;
  readonly checkpointsStable: number;
  readonly messagesDelivered: number;
  readonly messagesDropped: number;
  readonly ignoredMessages: number;
  /** The most replica messages one received message made a correct replica emit. */
  readonly messagesPerInputPeak: number;
  readonly adversary: AdversaryStats;
  /** The last messages before the end or the first violation. */
  readonly trace: readonly string[];
}

type SimEvent =
  | {
      readonly at: number;
      readonly kind: 'deliver';
      readonly from: Node;
      readonly to: Node;
      readonly bytes: Uint8Array;
    }
  | { readonly at: number; readonly kind: 'tick' }
  | { readonly at: number; readonly kind: 'submit'; readonly client: number }
  | { readonly at: number; readonly kind: 'fault'; readonly fault: Fault; readonly phase: 'start' | 'end' }
  | {
      readonly at: number;
      readonly kind: 'durable';
      readonly instance: number;
      readonly epoch: number;
      readonly id: number;
    }
  | { readonly at: number; readonly kind: 'persist-crash'; readonly fault: Fault & { kind: 'crash' } }
  /** Client keys (client-keys.ts): a client (re)sends its keys; a key reaches an instance; an instance asks a client. */
  | { readonly at: number; readonly kind: 'key-announce'; readonly client: number }
  | { readonly at: number; readonly kind: 'key'; readonly client: number; readonly instance: number }
  | { readonly at: number; readonly kind: 'key-ask'; readonly client: number; readonly identity: ReplicaId };

/** A node of the simulated network: a replica instance (a twinned identity has two) or client j. */
type Node = { readonly instance: number } | { readonly client: number };

/** One running copy of a replica identity, with its own disk. */
interface Instance {
  readonly index: number;
  readonly identity: ReplicaId;
  replica: FaultyReplica | null;
  readonly disk: WeakDisk;
  gate: WriteAheadQueue | null;
  /** Bumped at each crash: durability events of a crashed process are void. */
  epoch: number;
  /** The clients' MAC keys this process has (client-keys.ts; unused when every replica knows every key). */
  keys: KeyRing;
}

const TRACE_LINES = 60;
/** A replica asks a client for a missing key at most this often (client-keys.ts). */
const KEY_ASK_EVERY_MS = 200;
/** A crash point whose replica is back within this many ms is a process restart, not a fault (see write()). */
const QUICK_RESTART_MS = 20;

export class Simulation {
  readonly scenario: Scenario;
  private readonly env: SimEnvironment;
  private readonly hooks: SimulationHooks;
  private readonly rng: Prng;
  private readonly netRng: Prng;
  private readonly diskRng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly crypto: ReturnType<SimEnvironment['crypto']>;
  /** Every replica instance sits behind a Byzantine switch; correct ones have none set. */
  private readonly instances: Instance[];
  /** Instances by identity. */
  private readonly byIdentity: number[][];
  /** Behaviours of the Byzantine replicas, by replica id (coalition members share state). */
  private readonly behaviours = new Map<ReplicaId, Behaviour>();
  /** Identities that are faulty: Byzantine or twinned. The checkers judge the others only. */
  private readonly faulty: ReadonlySet<ReplicaId>;
  private readonly clients: (Client | FaultyClient)[];
  private readonly clientIds: ClientId[];
  private readonly workload: SimWorkload;
  private readonly checkers: Checkers;
  private readonly watch: ProtocolWatch;
  private readonly adversary: NetworkAdversary | null;
  private now = 0;
  /** Ring of the last messages, formatted only when a run reports them. */
  private readonly trace: (string | { at: number; from: Node; to: Node; message: Message })[] = [];
  private traceNext = 0;
  private readonly activeFaults = new Set<Fault>();
  /** Armed crash points (issue 18), and replicas down by them until a time. */
  private readonly armedPersistCrashes = new Set<Fault & { kind: 'crash' }>();
  private readonly persistCrashDownUntil = new Map<ReplicaId, number>();
  /** Replicas a crash point for several in a row (`onPersist.times`) has crashed so far. */
  private readonly persistCrashesFired = new Map<Fault, Set<ReplicaId>>();
  private delivered = 0;
  private dropped = 0;
  private ignored = 0;
  private viewChanges = 0;
  private stateTransfers = 0;
  private checkpointsStable = 0;
  private lastCompletionMs = 0;
  /** Clients that lost a replica's address for good (client:replica; the host before issue 13). */
  private readonly lostAddresses = new Set<string>();
  /** Record ids when no write-ahead queue numbers them (the host before issue 18). */
  private ungatedRecordId = 1;
  private readonly stats: AdversaryStats = {
    twinsBlocked: 0,
    twinsRounds: 0,
    held: 0,
    dropped: 0,
    replayed: 0,
    faultyLinkDecisions: 0,
    persistCrashes: 0,
    writeAheadHeld: 0,
    keyMissing: 0,
    behaviour: {},
  };

  constructor(scenario: Scenario, env: SimEnvironment, hooks: SimulationHooks = {}) {
    this.scenario = scenario;
    this.env = env;
    this.hooks = hooks;
    this.rng = new Prng(scenario.seed ^ 0x5eed);
    this.netRng = this.rng.fork();
    this.diskRng = new Prng(scenario.seed ^ 0xd15c0);
    this.crypto = env.crypto(scenario.n, scenario.seed);
    const byzantine = scenario.byzantine;
    if (byzantine) {
      if (byzantine.behaviour === EQUIVOCATION_COALITION.id) {
        for (const [id, b] of equivocationCoalition(byzantine.replicas)) this.behaviours.set(id, b);
      } else {
        for (const id of byzantine.replicas) this.behaviours.set(id, createBehaviour(byzantine.behaviour));
      }
    }
    const twins = scenario.twins;
    this.faulty = new Set([...this.behaviours.keys(), ...(twins?.identities ?? []), ...(hooks.faulty ?? [])]);
    const count = scenario.n + (twins?.identities.length ?? 0);
    this.byIdentity = Array.from({ length: scenario.n }, () => []);
    this.instances = Array.from({ length: count }, (_, index) => {
      const identity = identityOf(index, scenario.n, twins);
      this.byIdentity[identity]!.push(index);
      const instance: Instance = {
        index,
        identity,
        replica: null,
        disk: new WeakDisk(),
        gate: null,
        epoch: 0,
        keys: new KeyRing(),
      };
      this.start(instance, undefined);
      return instance;
    });
    this.clientIds = Array.from({ length: scenario.clients }, (_, j) => `client-${j}`);
    this.clients = this.clientIds.map((id, j) => {
      const crypto = this.crypto.client(id);
      const client = new Client(id, { n: scenario.n, retransmitTicks: scenario.clientRetransmitTicks }, crypto);
      // client-0 is the faulty one when a client behaviour is set.
      return j === 0 && scenario.clientBehaviour
        ? new FaultyClient(client, crypto, scenario.clientBehaviour, () => this.rng.float())
        : client;
    });
    const seeded = new Workload(this.rng.fork(), scenario.clients, scenario.opsPerClient, {
      share: scenario.readOnlyShare,
      rng: new Prng(scenario.seed ^ 0x0ead),
    });
    this.workload = hooks.workload ?? seeded;
    if (scenario.clientBehaviour) this.workload.exempt.add(0);
    this.checkers = new Checkers(
      scenario.f,
      () => env.app(this.crypto.hasher),
      this.faulty,
      new Set(scenario.clientBehaviour ? [this.clientIds[0]!] : []),
    );
    this.watch = new ProtocolWatch(scenario.n, watchBounds(scenario.protocol));
    this.adversary = scenario.adversary
      ? new NetworkAdversary(
          scenario.adversary,
          new Prng(scenario.seed ^ 0xad7),
          { n: scenario.n, f: scenario.f, healAt: scenario.healAt, faulty: this.faulty },
          (r) => this.observe(r),
        )
      : null;
  }

  /** A fresh process for an instance: from its disk (a restart) or from nothing. */
  private start(instance: Instance, persisted: PersistedState | undefined): void {
    instance.keys = new KeyRing();
    const faulty = (this.hooks.createReplica ?? plainReplica)({
      identity: instance.identity,
      config: this.scenario.protocol,
      crypto: this.withClientKeys(instance, this.crypto.replica(instance.identity)),
      // The application hashes with the run's hasher, as it always has (its digests are not the replica's crypto).
      app: () => this.env.app(this.crypto.hasher),
      persisted,
      random: () => this.rng.float(),
      newApp: () => this.env.app(this.crypto.hasher),
      nowMs: () => this.now,
    });
    faulty.use(this.behaviours.get(instance.identity) ?? null);
    instance.replica = faulty;
    instance.gate = this.scenario.disk.writeAhead ? new WriteAheadQueue(hostDurability) : null;
  }

  run(): RunResult {
    const s = this.scenario;
    this.queue.push({ at: TICK_MS, kind: 'tick' });
    for (let j = 0; j < s.clients; j++) this.queue.push({ at: this.rng.int(0, 20), kind: 'submit', client: j });
    for (const fault of s.faults) this.queue.push({ at: fault.at, kind: 'fault', fault, phase: 'start' });
    if (s.clientKeys)
      for (let j = 0; j < s.clients; j++) this.queue.push({ at: this.rng.int(0, 5), kind: 'key-announce', client: j });
    let livenessFailure: string | null = null;
    while (this.checkers.violations.length === 0) {
      const event = this.queue.pop();
      if (!event) break;
      if (event.at > s.deadlineMs) {
        livenessFailure = this.describeStall();
        break;
      }
      this.now = event.at;
      this.handle(event);
      if (this.hooks.script) {
        if (this.hooks.script(this.control)) break;
        continue;
      }
      // Done once every operation completed and every accepted result is in the agreed order: a result
      // accepted on 2f+1 tentative replies (§5.1) commits a little later, and must.
      if (this.workload.finished && this.acceptedAllExecuted()) break;
    }
    if (!livenessFailure && !this.workload.finished && this.checkers.violations.length === 0)
      livenessFailure = this.describeStall();
    if (this.checkers.violations.length === 0) this.checkers.finish(this.workload.history());
    const violations = this.checkers.violations;
    if (this.adversary) Object.assign(this.stats, this.adversary.counters);
    for (const b of new Set(this.behaviours.values()))
      for (const [k, v] of Object.entries(b.counters?.() ?? {}))
        this.stats.behaviour[k] = (this.stats.behaviour[k] ?? 0) + v;
    return {
      seed: s.seed,
      n: s.n,
      clients: s.clients,
      ok: violations.length === 0 && livenessFailure === null,
      violations,
      livenessFailure,
      committedOps: this.workload.completedCount,
      submittedOps: this.workload.submittedCount,
      lastCompletionMs: this.lastCompletionMs,
      deadlineMs: s.deadlineMs,
      viewChanges: this.viewChanges,
      stateTransfers: this.stateTransfers,
      checkpointsStable: this.checkpointsStable,
      messagesDelivered: this.delivered,
      messagesDropped: this.dropped,
      ignoredMessages: this.ignored,
      messagesPerInputPeak: this.watch.messagesPerInputPeak,
      adversary: this.stats,
      trace: this.formatTrace(),
    };
  }

  /** What a script sees and does (SimulationHooks.script). */
  private readonly control: SimulationControl = {
    nowMs: () => this.now,
    replica: (identity) => this.instances[this.byIdentity[identity]![0]!]!.replica?.replica ?? null,
    setBehaviour: (identities, behaviour) => this.switchBehaviour(identities, behaviour),
    startFault: (fault) => this.applyFault(fault, 'start'),
    endFault: (fault) => this.applyFault(fault, 'end'),
    wake: (client) => this.queue.push({ at: this.now, kind: 'submit', client }),
  };

  /** Replicas switched while the run goes on; a restart brings a replica back with its behaviour. */
  private switchBehaviour(identities: readonly ReplicaId[], behaviour: string | null): void {
    const made =
      behaviour === EQUIVOCATION_COALITION.id
        ? equivocationCoalition(identities)
        : new Map(identities.map((id) => [id, behaviour === null ? null : createBehaviour(behaviour)]));
    for (const [id, b] of made) {
      if (b) this.behaviours.set(id, b);
      else this.behaviours.delete(id);
      for (const index of this.byIdentity[id]!) this.instances[index]!.replica?.use(b);
    }
  }

  /** Accepted results of correct clients whose operation no correct replica has executed yet (after the workload finished). */
  private notYetExecuted: HistoryEntry[] | null = null;

  private acceptedAllExecuted(): boolean {
    this.notYetExecuted ??= this.workload
      .history()
      .filter(
        (h) =>
          h.completedAtMs !== null && !h.readOnly && !(this.scenario.clientBehaviour && h.client === this.clientIds[0]),
      );
    this.notYetExecuted = this.notYetExecuted.filter((h) => !this.checkers.executedSomewhere(h.client, h.timestamp));
    return this.notYetExecuted.length === 0;
  }

  /** Liveness failed: name the clients that starved and where every replica is. */
  private describeStall(): string {
    const pending = this.workload.pendingDescriptions();
    const states = this.instances.map((inst) => {
      const r = inst.replica;
      const name = `r${inst.identity}${inst.index >= this.scenario.n ? "'" : ''}`;
      return r
        ? `${name}${this.faulty.has(inst.identity) ? '(byzantine)' : ''}: v=${r.replica.view} ${r.replica.status} exec=${r.replica.lastExecuted} h=${r.replica.lowWatermark}`
        : `${name}: down`;
    });
    return `starved: ${pending.length} operation(s) incomplete at ${this.scenario.deadlineMs} ms (${pending.slice(0, 3).join('; ')}); ${states.join(', ')}`;
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick':
        return this.onTick();
      case 'submit': {
        const client = this.clients[event.client]!;
        const next = this.workload.next(event.client, this.now);
        if (!next) return;
        const timestamp = client.submit(next.op, next.readOnly);
        this.workload.submitted(event.client, timestamp, next, this.now);
        this.checkers.issued(this.clientIds[event.client]!, timestamp, next.op);
        this.drainClient(event.client);
        return;
      }
      case 'deliver':
        return this.deliver(event.from, event.to, event.bytes);
      case 'fault':
        return this.applyFault(event.fault, event.phase);
      case 'durable': {
        const inst = this.instances[event.instance]!;
        if (inst.epoch !== event.epoch || !inst.replica) return;
        inst.disk.durableNow(event.id);
        if (!inst.gate) return;
        const step = inst.gate.durable(event.id);
        return this.apply(inst, step.write, step.release);
      }
      case 'key-announce':
        return this.announceKeys(event.client);
      case 'key': {
        const inst = this.instances[event.instance]!;
        if (inst.replica) inst.keys.hear(event.client, this.now, true);
        return;
      }
      case 'key-ask':
        return this.sendKey(event.client, event.identity);
      case 'persist-crash':
        return this.crash(event.fault.replica, event.fault.onPersist!.downMs, false);
    }
  }

  private onTick(): void {
    const keys = this.scenario.clientKeys;
    for (const inst of this.instances) {
      if (!inst.replica) continue;
      if (keys) inst.keys.forgetIdle(this.now, keys.idleForgetMs);
      inst.replica.tick();
      this.drainReplica(inst, null);
    }
    for (let j = 0; j < this.clients.length; j++) {
      this.clients[j]!.tick();
      this.drainClient(j);
    }
    if (this.adversary)
      for (const r of this.adversary.replays(this.now)) {
        const from = this.byIdentity[r.from]![0]!;
        this.transmit({ instance: from }, r.to, r.message as ReplicaMessage, encodeMessage(r.message), true);
      }
    this.queue.push({ at: this.now + TICK_MS, kind: 'tick' });
  }

  private deliver(from: Node, to: Node, bytes: Uint8Array): void {
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) throw new Error(`simulator sent bytes the codec rejects: ${decoded.reason}`);
    const message = decoded.message;
    if ('instance' in to && !this.instances[to.instance]!.replica) {
      this.dropped++;
      return;
    }
    this.delivered++;
    this.record(from, to, message);
    if ('instance' in to) {
      const inst = this.instances[to.instance]!;
      const sender = 'instance' in from ? this.instances[from.instance]!.identity : this.clientIds[from.client]!;
      inst.replica!.step(sender, message);
      this.drainReplica(inst, { from: typeof sender === 'number' ? sender : null, message });
      if (this.faulty.has(inst.identity) || !this.scenario.earlyInvariants) return;
      const broken = inst.replica?.replica.checkInvariants() ?? null;
      if (broken) this.checkers.violation('invariant', `replica ${inst.identity}: ${broken}`);
    } else if (message.type === 'reply' && 'instance' in from) {
      this.clients[to.client]!.onReply(this.instances[from.instance]!.identity, message);
      this.drainClient(to.client);
    }
  }

  /** A replica's outputs after one input (`input` null for a tick): through the write-ahead gate, then out. */
  private drainReplica(inst: Instance, input: { from: ReplicaId | null; message: Message } | null): void {
    const replica = inst.replica;
    if (!replica) return;
    const outputs = replica.takeOutputs();
    if (outputs.length === 0) return;
    if (input && !this.faulty.has(inst.identity) && this.scenario.workBounds) {
      const broken = this.watch.onInput(inst.identity, input.from, input.message, outputs, this.now);
      if (broken) this.checkers.violation('invariant', broken);
    }
    if (!inst.gate) {
      // The host before issue 18: records are written, messages leave at once.
      for (const out of outputs) {
        if (out.kind === 'persist')
          this.write(inst, { id: this.ungatedRecordId++, record: out.record, durability: hostDurability(out.record) });
        else this.onReplicaOutput(inst, out);
      }
      return;
    }
    const before = inst.gate.heldCount;
    const step = inst.gate.push(outputs);
    this.stats.writeAheadHeld += Math.max(0, inst.gate.heldCount - before);
    this.apply(inst, step.write, step.release);
  }

  private apply(inst: Instance, writes: readonly RecordToWrite[], release: readonly Output[]): void {
    for (const w of writes) this.write(inst, w);
    for (const out of release) this.onReplicaOutput(inst, out);
  }

  /** The host writes a record: at once, or durable a little later (and a crash point may fire in between). */
  private write(inst: Instance, w: RecordToWrite): void {
    inst.disk.write(w.id, w.record, w.durability);
    if (w.durability === 'immediate') return;
    const latency = this.diskRng.int(this.scenario.disk.deferredMsMin, this.scenario.disk.deferredMsMax);
    this.queue.push({ at: this.now + latency, kind: 'durable', instance: inst.index, epoch: inst.epoch, id: w.id });
    if (inst.index >= this.scenario.n) return;
    for (const fault of this.armedPersistCrashes) {
      if (fault.onPersist!.record !== w.record.type) continue;
      if (fault.replica !== inst.identity && (fault.replica !== -1 || this.faulty.has(inst.identity))) continue;
      const fired = this.persistCrashesFired.get(fault);
      if (fired?.has(inst.identity)) continue;
      // A replica that restarts at once with its disk is not faulty (PBFT's faulty replicas are the
      // Byzantine ones; a crash that loses nothing durable is a slow correct replica), so a quick restart
      // needs no room in the budget f — as many replicas as like may do it, in any order. A long one does.
      const quick = fault.onPersist!.downMs <= QUICK_RESTART_MS;
      if (!quick && !this.crashBudgetAllows(inst.identity, this.now + latency + fault.onPersist!.downMs)) continue;
      // A crash point for several replicas in a row stays armed until each of them has crashed.
      const times = fault.onPersist!.times ?? 1;
      if (times > 1) this.persistCrashesFired.set(fault, (fired ?? new Set()).add(inst.identity));
      if ((this.persistCrashesFired.get(fault)?.size ?? 1) >= times) this.armedPersistCrashes.delete(fault);
      this.stats.persistCrashes++;
      // Inside the window: after the write started, before it is durable.
      const at = this.now + this.diskRng.int(0, Math.max(0, latency - 1));
      this.queue.push({ at, kind: 'persist-crash', fault: { ...fault, replica: inst.identity } });
      return;
    }
  }

  private onReplicaOutput(inst: Instance, out: Output): void {
    const self: Node = { instance: inst.index };
    switch (out.kind) {
      case 'send':
        return this.transmit(self, out.to, out.message, encodeMessage(out.message));
      case 'broadcast': {
        const bytes = encodeMessage(out.message);
        for (let r = 0; r < this.scenario.n; r++) if (r !== inst.identity) this.transmit(self, r, out.message, bytes);
        return;
      }
      case 'reply': {
        const j = this.clientIds.indexOf(out.client);
        if (j >= 0) this.transmitReply(inst, j, out.reply);
        return;
      }
      case 'persist':
        return;
      case 'event': {
        const e = out.event;
        if (e.type === 'ignored') this.ignored++;
        else if (e.type === 'view-change-started') this.viewChanges++;
        else if (e.type === 'state-transfer-completed') this.stateTransfers++;
        else if (e.type === 'checkpoint-stable') this.checkpointsStable++;
        if (this.faulty.has(inst.identity)) return;
        if (e.type === 'new-view' && this.scenario.twins && e.view < this.scenario.twins.rounds.length)
          this.stats.twinsRounds = Math.max(this.stats.twinsRounds, e.view + 1);
        const broken = this.watch.onEvent(inst.identity, e);
        if (broken && this.scenario.earlyInvariants) this.checkers.violation('invariant', broken);
        this.checkers.onReplicaEvent(inst.identity, e);
        return;
      }
    }
  }

  private drainClient(j: number): void {
    const client = this.clients[j]!;
    const self: Node = { client: j };
    for (const out of client.takeOutputs()) {
      if (out.kind === 'send') this.transmit(self, out.to, out.request, encodeMessage(out.request));
      else if (out.kind === 'broadcast') {
        const bytes = encodeMessage(out.request);
        for (let r = 0; r < this.scenario.n; r++) this.transmit(self, r, out.request, bytes);
      } else {
        this.lastCompletionMs = this.now;
        this.workload.completed(j, out.timestamp, out.result, this.now);
        const think = this.rng.int(0, this.scenario.thinkMsMax);
        this.queue.push({ at: this.now + think, kind: 'submit', client: j });
      }
    }
  }

  /**
   * The network, from a node to replica identity `to` (every instance of it): Twins partitions, the
   * network adversary, loss, delay, duplication, partitions; a crashed replica neither sends nor receives.
   */
  private transmit(from: Node, to: ReplicaId, message: ReplicaMessage, bytes: Uint8Array, replayed = false): void {
    let fromIdentity: ReplicaId | null = null;
    let round = 0;
    if ('instance' in from) {
      const inst = this.instances[from.instance]!;
      if (!inst.replica) return;
      fromIdentity = inst.identity;
      round = roundOf(message, inst.replica.replica.view);
      if (!replayed && !this.faulty.has(inst.identity)) this.watch.onSent(inst.identity, message);
    }
    const twins = this.scenario.twins;
    for (const target of this.byIdentity[to]!) {
      if (
        twins &&
        'instance' in from &&
        this.now < this.scenario.healAt &&
        !twinsConnected(twins, round, from.instance, target)
      ) {
        this.stats.twinsBlocked++;
        this.dropped++;
        continue;
      }
      let holdMs = 0;
      if (this.adversary) {
        const d = this.adversary.decide(fromIdentity, to, message, this.now);
        if (d.drop) {
          this.dropped++;
          continue;
        }
        holdMs = d.holdMs;
      }
      const client = 'client' in from ? from.client : null;
      if (client !== null && !this.reachable(client, to)) {
        this.dropped++;
        continue;
      }
      if (client !== null) this.instances[target]!.keys.hear(client, this.now, false);
      this.schedule(fromIdentity, to, holdMs, (at) => ({ at, kind: 'deliver', from, to: { instance: target }, bytes }));
    }
  }

  private transmitReply(inst: Instance, client: number, reply: Reply): void {
    if (!inst.replica || !this.reachable(client, inst.identity)) return;
    const bytes = encodeMessage(reply);
    this.schedule(inst.identity, null, 0, (at) => ({
      at,
      kind: 'deliver',
      from: { instance: inst.index },
      to: { client },
      bytes,
    }));
  }

  /** Loss, duplication, partitions and delay of the network itself (faults and background). */
  private schedule(
    fromIdentity: ReplicaId | null,
    toIdentity: ReplicaId | null,
    holdMs: number,
    event: (at: number) => SimEvent,
  ): void {
    const net = this.scenario.network;
    let loss = net.lossProbability;
    let duplicate = net.duplicateProbability;
    let extraDelay = 0;
    for (const fault of this.activeFaults) {
      if (fault.kind === 'loss') {
        loss = Math.max(loss, fault.lossProbability);
        duplicate = Math.max(duplicate, fault.duplicateProbability);
        extraDelay = Math.max(extraDelay, fault.delayMsExtra);
      } else if (fault.kind === 'partition' && this.cut(fault, fromIdentity, toIdentity)) {
        this.dropped++;
        return;
      }
    }
    const copies = this.netRng.chance(duplicate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      if (this.netRng.chance(loss)) {
        this.dropped++;
        continue;
      }
      const delay =
        net.delayMsBase + this.netRng.int(0, net.delayMsJitter) + (extraDelay ? this.netRng.int(0, extraDelay) : 0);
      this.queue.push(event(this.now + Math.max(1, delay) + holdMs));
    }
  }

  /** A partition cuts replicas in `side` from everyone else (clients included); one-way cuts only side → rest. */
  private cut(fault: Extract<Fault, { kind: 'partition' }>, from: ReplicaId | null, to: ReplicaId | null): boolean {
    const fromIn = from !== null && fault.side.includes(from);
    const toIn = to !== null && fault.side.includes(to);
    if (fromIn === toIn) return false;
    return fault.oneWay ? fromIn : true;
  }

  private applyFault(fault: Fault, phase: 'start' | 'end'): void {
    this.traceLine(`t=${this.now}ms FAULT ${phase} ${describeFault(fault)}`);
    if (fault.kind === 'crash' && fault.onPersist) {
      if (phase === 'start') {
        this.armedPersistCrashes.add(fault);
        this.queue.push({ at: fault.onPersist.until, kind: 'fault', fault, phase: 'end' });
      } else this.armedPersistCrashes.delete(fault);
      return;
    }
    if (fault.kind === 'crash') {
      if (phase === 'start') {
        this.crash(fault.replica, null, false);
        if (fault.restartAt !== null) this.queue.push({ at: fault.restartAt, kind: 'fault', fault, phase: 'end' });
      } else this.restart(fault.replica, fault.wipeDisk);
      return;
    }
    if (phase === 'start') {
      this.activeFaults.add(fault);
      this.queue.push({ at: fault.until, kind: 'fault', fault, phase: 'end' });
    } else {
      this.activeFaults.delete(fault);
    }
  }

  /** Kill a replica's process (its first instance: crashes target correct replicas): what was not durable is lost. */
  private crash(identity: ReplicaId, restartInMs: number | null, wipe: boolean): void {
    const inst = this.instances[this.byIdentity[identity]![0]!]!;
    if (!inst.replica) return;
    this.traceLine(
      `t=${this.now}ms CRASH r${identity}${inst.disk.pendingCount > 0 ? ` (${inst.disk.pendingCount} record(s) not yet durable lost)` : ''}`,
    );
    inst.replica = null;
    inst.disk.crash();
    inst.gate?.clear();
    inst.epoch++;
    if (restartInMs !== null) {
      this.persistCrashDownUntil.set(identity, this.now + restartInMs);
      this.queue.push({
        at: this.now + restartInMs,
        kind: 'fault',
        fault: { kind: 'crash', at: this.now, replica: identity, restartAt: this.now + restartInMs, wipeDisk: wipe },
        phase: 'end',
      });
    }
  }

  private restart(identity: ReplicaId, wipe: boolean): void {
    const inst = this.instances[this.byIdentity[identity]![0]!]!;
    if (inst.replica) return;
    this.persistCrashDownUntil.delete(identity);
    if (wipe) {
      inst.disk.wipe();
      this.watch.forget(identity);
    }
    this.checkers.forgetReplica(identity);
    // A replica that comes back on a new address (the host before issue 13): clients never learn it.
    if (this.scenario.clientKeys && !this.scenario.clientKeys.keepAddress)
      for (let j = 0; j < this.scenario.clients; j++) this.lostAddresses.add(`${j}:${identity}`);
    this.start(inst, inst.disk.state());
    const broken = this.watch.onRestart(identity, inst.replica!.replica.view);
    if (broken && this.scenario.earlyInvariants) this.checkers.violation('invariant', broken);
  }

  /**
   * Whether one more correct replica may be down from now until `until` without more than f faulty at
   * once: the faulty identities, replicas crashed or partitioned now, and those the fixed schedule takes
   * down before `until` (or a wiped disk, faulty for good).
   */
  private crashBudgetAllows(replica: ReplicaId, until: number): boolean {
    const down = new Set<ReplicaId>(this.faulty);
    for (const inst of this.instances) if (!inst.replica && inst.index < this.scenario.n) down.add(inst.identity);
    for (const [r, t] of this.persistCrashDownUntil) if (t > this.now) down.add(r);
    for (const fault of this.scenario.faults) {
      if (fault.kind === 'loss' || (fault.kind === 'crash' && fault.onPersist)) continue;
      const end =
        fault.kind === 'partition'
          ? fault.until
          : fault.restartAt === null || fault.wipeDisk
            ? Infinity
            : fault.restartAt;
      if (fault.at < until && end > this.now)
        for (const r of fault.kind === 'crash' ? [fault.replica] : fault.side) down.add(r);
    }
    down.delete(replica);
    return down.size + 1 <= this.scenario.f;
  }

  /**
   * A replica's crypto with the client keys it really has (client-keys.ts): a request of a client whose
   * key it lacks is not authentic, and the host since issue 13 asks that client for its key.
   */
  private withClientKeys(instance: Instance, crypto: ReplicaCrypto): ReplicaCrypto {
    const model = this.scenario.clientKeys;
    if (!model) return crypto;
    return {
      ...crypto,
      verifyRequestMac: (client, data, mac) => {
        const j = this.clientIds.indexOf(client);
        if (j < 0 || instance.keys.has(j)) return crypto.verifyRequestMac(client, data, mac);
        this.stats.keyMissing++;
        if (model.askForKeys && instance.keys.shouldAsk(j, this.now, KEY_ASK_EVERY_MS))
          this.schedule(instance.identity, null, 0, (at) => ({
            at,
            kind: 'key-ask',
            client: j,
            identity: instance.identity,
          }));
        return false;
      },
    };
  }

  /** A client (re)sends its key to every replica, and again a period later. */
  private announceKeys(client: number): void {
    const model = this.scenario.clientKeys!;
    for (let r = 0; r < this.scenario.n; r++) this.sendKey(client, r);
    this.queue.push({ at: this.now + model.resendMs, kind: 'key-announce', client });
  }

  private sendKey(client: number, identity: ReplicaId): void {
    if (!this.reachable(client, identity)) return;
    for (const target of this.byIdentity[identity]!)
      this.schedule(null, identity, 0, (at) => ({ at, kind: 'key', client, instance: target }));
  }

  /** Whether client j and replica r can reach each other now (client-keys.ts: cuts, lost addresses). */
  private reachable(client: number, identity: ReplicaId): boolean {
    const model = this.scenario.clientKeys;
    if (!model) return true;
    if (this.lostAddresses.has(`${client}:${identity}`)) return false;
    for (const c of model.cuts)
      if (c.client === client && c.replica === identity && this.now >= c.from && this.now < c.until) return false;
    return true;
  }

  /** The oracle of the state-aware network adversary. */
  private observe(r: ReplicaId): ReplicaView {
    const replica = this.instances[this.byIdentity[r]![0]!]!.replica?.replica;
    if (!replica)
      return { up: false, correct: !this.faulty.has(r), view: 0, normal: false, lastExecuted: 0, timerTicksLeft: null };
    return {
      up: true,
      correct: !this.faulty.has(r),
      view: replica.view,
      normal: replica.status === 'normal',
      lastExecuted: replica.lastExecuted,
      timerTicksLeft: replica.timerTicksLeft,
    };
  }

  private record(from: Node, to: Node, message: Message): void {
    this.traceLine({ at: this.now, from, to, message });
  }

  private traceLine(line: (typeof this.trace)[number]): void {
    this.trace[this.traceNext] = line;
    this.traceNext = (this.traceNext + 1) % TRACE_LINES;
  }

  private formatTrace(): string[] {
    const ordered = [...this.trace.slice(this.traceNext), ...this.trace.slice(0, this.traceNext)];
    return ordered.map((line) =>
      typeof line === 'string'
        ? line
        : `t=${line.at}ms ${this.nodeName(line.from)}->${this.nodeName(line.to)} ${describe(line.message)}`,
    );
  }

  private nodeName(node: Node): string {
    if ('client' in node) return `c${node.client}`;
    const inst = this.instances[node.instance]!;
    return `r${inst.identity}${inst.index >= this.scenario.n ? "'" : ''}`;
  }
}

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'crash':
      if (fault.onPersist)
        return `crash ${fault.replica < 0 ? ((fault.onPersist.times ?? 1) > 1 ? `the next ${fault.onPersist.times} correct replicas` : 'the next correct replica') : `r${fault.replica}`} as it writes its ${fault.onPersist.record} record, armed ${fault.at}–${fault.onPersist.until}ms, down ${fault.onPersist.downMs}ms`;
      return `crash r${fault.replica} at ${fault.at}ms${fault.restartAt === null ? '' : `, restart at ${fault.restartAt}ms${fault.wipeDisk ? ' with a wiped disk' : ''}`}`;
    case 'partition':
      return `${fault.oneWay ? 'one-way ' : ''}partition {${fault.side.map((r) => `r${r}`).join(',')}} ${fault.at}–${fault.until}ms`;
    case 'loss':
      return `loss ${Math.round(fault.lossProbability * 100)}% +${fault.delayMsExtra}ms dup ${Math.round(fault.duplicateProbability * 100)}% ${fault.at}–${fault.until}ms`;
  }
}
