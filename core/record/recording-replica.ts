/**
 * A replica that records its inputs: the honest replica behind its Byzantine switch (FaultyReplica),
 * with every call the host makes written down as it happens (format.ts). The host, the simulator and
 * the exercises build it instead of a plain FaultyReplica; nothing else about them changes.
 *
 * A message is recorded in the wire codec and handed to the replica as the codec reads it back, so the
 * replica sees exactly the object a replay will see (a request from the host's own client, which never
 * crossed the network, included).
 */
import type { StateMachine } from '../app/state-machine.ts';
import type { Behaviour } from '../byzantine/behaviour.ts';
import { FaultyReplica } from '../byzantine/faulty-replica.ts';
import { decodeMessage, encodeMessage } from '../pbft/codec.ts';
import type { ProtocolConfig } from '../pbft/config.ts';
import type { Hasher, ReplicaCrypto } from '../pbft/crypto.ts';
import type { ClientId, Message, ReplicaId } from '../pbft/messages.ts';
import type { Output } from '../pbft/outputs.ts';
import type { PersistedState } from '../pbft/persistence.ts';
import { Replica } from '../pbft/replica.ts';
import { RECORD_SCHEMA, type EndEntry, type RecordEntry, type StateSummary } from './format.ts';
import { OracleTap } from './oracles.ts';
import { canonicalDigest, toJson } from './values.ts';

export interface RecordingOptions {
  /** Where each entry goes (a file, memory). */
  readonly sink: (entry: RecordEntry) => void;
  /** The run's clock, ms (format.ts `w`). */
  readonly clock: () => number;
  /** A global order of calls across replicas, when the driver has one. */
  readonly order?: () => number;
  /** Identity of this replica on a network, for the record's header. */
  readonly peerId?: string;
  readonly roster?: readonly string[];
  readonly cluster?: string;
}

export interface RecordedReplicaParts {
  readonly id: ReplicaId;
  readonly config: ProtocolConfig;
  readonly crypto: ReplicaCrypto;
  /** The application, built on the crypto given (its digests are not oracles). */
  readonly app: (hasher: Hasher) => StateMachine;
  readonly persisted?: PersistedState;
  /** The Byzantine behaviours' random source. */
  readonly random: () => number;
  readonly newApp?: () => StateMachine;
}

/** Builds the replica with its crypto and randomness tapped, and records from its start. */
export function recordedReplica(parts: RecordedReplicaParts, options: RecordingOptions): RecordingReplica {
  const tap = new OracleTap();
  const crypto = tap.crypto(parts.crypto);
  const replica = new Replica({
    id: parts.id,
    config: parts.config,
    crypto,
    app: parts.app(crypto),
    persisted: parts.persisted,
  });
  return new RecordingReplica(replica, crypto, tap.random(parts.random), parts.newApp, tap, options, parts);
}

export const summaryOf = (replica: Replica): StateSummary => [
  replica.view,
  replica.status === 'normal' ? 1 : 0,
  replica.lastExecuted,
  replica.lowWatermark,
];

/**
 * The state digest is recorded when the stable checkpoint moves (a checkpoint, a state transfer) and
 * every tenth sequence number executed: computing it hashes the reply table, too much for every batch.
 */
export const stateDigestDue = (now: StateSummary, before: StateSummary): boolean =>
  now[3] !== before[3] || (now[2] !== before[2] && (now[2] % 10 === 0 || now[2] - before[2] > 1));

const sameSummary = (a: StateSummary, b: StateSummary): boolean =>
  a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];

export class RecordingReplica extends FaultyReplica {
  private readonly tap: OracleTap;
  private readonly options: RecordingOptions;
  private summary: StateSummary;
  /** A tick whose take has not come yet, and when it was. */
  private tickOpen = false;
  private tickW = 0;
  private tickG: number | undefined;
  /** Quiet ticks not yet written (a tick, then an empty take), and when the first of them was. */
  private quietTicks = 0;
  private quietSince = 0;
  private ended = false;

  constructor(
    replica: Replica,
    crypto: ReplicaCrypto,
    random: () => number,
    newApp: (() => StateMachine) | undefined,
    tap: OracleTap,
    options: RecordingOptions,
    parts: Pick<RecordedReplicaParts, 'config' | 'persisted'>,
  ) {
    super(replica, crypto, random, newApp);
    this.tap = tap;
    this.options = options;
    this.summary = summaryOf(replica);
    this.write({
      k: 'start',
      schema: RECORD_SCHEMA,
      replica: replica.id,
      config: parts.config,
      persisted: parts.persisted ? toJson(parts.persisted) : null,
      newApp: newApp !== undefined,
      st: this.summary,
      sd: replica.currentStateDigest().slice(0, 16),
      ...(options.peerId ? { peerId: options.peerId } : {}),
      ...(options.roster ? { roster: options.roster } : {}),
      ...(options.cluster ? { cluster: options.cluster } : {}),
      ...this.oracles(),
      ...this.stamp(),
    });
  }

  override step(from: ReplicaId | ClientId, message: Message): void {
    this.flushTicks();
    const bytes = encodeMessage(message);
    // Messages from the network were read by the codec already; a request of the host's own client
    // was not (it never crossed the network): the replica gets it as a replay will.
    const decoded = message.type === 'request' ? decodeMessage(bytes) : null;
    this.tap.take();
    super.step(from, decoded?.ok ? decoded.message : message);
    this.write({
      k: 'step',
      from,
      m: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
      ...this.oracles(),
      ...this.stamp(),
    });
  }

  override tick(): void {
    this.flushOpenTick();
    const w = this.options.clock();
    const g = this.options.order?.();
    this.tap.take();
    super.tick();
    const o = this.tap.take();
    if (o) {
      this.flushQuiet();
      this.write({ k: 'tick', o, w, ...(g === undefined ? {} : { g }) });
      return;
    }
    this.tickOpen = true;
    this.tickW = w;
    this.tickG = g;
  }

  override takeOutputs(): Output[] {
    this.tap.take();
    const outputs = super.takeOutputs();
    const o = this.tap.take();
    const replica = this.replica;
    const summary = summaryOf(replica);
    const changed = !sameSummary(summary, this.summary);
    if (this.tickOpen && outputs.length === 0 && !o && !changed) {
      this.tickOpen = false;
      // With a global order (the simulator) every tick keeps its place in it: a coalition's members
      // share state, and a replay must interleave their ticks as they ran. Otherwise quiet ticks fold.
      if (this.tickG !== undefined) this.write({ k: 'tick', x: 1, w: this.tickW, g: this.tickG });
      else if (this.quietTicks++ === 0) this.quietSince = this.tickW;
      return outputs;
    }
    this.flushQuiet();
    this.flushOpenTick();
    const moved = stateDigestDue(summary, this.summary);
    this.summary = summary;
    this.write({
      k: 'take',
      out: canonicalDigest(outputs),
      n: outputs.length,
      ...(changed ? { st: summary } : {}),
      ...(moved ? { sd: replica.currentStateDigest().slice(0, 16) } : {}),
      ...(o ? { o } : {}),
      ...this.stamp(),
    });
    return outputs;
  }

  override use(behaviour: Behaviour | null): void {
    this.flushTicks();
    this.tap.take();
    super.use(behaviour);
    this.write({ k: 'use', b: behaviour?.id ?? null, ...this.oracles(), ...this.stamp() });
  }

  /** Something the host did around the replica, kept for reading (not replayed). */
  note(note: { fault?: unknown; client?: unknown; text?: string }): void {
    if (this.ended) return;
    this.flushTicks();
    this.write({
      k: 'note',
      ...(note.fault === undefined ? {} : { fault: toJson(note.fault) }),
      ...(note.client === undefined ? {} : { client: toJson(note.client) as never }),
      ...(note.text === undefined ? {} : { text: note.text }),
      ...this.stamp(),
    });
  }

  /** The last line: the session stopped. Later calls are not recorded. */
  end(why: EndEntry['why'] = 'stopped', detail?: string): void {
    if (this.ended) return;
    this.flushTicks();
    this.write({ k: 'end', why, ...(detail ? { detail } : {}), ...this.stamp() });
    this.ended = true;
  }

  /** Stop recording without an end line (the sink is full, or gone). */
  detach(): void {
    this.ended = true;
  }

  private flushTicks(): void {
    this.flushQuiet();
    this.flushOpenTick();
  }

  /** A tick whose take never came before the next call (the host drains after every tick; kept exact all the same). */
  private flushOpenTick(): void {
    if (!this.tickOpen) return;
    this.tickOpen = false;
    this.flushQuiet();
    this.write({ k: 'tick', w: this.tickW, ...(this.tickG === undefined ? {} : { g: this.tickG }) });
  }

  private flushQuiet(): void {
    if (this.quietTicks === 0) return;
    const x = this.quietTicks;
    this.quietTicks = 0;
    this.write({ k: 'tick', x, w: this.quietSince });
  }

  private oracles(): { o?: ReturnType<OracleTap['take']> } {
    const o = this.tap.take();
    return o ? { o } : {};
  }

  private stamp(): { w: number; g?: number } {
    const g = this.options.order?.();
    return g === undefined ? { w: this.options.clock() } : { w: this.options.clock(), g };
  }

  private write(entry: RecordEntry): void {
    if (!this.ended) this.options.sink(entry);
  }
}
