/**
 * A disk as weak as the host's (issue 18): a record is durable only when the host's write of it has
 * completed. The host appends log records synchronously (in the operating system at once: a process
 * crash cannot take them back) and writes the view and the stable checkpoint through an asynchronous
 * temp-file + fsync + rename queue (core/host/storage.ts), so those become durable a few milliseconds
 * later, in the order written. A crash loses every record not yet durable. (Whole-file writes are
 * atomic: a crash leaves the old file or the new one, never a torn mixture.)
 *
 * Which records a driver writes how is `hostDurability`; whether the driver holds the messages behind a
 * record until it is durable is the write-ahead rule (core/pbft/write-ahead.ts), which the simulator
 * applies or not (`Scenario.disk.writeAhead`) to model the host after or before the fix.
 */
import type { PersistRecord } from '../pbft/outputs.ts';
import { MemoryDisk, type PersistedState } from '../pbft/persistence.ts';
import type { Durability } from '../pbft/write-ahead.ts';

/** How the host writes each kind of record (core/host/storage.ts). */
export function hostDurability(record: PersistRecord): Durability {
  return record.type === 'view' || record.type === 'stable-checkpoint' ? 'deferred' : 'immediate';
}

export class WeakDisk {
  private durable = new MemoryDisk();
  /** Deferred records written and not yet durable, in write order. */
  private readonly pending: { readonly id: number; readonly record: PersistRecord }[] = [];

  /**
   * A record the host has written at once (durable now: a log append, another file than the view's
   * and the checkpoint's, cannot wait for them) or started writing (durable at `durableNow(id)`).
   */
  write(id: number, record: PersistRecord, durability: Durability): void {
    if (durability === 'immediate') this.durable.apply(record);
    else this.pending.push({ id, record });
  }

  /** The deferred record `id` has reached the disk: it and every deferred record written before it are durable. */
  durableNow(id: number): void {
    const at = this.pending.findIndex((p) => p.id === id);
    if (at < 0) return;
    for (const p of this.pending.splice(0, at + 1)) this.durable.apply(p.record);
  }

  /** Records written and not yet durable. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** The process crashed: what was not durable is gone. */
  crash(): void {
    this.pending.length = 0;
  }

  /** The disk was wiped (the replica restarts as a new one, counted as faulty). */
  wipe(): void {
    this.pending.length = 0;
    this.durable = new MemoryDisk();
  }

  state(): PersistedState {
    return this.durable.state();
  }
}
