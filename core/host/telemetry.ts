/**
 * A replica's telemetry (DESIGN.md "Telemetry and the room"): its vector clock, the trace every replica
 * frame carries, and its events for the observers subscribed to it (telemetry-feed.ts).
 *
 * Off the hot path: with no subscriber, a message costs a clock tick and a copy of n numbers (the
 * frame's trace); events are built only while someone subscribes, and each subscriber's queue is
 * bounded (the oldest events go first, and the subscriber is told how many it lost). JSON encoding and
 * sending happen later, on the feed's timer.
 */
import { describe as describeMessage } from '../pbft/codec.ts';
import type { Message, Reply, ReplicaMessage, Request } from '../pbft/messages.ts';
import type { ReplicaEvent } from '../pbft/outputs.ts';
import {
  replicaMessageId,
  replyMessageId,
  requestKey,
  requestMessageId,
  type TelemetryBody,
  type TelemetryEvent,
  type TelemetryMessage,
  type TelemetryState,
} from './telemetry-events.ts';
import { VectorClock, type TraceHeader } from './telemetry-trace.ts';

/** Events one subscriber's queue holds before the oldest are dropped. */
export const TELEMETRY_QUEUE_EVENTS = 20_000;
/** Requests named per message or executed batch (a batch may hold hundreds). */
export const REQUESTS_NAMED_MAX = 64;

export interface TelemetryOptions {
  readonly replica: number;
  readonly n: number;
  /** Wall clock, for display only. @default Date.now */
  readonly wallMs?: () => number;
  /** @default a random 32-bit number */
  readonly incarnation?: number;
}

export class Telemetry {
  readonly replica: number;
  readonly incarnation: number;
  /** The incarnation as message ids and events show it (8 hex digits). */
  readonly incarnationText: string;
  private readonly clock: VectorClock;
  private readonly wallMs: () => number;
  private readonly queues = new Set<TelemetryQueue>();

  constructor(options: TelemetryOptions) {
    this.replica = options.replica;
    this.clock = new VectorClock(options.replica, options.n);
    this.wallMs = options.wallMs ?? Date.now;
    this.incarnation = (options.incarnation ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    this.incarnationText = incarnationText(this.incarnation);
  }

  get subscribed(): boolean {
    return this.queues.size > 0;
  }

  /** A replica message leaves for `to`: the trace its frame carries. STATUS carries the clock but is no event. */
  send(to: readonly number[], message: ReplicaMessage): TraceHeader {
    if (message.type === 'status')
      return { incarnation: this.incarnation, index: this.clock.own, vc: this.clock.snapshot() };
    const index = this.clock.tick();
    const vc = this.clock.snapshot();
    if (this.subscribed)
      this.publish(index, vc, {
        kind: 'send',
        msgId: replicaMessageId(this.replica, this.incarnationText, index),
        to,
        ...messageFacts(message),
      });
    return { incarnation: this.incarnation, index, vc };
  }

  /** A replica message arrived from replica `from`, with the sender's trace (absent: an untraced frame). */
  receive(from: number, trace: TraceHeader | undefined, message: Message): void {
    if (trace) this.clock.merge(trace.vc);
    if (message.type === 'status') return;
    const index = this.clock.tick();
    if (!this.subscribed) return;
    const msgId = trace
      ? replicaMessageId(from, incarnationText(trace.incarnation), trace.index)
      : `untraced:${from}:${this.replica}:${index}`;
    this.publish(index, this.clock.snapshot(), { kind: 'receive', msgId, from, ...messageFacts(message) });
  }

  /** A client's REQUEST admitted (from the client itself, or this machine's own client). */
  clientRequest(client: string, request: Request): void {
    const index = this.clock.tick();
    if (!this.subscribed) return;
    this.publish(index, this.clock.snapshot(), {
      kind: 'receive',
      msgId: requestMessageId(request.client, request.timestamp),
      from: client,
      ...messageFacts(request),
    });
  }

  /** A REPLY leaves for its client. */
  reply(reply: Reply): void {
    const index = this.clock.tick();
    if (!this.subscribed) return;
    this.publish(index, this.clock.snapshot(), {
      kind: 'send',
      msgId: replyMessageId(this.replica, reply.client, reply.timestamp),
      to: reply.client,
      ...messageFacts(reply),
    });
  }

  /** A protocol event of the replica (IGNORED messages are counted by the host, not published). */
  state(event: ReplicaEvent): void {
    if (event.type === 'ignored') return;
    const index = this.clock.tick();
    if (!this.subscribed) return;
    this.publish(index, this.clock.snapshot(), stateOf(event));
  }

  behaviour(behaviour: string | null): void {
    const index = this.clock.tick();
    if (!this.subscribed) return;
    this.publish(index, this.clock.snapshot(), {
      kind: 'behaviour',
      behaviour,
      text: behaviour === null ? 'honest again' : `Byzantine: ${behaviour}`,
    });
  }

  faults(paused: boolean, disconnectedFrom: readonly (number | string)[], delayMs: number): void {
    const index = this.clock.tick();
    if (!this.subscribed) return;
    const parts = [
      paused ? 'paused' : null,
      disconnectedFrom.length > 0 ? `cut off from ${disconnectedFrom.join(', ')}` : null,
      delayMs > 0 ? `+${delayMs} ms delay` : null,
    ].filter((p) => p !== null);
    this.publish(index, this.clock.snapshot(), {
      kind: 'fault',
      paused,
      disconnectedFrom,
      delayMs,
      text: parts.length > 0 ? `faults: ${parts.join(', ')}` : 'faults cleared',
    });
  }

  /** A bounded queue of the events from now on; `close` it when the subscriber goes. */
  subscribe(maxEvents = TELEMETRY_QUEUE_EVENTS): TelemetryQueue {
    const queue = new TelemetryQueue(maxEvents, () => this.queues.delete(queue));
    this.queues.add(queue);
    return queue;
  }

  private publish(index: number, vc: readonly number[], body: TelemetryBody): void {
    const event: TelemetryEvent = {
      replica: this.replica,
      incarnation: this.incarnationText,
      index,
      vc,
      wallMs: this.wallMs(),
      body,
    };
    for (const queue of this.queues) queue.push(event);
  }
}

/**
 * One subscriber's events, oldest first, at most `max`: when full, a new event pushes the oldest out
 * and counts it as lost; `take` hands out the events and the count lost since the last take.
 */
export class TelemetryQueue {
  private readonly max: number;
  private readonly onClose: () => void;
  private ring: (TelemetryEvent | undefined)[];
  private head = 0;
  private size = 0;
  private lost = 0;

  constructor(max: number, onClose: () => void = () => {}) {
    this.max = Math.max(1, max);
    this.ring = new Array<TelemetryEvent | undefined>(Math.min(this.max, 1024));
    this.onClose = onClose;
  }

  get length(): number {
    return this.size;
  }

  push(event: TelemetryEvent): void {
    if (this.size === this.max) {
      this.head = (this.head + 1) % this.ring.length;
      this.size--;
      this.lost++;
    } else if (this.size === this.ring.length) this.grow();
    this.ring[(this.head + this.size) % this.ring.length] = event;
    this.size++;
  }

  /** Up to `count` of the oldest events, and how many were lost (dropped unseen) before them. */
  take(count = Infinity): { events: TelemetryEvent[]; lost: number } {
    const n = Math.min(count, this.size);
    const events: TelemetryEvent[] = [];
    for (let i = 0; i < n; i++) {
      const at = (this.head + i) % this.ring.length;
      events.push(this.ring[at]!);
      this.ring[at] = undefined;
    }
    this.head = (this.head + n) % this.ring.length;
    this.size -= n;
    const lost = this.lost;
    this.lost = 0;
    return { events, lost };
  }

  close(): void {
    this.onClose();
  }

  private grow(): void {
    const bigger = new Array<TelemetryEvent | undefined>(Math.min(this.max, this.ring.length * 2));
    for (let i = 0; i < this.size; i++) bigger[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = bigger;
    this.head = 0;
  }
}

export function incarnationText(incarnation: number): string {
  return (incarnation >>> 0).toString(16).padStart(8, '0');
}

function namedRequests(requests: readonly { client: string; timestamp: number }[]): string[] {
  return requests.slice(0, REQUESTS_NAMED_MAX).map((r) => requestKey(r.client, r.timestamp));
}

/** The facts of a message that the room shows and filters on. */
export function messageFacts(message: Message): TelemetryMessage {
  const text = describeMessage(message);
  switch (message.type) {
    case 'request':
      return {
        type: message.type,
        view: null,
        seq: null,
        digest: null,
        requests: [requestKey(message.client, message.timestamp)],
        text,
      };
    case 'reply':
      return {
        type: message.type,
        view: message.view,
        seq: null,
        digest: null,
        requests: [requestKey(message.client, message.timestamp)],
        text,
      };
    case 'pre-prepare':
      return {
        type: message.type,
        view: message.view,
        seq: message.seq,
        digest: message.digest,
        requests: namedRequests(message.requests),
        text,
      };
    case 'prepare':
    case 'commit':
      return { type: message.type, view: message.view, seq: message.seq, digest: message.digest, text };
    case 'checkpoint':
    case 'state-chunk':
      return { type: message.type, view: null, seq: message.seq, digest: message.stateDigest, text };
    case 'view-change':
      return { type: message.type, view: message.newView, seq: message.stableSeq, digest: null, text };
    case 'new-view':
      return { type: message.type, view: message.view, seq: null, digest: null, text };
    case 'fetch-batch':
    case 'batch':
      return { type: message.type, view: null, seq: message.seq, digest: message.digest, text };
    case 'fetch-state':
      return { type: message.type, view: null, seq: message.seq, digest: null, text };
    case 'status':
      return { type: message.type, view: message.view, seq: null, digest: null, text };
  }
}

function stateOf(event: Exclude<ReplicaEvent, { type: 'ignored' }>): TelemetryState {
  const base = { kind: 'state' as const, type: event.type };
  switch (event.type) {
    case 'pre-prepared':
      return {
        ...base,
        view: event.view,
        seq: event.seq,
        digest: event.digest,
        text: `pre-prepared n=${event.seq} (${event.batchSize} requests)`,
      };
    case 'prepared':
    case 'committed-local':
    case 'executed-tentatively':
      return { ...base, view: event.view, seq: event.seq, digest: event.digest, text: `${event.type} n=${event.seq}` };
    case 'executed':
      return {
        ...base,
        view: event.view,
        seq: event.seq,
        digest: event.digest,
        requests: namedRequests(event.requests),
        text: `executed n=${event.seq} (${event.requests.length} requests)`,
      };
    case 'tentative-rolled-back':
      return {
        ...base,
        view: null,
        seq: event.seq,
        digest: null,
        reason: event.reason,
        text: `tentative n=${event.seq} rolled back`,
      };
    case 'checkpoint':
      return { ...base, view: null, seq: event.seq, digest: event.stateDigest, text: `checkpoint n=${event.seq}` };
    case 'checkpoint-stable':
      return {
        ...base,
        view: null,
        seq: event.seq,
        digest: event.stateDigest,
        low: event.lowWatermark,
        high: event.highWatermark,
        text: `stable checkpoint n=${event.seq}; h=${event.lowWatermark} H=${event.highWatermark}`,
      };
    case 'view-change-started':
      return {
        ...base,
        view: event.newView,
        seq: null,
        digest: null,
        reason: event.reason,
        text: `VIEW-CHANGE to view ${event.newView}: ${event.reason}`,
      };
    case 'new-view':
      return {
        ...base,
        view: event.view,
        seq: null,
        digest: null,
        primary: event.primary,
        minSeq: event.minSeq,
        maxSeq: event.maxSeq,
        order: event.order.map((o) => ({ seq: o.seq, digest: o.digest })),
        text: `view ${event.view} installed, primary ${event.primary}, O re-proposes ${event.order.length} (n ${event.minSeq + 1}…${event.maxSeq})`,
      };
    case 'state-transfer-started':
      return {
        ...base,
        view: null,
        seq: event.seq,
        digest: event.stateDigest,
        from: event.from,
        text: `state transfer to n=${event.seq} from ${event.from}`,
      };
    case 'state-transfer-completed':
      return {
        ...base,
        view: null,
        seq: event.seq,
        digest: event.stateDigest,
        text: `state transfer to n=${event.seq} complete`,
      };
    case 'state-transfer-rejected':
      return {
        ...base,
        view: null,
        seq: event.seq,
        digest: null,
        from: event.from,
        reason: event.reason,
        text: `state from ${event.from} rejected: ${event.reason}`,
      };
  }
}
