/**
 * What a replica host shows of itself: the event stream of the LabApi (log lines, protocol events,
 * messages in and out) with a bounded history for a dashboard that connects late, and the log sink
 * for an instructor reading the terminal.
 */
import { describe as describeMessage } from '../pbft/codec.ts';
import type { Message } from '../pbft/messages.ts';
import type { BehaviourSwitch, FaultySoFar, LabEvent, MemberBehaviour } from './lab-api.ts';

/** Recent events kept for a dashboard that connects late. */
export const EVENT_HISTORY = 500;

/**
 * "… ignored: reason" lines repeat as fast as their cause does (a machine of another cluster says
 * HELLO every second, to every replica): each distinct one is shown once per this long, then with
 * a count of the copies held back.
 */
export const REPEAT_WINDOW_MS = 30_000;
const REPEATABLE = / ignored: /;
/** Distinct repeatable lines remembered at once (a flood of different ones stays bounded). */
const REPEATS_TRACKED_MAX = 1_024;

export class HostEvents {
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly listeners = new Set<(e: LabEvent) => void>();
  private readonly history: LabEvent[] = [];
  /** Repeatable lines shown within the window: when, and how many copies were held back since. */
  private readonly repeats = new Map<string, { shownAtMs: number; heldBack: number }>();

  /**
   * @param log one line per notable event (info level only)
   * @param now milliseconds on a monotonic clock. @default performance.now
   */
  constructor(log: (line: string) => void, now: () => number = () => performance.now()) {
    this.log = log;
    this.now = now;
    this.startedAt = now();
  }

  /** A line for the dashboard's log; also for the terminal unless it is debug detail. */
  note(line: string, level: 'info' | 'debug' = 'info'): void {
    const shown = REPEATABLE.test(line) ? this.limitRepeats(line) : line;
    if (shown === null) return;
    this.emit({ kind: 'log', atMs: this.elapsedMs(), line: shown });
    if (level === 'info') this.log(shown);
  }

  /** The line to show (with the count held back since it was last shown), or null to hold it back. */
  private limitRepeats(line: string): string | null {
    const now = this.now();
    const seen = this.repeats.get(line);
    if (seen && now - seen.shownAtMs < REPEAT_WINDOW_MS) {
      seen.heldBack++;
      return null;
    }
    if (!seen && this.repeats.size >= REPEATS_TRACKED_MAX) {
      for (const [key, entry] of this.repeats) if (now - entry.shownAtMs >= REPEAT_WINDOW_MS) this.repeats.delete(key);
      if (this.repeats.size >= REPEATS_TRACKED_MAX) this.repeats.clear();
    }
    const heldBack = seen?.heldBack ?? 0;
    this.repeats.set(line, { shownAtMs: now, heldBack: 0 });
    return heldBack > 0 ? `${line} (and ${heldBack} more like it since it was last shown)` : line;
  }

  emitReplica(type: string, text: string): void {
    this.emit({ kind: 'replica', atMs: this.elapsedMs(), type, text });
  }

  /** A member's behaviour history gained a switch; `text` is the event's line, for the terminal too. */
  emitBehaviour(member: MemberBehaviour, change: BehaviourSwitch, tally: FaultySoFar, text: string): void {
    this.emit({
      kind: 'behaviour',
      atMs: this.elapsedMs(),
      replicaId: member.replicaId,
      peerId: member.peerId,
      change,
      faultySoFar: tally.count,
      f: tally.f,
      text,
    });
    this.log(text);
  }

  /** A protocol message in or out (STATUS, the periodic retransmission trigger, is not shown). */
  emitMessage(direction: 'in' | 'out', peer: number | string, message: Message): void {
    if (this.listeners.size === 0 || message.type === 'status') return;
    const view = 'view' in message ? message.view : message.type === 'view-change' ? message.newView : null;
    const seq = 'seq' in message ? message.seq : null;
    this.emit({
      kind: 'message',
      atMs: this.elapsedMs(),
      direction,
      peer,
      type: message.type,
      view,
      seq,
      text: describeMessage(message),
    });
  }

  /** The history so far, then every new event, until the returned function is called. */
  subscribe(listener: (event: LabEvent) => void): () => void {
    for (const event of this.history) listener(event);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  elapsedMs(): number {
    return Math.round(this.now() - this.startedAt);
  }

  private emit(event: LabEvent): void {
    if (this.history.length >= EVENT_HISTORY) this.history.shift();
    this.history.push(event);
    for (const listener of this.listeners) listener(event);
  }
}

/** Peer ids are long; logs show their tail, which is what differs. */
export function short(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId;
}
