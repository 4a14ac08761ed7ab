/**
 * What a replica persists so that a restart does not make it forget (§4.3, §4.4), and an in-memory
 * disk that applies the records (the simulator's and the scenario tests'; the network host writes the
 * same records to its data directory, core/host/storage.ts).
 *
 * - the view it is in or moving to;
 * - its last stable checkpoint, with the proof and the snapshot;
 * - **the log above it**: every batch it pre-prepared (with the batch, unless a NEW-VIEW ordered it by
 *   digest and it has not arrived) and every prepared claim. The VIEW-CHANGE carries claims, not
 *   certificates (docs/authentication.md): a batch that committed is carried into the next view only
 *   because f+1 correct replicas say they prepared it, so a replica restarted with its disk must still
 *   say so. A replica restarted *without* its disk has forgotten, and counts as one of the f faulty.
 */
import type { Checkpoint, Digest, LogClaim, NewView, NewViewOrder, PrePrepare, Request } from './messages.ts';
import type { PersistRecord } from './outputs.ts';

/** One pre-prepared batch of the log: its batch, or null while a NEW-VIEW-ordered batch is being fetched. */
export interface PrePreparedRecord {
  readonly view: number;
  readonly seq: number;
  readonly digest: Digest;
  readonly requests: readonly Request[] | null;
}

/** The log above the stable checkpoint, as persisted. */
export interface PersistedLog {
  readonly prePrepared: readonly PrePreparedRecord[];
  readonly prepared: readonly LogClaim[];
}

/** State the replica can be restarted from: what it persisted. */
export interface PersistedState {
  readonly view: number;
  /** False when the replica had started changing to `view` and not yet installed it. @default true */
  readonly viewNormal?: boolean;
  /** What the NEW-VIEW that installed `view` bound (min-s and O); absent for view 0 and old data directories. */
  readonly newView?: { readonly minSeq: number; readonly order: readonly NewViewOrder[]; readonly message?: NewView };
  readonly stable: {
    readonly seq: number;
    readonly stateDigest: Digest;
    readonly proof: readonly Checkpoint[];
    readonly snapshot: Uint8Array;
  } | null;
  /** Absent: nothing above the stable checkpoint was persisted (a fresh replica, or an old data directory). */
  readonly log?: PersistedLog;
}

/** The record of a pre-prepare accepted here. */
export function prePreparedRecord(pp: PrePrepare, batchMissing: boolean): PersistRecord {
  return {
    type: 'pre-prepared',
    view: pp.view,
    seq: pp.seq,
    digest: pp.digest,
    requests: batchMissing ? null : pp.requests,
  };
}

/**
 * A disk in memory: applies persist records in order, as storage would, and hands back the state to
 * restart from. Per sequence number it keeps the latest view of each pre-prepared digest (with its
 * batch once known) and the latest prepared claim; a stable checkpoint collects everything at or below it.
 */
export class MemoryDisk {
  private view = 0;
  private viewNormal = true;
  private newView: PersistedState['newView'];
  private stable: PersistedState['stable'] = null;
  private readonly prePrepared = new Map<number, Map<Digest, PrePreparedRecord>>();
  private readonly prepared = new Map<number, LogClaim>();

  apply(record: PersistRecord): void {
    switch (record.type) {
      case 'view':
        this.view = record.view;
        this.viewNormal = record.normal;
        this.newView = record.newView;
        return;
      case 'stable-checkpoint': {
        const { seq, stateDigest, proof, snapshot } = record;
        this.stable = { seq, stateDigest, proof, snapshot };
        for (const s of this.prePrepared.keys()) if (s <= seq) this.prePrepared.delete(s);
        for (const s of this.prepared.keys()) if (s <= seq) this.prepared.delete(s);
        return;
      }
      case 'pre-prepared': {
        if (record.seq <= (this.stable?.seq ?? 0)) return;
        let at = this.prePrepared.get(record.seq);
        if (!at) this.prePrepared.set(record.seq, (at = new Map()));
        const known = at.get(record.digest);
        at.set(record.digest, {
          view: Math.max(record.view, known?.view ?? -1),
          seq: record.seq,
          digest: record.digest,
          requests: record.requests ?? known?.requests ?? null,
        });
        return;
      }
      case 'prepared': {
        if (record.seq <= (this.stable?.seq ?? 0)) return;
        const known = this.prepared.get(record.seq);
        if (!known || known.view <= record.view)
          this.prepared.set(record.seq, { seq: record.seq, digest: record.digest, view: record.view });
        return;
      }
    }
  }

  state(): PersistedState {
    const prePrepared: PrePreparedRecord[] = [];
    for (const at of this.prePrepared.values()) prePrepared.push(...at.values());
    return {
      view: this.view,
      viewNormal: this.viewNormal,
      ...(this.newView ? { newView: this.newView } : {}),
      stable: this.stable,
      log: { prePrepared, prepared: [...this.prepared.values()] },
    };
  }
}
