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
  requestKey,
  type TelemetryBody,
  type TelemetryEvent,
  type TelemetryState,
} from './telemetry-events.ts';
import { DIGEST_CHARS, expandWireEvents, typeIndex, type WireFields } from './telemetry-wire.ts';
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
    if (this.subscribed) this.publish(index, vc, { kind: 'send', to, message });
    return { incarnation: this.incarnation, index, vc };
  }

  /** A replica message arrived from replica `from`, with the sender's trace (absent: an untraced frame). */
  receive(from: number, trace: TraceHeader | undefined, message: Message): void {
    if (trace) this.clock.merge(trace.vc);
    if (message.type === 'status') return;
    const index = this.clock.tick();
    if (!this.subscribed) return;
    // The id is spelled out later, off the protocol's path (PendingEvent).
    const msgId = trace ?? `untraced:${from}:${this.replica}:${index}`;
    this.publish(index, this.clock.snapshot(), { kind: 'receive', msgId, from, message });
  }

  /** A client's REQUEST admitted (from the client itself, or this machine's own client). */
  clientRequest(client: string, request: Request): void {
    const index = this.clock.tick();
    if (!this.subscribed) return;
    // Its id, `req:client:timestamp`, is the observer's to spell (telemetry-wire.ts).
    this.publish(index, this.clock.snapshot(), { kind: 'receive', msgId: null, from: client, message: request });
  }

  /**
   * REPLYs leave for one client node in one frame (CLIENT-REPLIES: a batch's replies to its logical
   * clients), or one to this machine's own client: one event, one message, naming every request.
   */
  replies(node: string, replies: readonly Reply[]): void {
    if (replies.length === 0) return;
    const index = this.clock.tick();
    if (!this.subscribed) return;
    this.publish(index, this.clock.snapshot(), { kind: 'replies', node, replies });
  }

  /** A protocol event of the replica (IGNORED messages are counted by the host, not published). */
  state(event: ReplicaEvent): void {
    if (event.type === 'ignored') return;
    const index = this.clock.tick();
    if (!this.subscribed) return;
    this.publish(index, this.clock.snapshot(), { kind: 'state', event });
  }

  behaviour(behaviour: string | null): void {
    const index = this.clock.tick();
    if (!this.subscribed) return;
    this.publish(index, this.clock.snapshot(), {
      kind: 'body',
      body: { kind: 'behaviour', behaviour, text: behaviour === null ? 'honest again' : `Byzantine: ${behaviour}` },
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
      kind: 'body',
      body: {
        kind: 'fault',
        paused,
        disconnectedFrom,
        delayMs,
        text: parts.length > 0 ? `faults: ${parts.join(', ')}` : 'faults cleared',
      },
    });
  }

  /** A bounded queue of the events from now on; `close` it when the subscriber goes. */
  subscribe(maxEvents = TELEMETRY_QUEUE_EVENTS): TelemetryQueue {
    const queue = new TelemetryQueue(maxEvents, () => this.queues.delete(queue));
    this.queues.add(queue);
    return queue;
  }

  /** One object per event, shared by every queue; what it says is worked out later, once (PendingEvent). */
  private publish(index: number, vc: readonly number[], raw: RawBody): void {
    const event = new PendingEvent(this, index, vc, this.wallMs(), raw);
    for (const queue of this.queues) queue.push(event);
  }
}

/** What the hot path keeps of an event: references only (messages are immutable once decoded or built). */
type RawBody =
  | {
      readonly kind: 'send';
      readonly to: readonly number[] | string;
      readonly message: Message;
    }
  | {
      readonly kind: 'receive';
      /** The sender's trace (the id is spelled from it), an untraced frame's own id, or null: a client's REQUEST. */
      readonly msgId: TraceHeader | string | null;
      readonly from: number | string;
      readonly message: Message;
    }
  | { readonly kind: 'replies'; readonly node: string; readonly replies: readonly Reply[] }
  | { readonly kind: 'state'; readonly event: Exclude<ReplicaEvent, { type: 'ignored' }> }
  | { readonly kind: 'body'; readonly body: TelemetryBody };

/**
 * An event as recorded on the hot path; the JSON facts (descriptions, request names) are built when a
 * subscriber's batch is written, off the protocol's path, and only once however many subscribe.
 */
export class PendingEvent {
  private readonly source: Telemetry;
  readonly index: number;
  readonly vc: readonly number[];
  readonly wallMs: number;
  private readonly raw: RawBody;
  private json: string | null = null;

  constructor(source: Telemetry, index: number, vc: readonly number[], wallMs: number, raw: RawBody) {
    this.source = source;
    this.index = index;
    this.vc = vc;
    this.wallMs = wallMs;
    this.raw = raw;
  }

  /** The event as the room sees it (through the wire form, as an observer would). */
  toEvent(): TelemetryEvent {
    const { replica, incarnationText } = this.source;
    return expandWireEvents(replica, incarnationText, [JSON.parse(this.toJson())])[0]!;
  }

  /** The event's wire form as JSON (telemetry-wire.ts), built once. */
  toJson(): string {
    this.json ??= this.fastJson() ?? JSON.stringify(this.wire());
    return this.json;
  }

  /** The receive's message id, `${sender}.${incarnation}.${index}` from the sender's trace (0: a REQUEST's). */
  private receiveId(): string | 0 {
    const raw = this.raw;
    if (raw.kind !== 'receive' || raw.msgId === null) return 0;
    if (typeof raw.msgId === 'string') return raw.msgId;
    return replicaMessageId(raw.from as number, incarnationText(raw.msgId.incarnation), raw.msgId.index);
  }

  /**
   * The messages a busy replica logs most, written without JSON.stringify: numbers, hex digests and
   * ids made of those need no escaping (a client id is quoted by JSON.stringify alone).
   */
  private fastJson(): string | null {
    const raw = this.raw;
    if (raw.kind !== 'send' && raw.kind !== 'receive') return null;
    const m = raw.message;
    const head = `${this.index},[${numbers(this.vc)}],${this.wallMs}`;
    const sent = raw.kind === 'send';
    const peer = sent
      ? typeof raw.to === 'string'
        ? JSON.stringify(raw.to)
        : `[${numbers(raw.to)}]`
      : typeof raw.from === 'string'
        ? JSON.stringify(raw.from)
        : raw.from;
    const id = sent ? '0' : `"${this.receiveId()}"`;
    switch (m.type) {
      case 'prepare':
      case 'commit':
        return `[${head},${sent ? 0 : 1},${peer},${id},${typeIndex(m.type)},${m.view},${m.seq},"${m.digest.slice(0, DIGEST_CHARS)}",0,0]`;
      case 'pre-prepare':
        if (sent) return null;
        return `[${head},1,${peer},${id},${typeIndex(m.type)},${m.view},${m.seq},"${m.digest.slice(0, DIGEST_CHARS)}",0,0]`;
      case 'request':
        if (sent || raw.msgId !== null) return null;
        return `[${head},1,${peer},0,${typeIndex(m.type)},null,null,null,[${JSON.stringify(requestKey(m.client, m.timestamp))}],0]`;
      default:
        return null;
    }
  }

  private wire(): unknown[] {
    const raw = this.raw;
    const head = [this.index, this.vc, this.wallMs];
    switch (raw.kind) {
      case 'send':
        return [...head, 0, raw.to, 0, ...messageFields(raw.message, true)];
      case 'receive':
        return [...head, 1, raw.from, this.receiveId(), ...messageFields(raw.message, false)];
      case 'replies': {
        // Client ids of one node share its peer id: only what follows it travels (`/j:timestamp`).
        const node = raw.node;
        const rest = raw.replies.map((r) =>
          r.client.startsWith(node)
            ? `${r.client.slice(node.length)}:${r.timestamp}`
            : `=${requestKey(r.client, r.timestamp)}`,
        );
        return [...head, 4, node, raw.replies[0]!.view, rest];
      }
      case 'state':
        return [...head, 2, stateOf(raw.event)];
      case 'body':
        return [...head, 3, raw.body];
    }
  }
}

/**
 * One subscriber's events, oldest first, at most `max`: when full, a new event pushes the oldest out
 * and counts it as lost; `take` hands out the events and the count lost since the last take.
 */
export class TelemetryQueue {
  private readonly max: number;
  private readonly onClose: () => void;
  private ring: (PendingEvent | undefined)[];
  private head = 0;
  private size = 0;
  private lost = 0;

  constructor(max: number, onClose: () => void = () => {}) {
    this.max = Math.max(1, max);
    this.ring = new Array<PendingEvent | undefined>(Math.min(this.max, 1024));
    this.onClose = onClose;
  }

  get length(): number {
    return this.size;
  }

  push(event: PendingEvent): void {
    if (this.size === this.max) {
      this.head = (this.head + 1) % this.ring.length;
      this.size--;
      this.lost++;
    } else if (this.size === this.ring.length) this.grow();
    this.ring[(this.head + this.size) % this.ring.length] = event;
    this.size++;
  }

  /** Up to `count` of the oldest events, and how many were lost (dropped unseen) before them. */
  take(count = Infinity): { events: PendingEvent[]; lost: number } {
    const n = Math.min(count, this.size);
    const events: PendingEvent[] = [];
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
    const bigger = new Array<PendingEvent | undefined>(Math.min(this.max, this.ring.length * 2));
    for (let i = 0; i < this.size; i++) bigger[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = bigger;
    this.head = 0;
  }
}

const incarnationNames = new Map<number, string>();

/** An incarnation as ids show it (8 hex digits); the few a replica meets are remembered. */
export function incarnationText(incarnation: number): string {
  let name = incarnationNames.get(incarnation);
  if (name === undefined) {
    name = (incarnation >>> 0).toString(16).padStart(8, '0');
    if (incarnationNames.size > 256) incarnationNames.clear();
    incarnationNames.set(incarnation, name);
  }
  return name;
}

/** Numbers joined by commas (a clock, a list of replica ids), without Array.join's generic path. */
function numbers(values: readonly number[]): string {
  let out = values.length > 0 ? String(values[0]) : '';
  for (let i = 1; i < values.length; i++) out += `,${values[i]}`;
  return out;
}

function namedRequests(requests: readonly { client: string; timestamp: number }[]): string[] {
  return requests.slice(0, REQUESTS_NAMED_MAX).map((r) => requestKey(r.client, r.timestamp));
}

/**
 * A message's fields on the wire (telemetry-wire.ts). A PRE-PREPARE names its batch's requests on the
 * primary's send only (its receives pair with it by id): batches are large, receives many. Only the
 * rarer messages carry their description; the observer rebuilds the others' from the fields.
 */
export function messageFields(message: Message, sent: boolean): WireFields {
  const t = typeIndex(message.type);
  const digest = (d: string): string => d.slice(0, DIGEST_CHARS);
  switch (message.type) {
    case 'request':
      return [t, null, null, null, [requestKey(message.client, message.timestamp)], 0];
    case 'reply':
      return [t, message.view, null, null, [requestKey(message.client, message.timestamp)], 0];
    case 'pre-prepare':
      return [t, message.view, message.seq, digest(message.digest), sent ? namedRequests(message.requests) : 0, 0];
    case 'prepare':
    case 'commit':
      return [t, message.view, message.seq, digest(message.digest), 0, 0];
    case 'checkpoint':
      return [t, null, message.seq, digest(message.stateDigest), 0, 0];
    case 'state-chunk':
      return [t, null, message.seq, digest(message.stateDigest), 0, describeMessage(message)];
    case 'view-change':
      return [t, message.newView, message.stableSeq, null, 0, describeMessage(message)];
    case 'new-view':
      return [t, message.view, null, null, 0, describeMessage(message)];
    case 'fetch-batch':
    case 'batch':
      return [t, null, message.seq, digest(message.digest), 0, describeMessage(message)];
    case 'fetch-state':
      return [t, null, message.seq, null, 0, describeMessage(message)];
    case 'status':
      return [t, message.view, null, null, 0, describeMessage(message)];
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
