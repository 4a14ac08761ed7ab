/**
 * The protocol driver: the sans-IO replica, behind its Byzantine switch, driven by the host. Inputs go
 * in (`input`, `tick`); after each, its outputs are drained: messages become frames to the roster,
 * replies become frames to client nodes (one frame per node per drain), records go to the data
 * directory, events to the lab.
 *
 * Durable before visible (issue 18): nothing a replica sends may depend on state that a crash can
 * take back. Every drained output list goes through the write-ahead queue (core/pbft/write-ahead.ts):
 * log records are appended at once (`immediate`); the view and the stable checkpoint are files
 * replaced by an asynchronous write, fsync and rename (`deferred`), and everything the replica
 * produced after one of them — its VIEW-CHANGE, the votes of a new log window, replies — waits
 * until the data directory says it is on disk. A write that fails stops the replica's output for
 * good: what it would send next may depend on the lost record.
 */
import type { FaultyReplica } from '../byzantine/faulty-replica.ts';
import type { ClientId, Message, Reply, ReplicaId, ReplicaMessage } from '../pbft/messages.ts';
import type { Output, PersistRecord, ReplicaEvent } from '../pbft/outputs.ts';
import type { Replica } from '../pbft/replica.ts';
import { WriteAheadQueue, type Durability, type RecordToWrite, type WriteAheadStep } from '../pbft/write-ahead.ts';
import { peerOfClient } from './client-id.ts';
import type { DataDir } from './storage.ts';
import type { TraceHeader } from './telemetry-trace.ts';
import { encodeFrame, encodeGroupedFrames } from './wire.ts';

export interface ProtocolDriverOptions {
  /** The replica behind its Byzantine switch: every input and output goes through it. */
  readonly replica: FaultyReplica;
  /** The agreed roster: peer ids by replica id. */
  readonly roster: readonly string[];
  /** This machine's peer id (its own client's id). */
  readonly self: string;
  /** Where persist records go: `appendLog` for log records, `persist` for the others (durabilityOf). */
  readonly data: Pick<DataDir, 'persist' | 'appendLog'>;
  /** A frame to a peer (through the faults). */
  readonly sendBytes: (peer: string, bytes: Uint8Array) => void;
  /** A reply for this machine's own client: delivered without the network. */
  readonly replyToOwnClient: (reply: Reply) => void;
  readonly onEvent: (event: ReplicaEvent) => void;
  /** A message leaves, to one replica or to all the others. */
  readonly onMessageOut: (to: ReplicaId | 'all', message: ReplicaMessage) => void;
  /** A line for the lab's log and the terminal. */
  readonly note: (line: string) => void;
  /** The causal trace a replica frame to these replicas carries (telemetry.ts); none: untraced frames. */
  readonly trace?: (to: readonly ReplicaId[], message: ReplicaMessage) => TraceHeader;
  /** Replies leave for a client node in one frame (or one reply for this machine's own client): telemetry. */
  readonly onReplies?: (node: string, replies: readonly Reply[]) => void;
}

/**
 * How the data directory writes each record: log records are appended synchronously, so they are in
 * the operating system when `appendLog` returns; the view and stable-checkpoint files are replaced
 * asynchronously and are durable when `persist` resolves.
 */
export function durabilityOf(record: PersistRecord): Durability {
  return record.type === 'pre-prepared' || record.type === 'prepared' ? 'immediate' : 'deferred';
}

export class ProtocolDriver {
  private readonly options: ProtocolDriverOptions;
  private readonly faulty: FaultyReplica;
  private readonly writeAhead = new WriteAheadQueue(durabilityOf);
  /** Replies to other nodes' clients from the outputs being released, by client node (flushReplies). */
  private readonly pendingReplies = new Map<string, Reply[]>();
  /** Set when a record could not be written: the replica is stopped (no input, no output) from then on. */
  private failure: string | null = null;
  private stopped = false;

  /** Replica ids a broadcast goes to: every member but this one. */
  private readonly others: readonly ReplicaId[];

  constructor(options: ProtocolDriverOptions) {
    this.options = options;
    this.faulty = options.replica;
    this.others = options.roster.flatMap((member, id) => (member === options.self ? [] : [id]));
  }

  /** The honest replica inside (for the snapshot). */
  get replica(): Replica {
    return this.faulty.replica;
  }

  get behaviourId(): string | null {
    return this.faulty.behaviourId;
  }

  setBehaviour(id: string | null): void {
    this.faulty.setBehaviour(id);
  }

  /** An authenticated input; call `drain` after (once for several inputs). */
  input(from: ReplicaId | ClientId, message: Message): void {
    if (this.running) this.faulty.step(from, message);
  }

  tick(): void {
    if (!this.running) return;
    this.faulty.tick();
    this.drain();
  }

  drain(): void {
    if (this.running) this.apply(this.writeAhead.push(this.faulty.takeOutputs()));
  }

  /** The host stops: writes that land later release nothing. */
  stop(): void {
    this.stopped = true;
    this.writeAhead.clear();
  }

  private get running(): boolean {
    return !this.stopped && this.failure === null;
  }

  /** Write what the queue hands out, then send what it releases, in order. */
  private apply(step: WriteAheadStep): void {
    for (const record of step.write) {
      this.write(record);
      if (!this.running) return;
    }
    for (const out of step.release) this.onOutput(out);
    this.flushReplies();
  }

  /** One record, as durabilityOf says: a log record at once, the view or a checkpoint asynchronously. */
  private write({ id, record }: RecordToWrite): void {
    const data = this.options.data;
    if (record.type === 'pre-prepared' || record.type === 'prepared') {
      try {
        data.appendLog(record);
      } catch (error) {
        this.fail(record, error);
      }
      return;
    }
    data.persist(record).then(
      () => {
        if (this.running) this.apply(this.writeAhead.durable(id));
      },
      (error: unknown) => this.fail(record, error),
    );
  }

  /**
   * A record could not be written: what the replica sends next may depend on it, so it sends nothing
   * more (a replica that cannot keep its word counts as one of the f faulty). What was held is dropped.
   */
  private fail(record: PersistRecord, error: unknown): void {
    if (!this.running) return;
    const reason = error instanceof Error ? error.message : String(error);
    this.failure = `could not persist ${record.type}: ${reason}`;
    this.writeAhead.clear();
    this.pendingReplies.clear();
    this.options.note(
      `REPLICA STOPPED: ${this.failure}. It sends nothing more, since what it would send may depend on that record; ` +
        'fix the data directory and restart it',
    );
  }

  /** The replies of one drain (a batch executed), grouped by client node: one frame per node, not per request. */
  private flushReplies(): void {
    for (const [peer, replies] of this.pendingReplies) {
      this.options.onReplies?.(peer, replies);
      for (const frame of encodeGroupedFrames('replies', replies)) this.options.sendBytes(peer, frame);
    }
    this.pendingReplies.clear();
  }

  private onOutput(out: Output): void {
    const { roster, self } = this.options;
    switch (out.kind) {
      case 'send': {
        this.options.onMessageOut(out.to, out.message);
        const trace = this.options.trace?.([out.to], out.message);
        return this.options.sendBytes(roster[out.to]!, encodeFrame({ kind: 'replica', message: out.message, trace }));
      }
      case 'broadcast': {
        const trace = this.options.trace?.(this.others, out.message);
        const frame = encodeFrame({ kind: 'replica', message: out.message, trace });
        this.options.onMessageOut('all', out.message);
        for (const member of roster) if (member !== self) this.options.sendBytes(member, frame);
        return;
      }
      case 'reply':
        if (out.client === self) {
          this.options.onReplies?.(self, [out.reply]);
          this.options.replyToOwnClient(out.reply);
        } else {
          const peer = peerOfClient(out.client);
          const replies = this.pendingReplies.get(peer);
          if (replies) replies.push(out.reply);
          else this.pendingReplies.set(peer, [out.reply]);
        }
        return;
      case 'persist':
        // The write-ahead queue hands records out through `write`, never as a release.
        throw new Error(`a ${out.record.type} record was released instead of written`);
      case 'event':
        return this.options.onEvent(out.event);
    }
  }
}
