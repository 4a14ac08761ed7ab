/**
 * A replica's telemetry (DESIGN.md "Telemetry and the room"): its vector clock, the trace every replica
 * frame carries, and its events for the observers subscribed to it (telemetry-feed.ts).
 *
 * Off the hot path: with no subscriber, a message costs a clock tick and a copy of n numbers (the
 * frame's trace). While someone subscribes, each event is written at once as a few dozen bytes into
 * the subscriber's buffer (telemetry-binary.ts; once, then copied, however many subscribe): no object
 * is kept for later, so nothing is left for the garbage collector. Each buffer is bounded (the oldest
 * events go first, and the subscriber is told how many it lost); the feed sends it on its timer.
 */
import { describe as describeMessage } from '../pbft/codec.ts';
import type { Message, Reply, ReplicaMessage, Request } from '../pbft/messages.ts';
import type { ReplicaEvent } from '../pbft/outputs.ts';
import { ByteLog, decodeEventsFrame, eventsFrame, messageTypeIndex, stateTypeIndex } from './telemetry-binary.ts';
import type { TelemetryBehaviour, TelemetryEvent, TelemetryFault, TelemetryState } from './telemetry-events.ts';
import { VectorClock, type TraceHeader } from './telemetry-trace.ts';

/** Events one subscriber's buffer holds before the oldest are dropped. */
export const TELEMETRY_QUEUE_EVENTS = 20_000;
/** Requests named per PRE-PREPARE (a batch may hold hundreds). */
export const REQUESTS_NAMED_MAX = 64;

export interface TelemetryOptions {
  readonly replica: number;
  readonly n: number;
  /** Wall clock, for display only. @default Date.now */
  readonly wallMs?: () => number;
  /** @default a random 32-bit number */
  readonly incarnation?: number;
}

const KIND = { send: 0, receive: 1, untraced: 2, request: 3, replies: 4, state: 5, other: 6 } as const;

export class Telemetry {
  readonly replica: number;
  readonly n: number;
  readonly incarnation: number;
  /** The incarnation as message ids and events show it (8 hex digits). */
  readonly incarnationText: string;
  private readonly clock: VectorClock;
  private readonly wallMs: () => number;
  private readonly queues: TelemetryQueue[] = [];

  constructor(options: TelemetryOptions) {
    this.replica = options.replica;
    this.n = options.n;
    this.clock = new VectorClock(options.replica, options.n);
    this.wallMs = options.wallMs ?? Date.now;
    this.incarnation = (options.incarnation ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
    this.incarnationText = incarnationText(this.incarnation);
  }

  get subscribed(): boolean {
    return this.queues.length > 0;
  }

  /** A replica message leaves for `to`: the trace its frame carries. STATUS carries the clock but is no event. */
  send(to: readonly number[], message: ReplicaMessage): TraceHeader {
    if (message.type === 'status')
      return { incarnation: this.incarnation, index: this.clock.own, vc: this.clock.snapshot() };
    const index = this.clock.tick();
    const vc = this.clock.snapshot();
    const log = this.begin(KIND.send, index, vc);
    if (log) {
      log.byte(messageTypeIndex(message.type));
      log.varint(to.length);
      for (const r of to) log.varint(r);
      writeFields(log, message, true);
      this.copy(log);
    }
    return { incarnation: this.incarnation, index, vc };
  }

  /** A replica message arrived from replica `from`, with the sender's trace (absent: an untraced frame). */
  receive(from: number, trace: TraceHeader | undefined, message: Message): void {
    if (trace) this.clock.merge(trace.vc);
    if (message.type === 'status') return;
    const index = this.clock.tick();
    const log = this.begin(trace ? KIND.receive : KIND.untraced, index, null);
    if (!log) return;
    log.byte(messageTypeIndex(message.type));
    log.varint(from);
    if (trace) {
      log.u32(trace.incarnation);
      log.varint(trace.index);
    }
    writeFields(log, message, false);
    this.copy(log);
  }

  /** A client's REQUEST admitted (from the client itself, or this machine's own client). */
  clientRequest(client: string, request: Request): void {
    const index = this.clock.tick();
    const log = this.begin(KIND.request, index, null);
    if (!log) return;
    log.str(client);
    log.str(request.client);
    log.varint(request.timestamp);
    this.copy(log);
  }

  /**
   * REPLYs leave for one client node in one frame (CLIENT-REPLIES: a batch's replies to its logical
   * clients), or one to this machine's own client: one event, one message, naming every request.
   */
  replies(node: string, replies: readonly Reply[]): void {
    if (replies.length === 0) return;
    const index = this.clock.tick();
    const log = this.begin(KIND.replies, index, null);
    if (!log) return;
    log.str(node);
    log.varint(replies[0]!.view);
    log.varint(replies.length);
    for (const reply of replies) {
      // Client ids of one node share its peer id: only what follows it travels (`/j`).
      if (reply.client.startsWith(node)) {
        log.byte(0);
        log.str(reply.client.slice(node.length));
      } else {
        log.byte(1);
        log.str(reply.client);
      }
      log.varint(reply.timestamp);
    }
    this.copy(log);
  }

  /** A protocol event of the replica (IGNORED messages are counted by the host, not published). */
  state(event: ReplicaEvent): void {
    if (event.type === 'ignored') return;
    const index = this.clock.tick();
    const log = this.begin(KIND.state, index, null);
    if (!log) return;
    switch (event.type) {
      // The frequent ones straight from the event: type, view, sequence number, digest, no extra.
      case 'pre-prepared':
      case 'prepared':
      case 'committed-local':
      case 'executed':
      case 'executed-tentatively':
        log.byte(stateTypeIndex(event.type));
        log.nullable(event.view);
        log.nullable(event.seq);
        log.digest(event.digest);
        log.str('');
        return this.copy(log);
      default:
        break;
    }
    const state = stateOf(event);
    log.byte(stateTypeIndex(state.type));
    log.nullable(state.view);
    log.nullable(state.seq);
    log.digest(state.digest);
    log.str(extraOf(state));
    this.copy(log);
  }

  behaviour(behaviour: string | null): void {
    this.other({ kind: 'behaviour', behaviour, text: behaviour === null ? 'honest again' : `Byzantine: ${behaviour}` });
  }

  faults(paused: boolean, disconnectedFrom: readonly (number | string)[], delayMs: number): void {
    const parts = [
      paused ? 'paused' : null,
      disconnectedFrom.length > 0 ? `cut off from ${disconnectedFrom.join(', ')}` : null,
      delayMs > 0 ? `+${delayMs} ms delay` : null,
    ].filter((p) => p !== null);
    this.other({
      kind: 'fault',
      paused,
      disconnectedFrom,
      delayMs,
      text: parts.length > 0 ? `faults: ${parts.join(', ')}` : 'faults cleared',
    });
  }

  /** A bounded buffer of the events from now on; `close` it when the subscriber goes. */
  subscribe(maxEvents = TELEMETRY_QUEUE_EVENTS): TelemetryQueue {
    const queue = new TelemetryQueue(this, maxEvents, () => {
      const at = this.queues.indexOf(queue);
      if (at >= 0) this.queues.splice(at, 1);
    });
    this.queues.push(queue);
    return queue;
  }

  private other(body: TelemetryBehaviour | TelemetryFault): void {
    const index = this.clock.tick();
    const log = this.begin(KIND.other, index, null);
    if (!log) return;
    log.str(JSON.stringify(body));
    this.copy(log);
  }

  /** Start an event in the first subscriber's buffer (null: nobody subscribes). */
  private begin(kind: number, index: number, vc: readonly number[] | null): ByteLog | null {
    const first = this.queues[0];
    if (!first) return null;
    const log = first.reserve();
    log.byte(kind);
    log.varint(index);
    const clock = vc ?? this.clock.entriesView;
    for (let i = 0; i < clock.length; i++) log.varint(clock[i]!);
    log.varint(Math.max(0, Math.floor(this.wallMs())));
    return log;
  }

  /** The event just written, into every other subscriber's buffer. */
  private copy(log: ByteLog): void {
    for (let i = 1; i < this.queues.length; i++) log.copyLastTo(this.queues[i]!.reserve(false));
  }
}

/**
 * One subscriber's events, oldest first, at most `max`: when full, a new event pushes the oldest out
 * and counts it as lost; `take` hands out the oldest as one frame's bytes and the count lost before them.
 */
export class TelemetryQueue {
  private readonly source: Telemetry;
  private readonly max: number;
  private readonly onClose: () => void;
  private readonly log = new ByteLog();
  private lost = 0;

  constructor(source: Telemetry, max: number, onClose: () => void = () => {}) {
    this.source = source;
    this.max = Math.max(1, max);
    this.onClose = onClose;
  }

  get length(): number {
    return this.log.count;
  }

  /** Events dropped since the last take. */
  get lostSinceTake(): number {
    return this.lost;
  }

  /** Room for one more event (the oldest goes, and counts as lost, when full); `begin` it unless copying. */
  reserve(begin = true): ByteLog {
    if (this.log.count >= this.max) {
      this.log.dropOldest();
      this.lost++;
    }
    if (begin) this.log.begin();
    return this.log;
  }

  /** Up to `count` of the oldest events as one frame (telemetry-binary.ts), with how many were lost before them. */
  takeFrame(count = Infinity): { frame: Uint8Array; events: number; lost: number } | null {
    if (this.log.count === 0 && this.lost === 0) return null;
    const { bytes, count: taken } = this.log.take(count);
    const lost = this.lost;
    this.lost = 0;
    const { replica, n, incarnation } = this.source;
    return { frame: eventsFrame(replica, n, incarnation, lost, taken, bytes), events: taken, lost };
  }

  /** The oldest events as the room sees them (tests, and the simulated room). */
  take(count = Infinity): { events: TelemetryEvent[]; lost: number } {
    const taken = this.takeFrame(count);
    if (!taken) return { events: [], lost: 0 };
    const decoded = decodeEventsFrame(taken.frame);
    return { events: decoded?.events ?? [], lost: taken.lost };
  }

  close(): void {
    this.onClose();
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

/**
 * A message's fields. A PRE-PREPARE names its batch's requests on the primary's send only (its
 * receives pair with it by id): batches are large, receives many. Only the rarer messages carry their
 * description; the observer rebuilds the others' from the fields.
 */
function writeFields(log: ByteLog, message: Message, sent: boolean): void {
  let view: number | null = null;
  let seq: number | null = null;
  let digest: string | null = null;
  let text = '';
  switch (message.type) {
    case 'request':
      log.nullable(null);
      log.nullable(null);
      log.digest(null);
      log.varint(1);
      log.str(`${message.client}:${message.timestamp}`);
      log.str('');
      return;
    case 'pre-prepare': {
      log.nullable(message.view);
      log.nullable(message.seq);
      log.digest(message.digest);
      const k = sent ? Math.min(message.requests.length, REQUESTS_NAMED_MAX) : 0;
      log.varint(k);
      for (let i = 0; i < k; i++) log.str(`${message.requests[i]!.client}:${message.requests[i]!.timestamp}`);
      log.str('');
      return;
    }
    case 'prepare':
    case 'commit':
      view = message.view;
      seq = message.seq;
      digest = message.digest;
      break;
    case 'reply':
      view = message.view;
      break;
    case 'checkpoint':
      seq = message.seq;
      digest = message.stateDigest;
      break;
    case 'state-chunk':
      seq = message.seq;
      digest = message.stateDigest;
      text = describeMessage(message);
      break;
    case 'view-change':
      view = message.newView;
      seq = message.stableSeq;
      text = describeMessage(message);
      break;
    case 'new-view':
      view = message.view;
      text = describeMessage(message);
      break;
    case 'fetch-batch':
    case 'batch':
      seq = message.seq;
      digest = message.digest;
      text = describeMessage(message);
      break;
    case 'fetch-state':
      seq = message.seq;
      text = describeMessage(message);
      break;
    case 'status':
      view = message.view;
      text = describeMessage(message);
      break;
  }
  log.nullable(view);
  log.nullable(seq);
  log.digest(digest);
  log.varint(0);
  log.str(text);
}

/** What a state event says beyond its type, view, sequence number and digest (JSON; '' for the frequent ones). */
function extraOf(state: TelemetryState): string {
  switch (state.type) {
    case 'pre-prepared':
    case 'prepared':
    case 'committed-local':
    case 'executed':
    case 'executed-tentatively':
    case 'checkpoint':
      return '';
    default: {
      const { kind: _kind, type: _type, view: _view, seq: _seq, digest: _digest, ...extra } = state;
      return JSON.stringify(extra);
    }
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
