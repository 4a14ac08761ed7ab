/**
 * Serving telemetry to observers: each observer's stream (core/net/telemetry-protocol.ts) gets a hello
 * and a snapshot every second (JSON frames) and the replica's events every FLUSH_MS (binary frames,
 * telemetry-binary.ts), from its own bounded buffer (telemetry.ts). A stream that cannot keep up is not written to until it drains; meanwhile its
 * queue drops the oldest events, and the next batch says how many.
 */
import { TELEMETRY_SUBSCRIBERS_MAX, type TelemetryFeed } from '../net/telemetry-protocol.ts';
import type { LabSnapshot } from './lab-api.ts';
import type { Telemetry, TelemetryQueue } from './telemetry.ts';
import type { TelemetryFrame, TelemetryHello } from './telemetry-events.ts';

export const TELEMETRY_FLUSH_MS = 100;
export const TELEMETRY_SNAPSHOT_MS = 1_000;
/** Events per frame (a frame stays far below the observer's frame limit). */
export const TELEMETRY_EVENTS_PER_FRAME = 2_000;

export interface TelemetryPublisherOptions {
  /** The replica's telemetry, once it runs (null while forming, and on observers). */
  readonly telemetry: () => Telemetry | null;
  readonly hello: () => TelemetryHello;
  readonly snapshot: () => Promise<LabSnapshot>;
  readonly note: (line: string) => void;
  /** Events one observer's queue holds before the oldest go. @default TELEMETRY_QUEUE_EVENTS */
  readonly maxQueued?: number;
}

interface Subscriber {
  readonly feed: TelemetryFeed;
  queue: TelemetryQueue | null;
  /** Waiting for the stream to drain. */
  blocked: boolean;
  sinceSnapshotMs: number;
}

const utf8 = new TextEncoder();

export class TelemetryPublisher {
  private readonly options: TelemetryPublisherOptions;
  private readonly subscribers = new Set<Subscriber>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: TelemetryPublisherOptions) {
    this.options = options;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  attach(feed: TelemetryFeed): void {
    if (this.subscribers.size >= TELEMETRY_SUBSCRIBERS_MAX) {
      this.options.note(`telemetry: refused an observer (already ${TELEMETRY_SUBSCRIBERS_MAX})`);
      return feed.close();
    }
    const subscriber: Subscriber = {
      feed,
      queue: this.options.telemetry()?.subscribe(this.options.maxQueued) ?? null,
      blocked: false,
      sinceSnapshotMs: 0,
    };
    this.subscribers.add(subscriber);
    feed.onClose(() => this.detach(subscriber));
    this.write(subscriber, { t: 'hello', hello: this.options.hello() });
    void this.sendSnapshot(subscriber);
    this.timer ??= setInterval(() => this.flush(), TELEMETRY_FLUSH_MS);
  }

  stop(): void {
    for (const subscriber of [...this.subscribers]) {
      this.detach(subscriber);
      subscriber.feed.close();
    }
  }

  private detach(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    subscriber.queue?.close();
    if (this.subscribers.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private flush(): void {
    const telemetry = this.options.telemetry();
    for (const subscriber of this.subscribers) {
      // The replica starts after the roster is agreed: its events flow from then on.
      if (telemetry && !subscriber.queue) subscriber.queue = telemetry.subscribe(this.options.maxQueued);
      subscriber.sinceSnapshotMs += TELEMETRY_FLUSH_MS;
      if (subscriber.blocked) continue;
      if (subscriber.sinceSnapshotMs >= TELEMETRY_SNAPSHOT_MS) void this.sendSnapshot(subscriber);
      const queue = subscriber.queue;
      while (queue && (queue.length > 0 || queue.lostSinceTake > 0) && !subscriber.blocked) {
        const taken = queue.takeFrame(TELEMETRY_EVENTS_PER_FRAME);
        if (!taken) break;
        this.writeBytes(subscriber, taken.frame);
      }
    }
  }

  private async sendSnapshot(subscriber: Subscriber): Promise<void> {
    subscriber.sinceSnapshotMs = 0;
    try {
      const snapshot = await this.options.snapshot();
      // The subscriber holds the cluster key already; the join code need not travel again.
      const self = {
        ...snapshot.self,
        clusterKey: snapshot.self.clusterKey ? { ...snapshot.self.clusterKey, joinCode: '' } : null,
      };
      if (this.subscribers.has(subscriber) && !subscriber.blocked)
        this.write(subscriber, { t: 'snapshot', snapshot: { ...snapshot, self } });
    } catch (error) {
      this.options.note(`telemetry: no snapshot for an observer: ${(error as Error).message}`);
    }
  }

  private write(subscriber: Subscriber, frame: TelemetryFrame): void {
    this.writeBytes(subscriber, utf8.encode(JSON.stringify(frame)));
  }

  private writeBytes(subscriber: Subscriber, bytes: Uint8Array): void {
    if (subscriber.feed.closed) return this.detach(subscriber);
    if (subscriber.feed.send(bytes)) return;
    subscriber.blocked = true;
    subscriber.feed.onDrain(() => {
      subscriber.blocked = false;
    });
  }
}
