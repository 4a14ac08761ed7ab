import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterKey } from '../net/cluster-key.ts';
import { encodeMessage } from '../pbft/codec.ts';
import { encodeCheckpointFile } from './storage-checkpoint.ts';
import { encodeLogRecord, segmentFile } from './storage-log.ts';
import { DATA_DIR_FILES, DataDirError, openDataDir } from './storage.ts';
import type { Checkpoint } from '../pbft/messages.ts';
import type { PersistRecord } from '../pbft/outputs.ts';
import type { DataDir } from './storage.ts';

const F = DATA_DIR_FILES;
const CLUSTER = 'lab';
const SIZE = 4;

let root: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'pbft-lab-storage-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function checkpointRecord(seq: number, snapshot: Uint8Array): Extract<PersistRecord, { type: 'stable-checkpoint' }> {
  const stateDigest = sha256(snapshot);
  const proof: Checkpoint[] = [0, 1, 2].map((replica) => ({
    type: 'checkpoint',
    seq,
    stateDigest,
    replica,
    sig: new Uint8Array(randomBytes(64)),
  }));
  return { type: 'stable-checkpoint', seq, stateDigest, proof, snapshot };
}

function rosterOf(self: string): string[] {
  return [self, 'peer-b', 'peer-c', 'peer-d'];
}

/** Every file's mode and content hash: what "left untouched" is checked against. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const file = path.join(dir, name);
    const stats = await stat(file);
    out[name] = `${(stats.mode & 0o777).toString(8)} ${stats.size} ${sha256(await readFile(file))}`;
  }
  return out;
}

const mode = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

async function openError(options: Parameters<typeof openDataDir>[0]): Promise<DataDirError> {
  const error: unknown = await openDataDir(options).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DataDirError);
  expect((error as Error).name).toBe('DataDirError');
  return error as DataDirError;
}

/** A data dir with every file written: identity, marker, roster, view 3, a checkpoint at seq 256. */
async function populated(): Promise<{ dir: string; dd: DataDir; checkpoint: ReturnType<typeof checkpointRecord> }> {
  const dir = path.join(root, 'data');
  const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
  const checkpoint = checkpointRecord(256, new Uint8Array(randomBytes(100_000)));
  await dd.saveRoster(rosterOf(dd.peerId));
  await dd.persist({ type: 'view', view: 3, normal: true });
  await dd.persist(checkpoint);
  await dd.close();
  return { dir, dd, checkpoint };
}

function withUmask<T>(mask: number, body: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  return body().finally(() => process.umask(previous));
}

describe('a new data directory', () => {
  it.each([
    ['permissive', 0o000],
    ['restrictive', 0o277],
  ])('is created with an identity, a marker and private modes (%s umask)', async (_, umask) => {
    const dir = path.join(root, 'nested', 'data');
    const before = Date.now();
    const dd = await withUmask(umask, () => openDataDir({ dir, cluster: CLUSTER, size: SIZE }));
    await dd.close();

    expect((await readdir(dir)).sort()).toEqual([F.identityKey, F.marker]);
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(path.join(dir, F.identityKey))).toBe(0o600);
    expect(await mode(path.join(dir, F.marker))).toBe(0o600);

    expect(dd.dir).toBe(dir);
    expect(dd.privateKey.type).toBe('Ed25519');
    expect(dd.peerId).toBe(peerIdFromPrivateKey(dd.privateKey).toString());
    expect(dd.roster).toBeNull();
    expect(dd.persisted).toEqual({ view: 0, stable: null });

    const marker = JSON.parse(await readFile(path.join(dir, F.marker), 'utf8'));
    expect(marker).toEqual({
      format: 'pbft-lab-data-dir',
      version: 1,
      cluster: CLUSTER,
      size: SIZE,
      peerId: dd.peerId,
      createdAt: dd.createdAt,
    });
    expect(Date.parse(marker.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(await readFile(path.join(dir, F.identityKey))).toEqual(Buffer.from(privateKeyToProtobuf(dd.privateKey)));
  });

  it('is initialised in an existing empty directory', async () => {
    const dir = path.join(root, 'empty');
    await mkdir(dir);
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.close();
    expect((await readdir(dir)).sort()).toEqual([F.identityKey, F.marker]);
  });

  it('is not created when create is false', async () => {
    const missing = path.join(root, 'missing');
    expect((await openError({ dir: missing, cluster: CLUSTER, size: SIZE, create: false })).message).toMatch(
      /does not exist/,
    );
    await expect(stat(missing)).rejects.toThrow(/ENOENT/);
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    await openError({ dir: empty, cluster: CLUSTER, size: SIZE, create: false });
    expect(await readdir(empty)).toEqual([]);
  });

  it('gives each directory its own identity', async () => {
    const a = await openDataDir({ dir: path.join(root, 'a'), cluster: CLUSTER, size: SIZE });
    const b = await openDataDir({ dir: path.join(root, 'b'), cluster: CLUSTER, size: SIZE });
    expect(a.peerId).not.toBe(b.peerId);
    await Promise.all([a.close(), b.close()]);
  });

  it('rejects an invalid cluster name or size before touching the disk', async () => {
    const dir = path.join(root, 'data');
    await expect(openDataDir({ dir, cluster: '', size: SIZE })).rejects.toThrow(RangeError);
    await expect(openDataDir({ dir, cluster: CLUSTER, size: 5 })).rejects.toThrow(RangeError);
    await expect(stat(dir)).rejects.toThrow(/ENOENT/);
  });
});

describe('reopening', () => {
  it('gives back the identity, roster, view and checkpoint byte for byte', async () => {
    const { dir, dd: first, checkpoint } = await populated();
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await again.close();

    expect(again.peerId).toBe(first.peerId);
    expect(again.createdAt).toBe(first.createdAt);
    expect(again.privateKey.raw).toEqual(first.privateKey.raw);
    expect(again.roster).toEqual(rosterOf(first.peerId));
    expect(again.persisted.view).toBe(3);
    const stable = again.persisted.stable!;
    expect(stable.seq).toBe(256);
    expect(stable.stateDigest).toBe(checkpoint.stateDigest);
    expect(stable.snapshot).toEqual(checkpoint.snapshot);
    expect(stable.proof.map(encodeMessage)).toEqual(checkpoint.proof.map(encodeMessage));
  });

  it('gives back the cluster key, the listen port and where the members listen, kept private (0600)', async () => {
    const dir = path.join(root, 'keyed');
    const first = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(first.clusterKey).toBeNull();
    expect(first.listenPort).toBeNull();
    const key = ClusterKey.generate();
    await first.saveClusterKey(key);
    await first.saveListenPort(41234);
    await first.savePeerAddresses({ 'peer-b': ['/ip4/10.0.0.2/tcp/4001'] });
    await expect(first.savePeerAddresses({ 'peer-c': new Array(17).fill('/ip4/10.0.0.3/tcp/1') })).rejects.toThrow(
      /at most 16/,
    );
    await expect(first.saveListenPort(0)).rejects.toThrow(RangeError);
    await first.close();
    expect((await stat(path.join(dir, F.clusterKey))).mode & 0o777).toBe(0o600);

    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await again.close();
    expect(again.clusterKey!.equals(key)).toBe(true);
    expect(again.listenPort).toBe(41234);
    expect(again.peerAddresses).toEqual({ 'peer-b': ['/ip4/10.0.0.2/tcp/4001'] });
  });

  it('round-trips a 24 MB snapshot', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    const checkpoint = checkpointRecord(1024, new Uint8Array(randomBytes(24 * 1024 * 1024)));
    await dd.persist(checkpoint);
    await dd.close();
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(sha256(again.persisted.stable!.snapshot)).toBe(checkpoint.stateDigest);
    expect((await stat(path.join(dir, F.checkpoint))).size).toBeLessThan(checkpoint.snapshot.length + 1024);
  });
});

describe('persist', () => {
  it("keeps the NEW-VIEW's binding with the view (min-s and O, issue 12) and refuses a damaged one", async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    const order = [
      { seq: 5, digest: 'a'.repeat(64) },
      { seq: 6, digest: 'b'.repeat(64) },
    ];
    const message = {
      type: 'new-view' as const,
      view: 2,
      viewChanges: [],
      order,
      replica: 2,
      sig: new Uint8Array(64).fill(7),
    };
    await dd.persist({ type: 'view', view: 2, normal: true, newView: { minSeq: 4, order, message } });
    await dd.close();
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(again.persisted).toMatchObject({ view: 2, viewNormal: true, newView: { minSeq: 4, order, message } });
    await again.close();
    const file = path.join(dir, F.view);
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.newView.order[1].seq = 3;
    await writeFile(file, JSON.stringify(json));
    expect((await openError({ dir, cluster: CLUSTER, size: SIZE })).message).toMatch(
      /NEW-VIEW binding \(O\[1\]\.seq\)/,
    );
  });

  it('lands records in order and resolves them in order under concurrent calls', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    const resolved: string[] = [];
    const calls: Promise<void>[] = [];
    let last: ReturnType<typeof checkpointRecord> | null = null;
    for (let view = 1; view <= 30; view++) {
      calls.push(dd.persist({ type: 'view', view, normal: true }).then(() => void resolved.push(`view ${view}`)));
      if (view % 7 === 0) {
        const record = (last = checkpointRecord(view * 10, new Uint8Array(randomBytes(50_000))));
        calls.push(dd.persist(record).then(() => void resolved.push(`checkpoint ${record.seq}`)));
      }
    }
    await Promise.all(calls);
    await dd.close();

    const expected: string[] = [];
    for (let view = 1; view <= 30; view++) {
      expected.push(`view ${view}`);
      if (view % 7 === 0) expected.push(`checkpoint ${view * 10}`);
    }
    expect(resolved).toEqual(expected);
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(again.persisted.view).toBe(30);
    expect(again.persisted.stable!.seq).toBe(280);
    expect(again.persisted.stable!.snapshot).toEqual(last!.snapshot);
  });

  it('has the record on disk when it resolves', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    for (const view of [1, 2, 9]) {
      await dd.persist({ type: 'view', view, normal: view !== 2 });
      expect(JSON.parse(await readFile(path.join(dir, F.view), 'utf8'))).toEqual({
        version: 1,
        view,
        normal: view !== 2,
      });
      expect(await mode(path.join(dir, F.view))).toBe(0o600);
    }
    await dd.saveRoster(rosterOf(dd.peerId));
    expect(dd.roster).toEqual(rosterOf(dd.peerId));
    expect(JSON.parse(await readFile(path.join(dir, F.roster), 'utf8')).roster).toEqual(rosterOf(dd.peerId));
    await dd.close();
    expect((await readdir(dir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('keeps whether the view was installed or still being changed to; an old view.json reads as installed', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.persist({ type: 'view', view: 5, normal: false });
    await dd.close();
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await again.close();
    expect([again.persisted.view, again.persisted.viewNormal]).toEqual([5, false]);
    await writeFile(path.join(dir, F.view), JSON.stringify({ version: 1, view: 6 }));
    const old = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await old.close();
    expect([old.persisted.view, old.persisted.viewNormal]).toEqual([6, true]);
  });

  it('writes every field of the view record, so fields the replica adds to it are kept on disk', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    const withNewView = { type: 'view', view: 2, normal: true, minS: 64, o: [{ seq: 65, digest: 'ab' }] };
    await dd.persist(withNewView as PersistRecord);
    await dd.close();
    const { type: _, ...fields } = withNewView;
    expect(JSON.parse(await readFile(path.join(dir, F.view), 'utf8'))).toEqual({ version: 1, ...fields });
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await again.close();
    expect([again.persisted.view, again.persisted.viewNormal]).toEqual([2, true]);
  });

  it('rejects a record it cannot write and goes on with the next', async () => {
    const dd = await openDataDir({ dir: path.join(root, 'data'), cluster: CLUSTER, size: SIZE });
    const bad = { ...checkpointRecord(5, new Uint8Array(10)), stateDigest: 'not a digest' };
    const failed = dd.persist(bad);
    const next = dd.persist({ type: 'view', view: 4, normal: true });
    await expect(failed).rejects.toThrow();
    await expect(next).resolves.toBeUndefined();
    await expect(dd.persist({ type: 'view', view: -1, normal: true })).rejects.toThrow(RangeError);
    await expect(dd.saveRoster(['a', 'b', 'c'])).rejects.toThrow(/3 peers, not 4/);
    await expect(dd.saveRoster(['a', 'b', 'c', 'a'])).rejects.toThrow(/twice/);
    await dd.close();
  });

  it('refuses writes after close, which waits for pending ones', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    const pending = dd.persist(checkpointRecord(7, new Uint8Array(randomBytes(1_000_000))));
    await dd.close();
    await expect(pending).resolves.toBeUndefined();
    await expect(dd.persist({ type: 'view', view: 1, normal: true })).rejects.toThrow(DataDirError);
    expect((await readdir(dir)).sort()).toEqual([F.checkpoint, F.identityKey, F.marker]);
  });
});

describe('the log above the stable checkpoint (what the replica pre-prepared and prepared)', () => {
  const digest = (k: number) => sha256(new Uint8Array([k]));
  const request = {
    type: 'request' as const,
    client: 'client-1',
    timestamp: 7,
    readOnly: false,
    op: new Uint8Array([1, 2, 3]),
    auth: [new Uint8Array(32), new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)],
  };
  const prePrepared = (seq: number, view: number, withBatch = true): PersistRecord => ({
    type: 'pre-prepared',
    view,
    seq,
    digest: digest(seq),
    requests: withBatch ? [request] : null,
  });
  const prepared = (seq: number, view: number): Extract<PersistRecord, { type: 'prepared' }> => ({
    type: 'prepared',
    seq,
    digest: digest(seq),
    view,
  });
  const segments = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('log-')).sort();

  it('comes back after a restart: batches, the latest view per digest, and prepared claims', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await Promise.all([
      dd.persist(prePrepared(1, 0)),
      dd.persist(prepared(1, 0)),
      dd.persist(prePrepared(2, 0, false)),
      dd.persist(prePrepared(2, 1)),
      dd.persist(prepared(2, 1)),
      dd.persist(prePrepared(70, 1)),
    ]);
    await dd.close();
    expect(await segments(dir)).toEqual([segmentFile(0), segmentFile(1)]);
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await again.close();
    const log = again.persisted.log!;
    const bySeq = (seq: number) => log.prePrepared.filter((r) => r.seq === seq);
    expect(bySeq(1)).toEqual([{ view: 0, seq: 1, digest: digest(1), requests: [request] }]);
    expect(bySeq(2)).toEqual([{ view: 1, seq: 2, digest: digest(2), requests: [request] }]);
    expect(bySeq(70)).toHaveLength(1);
    expect(log.prepared).toEqual([
      { seq: 1, digest: digest(1), view: 0 },
      { seq: 2, digest: digest(2), view: 1 },
    ]);
  });

  it('a stable checkpoint deletes the segments at or below it, and what is below it does not come back', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    for (const seq of [3, 64, 65, 130]) await dd.persist(prePrepared(seq, 0));
    await dd.persist(checkpointRecord(64, new Uint8Array(10)));
    expect(await segments(dir)).toEqual([segmentFile(1), segmentFile(2)]);
    await dd.persist(checkpointRecord(100, new Uint8Array(10)));
    await dd.close();
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await again.close();
    expect(again.persisted.log!.prePrepared.map((r) => r.seq)).toEqual([130]);
  });

  it('drops a record a crash cut short (it was never acknowledged), and appends cleanly after it', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.persist(prePrepared(1, 0));
    await dd.persist(prePrepared(2, 0));
    await dd.close();
    const file = path.join(dir, segmentFile(0));
    const full = (await stat(file)).size;
    await truncate(file, full - 5);
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(again.persisted.log!.prePrepared.map((r) => r.seq)).toEqual([1]);
    await again.persist(prePrepared(3, 0));
    await again.close();
    const third = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await third.close();
    expect(third.persisted.log!.prePrepared.map((r) => r.seq)).toEqual([1, 3]);
  });

  it('refuses a damaged record, naming the file and byte, and changes nothing', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.persist(prePrepared(1, 0));
    await dd.persist(prePrepared(2, 0));
    await dd.close();
    const file = path.join(dir, segmentFile(0));
    const bytes = await readFile(file);
    bytes[20] = bytes[20]! ^ 0xff;
    await writeFile(file, bytes);
    const before = await tree(dir);
    await expect(openDataDir({ dir, cluster: CLUSTER, size: SIZE })).rejects.toThrow(
      `${file}: is damaged: record at byte 0 fails its checksum`,
    );
    expect(await tree(dir)).toEqual(before);
  });

  it.each([
    ['makes it run past the end of the file', 3, 0x01],
    ['makes it shorter', 0, 0x04],
  ])(
    'refuses a record whose length a flipped bit %s (damage, not a torn tail), naming the byte, and changes nothing',
    async (_, byte, bit) => {
      const dir = path.join(root, 'data');
      const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
      for (const seq of [1, 2, 3]) await dd.persist(prePrepared(seq, 0));
      await dd.close();
      const file = path.join(dir, segmentFile(0));
      const second = encodeLogRecord(prePrepared(1, 0) as Parameters<typeof encodeLogRecord>[0]).length;
      const bytes = await readFile(file);
      bytes[second + byte]! ^= bit;
      await writeFile(file, bytes);
      const before = await tree(dir);
      const error = await openError({ dir, cluster: CLUSTER, size: SIZE });
      expect(error.path).toBe(file);
      expect(error.message).toMatch(new RegExp(`is damaged: record at byte ${second} fails its (header )?checksum`));
      expect(await tree(dir)).toEqual(before);
    },
  );

  it('drops a tail of zero bytes (a file grown before its data was written, then power lost)', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.persist(prePrepared(1, 0));
    await dd.close();
    const file = path.join(dir, segmentFile(0));
    const size = (await stat(file)).size;
    await writeFile(file, new Uint8Array(100), { flag: 'a' });
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await again.close();
    expect(again.persisted.log!.prePrepared.map((r) => r.seq)).toEqual([1]);
    expect((await stat(file)).size).toBe(size);
  });

  it('reads segments written by version 1 (no header checksum), never appends to them, and collects them', async () => {
    const dir = path.join(root, 'data');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.close();
    // A version-1 record is a version-2 record without its header checksum (bytes 8..11).
    const v1 = (record: PersistRecord) => {
      const v2 = encodeLogRecord(record as Parameters<typeof encodeLogRecord>[0]);
      return Buffer.concat([v2.subarray(0, 8), v2.subarray(12)]);
    };
    const legacy = path.join(dir, 'log-0.bin');
    await writeFile(
      legacy,
      Buffer.concat([v1(prePrepared(1, 0)), v1(prepared(1, 0)), v1(prePrepared(2, 0)).subarray(0, 9)]),
    );
    const before = await readFile(legacy);
    const again = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(again.persisted.log!.prePrepared.map((r) => r.seq)).toEqual([1]);
    expect(again.persisted.log!.prepared.map((r) => r.seq)).toEqual([1]);
    await again.persist(prePrepared(3, 0));
    await again.close();
    expect(await readFile(legacy)).toEqual(before);
    const third = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(third.persisted.log!.prePrepared.map((r) => r.seq)).toEqual([1, 3]);
    await third.persist(checkpointRecord(64, new Uint8Array(10)));
    await third.close();
    expect(await segments(dir)).toEqual([]);
  });

  it('rejects a log record for a sequence number that cannot be', async () => {
    const dd = await openDataDir({ dir: path.join(root, 'data'), cluster: CLUSTER, size: SIZE });
    await expect(dd.persist({ ...prepared(1, 0), seq: 0 })).rejects.toThrow(RangeError);
    await dd.close();
  });
});

describe('behaviours.json (who has been Byzantine, issue 19)', () => {
  it('gives back this replica’s switches and the members’ signed histories after a restart; none at first', async () => {
    const dir = path.join(root, 'data');
    let dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(await dd.readBehaviours()).toBeNull();
    const stored = {
      own: [
        { n: 1, atMs: 1_765_100_000_000, behaviour: 'silent' },
        { n: 2, atMs: 1_765_100_060_000, behaviour: null, restart: true as const },
      ],
      members: { 'peer-b': new Uint8Array(randomBytes(200)) },
    };
    await dd.saveBehaviours(stored);
    await dd.close();
    expect(await mode(path.join(dir, F.behaviours))).toBe(0o600);
    dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    expect(await dd.readBehaviours()).toEqual(stored);
    await dd.close();
  });

  it('refuses a damaged file, naming it, and changes nothing', async () => {
    const { dir } = await populated();
    await writeFile(
      path.join(dir, F.behaviours),
      JSON.stringify({ version: 1, own: [{ n: 1, atMs: 5, behaviour: 'Not An Id' }], members: {} }),
      { mode: 0o600 },
    );
    const before = await tree(dir);
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    const error: unknown = await dd.readBehaviours().catch((e: unknown) => e);
    await dd.close();
    expect(error).toBeInstanceOf(DataDirError);
    expect((error as Error).message).toContain(path.join(dir, F.behaviours));
    expect((error as Error).message).toMatch(/entry 0: behaviour is not a catalogue id/);
    expect(await tree(dir)).toEqual(before);
  });
});

describe('a directory that is not ours', () => {
  it('is refused and left untouched', async () => {
    const dir = path.join(root, 'photos');
    await mkdir(dir);
    await writeFile(path.join(dir, 'notes.txt'), 'mine');
    const before = await tree(dir);
    const error = await openError({ dir, cluster: CLUSTER, size: SIZE });
    expect(error.message).toMatch(/not a PBFT Lab data directory .*notes\.txt.*refusing to use it/);
    expect(await tree(dir)).toEqual(before);
  });

  it('is refused when it is a file', async () => {
    const file = path.join(root, 'file');
    await writeFile(file, 'x');
    expect((await openError({ dir: file, cluster: CLUSTER, size: SIZE })).message).toMatch(/not a directory/);
  });

  it.each([
    ['another cluster name', 'physics', SIZE, /cluster "lab" of size 4, not cluster "physics" of size 4/],
    ['another cluster size', CLUSTER, 7, /cluster "lab" of size 4, not cluster "lab" of size 7/],
  ])('is refused when it belongs to %s', async (_, cluster, size, message) => {
    const { dir } = await populated();
    const before = await tree(dir);
    const error = await openError({ dir, cluster, size });
    expect(error.message).toContain(F.marker);
    expect(error.message).toMatch(message);
    expect(await tree(dir)).toEqual(before);
  });
});

type Damage = (dir: string) => Promise<void>;

const put =
  (name: string, content: string | Uint8Array): Damage =>
  (dir) =>
    writeFile(path.join(dir, name), content);
const json =
  (name: string, value: unknown): Damage =>
  (dir) =>
    writeFile(path.join(dir, name), JSON.stringify(value));
const edit =
  (name: string, change: (bytes: Buffer) => Buffer): Damage =>
  async (dir) =>
    writeFile(path.join(dir, name), change(await readFile(path.join(dir, name))));
const flipByte =
  (name: string, at: (length: number) => number): Damage =>
  async (dir) =>
    edit(name, (bytes) => {
      bytes[at(bytes.length)]! ^= 0x01;
      return bytes;
    })(dir);
const remove =
  (name: string): Damage =>
  (dir) =>
    rm(path.join(dir, name));

/** [file, what was done to it, how, the expected message]. */
const damages: [string, string, Damage, RegExp][] = [
  [F.clusterKey, 'not a swarm key', put(F.clusterKey, 'secret'), /holds no valid cluster key: not a libp2p swarm key/],
  [
    F.listen,
    'a port out of range',
    json(F.listen, { version: 1, tcpPort: 70000 }),
    /holds no valid TCP port \(70000\)/,
  ],
  [F.marker, 'cut-off JSON', put(F.marker, '{"format": "pbft-lab-data-dir", '), /not valid JSON/],
  [F.marker, 'empty', put(F.marker, ''), /not valid JSON/],
  [F.marker, 'a JSON array', json(F.marker, ['pbft-lab-data-dir']), /not a JSON object/],
  [F.marker, 'another format', json(F.marker, { format: 'something-else', version: 1 }), /not a PBFT Lab marker/],
  [
    F.marker,
    'a newer version',
    edit(F.marker, (b) => Buffer.from(b.toString().replace('"version": 1', '"version": 2'))),
    /unknown format version 2/,
  ],
  [
    F.marker,
    'no cluster',
    edit(F.marker, (b) => Buffer.from(b.toString().replace(/"cluster": "lab",/, ''))),
    /no valid cluster name/,
  ],
  [F.identityKey, 'garbage', put(F.identityKey, 'not a key at all'), /not a valid libp2p private key/],
  [F.identityKey, 'truncated', edit(F.identityKey, (b) => b.subarray(0, 40)), /not a valid libp2p private key/],
  [F.identityKey, 'deleted', remove(F.identityKey), /is missing/],
  [
    F.identityKey,
    'a secp256k1 key',
    async (dir) => writeFile(path.join(dir, F.identityKey), privateKeyToProtobuf(await generateKeyPair('secp256k1'))),
    /secp256k1 key, not an Ed25519 key/,
  ],
  [
    F.identityKey,
    "another machine's key",
    async (dir) => writeFile(path.join(dir, F.identityKey), privateKeyToProtobuf(await generateKeyPair('Ed25519'))),
    /holds the key of peer .* but pbft-lab\.json names peer/,
  ],
  [
    F.identityKey,
    'world-readable (0644)',
    (dir) => chmod(path.join(dir, F.identityKey), 0o644),
    /accessible by group or others \(mode 0644\).*chmod 600/,
  ],
  [F.identityKey, 'group-readable (0640)', (dir) => chmod(path.join(dir, F.identityKey), 0o640), /mode 0640/],
  [F.roster, 'cut-off JSON', put(F.roster, '{"version":1,"roster":["a",'), /not valid JSON/],
  [F.roster, 'too few peers', json(F.roster, { version: 1, roster: ['a', 'b', 'c'] }), /3 peers, not 4/],
  [F.roster, 'a duplicate peer', json(F.roster, { version: 1, roster: ['a', 'b', 'c', 'b'] }), /twice/],
  [F.roster, 'a number for a peer', json(F.roster, { version: 1, roster: ['a', 'b', 'c', 4] }), /strings/],
  [
    F.roster,
    'a newer version',
    json(F.roster, { version: 9, roster: ['a', 'b', 'c', 'd'] }),
    /unknown format version 9/,
  ],
  [F.roster, 'no version', json(F.roster, { roster: ['a', 'b', 'c', 'd'] }), /no format version/],
  [F.view, 'not JSON', put(F.view, 'three'), /not valid JSON/],
  [F.view, 'invalid UTF-8', put(F.view, Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x7d])), /not valid JSON/],
  [F.view, 'a negative view', json(F.view, { version: 1, view: -1 }), /no valid view/],
  [F.view, 'a string view', json(F.view, { version: 1, view: '3' }), /no valid view/],
  [F.view, 'a fractional view', json(F.view, { version: 1, view: 2.5 }), /no valid view/],
  [F.checkpoint, 'a bit flipped in the snapshot', flipByte(F.checkpoint, (n) => n - 5000), /checksum mismatch/],
  [F.checkpoint, 'a bit flipped in the checksum', flipByte(F.checkpoint, (n) => n - 1), /checksum mismatch/],
  [F.checkpoint, 'a bit flipped in the digest', flipByte(F.checkpoint, () => 20), /checksum mismatch/],
  [
    F.checkpoint,
    'truncated in the snapshot',
    (dir) => truncate(path.join(dir, F.checkpoint), 50_000),
    /checksum mismatch/,
  ],
  [F.checkpoint, 'truncated in the header', (dir) => truncate(path.join(dir, F.checkpoint), 12), /truncated/],
  [F.checkpoint, 'empty', put(F.checkpoint, ''), /wrong magic/],
  [F.checkpoint, 'another magic', flipByte(F.checkpoint, () => 0), /wrong magic/],
  [F.checkpoint, 'an unknown version', flipByte(F.checkpoint, () => 8), /unknown format version 0/],
  [
    F.checkpoint,
    'a proof for another checkpoint (checksum right)',
    (dir) => {
      const record = checkpointRecord(256, new Uint8Array(100));
      const other = checkpointRecord(128, new Uint8Array(100));
      const chunks = encodeCheckpointFile({ ...record, proof: [...record.proof.slice(1), other.proof[0]!] });
      return writeFile(path.join(dir, F.checkpoint), Buffer.concat(chunks));
    },
    /proof message 2 is for seq 128/,
  ],
];

describe('a damaged data directory', () => {
  it.each(damages)('is refused and left untouched: %s, %s', async (file, _, damage, message) => {
    const { dir } = await populated();
    // A temp file from a crashed write: not removed either when the directory is refused.
    await writeFile(path.join(dir, `.${F.view}.tmp-00112233445566ff`), '{"vers');
    await damage(dir);
    const before = await tree(dir);
    const error = await openError({ dir, cluster: CLUSTER, size: SIZE });
    expect(error.message).toContain(path.join(dir, file));
    expect(error.message).toMatch(message);
    expect(error.path).toBe(path.join(dir, file));
    expect(await tree(dir)).toEqual(before);
  });
});

describe('a crash', () => {
  it('in the middle of a write leaves a temp file that the next open ignores and removes', async () => {
    const { dir, checkpoint } = await populated();
    const full = Buffer.concat(encodeCheckpointFile(checkpointRecord(384, new Uint8Array(randomBytes(100_000)))));
    await writeFile(path.join(dir, `.${F.checkpoint}.tmp-0123456789abcdef`), full.subarray(0, full.length / 2));
    await writeFile(path.join(dir, `.${F.view}.tmp-fedcba9876543210`), '');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.close();
    expect(dd.persisted.view).toBe(3);
    expect(dd.persisted.stable!.seq).toBe(256);
    expect(dd.persisted.stable!.snapshot).toEqual(checkpoint.snapshot);
    expect((await readdir(dir)).sort()).toEqual([F.checkpoint, F.identityKey, F.marker, F.roster, F.view]);
  });

  it('between writing the key and the marker is finished with that key on the next open', async () => {
    const dir = path.join(root, 'data');
    await mkdir(dir);
    const key = await generateKeyPair('Ed25519');
    await writeFile(path.join(dir, F.identityKey), privateKeyToProtobuf(key), { mode: 0o600 });
    await writeFile(path.join(dir, `.${F.marker}.tmp-0000000000000000`), '{');
    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.close();
    expect(dd.peerId).toBe(peerIdFromPrivateKey(key).toString());
    expect((await readdir(dir)).sort()).toEqual([F.identityKey, F.marker]);
  });

  it('of the process (SIGKILL) while it writes checkpoints leaves the last complete records, in order', async () => {
    const dir = path.join(root, 'data');
    const script = path.join(root, 'writer.mjs');
    // Each round persists view k and then the checkpoint at seq k without waiting in between; the
    // snapshot is k's byte repeated, so the checkpoint found afterwards can be checked against its seq.
    await writeFile(
      script,
      `import { createHash } from 'node:crypto';
import { openDataDir } from ${JSON.stringify(pathToFileURL(path.join(import.meta.dirname, 'storage.ts')).href)};
const dd = await openDataDir({ dir: ${JSON.stringify(dir)}, cluster: 'lab', size: 4 });
console.log('ready');
for (let k = 1; ; k++) {
  const snapshot = new Uint8Array(4 * 1024 * 1024).fill(k % 256);
  const stateDigest = createHash('sha256').update(snapshot).digest('hex');
  await Promise.all([
    dd.persist({ type: 'view', view: k, normal: true }),
    dd.persist({ type: 'stable-checkpoint', seq: k, stateDigest, proof: [], snapshot }),
  ]);
}
`,
    );
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => {
        if (data.toString().includes('ready')) resolve();
      });
      child.on('exit', () => reject(new Error('writer exited before it was ready')));
    });
    // Kill it while a checkpoint is being written (its temp file exists), after a complete one landed.
    let killedMidWrite = false;
    for (let polls = 0; polls < 20_000 && !killedMidWrite; polls++) {
      const names = await readdir(dir);
      if (names.includes(F.checkpoint) && names.some((name) => name.startsWith(`.${F.checkpoint}.tmp-`))) {
        child.kill('SIGKILL');
        killedMidWrite = true;
      } else {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    if (!killedMidWrite) child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(killedMidWrite).toBe(true);

    const dd = await openDataDir({ dir, cluster: CLUSTER, size: SIZE });
    await dd.close();
    const stable = dd.persisted.stable!;
    expect(stable.seq).toBeGreaterThan(0);
    expect(stable.stateDigest).toBe(sha256(new Uint8Array(4 * 1024 * 1024).fill(stable.seq % 256)));
    expect(sha256(stable.snapshot)).toBe(stable.stateDigest);
    // In order: view k lands before checkpoint k, and checkpoint k before view k+1.
    expect([stable.seq, stable.seq + 1]).toContain(dd.persisted.view);
    expect((await readdir(dir)).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });
});
