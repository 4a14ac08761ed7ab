/**
 * Write-ahead for a replica's outputs: nothing a replica sends may depend on state that a crash can
 * take back. The replica emits a persist record *before* the messages that depend on it (a VIEW-CHANGE
 * after its view record, the votes of a new log window after the stable checkpoint that moved it);
 * a driver that writes some records asynchronously must hold every later message until those records
 * are durable, or a replica killed in between restarts having forgotten what the others already hold
 * (issue 18: two backups restarted in view 0 after their VIEW-CHANGE(1) had left, and agreement broke).
 *
 * This is the one rule, as a pure queue, for every driver: the host writes records to its data
 * directory (core/host/storage.ts), the simulator to its weak disk (core/sim/weak-disk.ts). Records
 * go to the writer at once, in order; a record the writer will make durable only later holds back every
 * message, reply or record after it until `durable()` says so. Events (observability) are not held.
 */
import type { Output, PersistRecord } from './outputs.ts';

/** How a driver writes a record: durable when the write call returns, or later (an asynchronous write and fsync). */
export type Durability = 'immediate' | 'deferred';

/** A record for the driver to write now; `id` names it to `durable()` when it is deferred. */
export interface RecordToWrite {
  readonly id: number;
  readonly record: PersistRecord;
  readonly durability: Durability;
}

export interface WriteAheadStep {
  /** Records to write now, in order. */
  readonly write: readonly RecordToWrite[];
  /** Outputs free to leave now (sends, replies, events), in order. */
  readonly release: readonly Output[];
}

export class WriteAheadQueue {
  private readonly durabilityOf: (record: PersistRecord) => Durability;
  /** Deferred records written and not yet durable, by id. */
  private readonly inFlight = new Set<number>();
  /** Outputs behind the first record still in flight, in order (persist records included, not yet written). */
  private readonly held: Output[] = [];
  private nextId = 1;

  constructor(durabilityOf: (record: PersistRecord) => Durability) {
    this.durabilityOf = durabilityOf;
  }

  /** Outputs held back, waiting for a record to become durable. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Whether some deferred record is not durable yet. */
  get waiting(): boolean {
    return this.inFlight.size > 0;
  }

  /** A replica's outputs, in the order it produced them. */
  push(outputs: readonly Output[]): WriteAheadStep {
    const write: RecordToWrite[] = [];
    const release: Output[] = [];
    for (const out of outputs) this.take(out, write, release);
    return { write, release };
  }

  /** A deferred record is durable: what it held may go (and records behind it may be written). */
  durable(id: number): WriteAheadStep {
    this.inFlight.delete(id);
    const write: RecordToWrite[] = [];
    const release: Output[] = [];
    if (this.inFlight.size > 0) return { write, release };
    const held = this.held.splice(0);
    for (let i = 0; i < held.length; i++) {
      this.take(held[i]!, write, release);
      // A deferred record among the held ones holds the rest again.
      if (this.inFlight.size > 0) {
        this.held.push(...held.slice(i + 1));
        break;
      }
    }
    return { write, release };
  }

  /** A crash: whatever was held is lost with the process. */
  clear(): void {
    this.inFlight.clear();
    this.held.length = 0;
  }

  private take(out: Output, write: RecordToWrite[], release: Output[]): void {
    if (out.kind === 'event') {
      release.push(out);
      return;
    }
    if (this.inFlight.size > 0) {
      this.held.push(out);
      return;
    }
    if (out.kind !== 'persist') {
      release.push(out);
      return;
    }
    const durability = this.durabilityOf(out.record);
    const id = this.nextId++;
    write.push({ id, record: out.record, durability });
    if (durability === 'deferred') this.inFlight.add(id);
  }
}
