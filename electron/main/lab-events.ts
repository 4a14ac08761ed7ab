/**
 * Forwards the host's LabEvents to one renderer, without ever letting them pile up in main.
 *
 * Events are sent in batches, at most one `webContents.send` per flush interval: a replica under a
 * flood behaviour emits thousands of message events a second, and one IPC message each would cost
 * more than the dashboard can show. A batch holds at most `maxEventsPerBatch` events; beyond that,
 * events are counted instead of kept, so main holds at most one batch. While the window is hidden
 * or minimised nothing is kept at all. Either way, the dashboard is told with a `log` event how
 * many events it did not get (a gap in the messages diagram is then explained, not mysterious).
 */
import type { LabApi, LabEvent } from '../../core/host/lab-api.ts';

/** @default for LabEventForwarderOptions.flushIntervalMs: 20 batches a second, below what the eye notices. */
export const EVENT_FLUSH_INTERVAL_MS = 50;
/** @default for LabEventForwarderOptions.maxEventsPerBatch: covers the host's 500-event history replay. */
export const MAX_EVENTS_PER_BATCH = 2_000;

export interface LabEventForwarderOptions {
  readonly subscribe: LabApi['subscribe'];
  /** Sends one batch to the renderer (`webContents.send('lab:events', events)`); fire-and-forget. */
  readonly send: (events: readonly LabEvent[]) => void;
  /** A failed send, for the main process log. @default ignore */
  readonly log?: (line: string) => void;
  /** @default EVENT_FLUSH_INTERVAL_MS */
  readonly flushIntervalMs?: number;
  /** @default MAX_EVENTS_PER_BATCH */
  readonly maxEventsPerBatch?: number;
}

export class LabEventForwarder {
  private readonly options: LabEventForwarderOptions;
  private readonly flushIntervalMs: number;
  private readonly maxEventsPerBatch: number;
  private unsubscribe: (() => void) | null = null;
  private batch: LabEvent[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private hidden = false;
  /** Events not kept since the last notice, by reason, and the host time of the last one. */
  private skippedHidden = 0;
  private skippedOverflow = 0;
  private lastSkippedAtMs = 0;

  constructor(options: LabEventForwarderOptions) {
    this.options = options;
    this.flushIntervalMs = options.flushIntervalMs ?? EVENT_FLUSH_INTERVAL_MS;
    this.maxEventsPerBatch = options.maxEventsPerBatch ?? MAX_EVENTS_PER_BATCH;
  }

  get listening(): boolean {
    return this.unsubscribe !== null;
  }

  /**
   * (Re)subscribes to the host. A renderer asks once per page load, so asking again means a new
   * page: the old subscription goes, and the host replays its recent history to the new one.
   */
  listen(): void {
    this.unlisten();
    const unsubscribe = this.options.subscribe((event) => this.onEvent(event));
    this.unsubscribe = unsubscribe;
  }

  /** Unsubscribes and forgets anything not yet sent. */
  unlisten(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.batch = [];
    this.skippedHidden = 0;
    this.skippedOverflow = 0;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
  }

  /** The window was hidden or minimised (true), or is on screen again (false). */
  setHidden(hidden: boolean): void {
    if (hidden === this.hidden) return;
    this.hidden = hidden;
    if (!hidden && this.skippedHidden > 0) this.scheduleFlush();
  }

  /** Called by the host for every event, inside its own emit loop: must be cheap and never throw. */
  private onEvent(event: LabEvent): void {
    if (this.hidden) {
      this.skippedHidden++;
      this.lastSkippedAtMs = event.atMs;
      return;
    }
    if (this.batch.length >= this.maxEventsPerBatch) {
      this.skippedOverflow++;
      this.lastSkippedAtMs = event.atMs;
      return;
    }
    this.batch.push(event);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer !== null) return;
    this.flushTimer = setTimeout(() => this.flush(), this.flushIntervalMs);
  }

  private flush(): void {
    this.flushTimer = null;
    const events = this.batch;
    this.batch = [];
    const notice = this.takeNotice();
    if (notice !== null) events.push(notice);
    if (events.length === 0) return;
    try {
      this.options.send(events);
    } catch (error) {
      // A renderer that is gone cannot take events; the window's own teardown unsubscribes.
      this.options.log?.(`cannot send events to the dashboard: ${error instanceof Error ? error.message : error}`);
    }
  }

  /** A `log` event saying how many events the dashboard did not get, and why; null if none. */
  private takeNotice(): LabEvent | null {
    const reasons: string[] = [];
    if (this.skippedHidden > 0) reasons.push(`${this.skippedHidden} while the window was hidden`);
    if (this.skippedOverflow > 0) {
      reasons.push(`${this.skippedOverflow} beyond ${this.maxEventsPerBatch} in ${this.flushIntervalMs} ms`);
    }
    if (reasons.length === 0) return null;
    const total = this.skippedHidden + this.skippedOverflow;
    this.skippedHidden = 0;
    this.skippedOverflow = 0;
    return {
      kind: 'log',
      atMs: this.lastSkippedAtMs,
      line: `dashboard: ${total} events not shown (${reasons.join('; ')})`,
    };
  }
}
