/**
 * The last reply per client (§4.1): what makes execution exactly-once. It is part of the replicated
 * state, so it is in the checkpoint digest and the snapshot: a replica that installs a snapshot by
 * state transfer must also know which requests already executed.
 */
import type { Hasher } from './crypto.ts';
import type { ClientId, Digest } from './messages.ts';
import { ByteReader, ByteWriter } from './bytes.ts';

export interface LastReply {
  readonly timestamp: number;
  readonly result: Uint8Array;
}

export class ClientTable {
  private readonly entries = new Map<ClientId, LastReply>();

  get(client: ClientId): LastReply | undefined {
    return this.entries.get(client);
  }

  /** The last timestamp executed for `client`, or 0. */
  lastTimestamp(client: ClientId): number {
    return this.entries.get(client)?.timestamp ?? 0;
  }

  record(client: ClientId, timestamp: number, result: Uint8Array): void {
    this.entries.set(client, { timestamp, result });
  }

  /** Take over another table's entries (state transfer installs a snapshot's table). */
  replaceWith(other: ClientTable): void {
    this.entries.clear();
    for (const [client, entry] of other.entries) this.entries.set(client, entry);
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
