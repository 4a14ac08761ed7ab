/**
 * The replica's data directory: its libp2p identity, the cluster's agreed roster, and what the core
 * asks to persist — the view (§4.4) and the last stable checkpoint (§4.3) — so that a restarted
 * machine rejoins as the same replica, from where it was.
 *
 * Layout (files mode 0600; the directory 0700 when we create it):
 *
 *   pbft-lab.json    the marker (JSON): format "pbft-lab-data-dir", version, cluster, size, peerId,
 *                    createdAt. Its presence makes a directory ours; cluster and size tie it to one cluster.
 *   identity.key     the Ed25519 private key, libp2p protobuf encoding (privateKeyToProtobuf)
 *   cluster.key      the cluster secret, in libp2p's swarm key format (core/net/cluster-key.ts)
 *   listen.json      {version, tcpPort}: the TCP port the node listened on, reused at a restart so
 *                    clients and peers find it where it was
 *   peers.json       {version, addresses: {peerId: [multiaddr]}}: where the other members last
 *                    listened, so a restarted machine finds them without mDNS or --join
 *   roster.json      {version, roster}: peer ids by replica id, once the cluster has formed
 *   view.json        {version, view, normal, …}: every field of the last view record the core asked to persist
 *   checkpoint.bin   the last stable checkpoint with its proof and snapshot (storage-checkpoint.ts)
 *   behaviours.json  {version, own, members}: this replica's Byzantine switches, and the other members'
 *                    signed histories as received (storage-behaviours.ts, behaviour-ledger.ts)
 *   log-<k>.v2.bin   the log above it: pre-prepared batches and prepared claims (storage-log.ts);
 *                    log-<k>.bin are the same as version-1 builds wrote them, read but not appended to
 *   pbft-lab.lock    held while a process has the directory open: one process at a time (storage-lock.ts)
 *   .<file>.tmp-<16 hex digits>   a write in progress; found at open only after a crash, then removed
 *
 * Every write of a whole file goes to a temp file in the same directory, is fsynced, renamed over the
 * old file, and the directory is fsynced: a crash leaves the old file or the new one, never a mixture.
 * Log records are appended synchronously instead, and fsynced with each stable checkpoint (appendLog says why); a
 * record a crash cut short is dropped at the next open, one that is damaged is refused (storage-log.ts
 * tells them apart), and segments at or below a new stable checkpoint are deleted.
 *
 * Opening never repairs, overwrites or deletes anything of value: a directory that is not ours, that
 * belongs to another cluster, that holds a damaged file or that another process has open gives a
 * DataDirError naming the file (or the process).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, openSync, writeSync } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, truncate, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { ClusterKey, ClusterKeyError } from '../net/cluster-key.ts';
import { decodeMessage, encodeMessage } from '../pbft/codec.ts';
import { faultsTolerated } from '../pbft/config.ts';
import { behavioursFileFields, readBehavioursFields, type StoredBehaviours } from './storage-behaviours.ts';
import { decodeCheckpointFile, encodeCheckpointFile } from './storage-checkpoint.ts';
import { describeRefusal, LOCK_FILE, lockDirectory, type DataDirLock } from './storage-lock.ts';
import {
  decodeLogSegment,
  encodeLogRecord,
  logAbove,
  parseSegmentFile,
  segmentFile,
  segmentLastSeq,
  segmentOf,
  type LogRecord,
} from './storage-log.ts';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import type { FileHandle } from 'node:fs/promises';
import type { PersistRecord } from '../pbft/outputs.ts';
import type { PersistedState } from '../pbft/persistence.ts';

export const DATA_DIR_FILES = {
  marker: 'pbft-lab.json',
  identityKey: 'identity.key',
  clusterKey: 'cluster.key',
  listen: 'listen.json',
  peers: 'peers.json',
  roster: 'roster.json',
  view: 'view.json',
  checkpoint: 'checkpoint.bin',
  behaviours: 'behaviours.json',
} as const;

/** The version of the marker, roster and view files; checkpoint.bin carries its own. */
export const DATA_DIR_VERSION = 1;
const MARKER_FORMAT = 'pbft-lab-data-dir';
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const TEMP_FILE =
  /^\.(pbft-lab\.json|identity\.key|cluster\.key|listen\.json|peers\.json|roster\.json|view\.json|checkpoint\.bin|behaviours\.json)\.tmp-[0-9a-f]{16}$/;
/** Unix modes say nothing about Windows ACLs, and directories cannot be fsynced there. */
const POSIX = process.platform !== 'win32';

/** Why a data directory cannot be used or written; the message names the file and the problem. */
export class DataDirError extends Error {
  override name = 'DataDirError';
  /** The file or directory concerned. */
  readonly path: string;

  constructor(filePath: string, problem: string, options?: ErrorOptions) {
    super(`${filePath}: ${problem}`, options);
    this.path = filePath;
  }
}

export interface OpenOptions {
  readonly dir: string;
  /** The cluster this machine belongs to; a directory of another cluster is refused. */
  readonly cluster: string;
  /** n, the cluster size (3f+1); a directory of a cluster of another size is refused. */
  readonly size: number;
  /**
   * Create and initialise the directory (new identity) if it is missing or empty.
   * @default true
   */
  readonly create?: boolean;
}

/** What pbft-lab.json holds. */
export interface DataDirMarker {
  readonly format: typeof MARKER_FORMAT;
  readonly version: number;
  readonly cluster: string;
  readonly size: number;
  readonly peerId: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface DataDir {
  /** Absolute path. */
  readonly dir: string;
  /** The libp2p identity. */
  readonly privateKey: Ed25519PrivateKey;
  readonly peerId: string;
  readonly createdAt: string;
  /** The agreed roster (peer ids by replica id): as loaded at open, then as last saved. */
  readonly roster: readonly string[] | null;
  /** The cluster secret: as loaded at open, then as last saved. */
  readonly clusterKey: ClusterKey | null;
  /** The TCP port the node last listened on: as loaded at open, then as last saved. */
  readonly listenPort: number | null;
  /** Where the other members last listened (multiaddr strings by peer id): as loaded at open, then as last saved. */
  readonly peerAddresses: Readonly<Record<string, readonly string[]>>;
  /** Resolves once the addresses are on disk. */
  savePeerAddresses(addresses: Readonly<Record<string, readonly string[]>>): Promise<void>;
  /** Resolves once the key is on disk (mode 0600, like every file here). */
  saveClusterKey(key: ClusterKey): Promise<void>;
  /** Resolves once the port is on disk. */
  saveListenPort(port: number): Promise<void>;
  /** The view and stable checkpoint as found at open, for `new Replica({ persisted })`. */
  readonly persisted: PersistedState;
  /** Resolves once the roster is on disk. */
  saveRoster(roster: readonly string[]): Promise<void>;
  /**
   * Call for every persist output, in order; resolves once that record (or a later one of the same
   * type that superseded it) is on disk. Records land in the order given. The view and the stable
   * checkpoint are written asynchronously (a temp file, fsync, rename); log records go through
   * appendLog, so theirs has settled when it returns.
   */
  persist(record: PersistRecord): Promise<void>;
  /**
   * Append a log record (pre-prepared, prepared) now, synchronously: when this returns it is in the
   * operating system, which survives a crash of the process but not a power loss (the log is fsynced
   * with each stable checkpoint and at close; appendLog in OpenDataDir says why). Throws DataDirError
   * if it cannot be written, RangeError for a sequence number that cannot be.
   */
  appendLog(record: LogRecord): void;
  /**
   * The behaviour histories behaviours.json holds (null: none yet). Throws DataDirError if the file
   * is damaged; nothing is changed then.
   */
  readBehaviours(): Promise<StoredBehaviours | null>;
  /** Replace behaviours.json; resolves once it is on disk. */
  saveBehaviours(stored: StoredBehaviours): Promise<void>;
  /** Waits for pending writes; later saveRoster/persist calls reject. */
  close(): Promise<void>;
}

/**
 * Open (or create and initialise) a data directory, and lock it for this process until `close`.
 * Throws DataDirError when the directory is not ours, belongs to another cluster, holds a damaged
 * file or is in use by another process; in those cases nothing is written. Throws RangeError for an
 * invalid cluster name or size.
 */
export async function openDataDir(options: OpenOptions): Promise<DataDir> {
  const { cluster, size } = options;
  if (typeof cluster !== 'string' || cluster.length === 0) throw new RangeError('cluster must be a non-empty string');
  faultsTolerated(size);
  const dir = path.resolve(options.dir);
  const create = options.create ?? true;

  let entries = await listEntries(dir);
  if (entries === null) {
    if (!create) throw new DataDirError(dir, 'does not exist (and create is false)');
    await makePrivateDir(dir);
    entries = [];
  }
  // A directory that is not ours is refused before anything is written in it, the lock included.
  classify(dir, entries, create);
  const lock = await lockDirectory(dir);
  if (!('release' in lock)) throw new DataDirError(dir, describeRefusal(lock));
  try {
    // Again under the lock: another process may have initialised it or written to it meanwhile.
    entries = (await listEntries(dir)) ?? [];
    return classify(dir, entries, create) === 'ours'
      ? await openExisting(dir, cluster, size, entries, lock)
      : await initialise(dir, cluster, size, entries, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** Whether `dir` is ours or new (to initialise); throws DataDirError if it is neither. */
function classify(dir: string, entries: readonly string[], create: boolean): 'ours' | 'new' {
  const own = entries.filter((name) => !TEMP_FILE.test(name) && name !== LOCK_FILE);
  if (own.includes(DATA_DIR_FILES.marker)) return 'ours';
  // identity.key alone: initialisation was cut short between the key and the marker (see initialise).
  if (own.length === 0 || (own.length === 1 && own[0] === DATA_DIR_FILES.identityKey)) {
    if (!create) throw new DataDirError(dir, 'is not initialised (and create is false)');
    return 'new';
  }
  const shown = own.slice(0, 5).join(', ') + (own.length > 5 ? ', …' : '');
  throw new DataDirError(
    dir,
    `not a PBFT Lab data directory (no ${DATA_DIR_FILES.marker}; holds ${shown}): refusing to use it`,
  );
}

async function initialise(
  dir: string,
  cluster: string,
  size: number,
  entries: readonly string[],
  lock: DataDirLock,
): Promise<DataDir> {
  // The key is written before the marker, so a crash in between leaves a directory holding only
  // identity.key. No replica can have run with that key (a replica needs the marker to open the
  // directory), so it is finished with that key rather than refused. Nothing is overwritten.
  let privateKey: Ed25519PrivateKey;
  if (entries.includes(DATA_DIR_FILES.identityKey)) {
    privateKey = await readIdentityKey(dir);
  } else {
    privateKey = await generateKeyPair('Ed25519');
    await writeAtomic(dir, DATA_DIR_FILES.identityKey, [privateKeyToProtobuf(privateKey)]);
  }
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  const marker: DataDirMarker = {
    format: MARKER_FORMAT,
    version: DATA_DIR_VERSION,
    cluster,
    size,
    peerId,
    createdAt: new Date().toISOString(),
  };
  await writeAtomic(dir, DATA_DIR_FILES.marker, [jsonBytes(marker)]);
  await removeTempFiles(dir, entries);
  return new OpenDataDir(
    dir,
    size,
    lock,
    privateKey,
    peerId,
    marker.createdAt,
    null,
    null,
    null,
    {},
    {
      view: 0,
      stable: null,
    },
  );
}

async function openExisting(
  dir: string,
  cluster: string,
  size: number,
  entries: readonly string[],
  lock: DataDirLock,
): Promise<DataDir> {
  const marker = await readMarker(dir);
  if (marker.cluster !== cluster || marker.size !== size) {
    throw new DataDirError(
      path.join(dir, DATA_DIR_FILES.marker),
      `belongs to cluster "${marker.cluster}" of size ${marker.size}, not cluster "${cluster}" of size ${size}: refusing to use it`,
    );
  }
  const privateKey = await readIdentityKey(dir);
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  if (peerId !== marker.peerId) {
    throw new DataDirError(
      path.join(dir, DATA_DIR_FILES.identityKey),
      `holds the key of peer ${peerId}, but ${DATA_DIR_FILES.marker} names peer ${marker.peerId}`,
    );
  }
  const roster = await readRoster(dir, size);
  const clusterKey = await readClusterKey(dir);
  const listenPort = await readListenPort(dir);
  const peerAddresses = await readPeerAddresses(dir);
  const viewState = await readView(dir);
  const stable = await readCheckpoint(dir);
  const log = await readLog(dir, entries, stable?.seq ?? 0);
  // Only once everything checked out: the temp files are then surely ours, left by a crashed write;
  // torn log tails were never acknowledged, and segments at or below the checkpoint are collected.
  await removeTempFiles(dir, entries);
  for (const { file, keepBytes } of log.tornTails) await truncate(file, keepBytes);
  for (const file of log.obsolete) await unlink(file).catch(() => {});
  return new OpenDataDir(
    dir,
    size,
    lock,
    privateKey,
    peerId,
    marker.createdAt,
    roster,
    clusterKey,
    listenPort,
    peerAddresses,
    {
      ...viewState,
      stable,
      log: logAbove(stable?.seq ?? 0, log.records),
    },
  );
}

// ---------------------------------------------------------------------------------------------
// The open directory: writes go through one queue, so records land in the order given

type WriteKind = 'roster' | 'view' | 'checkpoint' | 'cluster-key' | 'listen' | 'peers' | 'behaviours';

interface PendingWrite {
  readonly kind: WriteKind;
  readonly write: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const fdatasyncAsync = promisify(fdatasync);

class OpenDataDir implements DataDir {
  readonly dir: string;
  readonly privateKey: Ed25519PrivateKey;
  readonly peerId: string;
  readonly createdAt: string;
  readonly persisted: PersistedState;
  private readonly size: number;
  private readonly lock: DataDirLock;
  private savedRoster: readonly string[] | null;
  private savedClusterKey: ClusterKey | null;
  private savedListenPort: number | null;
  private savedPeerAddresses: Readonly<Record<string, readonly string[]>>;
  private readonly queue: PendingWrite[] = [];
  /** Open log segments (file descriptors), by segment number (appendLog). */
  private readonly segments = new Map<number, number>();
  private draining: Promise<void> | null = null;
  private closed = false;

  constructor(
    dir: string,
    size: number,
    lock: DataDirLock,
    privateKey: Ed25519PrivateKey,
    peerId: string,
    createdAt: string,
    roster: readonly string[] | null,
    clusterKey: ClusterKey | null,
    listenPort: number | null,
    peerAddresses: Readonly<Record<string, readonly string[]>>,
    persisted: PersistedState,
  ) {
    this.savedPeerAddresses = peerAddresses;
    this.savedClusterKey = clusterKey;
    this.savedListenPort = listenPort;
    this.dir = dir;
    this.size = size;
    this.lock = lock;
    this.privateKey = privateKey;
    this.peerId = peerId;
    this.createdAt = createdAt;
    this.savedRoster = roster;
    this.persisted = persisted;
  }

  get roster(): readonly string[] | null {
    return this.savedRoster;
  }

  get clusterKey(): ClusterKey | null {
    return this.savedClusterKey;
  }

  get listenPort(): number | null {
    return this.savedListenPort;
  }

  get peerAddresses(): Readonly<Record<string, readonly string[]>> {
    return this.savedPeerAddresses;
  }

  savePeerAddresses(addresses: Readonly<Record<string, readonly string[]>>): Promise<void> {
    const problem = peerAddressesProblem(addresses);
    if (problem !== null) return Promise.reject(new RangeError(`cannot save peer addresses: ${problem}`));
    const copy = Object.fromEntries(Object.entries(addresses).map(([peer, list]) => [peer, [...list]]));
    return this.enqueue('peers', async () => {
      await writeAtomic(this.dir, DATA_DIR_FILES.peers, [jsonBytes({ version: DATA_DIR_VERSION, addresses: copy })]);
      this.savedPeerAddresses = copy;
    });
  }

  saveClusterKey(key: ClusterKey): Promise<void> {
    return this.enqueue('cluster-key', async () => {
      await writeAtomic(this.dir, DATA_DIR_FILES.clusterKey, [key.pskFile]);
      this.savedClusterKey = key;
    });
  }

  saveListenPort(port: number): Promise<void> {
    if (!isPort(port)) return Promise.reject(new RangeError(`cannot save listen port ${port}`));
    return this.enqueue('listen', async () => {
      await writeAtomic(this.dir, DATA_DIR_FILES.listen, [jsonBytes({ version: DATA_DIR_VERSION, tcpPort: port })]);
      this.savedListenPort = port;
    });
  }

  saveRoster(roster: readonly string[]): Promise<void> {
    const copy = Object.freeze([...roster]);
    const problem = rosterProblem(copy, this.size);
    if (problem !== null) return Promise.reject(new RangeError(`cannot save roster: ${problem}`));
    return this.enqueue('roster', async () => {
      await writeAtomic(this.dir, DATA_DIR_FILES.roster, [jsonBytes({ version: DATA_DIR_VERSION, roster: copy })]);
      this.savedRoster = copy;
    });
  }

  async readBehaviours(): Promise<StoredBehaviours | null> {
    const file = path.join(this.dir, DATA_DIR_FILES.behaviours);
    const bytes = await readFileOrNull(file);
    if (bytes === null) return null;
    const value = parseJsonObject(file, bytes);
    checkVersion(file, value);
    const stored = readBehavioursFields(value);
    if (typeof stored === 'string') throw new DataDirError(file, `holds no valid behaviour histories: ${stored}`);
    return stored;
  }

  saveBehaviours(stored: StoredBehaviours): Promise<void> {
    const bytes = jsonBytes({ version: DATA_DIR_VERSION, ...behavioursFileFields(stored) });
    return this.enqueue('behaviours', () => writeAtomic(this.dir, DATA_DIR_FILES.behaviours, [bytes]));
  }

  persist(record: PersistRecord): Promise<void> {
    switch (record.type) {
      case 'view': {
        if (!Number.isSafeInteger(record.view) || record.view < 0)
          return Promise.reject(new RangeError(`cannot persist view ${record.view}`));
        // Every field of the record but its type, so fields the replica adds (the NEW-VIEW's min-s and
        // O) are on disk without a change here; readView says which ones a restart reads back.
        const { type: _, ...fields } = record;
        // The signed NEW-VIEW goes in as its canonical encoding (base64): JSON has no bytes.
        const newView = fields.newView?.message
          ? { ...fields.newView, message: Buffer.from(encodeMessage(fields.newView.message)).toString('base64') }
          : fields.newView;
        return this.enqueue('view', () =>
          writeAtomic(this.dir, DATA_DIR_FILES.view, [
            jsonBytes({ version: DATA_DIR_VERSION, ...fields, ...(newView ? { newView } : {}) }),
          ]),
        );
      }
      case 'stable-checkpoint': {
        const { seq, stateDigest, proof, snapshot } = record;
        return this.enqueue('checkpoint', async () => {
          await writeAtomic(
            this.dir,
            DATA_DIR_FILES.checkpoint,
            encodeCheckpointFile({ seq, stateDigest, proof, snapshot }),
          );
          await this.collectLog(seq);
        });
      }
      case 'pre-prepared':
      case 'prepared':
        try {
          this.appendLog(record);
          return Promise.resolve();
        } catch (error) {
          return Promise.reject(error as Error);
        }
      default: {
        const unknown: never = record;
        return Promise.reject(new TypeError(`unknown persist record ${JSON.stringify(unknown)}`));
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      while (this.draining !== null) await this.draining;
      for (const fd of this.segments.values()) {
        await fdatasyncAsync(fd).catch(() => {});
        closeSync(fd);
      }
      this.segments.clear();
    } finally {
      await this.lock.release();
    }
  }

  private enqueue(kind: WriteKind, write: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(new DataDirError(this.dir, 'is closed'));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind, write, resolve, reject });
      this.draining ??= this.drain();
    });
  }

  /**
   * Append a log record to its segment, at once and synchronously: a write of a few hundred bytes to
   * the page cache costs microseconds, a round trip through libuv's thread pool (two thread wake-ups)
   * costs more than the replica's own work for the batch at low load. Records are not fsynced one by
   * one either: a record is in the operating system at once, which survives a crash of the process;
   * the segments are fsynced with every stable checkpoint and at close. A power loss may take the
   * last moments of the log (docs/protocol.md, "What is persisted").
   */
  appendLog(record: LogRecord): void {
    if (!Number.isSafeInteger(record.seq) || record.seq < 1)
      throw new RangeError(`cannot persist a log record for n=${record.seq}`);
    if (this.closed) throw new DataDirError(this.dir, 'is closed');
    const segment = segmentOf(record.seq);
    const file = path.join(this.dir, segmentFile(segment));
    try {
      let fd = this.segments.get(segment);
      if (fd === undefined) this.segments.set(segment, (fd = openSync(file, 'a', FILE_MODE)));
      const bytes = encodeLogRecord(record);
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      throw new DataDirError(file, `cannot be appended to (${errorCode(error)})`, { cause: error });
    }
  }

  /** Make the open segments durable, close and delete those a stable checkpoint at `seq` made obsolete. */
  private async collectLog(seq: number): Promise<void> {
    for (const [segment, fd] of [...this.segments]) {
      if (segmentLastSeq(segment) <= seq) {
        this.segments.delete(segment);
        closeSync(fd);
      } else await fdatasyncAsync(fd).catch(() => {});
    }
    for (const name of await readdir(this.dir)) {
      const segment = parseSegmentFile(name)?.segment;
      if (segment !== undefined && segmentLastSeq(segment) <= seq)
        await unlink(path.join(this.dir, name)).catch(() => {});
    }
  }

  private async drain(): Promise<void> {
    // Yield first, so `draining` is set before this can finish; from then on the emptiness check and
    // `draining = null` run together, and a write enqueued at any moment is seen by this loop or starts the next.
    await null;
    while (this.queue.length > 0) {
      // Consecutive writes of one file supersede each other: only the last is written, and all of
      // them resolve when it lands. So a slow disk meets a backlog of stale checkpoints (tens of MB
      // each) or views with one write, and the order across files is still the order given.
      let count = 1;
      while (count < this.queue.length && this.queue[count]!.kind === this.queue[0]!.kind) count++;
      const batch = this.queue.splice(0, count);
      try {
        await batch[batch.length - 1]!.write();
        for (const pending of batch) pending.resolve();
      } catch (error) {
        for (const pending of batch) pending.reject(error);
      }
    }
    this.draining = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading and checking the files

async function readMarker(dir: string): Promise<DataDirMarker> {
  const file = path.join(dir, DATA_DIR_FILES.marker);
  const value = parseJsonObject(file, await readFileOrNull(file));
  if (value.format !== MARKER_FORMAT) {
    throw new DataDirError(file, `is not a PBFT Lab marker (format ${JSON.stringify(value.format)})`);
  }
  checkVersion(file, value);
  const { cluster, size, peerId, createdAt } = value;
  if (typeof cluster !== 'string' || cluster.length === 0) throw new DataDirError(file, 'has no valid cluster name');
  if (!Number.isSafeInteger(size) || (size as number) < 1) throw new DataDirError(file, 'has no valid cluster size');
  if (typeof peerId !== 'string' || peerId.length === 0) throw new DataDirError(file, 'has no valid peer id');
  if (typeof createdAt !== 'string') throw new DataDirError(file, 'has no valid creation time');
  return { format: MARKER_FORMAT, version: DATA_DIR_VERSION, cluster, size: size as number, peerId, createdAt };
}

async function readIdentityKey(dir: string): Promise<Ed25519PrivateKey> {
  const file = path.join(dir, DATA_DIR_FILES.identityKey);
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new DataDirError(file, 'is missing: the identity of this data directory is lost, and its roster names it');
    }
    throw new DataDirError(file, `cannot be read (${errorCode(error)})`, { cause: error });
  }
  let bytes: Uint8Array;
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new DataDirError(file, 'is not a regular file');
    // Decision: a key that group or others may access is refused, as ssh refuses one ("UNPROTECTED
    // PRIVATE KEY FILE"), not silently chmod-ed back to 0600: whoever could read it may have copied
    // it, and only the user can tell whether to keep it (chmod 600) or take a new identity (a new
    // data directory, and the cluster forms again). We write it 0600 ourselves, so a wider mode
    // means someone changed it, or copied the directory carelessly.
    if (POSIX && (stats.mode & 0o077) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      throw new DataDirError(
        file,
        `private key is accessible by group or others (mode ${mode}): refusing to use it. ` +
          'If nobody else can have read it, run `chmod 600` on it; otherwise start over in a new data directory',
      );
    }
    bytes = await handle.readFile();
  } catch (error) {
    if (error instanceof DataDirError) throw error;
    throw new DataDirError(file, `cannot be read (${errorCode(error)})`, { cause: error });
  } finally {
    await handle.close();
  }
  let key;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (error) {
    throw new DataDirError(file, `is not a valid libp2p private key (${errorMessage(error)})`, { cause: error });
  }
  if (key.type !== 'Ed25519') throw new DataDirError(file, `holds a ${key.type} key, not an Ed25519 key`);
  return key;
}

async function readClusterKey(dir: string): Promise<ClusterKey | null> {
  const file = path.join(dir, DATA_DIR_FILES.clusterKey);
  const bytes = await readFileOrNull(file);
  if (bytes === null) return null;
  try {
    return ClusterKey.fromPskFile(bytes);
  } catch (error) {
    if (error instanceof ClusterKeyError) throw new DataDirError(file, `holds no valid cluster key: ${error.message}`);
    throw error;
  }
}

async function readListenPort(dir: string): Promise<number | null> {
  const file = path.join(dir, DATA_DIR_FILES.listen);
  const bytes = await readFileOrNull(file);
  if (bytes === null) return null;
  const value = parseJsonObject(file, bytes);
  checkVersion(file, value);
  if (!isPort(value.tcpPort))
    throw new DataDirError(file, `holds no valid TCP port (${JSON.stringify(value.tcpPort)})`);
  return value.tcpPort;
}

async function readPeerAddresses(dir: string): Promise<Record<string, readonly string[]>> {
  const file = path.join(dir, DATA_DIR_FILES.peers);
  const bytes = await readFileOrNull(file);
  if (bytes === null) return {};
  const value = parseJsonObject(file, bytes);
  checkVersion(file, value);
  const problem = peerAddressesProblem(value.addresses);
  if (problem !== null) throw new DataDirError(file, `holds no valid peer addresses: ${problem}`);
  return value.addresses as Record<string, readonly string[]>;
}

/** At most 256 peers of at most 16 addresses of at most 256 characters each. */
function peerAddressesProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const entries = Object.entries(value);
  if (entries.length > 256) return 'more than 256 peers';
  for (const [peer, list] of entries) {
    if (peer.length === 0 || peer.length > 128) return `peer id ${JSON.stringify(peer.slice(0, 20))} of bad length`;
    if (!Array.isArray(list) || list.length > 16 || !list.every((a) => typeof a === 'string' && a.length <= 256))
      return `addresses of ${peer} are not a list of at most 16 strings`;
  }
  return null;
}

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0 && (value as number) <= 65535;
}

async function readRoster(dir: string, size: number): Promise<readonly string[] | null> {
  const file = path.join(dir, DATA_DIR_FILES.roster);
  const bytes = await readFileOrNull(file);
  if (bytes === null) return null;
  const value = parseJsonObject(file, bytes);
  checkVersion(file, value);
  const problem = rosterProblem(value.roster, size);
  if (problem !== null) throw new DataDirError(file, `holds no valid roster: ${problem}`);
  return Object.freeze([...(value.roster as string[])]);
}

/**
 * The view record as the replica restarts from it: the view, and whether it was installed (a file
 * written before `normal` existed says nothing, read as installed). This is the one place that reads
 * view.json's fields: a field the replica adds to the view record (the NEW-VIEW's min-s and O, as
 * `{seq, digest}[]`) is written already, and is validated and returned here once the replica reads it.
 */
async function readView(dir: string): Promise<Pick<PersistedState, 'view' | 'viewNormal' | 'newView'>> {
  const file = path.join(dir, DATA_DIR_FILES.view);
  const bytes = await readFileOrNull(file);
  if (bytes === null) return { view: 0, viewNormal: true };
  const value = parseJsonObject(file, bytes);
  checkVersion(file, value);
  const { view, normal, newView } = value;
  if (!Number.isSafeInteger(view) || (view as number) < 0) {
    throw new DataDirError(file, `holds no valid view (${JSON.stringify(view)})`);
  }
  if (normal !== undefined && typeof normal !== 'boolean')
    throw new DataDirError(file, `holds no valid view status (${JSON.stringify(normal)})`);
  if (newView === undefined) return { view: view as number, viewNormal: normal ?? true };
  return { view: view as number, viewNormal: normal ?? true, newView: readNewViewBinding(file, newView) };
}

/** What the installed view's NEW-VIEW bound (min-s and O, core/pbft/replica.ts): checked field by field. */
function readNewViewBinding(file: string, value: unknown): NonNullable<PersistedState['newView']> {
  const bad = (what: string): never => {
    throw new DataDirError(file, `holds no valid NEW-VIEW binding (${what})`);
  };
  if (typeof value !== 'object' || value === null) return bad('not an object');
  const { minSeq, order, message } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(minSeq) || (minSeq as number) < 0) return bad(`min-s ${JSON.stringify(minSeq)}`);
  if (!Array.isArray(order) || order.length > ORDER_ENTRIES_MAX) return bad('O is not a list');
  const entries = order.map((o: unknown, i) => {
    const { seq, digest } = (typeof o === 'object' && o !== null ? o : {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(seq) || (seq as number) <= (minSeq as number)) return bad(`O[${i}].seq`);
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) return bad(`O[${i}].digest`);
    return { seq: seq as number, digest };
  });
  if (message === undefined) return { minSeq: minSeq as number, order: entries };
  if (typeof message !== 'string') return bad('the NEW-VIEW is not a string');
  const decoded = decodeMessage(Buffer.from(message, 'base64'));
  if (!decoded.ok || decoded.message.type !== 'new-view') return bad('the NEW-VIEW does not decode');
  return { minSeq: minSeq as number, order: entries, message: decoded.message };
}

/** O never orders more than a log window; a generous cap for a file read from disk. */
const ORDER_ENTRIES_MAX = 1 << 20;

async function readCheckpoint(dir: string): Promise<PersistedState['stable']> {
  const file = path.join(dir, DATA_DIR_FILES.checkpoint);
  const bytes = await readFileOrNull(file);
  if (bytes === null) return null;
  const decoded = decodeCheckpointFile(bytes);
  if (!decoded.ok) throw new DataDirError(file, decoded.reason);
  const { seq, stateDigest, proof, snapshot } = decoded.checkpoint;
  return { seq, stateDigest, proof, snapshot };
}

/**
 * The log segments: their records, the torn tails to cut off, and the segments a stable checkpoint
 * made obsolete. A version-1 segment's torn tail is ignored but not cut: it is never appended to.
 */
async function readLog(
  dir: string,
  entries: readonly string[],
  stableSeq: number,
): Promise<{ records: LogRecord[]; tornTails: { file: string; keepBytes: number }[]; obsolete: string[] }> {
  const records: LogRecord[] = [];
  const tornTails: { file: string; keepBytes: number }[] = [];
  const obsolete: string[] = [];
  const segments = entries
    .map((name) => ({ file: path.join(dir, name), parsed: parseSegmentFile(name) }))
    .filter((e) => e.parsed !== null)
    .map((e) => ({ file: e.file, ...e.parsed! }))
    // Version 1 before version 2 of the same segment: that is the order they were written in.
    .sort((a, b) => a.segment - b.segment || a.version - b.version);
  for (const { file, segment, version } of segments) {
    if (segmentLastSeq(segment) <= stableSeq) {
      obsolete.push(file);
      continue;
    }
    const bytes = (await readFileOrNull(file)) ?? new Uint8Array(0);
    const read = decodeLogSegment(bytes, version);
    if (!read.ok) throw new DataDirError(file, `is damaged: ${read.reason}; refusing to use it (nothing was changed)`);
    records.push(...read.records);
    if (read.tornTailBytes > 0 && version === 2) tornTails.push({ file, keepBytes: bytes.length - read.tornTailBytes });
  }
  return { records, tornTails, obsolete };
}

/** Why `roster` is not a roster of `size` distinct peer ids, or null if it is one. */
function rosterProblem(roster: unknown, size: number): string | null {
  if (!Array.isArray(roster)) return 'not a list';
  if (roster.length !== size) return `${roster.length} peers, not ${size}`;
  if (!roster.every((peer) => typeof peer === 'string' && peer.length > 0)) return 'not all peer ids are strings';
  if (new Set(roster).size !== roster.length) return 'a peer id appears twice';
  return null;
}

/** The file as a plain Uint8Array, or null if it does not exist. A missing marker is caught earlier. */
async function readFileOrNull(file: string): Promise<Uint8Array | null> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw new DataDirError(file, `cannot be read (${errorCode(error)})`, { cause: error });
  }
  try {
    const buffer = await handle.readFile();
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    throw new DataDirError(file, `cannot be read (${errorCode(error)})`, { cause: error });
  } finally {
    await handle.close();
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(file: string, bytes: Uint8Array | null): Record<string, unknown> {
  if (bytes === null) throw new DataDirError(file, 'is missing');
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    throw new DataDirError(file, `is not valid JSON (${errorMessage(error)})`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DataDirError(file, 'is not a JSON object');
  }
  return value as Record<string, unknown>;
}

function checkVersion(file: string, value: Record<string, unknown>): void {
  const { version } = value;
  if (version === DATA_DIR_VERSION) return;
  if (!Number.isSafeInteger(version)) throw new DataDirError(file, 'has no format version');
  throw new DataDirError(
    file,
    `has unknown format version ${String(version)} (this build reads version ${DATA_DIR_VERSION})`,
  );
}

// ---------------------------------------------------------------------------------------------
// The directory and atomic writes

/** The directory's entries, or null if it does not exist. */
async function listEntries(dir: string): Promise<string[] | null> {
  try {
    return await readdir(dir);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new DataDirError(dir, 'is not a directory', { cause: error });
    throw new DataDirError(dir, `cannot be read (${code})`, { cause: error });
  }
}

async function makePrivateDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    await chmod(dir, DIR_MODE); // mkdir's mode is narrowed by the umask; make it exactly 0700
    await syncDir(path.dirname(dir));
  } catch (error) {
    throw new DataDirError(dir, `cannot be created (${errorCode(error)})`, { cause: error });
  }
}

/**
 * Replace `dir/name` with `chunks`: write a temp file in the same directory, fsync it, rename it
 * over the old file, fsync the directory. A crash at any point leaves the old file or the new one.
 */
async function writeAtomic(dir: string, name: string, chunks: readonly Uint8Array[]): Promise<void> {
  const target = path.join(dir, name);
  const temp = path.join(dir, `.${name}.tmp-${randomBytes(8).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx', FILE_MODE);
    try {
      await handle.chmod(FILE_MODE); // open's mode is narrowed by the umask; make it exactly 0600
      for (const chunk of chunks) await writeAll(handle, chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw new DataDirError(target, `cannot be written (${errorCode(error)})`, { cause: error });
  }
  try {
    await syncDir(dir);
  } catch (error) {
    throw new DataDirError(dir, `cannot be synced after writing ${name} (${errorCode(error)})`, { cause: error });
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset, null);
    offset += bytesWritten;
  }
}

/** Make a rename or a new entry in `dir` durable. */
async function syncDir(dir: string): Promise<void> {
  if (!POSIX) return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Temp files from crashed writes: nothing refers to them. Best effort; they are ignored anyway. */
async function removeTempFiles(dir: string, entries: readonly string[]): Promise<void> {
  for (const name of entries) {
    if (TEMP_FILE.test(name)) await unlink(path.join(dir, name)).catch(() => {});
  }
}

function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n');
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : errorMessage(error);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
