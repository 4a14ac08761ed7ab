import { describe, expect, it } from 'vitest';
import { SavepointError } from '../app/state-machine.ts';
import { Prng } from '../sim/prng.ts';
import { ClientTable } from './client-table.ts';

const CLIENTS = ['alice', 'bob', 'carol', 'dave', 'erin'];

/** The table as a value: its canonical bytes and each client's entry. */
function observe(table: ClientTable): object {
  return { bytes: table.encode(), size: table.size, entries: CLIENTS.map((client) => table.get(client) ?? null) };
}

function sample(): ClientTable {
  const table = new ClientTable();
  table.record('alice', 3, Uint8Array.of(1));
  table.record('bob', 7, Uint8Array.of(2, 2));
  return table;
}

describe('§4.1 the last reply per client', () => {
  it('keeps the latest entry per client and encodes canonically', () => {
    const table = new ClientTable();
    table.record('bob', 1, Uint8Array.of(1));
    table.record('alice', 2, Uint8Array.of(2));
    table.record('bob', 5, Uint8Array.of(5));
    expect(table.lastTimestamp('bob')).toBe(5);
    expect(table.lastTimestamp('nobody')).toBe(0);
    const decoded = ClientTable.decode(table.encode());
    expect(decoded.ok && observe(decoded.table)).toEqual(observe(table));
  });
});

describe('§5.1 tentative execution: savepoint, rollback, release', () => {
  it('"a view change may abort tentative executions": rollback restores overwritten entries and removes created ones', () => {
    const table = sample();
    const before = observe(table);
    table.savepoint();
    expect(table.hasSavepoint).toBe(true);
    table.record('alice', 4, Uint8Array.of(9));
    table.record('alice', 5, Uint8Array.of(10));
    table.record('carol', 1, Uint8Array.of(3));
    expect(table.lastTimestamp('alice')).toBe(5);
    table.rollback();
    expect(table.hasSavepoint).toBe(false);
    expect(observe(table)).toEqual(before);
    expect(table.lastTimestamp('alice')).toBe(3);
    expect(table.get('carol')).toBeUndefined();
  });

  it('release keeps the tentative entries: the table equals recording them without a savepoint', () => {
    const table = sample();
    const twin = sample();
    table.savepoint();
    for (const t of [table, twin]) {
      t.record('bob', 8, Uint8Array.of(8));
      t.record('dave', 1, Uint8Array.of());
    }
    table.release();
    expect(table.hasSavepoint).toBe(false);
    expect(observe(table)).toEqual(observe(twin));
  });

  it('one savepoint at a time; rollback or release without one throws SavepointError', () => {
    const table = sample();
    const before = observe(table);
    expect(() => table.rollback()).toThrow(SavepointError);
    expect(() => table.release()).toThrow('release without an open savepoint');
    table.savepoint();
    table.record('alice', 4, Uint8Array.of(4));
    expect(() => table.savepoint()).toThrow('a savepoint is already open (one at a time)');
    table.rollback();
    expect(observe(table)).toEqual(before);
    expect(() => table.rollback()).toThrow('rollback without an open savepoint');
  });

  it('replaceWith (state transfer) discards the savepoint', () => {
    const table = sample();
    table.savepoint();
    table.record('carol', 1, Uint8Array.of(1));
    const installed = new ClientTable();
    installed.record('erin', 9, Uint8Array.of(9));
    table.replaceWith(installed);
    expect(table.hasSavepoint).toBe(false);
    expect(() => table.rollback()).toThrow(SavepointError);
    expect(observe(table)).toEqual(observe(installed));
  });

  const SEEDS = process.env.CLIENT_TABLE_SEED ? [Number(process.env.CLIENT_TABLE_SEED)] : [1, 2, 3];
  it.each(SEEDS)('seed %i: random tentative batches, each rolled back or released, match a twin', (seed) => {
    const why = `reproduce with CLIENT_TABLE_SEED=${seed}`;
    const random = new Prng(seed);
    const table = new ClientTable(); // records each batch tentatively first
    const twin = new ClientTable(); // records only the batches that committed
    const timestamps = new Map<string, number>();
    const batch = (): [string, number, Uint8Array][] =>
      Array.from({ length: random.int(0, 8) }, () => {
        const client = random.pick(CLIENTS);
        const timestamp = (timestamps.get(client) ?? 0) + random.int(1, 3);
        timestamps.set(client, timestamp);
        return [client, timestamp, random.bytes(random.int(0, 4))];
      });
    let rolledBack = 0;
    for (let round = 0; round < 300; round++) {
      for (const [client, timestamp, result] of batch()) {
        table.record(client, timestamp, result);
        twin.record(client, timestamp, result);
      }
      const before = observe(table);
      const saved = new Map(timestamps);
      table.savepoint();
      const tentative = batch();
      for (const [client, timestamp, result] of tentative) table.record(client, timestamp, result);
      if (random.chance(0.5)) {
        table.rollback();
        rolledBack += tentative.length;
        expect(observe(table), `${why}, round ${round}: rollback`).toEqual(before);
        // The new view's batch at this sequence number starts from the committed timestamps again.
        for (const client of CLIENTS) timestamps.set(client, saved.get(client) ?? 0);
      } else {
        table.release();
        for (const [client, timestamp, result] of tentative) twin.record(client, timestamp, result);
      }
      expect(observe(table), `${why}, round ${round}`).toEqual(observe(twin));
    }
    expect(rolledBack, why).toBeGreaterThan(100);
  });
});
