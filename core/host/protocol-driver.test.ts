/**
 * The protocol driver and the write-ahead rule (issue 18): nothing a replica sends may depend on
 * state that a crash can take back. Replica 3 of four joins a view change when f+1 = 2 others send
 * VIEW-CHANGE(1) (§4.5); its own VIEW-CHANGE must not leave before its view record is durable, or a
 * crash in between restarts it in view 0 while the others hold its vote for view 1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStore } from '../app/file-store.ts';
import { FaultyReplica } from '../byzantine/faulty-replica.ts';
import { simulatedCrypto } from '../crypto/node.ts';
import { defaultProtocolConfig } from '../pbft/config.ts';
import type { Message, ReplicaId } from '../pbft/messages.ts';
import type { PersistRecord } from '../pbft/outputs.ts';
import type { PersistedState } from '../pbft/persistence.ts';
import { Replica } from '../pbft/replica.ts';
import { ProtocolDriver } from './protocol-driver.ts';
import { DATA_DIR_FILES, openDataDir, type DataDir } from './storage.ts';
import { parseFrame } from './wire.ts';

const N = 4;
const ROSTER = ['peer-0', 'peer-1', 'peer-2', 'peer-3'];
const crypto = simulatedCrypto(N, 18);
const config = defaultProtocolConfig(N);

function replica(id: ReplicaId, persisted?: PersistedState): Replica {
  return new Replica({ id, config, crypto: crypto.replica(id), app: new FileStore(crypto.hasher), persisted });
}

/** The VIEW-CHANGE(1) that replica `id` broadcasts (restarted while changing to view 1, it sends it again). */
function viewChangeFrom(id: ReplicaId): Message {
  const out = replica(id, { view: 1, viewNormal: false, stable: null }).takeOutputs();
  const vc = out.find((o) => o.kind === 'broadcast' && o.message.type === 'view-change');
  if (!vc || vc.kind !== 'broadcast') throw new Error('no VIEW-CHANGE');
  return vc.message;
}

/** A data directory whose view and checkpoint writes finish only when the test says so. */
class SlowDisk {
  readonly written: PersistRecord[] = [];
  readonly durable: PersistRecord[] = [];
  private readonly pending: { record: PersistRecord; resolve: () => void; reject: (e: Error) => void }[] = [];
  failLogAppends = false;

  persist(record: PersistRecord): Promise<void> {
    this.written.push(record);
    return new Promise((resolve, reject) => this.pending.push({ record, resolve, reject }));
  }

  appendLog(record: PersistRecord): void {
    if (this.failLogAppends) throw new Error('ENOSPC: no space left on device');
    this.written.push(record);
    this.durable.push(record);
  }

  /** The oldest write in flight lands. */
  async land(): Promise<void> {
    const next = this.pending.shift()!;
    this.durable.push(next.record);
    next.resolve();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  async fail(error: Error): Promise<void> {
    this.pending.shift()!.reject(error);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }

  get inFlight(): number {
    return this.pending.length;
  }
}

interface Sent {
  readonly peer: string;
  readonly type: string;
}

function drive(data: SlowDisk | DataDir, onSend: (sent: Sent) => void = () => {}) {
  const sent: Sent[] = [];
  const notes: string[] = [];
  const driver = new ProtocolDriver({
    replica: new FaultyReplica(replica(3), crypto.replica(3), () => 0.5),
    roster: ROSTER,
    self: ROSTER[3]!,
    data: data as DataDir,
    sendBytes: (peer, bytes) => {
      const parsed = parseFrame(bytes);
      if (!parsed.ok) throw new Error(parsed.reason);
      const type = parsed.frame.kind === 'replica' ? parsed.frame.message.type : parsed.frame.kind;
      const one = { peer, type };
      onSend(one);
      sent.push(one);
    },
    replyToOwnClient: () => {},
    onEvent: () => {},
    onMessageOut: () => {},
    note: (line) => notes.push(line),
  });
  /** Replicas 1 and 2 send VIEW-CHANGE(1): replica 3 joins (f+1 = 2). */
  const joinViewChange = () => {
    for (const from of [1, 2]) driver.input(from, viewChangeFrom(from));
    driver.drain();
  };
  return { driver, sent, notes, joinViewChange };
}

const viewChanges = (sent: readonly Sent[]) => sent.filter((s) => s.type === 'view-change');

describe('the protocol driver: durable before visible (issue 18)', () => {
  it('holds the VIEW-CHANGE until the view record is durable, then sends it to every other replica', async () => {
    const disk = new SlowDisk();
    const { sent, joinViewChange } = drive(disk);
    joinViewChange();
    expect(disk.written).toEqual([{ type: 'view', view: 1, normal: false }]);
    expect(viewChanges(sent)).toEqual([]);
    await disk.land();
    expect(viewChanges(sent).map((s) => s.peer)).toEqual(ROSTER.slice(0, 3));
  });

  it('holds everything behind a record that is not durable, ticks included, and sends it in order', async () => {
    const disk = new SlowDisk();
    const { driver, sent, joinViewChange } = drive(disk);
    joinViewChange();
    for (let i = 0; i < config.retransmitTicks + 1; i++) driver.tick();
    expect(sent).toEqual([]);
    await disk.land();
    expect(sent[0]!.type).toBe('view-change');
    expect(sent.slice(3).some((s) => s.type === 'status')).toBe(true);
  });

  it('sends nothing more once a write failed, and says so loudly', async () => {
    const disk = new SlowDisk();
    const { driver, sent, notes, joinViewChange } = drive(disk);
    joinViewChange();
    await disk.fail(new Error('EIO: i/o error'));
    for (let i = 0; i < config.retransmitTicks + 1; i++) driver.tick();
    expect(sent).toEqual([]);
    expect(notes.join('\n')).toMatch(/could not persist view.*EIO.*sends nothing more/);
  });
});

describe('the protocol driver on a real data directory', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pbft-lab-driver-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('the VIEW-CHANGE leaves only once view.json on disk says view 1', async () => {
    const data = await openDataDir({ dir: root, cluster: 'lab', size: N });
    const onDisk: unknown[] = [];
    const { sent, joinViewChange } = drive(data, (s) => {
      if (s.type !== 'view-change') return;
      try {
        onDisk.push(JSON.parse(readFileSync(path.join(root, DATA_DIR_FILES.view), 'utf8')));
      } catch (error) {
        onDisk.push((error as NodeJS.ErrnoException).code);
      }
    });
    joinViewChange();
    for (let waited = 0; viewChanges(sent).length < 3 && waited < 5_000; waited += 10)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await data.close();
    expect(viewChanges(sent)).toHaveLength(3);
    expect(onDisk).toEqual(Array(3).fill(expect.objectContaining({ view: 1, normal: false })));
  });
});
