/**
 * One simulated run: n replicas and some clients in virtual time on one thread, a network that
 * delays, loses, duplicates and reorders, the seed's faults, and the checkers watching every step.
 * Every message crosses the real codec (encoded at send, decoded at delivery).
 */
import type { StateMachine } from '../app/state-machine.ts';
import { Client } from '../pbft/client.ts';
import { decodeMessage, describe, encodeMessage } from '../pbft/codec.ts';
import type { Hasher, ClientCrypto, ReplicaCrypto } from '../pbft/crypto.ts';
import type { ClientId, Message, Reply, ReplicaId } from '../pbft/messages.ts';
import type { Output, PersistRecord } from '../pbft/outputs.ts';
import { MemoryDisk, type PersistedState } from '../pbft/persistence.ts';
import { Replica } from '../pbft/replica.ts';
import type { Behaviour } from '../byzantine/behaviour.ts';
import { createBehaviour } from '../byzantine/catalogue.ts';
import { EQUIVOCATION_COALITION, equivocationCoalition } from '../byzantine/coalition.ts';
import { FaultyReplica } from '../byzantine/faulty-replica.ts';
import { FaultyClient } from '../byzantine/client-behaviours.ts';
import { Checkers, type Violation } from './checkers.ts';
import { EventQueue } from './event-queue.ts';
import { Prng } from './prng.ts';
import { TICK_MS, type Fault, type Scenario } from './scenario.ts';
import { Workload, type HistoryEntry } from './workload.ts';

/** What the simulator needs from outside the sans-IO core: crypto and the application. */
export interface SimEnvironment {
  crypto(
    n: number,
    seed: number,
  ): { hasher: Hasher; replica(id: ReplicaId): ReplicaCrypto; client(id: ClientId): ClientCrypto };
  app(hasher: Hasher): StateMachine;
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
  | { readonly at: number; readonly kind: 'fault'; readonly fault: Fault; readonly phase: 'start' | 'end' };

/** A node of the simulated network: replica i or client j. */
type Node = { readonly replica: ReplicaId } | { readonly client: number };

const TRACE_LINES = 60;

export class Simulation {
  readonly scenario: Scenario;
  private readonly env: SimEnvironment;
  private readonly rng: Prng;
  private readonly netRng: Prng;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly crypto: ReturnType<SimEnvironment['crypto']>;
  /** Every replica sits behind a Byzantine switch; correct ones have none set. */
  private readonly replicas: (FaultyReplica | null)[];
  /** Behaviours of the Byzantine replicas, by replica id (coalition members share state). */
  private readonly behaviours = new Map<ReplicaId, Behaviour>();
  /** What each replica persisted (its "disk"), for restarts. */
  private readonly disks: MemoryDisk[];
  private readonly clients: (Client | FaultyClient)[];
  private readonly clientIds: ClientId[];
  private readonly workload: Workload;
  private readonly checkers: Checkers;
  private now = 0;
  /** Ring of the last messages, formatted only when a run reports them. */
  private readonly trace: (string | { at: number; from: Node; to: Node; message: Message })[] = [];
  private traceNext = 0;
  private readonly activeFaults = new Set<Fault>();
  private delivered = 0;
  private dropped = 0;
  private ignored = 0;
  private viewChanges = 0;
  private stateTransfers = 0;
  private checkpointsStable = 0;
  private lastCompletionMs = 0;

  constructor(scenario: Scenario, env: SimEnvironment) {
    this.scenario = scenario;
    this.env = env;
    this.rng = new Prng(scenario.seed ^ 0x5eed);
    this.netRng = this.rng.fork();
    this.crypto = env.crypto(scenario.n, scenario.seed);
    const byzantine = scenario.byzantine;
    if (byzantine) {
      if (byzantine.behaviour === EQUIVOCATION_COALITION.id) {
        for (const [id, b] of equivocationCoalition(byzantine.replicas)) this.behaviours.set(id, b);
      } else {
        for (const id of byzantine.replicas) this.behaviours.set(id, createBehaviour(byzantine.behaviour));
      }
    }
    this.replicas = Array.from({ length: scenario.n }, (_, id) => this.newReplica(id, undefined));
    this.disks = Array.from({ length: scenario.n }, () => new MemoryDisk());
    this.clientIds = Array.from({ length: scenario.clients }, (_, j) => `client-${j}`);
    this.clients = this.clientIds.map((id, j) => {
      const crypto = this.crypto.client(id);
      const client = new Client(id, { n: scenario.n, retransmitTicks: scenario.clientRetransmitTicks }, crypto);
      // client-0 is the faulty one when a client behaviour is set.
      return j === 0 && scenario.clientBehaviour
        ? new FaultyClient(client, crypto, scenario.clientBehaviour, () => this.rng.float())
        : client;
    });
    this.workload = new Workload(this.rng.fork(), scenario.clients, scenario.opsPerClient, {
      share: scenario.readOnlyShare,
      rng: new Prng(scenario.seed ^ 0x0ead),
    });
    if (scenario.clientBehaviour) this.workload.exempt.add(0);
    this.checkers = new Checkers(
      scenario.f,
      () => env.app(this.crypto.hasher),
      new Set(this.behaviours.keys()),
      new Set(scenario.clientBehaviour ? [this.clientIds[0]!] : []),
    );
  }

  private newReplica(id: ReplicaId, persisted: PersistedState | undefined): FaultyReplica {
    const crypto = this.crypto.replica(id);
    const replica = new Replica({
      id,
      config: this.scenario.protocol,
      crypto,
      app: this.env.app(this.crypto.hasher),
      persisted,
    });
    const faulty = new FaultyReplica(
      replica,
      crypto,
      () => this.rng.float(),
      () => this.env.app(this.crypto.hasher),
    );
    faulty.use(this.behaviours.get(id) ?? null);
    return faulty;
  }

  run(): RunResult {
    const s = this.scenario;
    this.queue.push({ at: TICK_MS, kind: 'tick' });
    for (let j = 0; j < s.clients; j++) this.queue.push({ at: this.rng.int(0, 20), kind: 'submit', client: j });
    for (const fault of s.faults) this.queue.push({ at: fault.at, kind: 'fault', fault, phase: 'start' });
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
      // Done once every operation completed and every accepted result is in the agreed order: a result
      // accepted on 2f+1 tentative replies (§5.1) commits a little later, and must.
      if (this.workload.finished && this.acceptedAllExecuted()) break;
    }
    if (!livenessFailure && !this.workload.finished && this.checkers.violations.length === 0)
      livenessFailure = this.describeStall();
    if (this.checkers.violations.length === 0) this.checkers.finish(this.workload.history());
    const violations = this.checkers.violations;
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
      trace: this.formatTrace(),
    };
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

  private describeStall(): string {
    const pending = this.workload.pendingDescriptions();
    const states = this.replicas.map((r, i) =>
      r
        ? `r${i}${this.behaviours.has(i) ? '(byzantine)' : ''}: v=${r.replica.view} ${r.replica.status} exec=${r.replica.lastExecuted} h=${r.replica.lowWatermark}`
        : `r${i}: down`,
    );
    return `${pending.length} operation(s) incomplete at ${this.scenario.deadlineMs} ms (${pending.slice(0, 3).join('; ')}); ${states.join(', ')}`;
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'tick':
        for (let i = 0; i < this.replicas.length; i++) {
          const r = this.replicas[i];
          if (!r) continue;
          r.tick();
          this.drainReplica(i);
        }
        for (let j = 0; j < this.clients.length; j++) {
          this.clients[j]!.tick();
          this.drainClient(j);
        }
        this.queue.push({ at: this.now + TICK_MS, kind: 'tick' });
        return;
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
    }
  }

  private deliver(from: Node, to: Node, bytes: Uint8Array): void {
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) throw new Error(`simulator sent bytes the codec rejects: ${decoded.reason}`);
    const message = decoded.message;
    if ('replica' in to && !this.replicas[to.replica]) {
      this.dropped++;
      return;
    }
    this.delivered++;
    this.record(from, to, message);
    if ('replica' in to) {
      const replica = this.replicas[to.replica]!;
      const sender = 'replica' in from ? from.replica : this.clientIds[from.client]!;
      replica.step(sender, message);
      this.drainReplica(to.replica);
      const broken = this.behaviours.has(to.replica) ? null : replica.replica.checkInvariants();
      if (broken) this.checkers.violation('invariant', `replica ${to.replica}: ${broken}`);
    } else if (message.type === 'reply' && 'replica' in from) {
      this.clients[to.client]!.onReply(from.replica, message);
      this.drainClient(to.client);
    }
  }

  private drainReplica(id: ReplicaId): void {
    const replica = this.replicas[id];
    if (!replica) return;
    for (const out of replica.takeOutputs()) this.onReplicaOutput(id, out);
  }

  private onReplicaOutput(id: ReplicaId, out: Output): void {
    const self: Node = { replica: id };
    switch (out.kind) {
      case 'send':
        return this.transmit(self, { replica: out.to }, out.message);
      case 'broadcast':
        for (let r = 0; r < this.scenario.n; r++) if (r !== id) this.transmit(self, { replica: r }, out.message);
        return;
      case 'reply': {
        const j = this.clientIds.indexOf(out.client);
        if (j >= 0) this.transmit(self, { client: j }, out.reply);
        return;
      }
      case 'persist':
        return this.persist(id, out.record);
      case 'event': {
        const e = out.event;
        if (e.type === 'ignored') this.ignored++;
        else if (e.type === 'view-change-started') this.viewChanges++;
        else if (e.type === 'state-transfer-completed') this.stateTransfers++;
        else if (e.type === 'checkpoint-stable') this.checkpointsStable++;
        this.checkers.onReplicaEvent(id, e);
        return;
      }
    }
  }

  private persist(id: ReplicaId, record: PersistRecord): void {
    this.disks[id]!.apply(record);
  }

  private drainClient(j: number): void {
    const client = this.clients[j]!;
    const self: Node = { client: j };
    for (const out of client.takeOutputs()) {
      if (out.kind === 'send') this.transmit(self, { replica: out.to }, out.request);
      else if (out.kind === 'broadcast')
        for (let r = 0; r < this.scenario.n; r++) this.transmit(self, { replica: r }, out.request);
      else {
        this.lastCompletionMs = this.now;
        this.workload.completed(j, out.timestamp, out.result, this.now);
        const think = this.rng.int(0, this.scenario.thinkMsMax);
        this.queue.push({ at: this.now + think, kind: 'submit', client: j });
      }
    }
  }

  /** The network: loss, delay, duplication, partitions; a crashed replica neither sends nor receives. */
  private transmit(from: Node, to: Node, message: Message | Reply): void {
    if ('replica' in from && !this.replicas[from.replica]) return;
    const bytes = encodeMessage(message);
    const net = this.scenario.network;
    let loss = net.lossProbability;
    let duplicate = net.duplicateProbability;
    let extraDelay = 0;
    for (const fault of this.activeFaults) {
      if (fault.kind === 'loss') {
        loss = Math.max(loss, fault.lossProbability);
        duplicate = Math.max(duplicate, fault.duplicateProbability);
        extraDelay = Math.max(extraDelay, fault.delayMsExtra);
      } else if (fault.kind === 'partition' && this.cut(fault, from, to)) {
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
      this.queue.push({ at: this.now + Math.max(1, delay), kind: 'deliver', from, to, bytes });
    }
  }

  /** A partition cuts replicas in `side` from everyone else (clients included); one-way cuts only side → rest. */
  private cut(fault: Extract<Fault, { kind: 'partition' }>, from: Node, to: Node): boolean {
    const inSide = (node: Node): boolean => 'replica' in node && fault.side.includes(node.replica);
    const fromIn = inSide(from);
    const toIn = inSide(to);
    if (fromIn === toIn) return false;
    return fault.oneWay ? fromIn : true;
  }

  private applyFault(fault: Fault, phase: 'start' | 'end'): void {
    this.traceLine(`t=${this.now}ms FAULT ${phase} ${describeFault(fault)}`);
    if (fault.kind === 'crash') {
      if (phase === 'start') {
        this.replicas[fault.replica] = null;
        if (fault.restartAt !== null) this.queue.push({ at: fault.restartAt, kind: 'fault', fault, phase: 'end' });
      } else {
        if (fault.wipeDisk) this.disks[fault.replica] = new MemoryDisk();
        this.checkers.forgetReplica(fault.replica);
        this.replicas[fault.replica] = this.newReplica(fault.replica, this.disks[fault.replica]!.state());
      }
      return;
    }
    if (phase === 'start') {
      this.activeFaults.add(fault);
      this.queue.push({ at: fault.until, kind: 'fault', fault, phase: 'end' });
    } else {
      this.activeFaults.delete(fault);
    }
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
        : `t=${line.at}ms ${nodeName(line.from)}->${nodeName(line.to)} ${describe(line.message)}`,
    );
  }
}

function nodeName(node: Node): string {
  return 'replica' in node ? `r${node.replica}` : `c${node.client}`;
}

export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'crash':
      return `crash r${fault.replica} at ${fault.at}ms${fault.restartAt === null ? '' : `, restart at ${fault.restartAt}ms${fault.wipeDisk ? ' with a wiped disk' : ''}`}`;
    case 'partition':
      return `${fault.oneWay ? 'one-way ' : ''}partition {${fault.side.map((r) => `r${r}`).join(',')}} ${fault.at}–${fault.until}ms`;
    case 'loss':
      return `loss ${Math.round(fault.lossProbability * 100)}% +${fault.delayMsExtra}ms dup ${Math.round(fault.duplicateProbability * 100)}% ${fault.at}–${fault.until}ms`;
  }
}
