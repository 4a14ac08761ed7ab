/**
 * A hand-driven cluster for scenario tests: replicas and clients whose messages wait in a queue
 * until the test delivers them (all, some, or none), so a test can stage exactly the interleaving a
 * paper section talks about. Messages go through the codec, as on a network.
 */
import { FileStore, type FileStoreAccess } from '../app/file-store.ts';
import { encodeOp, decodeResult, type FileOp, type FileResult } from '../app/file-ops.ts';
import { simulatedCrypto, type SimulatedCrypto } from '../crypto/node.ts';
import { Client } from '../pbft/client.ts';
import { decodeMessage, describe as describeMessage, encodeMessage } from '../pbft/codec.ts';
import { defaultProtocolConfig, type ProtocolConfig } from '../pbft/config.ts';
import type { ClientId, Message, ReplicaId } from '../pbft/messages.ts';
import type { ClientOutput, Output, PersistRecord, ReplicaEvent } from '../pbft/outputs.ts';
import type { PersistedState } from '../pbft/persistence.ts';
import { Replica } from '../pbft/replica.ts';
import { WriteAheadQueue, type WriteAheadStep } from '../pbft/write-ahead.ts';
import { hostDurability, WeakDisk } from '../sim/weak-disk.ts';

export type Endpoint = ReplicaId | ClientId;

export interface Envelope {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly message: Message;
}

export interface ClientResult {
  readonly timestamp: number;
  readonly result: FileResult;
  readonly matching: number;
}

/**
 * How the cluster's "host" writes records. `instant` (the default): every record is durable at once.
 * `host`: as the real host writes them — the view and the stable checkpoint become durable only when
 * the test says so (`makeDurable`), a crash loses them before that — and with `writeAhead` the messages
 * behind such a record wait for it (core/pbft/write-ahead.ts), as the host holds them since issue 18.
 */
export interface DiskOptions {
  readonly disk?: 'instant' | 'host';
  readonly writeAhead?: boolean;
  /** The file stores' access rules (which clients may revoke). @default nobody may revoke */
  readonly access?: FileStoreAccess;
}

export class TestCluster {
  readonly config: ProtocolConfig;
  readonly crypto: SimulatedCrypto;
  readonly replicas: (Replica | null)[];
  readonly clients = new Map<ClientId, Client>();
  readonly results = new Map<ClientId, ClientResult[]>();
  readonly events: { replica: ReplicaId; event: ReplicaEvent }[] = [];
  /** Messages sent and not yet delivered. */
  queue: Envelope[] = [];
  /** What each replica persisted. */
  readonly disks: WeakDisk[];
  private readonly diskOptions: DiskOptions;
  private readonly gates: (WriteAheadQueue | null)[];
  private recordId = 1;

  constructor(n: number, overrides: Partial<ProtocolConfig> = {}, seed = 1, disk: DiskOptions = {}) {
    this.config = defaultProtocolConfig(n, overrides);
    this.crypto = simulatedCrypto(n, seed);
    this.diskOptions = disk;
    this.replicas = Array.from({ length: n }, (_, id) => this.makeReplica(id));
    this.disks = Array.from({ length: n }, () => new WeakDisk());
    this.gates = Array.from({ length: n }, () => this.newGate());
  }

  private newGate(): WriteAheadQueue | null {
    return this.diskOptions.disk === 'host' && this.diskOptions.writeAhead ? new WriteAheadQueue(hostDurability) : null;
  }

  /** Records of `id` still being written (host disk): the test decides when they land. */
  pendingRecords(id: ReplicaId): number {
    return this.disks[id]!.pendingCount;
  }

  /** Every record `id` has started writing is durable now; with write-ahead, what waited for them goes out. */
  makeDurable(id: ReplicaId): void {
    for (const recordId of [...this.inFlight(id)]) {
      this.disks[id]!.durableNow(recordId);
      this.inFlightIds.get(id)?.delete(recordId);
      const gate = this.gates[id];
      if (gate) this.applyStep(id, gate.durable(recordId));
    }
  }

  private readonly inFlightIds = new Map<ReplicaId, Set<number>>();

  private inFlight(id: ReplicaId): Set<number> {
    let set = this.inFlightIds.get(id);
    if (!set) this.inFlightIds.set(id, (set = new Set()));
    return set;
  }

  private makeReplica(id: ReplicaId, persisted?: PersistedState): Replica {
    return new Replica({
      id,
      config: this.config,
      crypto: this.crypto.replica(id),
      app: new FileStore(this.crypto.hasher, this.diskOptions.access),
      persisted,
    });
  }

  replica(id: ReplicaId): Replica {
    const r = this.replicas[id];
    if (!r) throw new Error(`replica ${id} is down`);
    return r;
  }

  client(id: ClientId): Client {
    let c = this.clients.get(id);
    if (!c) {
      c = new Client(id, { n: this.config.n, retransmitTicks: 50 }, this.crypto.client(id));
      this.clients.set(id, c);
      this.results.set(id, []);
    }
    return c;
  }

  /** A client submits a file-store operation (its request is queued, not delivered). */
  submit(clientId: ClientId, op: FileOp): number {
    const c = this.client(clientId);
    const t = c.submit(encodeOp(op));
    this.drainClient(clientId);
    return t;
  }

  /** The process dies: its undelivered messages and the records it had not made durable are gone. */
  crash(id: ReplicaId): void {
    this.replicas[id] = null;
    this.queue = this.queue.filter((e) => e.to !== id && e.from !== id);
    this.disks[id]!.crash();
    this.inFlight(id).clear();
    this.gates[id] = this.newGate();
  }

  restart(id: ReplicaId, wipeDisk = false): Replica {
    if (wipeDisk) this.disks[id]!.wipe();
    const r = this.makeReplica(id, this.disks[id]!.state());
    this.replicas[id] = r;
    return r;
  }

  /** Deliver queued messages matching `filter` (default: all), repeatedly, until none match. Returns how many. */
  deliverAll(filter: (e: Envelope) => boolean = () => true, limit = 1_000_000): number {
    let delivered = 0;
    for (;;) {
      const index = this.queue.findIndex(filter);
      if (index < 0 || delivered >= limit) return delivered;
      const [envelope] = this.queue.splice(index, 1);
      this.deliver(envelope!);
      delivered++;
    }
  }

  /** Drop queued messages matching `filter`. Returns them. */
  drop(filter: (e: Envelope) => boolean): Envelope[] {
    const dropped = this.queue.filter(filter);
    this.queue = this.queue.filter((e) => !filter(e));
    return dropped;
  }

  /** Tick every live replica and client `count` times, delivering everything after each tick unless told not to. */
  tick(count = 1, deliver: ((e: Envelope) => boolean) | false = () => true): void {
    for (let i = 0; i < count; i++) {
      this.replicas.forEach((r, id) => {
        if (!r) return;
        r.tick();
        this.drainReplica(id);
      });
      for (const id of this.clients.keys()) {
        this.clients.get(id)!.tick();
        this.drainClient(id);
      }
      if (deliver) this.deliverAll(deliver);
    }
  }

  /** Tick (delivering what `deliver` allows) until `done` holds; throws after `max` ticks. */
  tickUntil(done: () => boolean, max = 1000, deliver: ((e: Envelope) => boolean) | false = () => true): number {
    for (let i = 0; i < max; i++) {
      if (done()) return i;
      this.tick(1, deliver);
    }
    if (done()) return max;
    throw new Error(`condition not reached within ${max} ticks`);
  }

  deliver(envelope: Envelope): void {
    const decoded = decodeMessage(encodeMessage(envelope.message));
    if (!decoded.ok) throw new Error(`codec rejected ${describeMessage(envelope.message)}: ${decoded.reason}`);
    const message = decoded.message;
    if (typeof envelope.to === 'number') {
      const r = this.replicas[envelope.to];
      if (!r) return;
      r.step(envelope.from, message);
      this.drainReplica(envelope.to);
      const broken = r.checkInvariants();
      if (broken) throw new Error(`invariant broken at replica ${envelope.to}: ${broken}`);
    } else if (message.type === 'reply' && typeof envelope.from === 'number') {
      this.client(envelope.to).onReply(envelope.from, message);
      this.drainClient(envelope.to);
    }
  }

  private drainReplica(id: ReplicaId): void {
    const r = this.replicas[id];
    if (!r) return;
    const outputs = r.takeOutputs();
    const gate = this.gates[id];
    if (gate) return this.applyStep(id, gate.push(outputs));
    for (const out of outputs) this.onOutput(id, out);
  }

  private applyStep(id: ReplicaId, step: WriteAheadStep): void {
    for (const w of step.write) this.writeRecord(id, w.record, w.id);
    for (const out of step.release) this.onOutput(id, out);
  }

  private writeRecord(id: ReplicaId, record: PersistRecord, recordId = this.recordId++): void {
    const durability = this.diskOptions.disk === 'host' ? hostDurability(record) : 'immediate';
    this.disks[id]!.write(recordId, record, durability);
    if (durability === 'deferred') this.inFlight(id).add(recordId);
  }

  private onOutput(id: ReplicaId, out: Output): void {
    switch (out.kind) {
      case 'send':
        this.queue.push({ from: id, to: out.to, message: out.message });
        return;
      case 'broadcast':
        for (let r = 0; r < this.config.n; r++)
          if (r !== id) this.queue.push({ from: id, to: r, message: out.message });
        return;
      case 'reply':
        this.queue.push({ from: id, to: out.client, message: out.reply });
        return;
      case 'persist':
        return this.writeRecord(id, out.record);
      case 'event':
        this.events.push({ replica: id, event: out.event });
        return;
    }
  }

  private drainClient(id: ClientId): void {
    const c = this.client(id);
    for (const out of c.takeOutputs()) this.onClientOutput(id, out);
  }

  private onClientOutput(id: ClientId, out: ClientOutput): void {
    if (out.kind === 'send') this.queue.push({ from: id, to: out.to, message: out.request });
    else if (out.kind === 'broadcast')
      for (let r = 0; r < this.config.n; r++) this.queue.push({ from: id, to: r, message: out.request });
    else {
      const decoded = decodeResult(out.result);
      if (!decoded.ok) throw new Error(`client ${id} accepted an undecodable result: ${decoded.reason}`);
      this.results.get(id)!.push({ timestamp: out.timestamp, result: decoded.result, matching: out.matching });
    }
  }

  /** Events of one type, optionally from one replica. */
  eventsOf<T extends ReplicaEvent['type']>(type: T, replica?: ReplicaId): Extract<ReplicaEvent, { type: T }>[] {
    return this.events
      .filter((e) => e.event.type === type && (replica === undefined || e.replica === replica))
      .map((e) => e.event as Extract<ReplicaEvent, { type: T }>);
  }

  /** Reasons for which `replica` ignored messages. */
  ignoredReasons(replica: ReplicaId): string[] {
    return this.eventsOf('ignored', replica).map((e) => `${describeMessage(e.message)}: ${e.reason}`);
  }

  lastResult(clientId: ClientId): ClientResult | undefined {
    return this.results.get(clientId)?.at(-1);
  }
}

export const isType =
  (...types: Message['type'][]) =>
  (e: Envelope): boolean =>
    types.includes(e.message.type);

export const fromReplica =
  (id: ReplicaId) =>
  (e: Envelope): boolean =>
    e.from === id;

export const toReplica =
  (id: ReplicaId) =>
  (e: Envelope): boolean =>
    e.to === id;

export const not =
  (f: (e: Envelope) => boolean) =>
  (e: Envelope): boolean =>
    !f(e);

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
