/**
 * The last reply per client (§4.1): what makes execution exactly-once. It is part of the replicated
 * state, so it is in the checkpoint digest and the snapshot: a replica that installs a snapshot by
 * state transfer must also know which requests already executed. Being replicated state, it also
 * takes back a tentative execution (§5.1): `Undoable` in core/app/state-machine.ts.
 */
import { SavepointError } from '../app/state-machine.ts';
import type { Undoable } from '../app/state-machine.ts';
import type { Hasher } from './crypto.ts';
import type { ClientId, Digest } from './messages.ts';
import { ByteReader, ByteWriter } from './bytes.ts';

export interface LastReply {
  readonly timestamp: number;
  readonly result: Uint8Array;
}

export class ClientTable implements Undoable {
  private readonly entries = new Map<ClientId, LastReply>();
  /**
   * While a savepoint is open: client → its entry at the savepoint (null: none), recorded at the
   * client's first `record` after it. Entries are immutable values, so keeping them is enough.
   */
  private journal: Map<ClientId, LastReply | null> | undefined;

  get(client: ClientId): LastReply | undefined {
    return this.entries.get(client);
  }

  /** The last timestamp executed for `client`, or 0. */
  lastTimestamp(client: ClientId): number {
    return this.entries.get(client)?.timestamp ?? 0;
  }

  record(client: ClientId, timestamp: number, result: Uint8Array): void {
    if (this.journal !== undefined && !this.journal.has(client)) {
      this.journal.set(client, this.entries.get(client) ?? null);
    }
    this.entries.set(client, { timestamp, result });
  }

  /** Take over another table's entries (state transfer installs a snapshot's table); discards an open savepoint. */
  replaceWith(other: ClientTable): void {
    this.entries.clear();
    for (const [client, entry] of other.entries) this.entries.set(client, entry);
    this.journal = undefined;
  }

  get hasSavepoint(): boolean {
    return this.journal !== undefined;
  }

  savepoint(): void {
    if (this.journal !== undefined) throw new SavepointError('a savepoint is already open (one at a time)');
    this.journal = new Map();
  }

  rollback(): void {
    for (const [client, before] of this.closeSavepoint('rollback')) {
      if (before === null) this.entries.delete(client);
      else this.entries.set(client, before);
    }
  }

  release(): void {
    this.closeSavepoint('release');
  }

  private closeSavepoint(what: string): Map<ClientId, LastReply | null> {
    const journal = this.journal;
    if (journal === undefined) throw new SavepointError(`${what} without an open savepoint`);
    this.journal = undefined;
    return journal;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Canonical bytes: entries sorted by client id. */
  encode(): Uint8Array {
    const w = new ByteWriter();
    const clients = [...this.entries.keys()].sort();
    w.varint(clients.length);
    for (const client of clients) {
      const entry = this.entries.get(client)!;
      w.string(client);
      w.varint(entry.timestamp);
      w.bytes(entry.result);
    }
    return w.finish();
  }

  digest(hasher: Hasher): Digest {
    return hasher.digest(this.encode());
  }

  static decode(bytes: Uint8Array): { ok: true; table: ClientTable } | { ok: false; reason: string } {
    const r = new ByteReader(bytes);
    const table = new ClientTable();
    const count = r.varint();
    let previous = '';
    for (let i = 0; i < count && r.ok; i++) {
      const client = r.string();
      const timestamp = r.varint();
      const result = r.bytes();
      if (!r.ok) break;
      if (client <= previous && i > 0) return { ok: false, reason: 'client table is not sorted' };
      previous = client;
      table.record(client, timestamp, result.slice());
    }
    if (!r.ok) return { ok: false, reason: `client table: ${r.error}` };
    if (!r.atEnd()) return { ok: false, reason: 'client table has trailing bytes' };
    return { ok: true, table };
  }
}
