/**
 * Invariants of the protocol that the simulator checks after every step, on correct replicas only —
 * rules whose breach comes long before a visible agreement violation, so that a bug is caught where
 * it starts (ADVERSARY.md §7):
 *
 * - **The NEW-VIEW binds the view** (TOCS'02 §4.4–4.5): in view v a correct replica pre-prepares
 *   nothing at n ≤ min-s of the NEW-VIEW it installed, and at min-s < n ≤ max-s only O's digest —
 *   for the whole view, across restarts.
 * - **A view announced is never taken back**: a replica that sent VIEW-CHANGE for view v never runs
 *   in a view below v again, not even after a crash (its view record was durable before the message
 *   left, issue 18).
 * - **Bounded work per message** (issue 18): one received message makes a correct replica emit at
 *   most `messagesPerInputMax` replica messages, and a replica answers each peer's requests for data
 *   (STATUS-driven retransmission, FETCH-STATE, FETCH-BATCH) a bounded number of times per
 *   retransmission interval, so a peer cannot turn a few bytes into megabytes.
 */
import type { ProtocolConfig } from '../pbft/config.ts';
import type { Digest, Message, MessageType, ReplicaId } from '../pbft/messages.ts';
import type { Output, ReplicaEvent } from '../pbft/outputs.ts';

export interface WatchBounds {
  /** Replica messages (a broadcast counts once per receiver) one received message may cause. */
  readonly messagesPerInputMax: number;
  /** Answers (an input of these types that made the replica send to its sender) per peer per interval. */
  readonly answersPerIntervalMax: number;
  /** The interval, in virtual ms (the retransmission period). */
  readonly intervalMs: number;
}

/** The bounds docs/protocol.md states, for a configuration. */
export function watchBounds(config: ProtocolConfig): WatchBounds {
  const n = config.n;
  return {
    // Installing a NEW-VIEW prepares up to L sequence numbers at once (and fetches their batches);
    // executing a backlog takes up to L/K checkpoints; STATUS answers re-send at most 64 log entries.
    messagesPerInputMax: 2 * (config.logWindow + 8) * (n - 1) + 256,
    // One answer per half period at the replica (in ticks; messages arrive between ticks): at most 3 in
    // any period of virtual time.
    answersPerIntervalMax: 3,
    intervalMs: config.retransmitTicks * 10,
  };
}

const ANSWERED: ReadonlySet<MessageType> = new Set(['status', 'fetch-state', 'fetch-batch']);

export class ProtocolWatch {
  private readonly n: number;
  private readonly bounds: WatchBounds;
  /** Per identity: the NEW-VIEW it installed last (kept across restarts; a wiped replica is a new one). */
  private readonly installed = new Map<ReplicaId, { view: number; minSeq: number; order: Map<number, Digest> }>();
  /** Per identity: the highest view it sent a VIEW-CHANGE for. */
  private readonly announced = new Map<ReplicaId, number>();
  /** Per (replica, peer, type): times of recent answers. */
  private readonly answers = new Map<string, number[]>();
  /** The largest number of messages one input caused (for the summary). */
  messagesPerInputPeak = 0;

  constructor(n: number, bounds: WatchBounds) {
    this.n = n;
    this.bounds = bounds;
  }

  /** An event of a correct replica. Returns what it breaks, or null. */
  onEvent(replica: ReplicaId, event: ReplicaEvent): string | null {
    if (event.type === 'new-view') {
      this.installed.set(replica, {
        view: event.view,
        minSeq: event.minSeq,
        order: new Map(event.order.map((o) => [o.seq, o.digest])),
      });
      return null;
    }
    if (event.type !== 'pre-prepared') return null;
    const nv = this.installed.get(replica);
    if (!nv || nv.view !== event.view) return null;
    if (event.seq <= nv.minSeq)
      return `replica ${replica} pre-prepared d=${event.digest.slice(0, 8)} at n=${event.seq} ≤ min-s=${nv.minSeq} of view ${nv.view}`;
    const bound = nv.order.get(event.seq);
    if (bound !== undefined && bound !== event.digest)
      return `replica ${replica} pre-prepared d=${event.digest.slice(0, 8)} at n=${event.seq} in view ${nv.view}, where its NEW-VIEW's O has ${bound.slice(0, 8)}`;
    return null;
  }

  /**
   * The outputs one input caused at a correct replica (before the write-ahead gate: what it decided
   * to send), with the input's sender and type. Returns what it breaks, or null.
   */
  onInput(
    replica: ReplicaId,
    from: ReplicaId | null,
    input: Message,
    outputs: readonly Output[],
    now: number,
  ): string | null {
    const type = input.type;
    let messages = 0;
    let toSender = 0;
    for (const o of outputs) {
      if (o.kind === 'broadcast') messages += this.n - 1;
      else if (o.kind === 'send') {
        messages++;
        if (o.to === from) toSender++;
      }
    }
    if (messages > this.messagesPerInputPeak) this.messagesPerInputPeak = messages;
    if (messages > this.bounds.messagesPerInputMax)
      return `one ${type} made replica ${replica} emit ${messages} messages (bound ${this.bounds.messagesPerInputMax})`;
    if (from === null || toSender === 0 || !ANSWERED.has(type)) return null;
    // FETCH-BATCHes for different sequence numbers are different questions (a NEW-VIEW may order many).
    const key = `${replica}:${from}:${type}${input.type === 'fetch-batch' ? `:${input.seq}` : ''}`;
    const times = (this.answers.get(key) ?? []).filter((t) => t > now - this.bounds.intervalMs);
    times.push(now);
    this.answers.set(key, times);
    if (times.length > this.bounds.answersPerIntervalMax)
      return `replica ${replica} answered ${times.length} ${type} messages from ${from} within ${this.bounds.intervalMs} ms (bound ${this.bounds.answersPerIntervalMax})`;
    return null;
  }

  /** A message a correct replica really sent (past the write-ahead gate): a VIEW-CHANGE announces its view. */
  onSent(replica: ReplicaId, message: Message): void {
    if (message.type === 'view-change' && message.replica === replica) this.announce(replica, message.newView);
  }

  /**
   * A replica restarted from its disk, in `view`. Returns what it breaks, or null. Its answer budget
   * starts again: a restarted process has forgotten whom it answered (a restart is not the
   * adversary's to trigger, so this opens no amplification).
   */
  onRestart(replica: ReplicaId, view: number): string | null {
    for (const key of [...this.answers.keys()]) if (key.startsWith(`${replica}:`)) this.answers.delete(key);
    const announced = this.announced.get(replica) ?? -1;
    if (view < announced)
      return `replica ${replica} restarted in view ${view} after it had sent VIEW-CHANGE for view ${announced}`;
    return null;
  }

  /** A replica restarted with a wiped disk is a new replica: forget what the old one did. */
  forget(replica: ReplicaId): void {
    this.installed.delete(replica);
    this.announced.delete(replica);
  }

  private announce(replica: ReplicaId, view: number): void {
    if (view > (this.announced.get(replica) ?? -1)) this.announced.set(replica, view);
  }
}
