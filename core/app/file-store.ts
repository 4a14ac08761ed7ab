/**
 * The lab's replicated application: a small file system (the paper's example service is BFS, an
 * NFS file system; OSDI'99 §6). Operations, results, path rules and limits are in file-ops.ts.
 *
 * State digest (what checkpoints certify, OSDI'99 §4.3). It is maintained incrementally, in the
 * spirit of the state partition tree of Castro & Liskov, TOCS'02 §6.2.2, whose interior digests
 * are AdHash sums (Bellare & Micciancio, EUROCRYPT'97) of their children's digests, so changing one
 * page costs O(1) digest work rather than a rehash of the state. Here the state is a set of files:
 *
 *   leaf(f)  = H("FSL1" ‖ u32 len(path) ‖ path ‖ u64 version ‖ u64 modifiedSeq ‖ u32 len(data) ‖ data)
 *   term(f)  = leaf(f) ‖ H("FSX1" ‖ leaf(f) ‖ u8 1) ‖ … ‖ H("FSX1" ‖ leaf(f) ‖ u8 7)   a 2048-bit integer
 *   sum      = Σ term(f)  mod 2^2048                    (leaf and term as raw digest bytes, big-endian)
 *   digest() = H("FSD1" ‖ u32 fileCount ‖ sum as 256 big-endian bytes)
 *
 * A change to file f subtracts its old term and adds its new one: one hash over f (which is why an
 * append to a large file rehashes only that file), 7 small hashes to widen the leaf, two 2048-bit
 * additions; digest() itself is one small hash, cached until the next change. The sum is
 * order-independent, so equal states give equal digests whatever order their files were created in.
 *
 * Why 2048 bits rather than the 256 of one hash per file: a sum modulo 2^n can be matched by
 * Wagner's k-tree algorithm (CRYPTO'02, "A Generalized Birthday Problem") with roughly
 * k·2^(n/(1+lg k)) hashes. A faulty replica serving state transfer would need a different set of
 * files with the same count and sum; with up to FILES_MAX ≈ 2^13 files to play with, n = 256 falls to
 * about 2^31 hashes, n = 2048 needs about 2^159. The price is the 7 widening hashes per change.
 *
 * Savepoints (tentative execution, OSDI'99 §5.1; the contract is `Undoable` in state-machine.ts).
 * `savepoint()` remembers the running sum, cached digest, byte total and sorted order (values that
 * are replaced, never mutated), and from then on the first change to each path journals that path's
 * file as it was: its entry object and field values, or that there was none. File bytes are never
 * mutated in place, so the journal keeps references, not copies. `rollback()` puts each journaled
 * path back and the remembered values with it: O(paths touched), no hashing, no rebuilt indexes.
 *
 * Access (OSDI'99 §3: "deny access if the client issuing a request does not have the right to invoke
 * the operation", and operations "to change the access permissions of a client"). The store keeps a
 * set of revoked client principals as part of the replicated state: a `revoke` op, ordered like any
 * write, adds one; from then on every operation of that principal (a client peer and all its logical
 * clients, `FileStoreAccess.principalOf`) executes as a REVOKED error and changes nothing. The check
 * is made at execution, against the state every correct replica has at that point of the order, so
 * all of them refuse the same requests: a revocation made at one replica holds at all. Only clients
 * `FileStoreAccess.mayRevoke` names (the replicas' own) may revoke, and they cannot be revoked. The
 * set is in the digest and the snapshot; while it is empty both are exactly those of the files alone:
 *
 *   digest() = H("FSR1" ‖ files digest as 32 bytes ‖ u32 count ‖ principal:str … in UTF-8 byte order)
 */
import type { Digest, Hasher } from './hashing.ts';
import { ByteReader, ByteWriter, DecodeError, compareBytes, hexToBytes } from './binary.ts';
import {
  CLIENT_BYTES_MAX,
  FILES_MAX,
  FILE_BYTES_MAX,
  REVOKED_MAX,
  PATH_BYTES_MAX,
  STORE_BYTES_MAX,
  decodeOp,
  encodeResult,
  fileError,
  isReadOnlyKind,
  peekOpKind,
  showPath,
  validateDir,
  validatePath,
} from './file-ops.ts';
import type { FileOp, FileResult, FileStat } from './file-ops.ts';
import { SavepointError } from './state-machine.ts';
import type { ExecutionContext, StateMachine } from './state-machine.ts';
import { isWellFormed, utf8Encode, utf8Length } from './utf8.ts';

/** Width of the digest's AdHash modulus (see the header for why). */
export const DIGEST_SUM_BITS = 2048;
/**
 * Sums and terms are BigInts: parsing a term from its hex and adding 2048-bit BigInts measured
 * faster here than word arrays (typed-array allocation and hex parsing in JS cost more).
 */
const SUM_MASK = (1n << BigInt(DIGEST_SUM_BITS)) - 1n;
const SUM_BYTES = DIGEST_SUM_BITS / 8;
/** SHA-256 outputs concatenated into one term. */
const TERM_HASHES = DIGEST_SUM_BITS / 256;

const LEAF_TAG = utf8Encode('FSL1');
const EXPAND_TAG = utf8Encode('FSX1');
const DIGEST_TAG = utf8Encode('FSD1');
const REVOKED_DIGEST_TAG = utf8Encode('FSR1');
/** Leaves up to this size are built in a reused buffer. */
const LEAF_SCRATCH_BYTES = 4096;

/**
 * Snapshot layout: "PFS" 0x01, u32 fileCount, then per file in UTF-8 byte order of path:
 * path:str version:u64 modifiedSeq:u64 data:bytes. Nothing derived (sum, directories) is stored.
 * With revoked clients: "PFS" 0x02, u32 revokedCount, principal:str … in UTF-8 byte order, then the
 * same from u32 fileCount on.
 */
const SNAPSHOT_MAGIC = new Uint8Array([0x50, 0x46, 0x53, 0x01]);
const SNAPSHOT_MAGIC_REVOKED = new Uint8Array([0x50, 0x46, 0x53, 0x02]);

/** Who may change clients' access, and what a client id's principal is. */
export interface FileStoreAccess {
  /** Whether `client` may revoke others (and is itself beyond revocation): a replica's own client. */
  readonly mayRevoke: (client: string) => boolean;
  /** The principal a revocation names and covers (a client peer for all its logical clients). @default the id itself */
  readonly principalOf?: (client: string) => string;
}

/** Nobody may revoke: the default for a store without operators (tests, the simulator). */
const NO_OPERATORS: FileStoreAccess = { mayRevoke: () => false };
const NO_ONE: ReadonlySet<string> = new Set();
const SNAPSHOT_FILE_BYTES_MIN = 4 + 1 + 8 + 8 + 4;

interface FileEntry {
  readonly path: string;
  /** UTF-8 of `path`: the sort key and the bytes hashed and snapshotted. */
  readonly pathBytes: Uint8Array;
  /** Owned by the store: never handed out without a copy. */
  data: Uint8Array;
  version: number;
  modifiedSeq: number;
  /** This file's current term in the digest sum (0n until first counted). */
  term: bigint;
}

/** A file's mutable fields as they were at the savepoint (`#write` changes the entry in place). */
interface FileBefore {
  readonly entry: FileEntry;
  readonly data: Uint8Array;
  readonly version: number;
  readonly modifiedSeq: number;
  readonly term: bigint;
}

/** What `rollback()` needs: the store-wide values at the savepoint, and the undo journal. */
interface Savepoint {
  readonly sum: bigint;
  readonly digest: Digest | undefined;
  readonly bytesTotal: number;
  readonly sorted: FileEntry[] | undefined;
  /** The revoked set at the savepoint (a revoke replaces the set, never changes it). */
  readonly revoked: ReadonlySet<string>;
  /** Path → its file at the savepoint (null: none), recorded at the path's first change after it. */
  readonly journal: Map<string, FileBefore | null>;
}

export class FileStore implements StateMachine {
  readonly #hasher: Hasher;
  #files = new Map<string, FileEntry>();
  /** Each implicit directory (not `/`) → how many files lie beneath it at any depth. */
  #dirs = new Map<string, number>();
  /** Σ size of all files. */
  #bytesTotal = 0;
  /** Σ term(f) mod 2^DIGEST_SUM_BITS over all files. */
  #sum = 0n;
  /** digest() cached until the next change. */
  #digest: Digest | undefined;
  /** Files in path byte order, for list and snapshot; dropped when a file is created or deleted. */
  #sorted: FileEntry[] | undefined = [];
  /** Open while a tentative execution may still be taken back (§5.1; see the header). */
  #savepoint: Savepoint | undefined;
  readonly #access: FileStoreAccess;
  /** Revoked client principals; replaced, never mutated (savepoints keep the old set). */
  #revoked: ReadonlySet<string> = NO_ONE;
  /**
   * Reused inputs for the hasher, which reads its input synchronously and keeps nothing: a fresh
   * typed array costs about as much as a small SHA-256 here.
   */
  readonly #leafScratch = new Uint8Array(LEAF_SCRATCH_BYTES);
  readonly #expandScratch = new Uint8Array(EXPAND_TAG.length + 32 + 1);

  constructor(hasher: Hasher, access: FileStoreAccess = NO_OPERATORS) {
    this.#hasher = hasher;
    this.#access = access;
    this.#expandScratch.set(EXPAND_TAG);
  }

  get fileCount(): number {
    return this.#files.size;
  }

  /** Bytes in all files together. */
  get bytesTotal(): number {
    return this.#bytesTotal;
  }

  /**
   * StateMachine door: bytes in, bytes out; bad bytes give a BAD_OP result. Throws RangeError only
   * for a host bug: a write or delete with `ctx.seq` not a non-negative safe integer (before any change).
   */
  execute(op: Uint8Array, ctx: ExecutionContext): Uint8Array {
    const refusal = this.#refuseRevoked(ctx.client);
    if (refusal !== undefined) return encodeResult(refusal);
    const decoded = decodeOp(op);
    const result = decoded.ok ? this.#apply(decoded.op, ctx) : fileError('BAD_OP', `bad op: ${decoded.reason}`);
    return encodeResult(result);
  }

  /** The same as `execute`, typed (for tests, the simulator's checker, local tools); copies data both ways. */
  apply(op: FileOp, ctx: ExecutionContext): FileResult {
    const refusal = this.#refuseRevoked(ctx.client);
    if (refusal !== undefined) return refusal;
    const owned = op.kind === 'write' || op.kind === 'append' ? { ...op, data: op.data.slice() } : op;
    const result = this.#apply(owned, ctx);
    return result.kind === 'data' ? { ...result, data: result.data.slice() } : result;
  }

  /** Whether the principal of `client` is revoked in the current state. */
  isRevoked(client: string): boolean {
    return this.#revoked.size > 0 && this.#revoked.has(this.#principalOf(client));
  }

  /** The revoked principals, in UTF-8 byte order. */
  revokedClients(): string[] {
    return sortedPrincipals(this.#revoked);
  }

  /** read, list and stat, judged by the tag byte alone; malformed bytes behind such a tag also change nothing. */
  isReadOnly(op: Uint8Array): boolean {
    const kind = peekOpKind(op);
    return kind !== undefined && isReadOnlyKind(kind);
  }

  digest(): Digest {
    this.#digest ??= this.#withRevoked(this.#digestOf(this.#files.size, this.#sum));
    return this.#digest;
  }

  /** The digest recomputed from every file's contents, ignoring the running sum (a check for tests and the simulator). */
  digestFromScratch(): Digest {
    let sum = 0n;
    for (const entry of this.#files.values()) sum = (sum + this.#termOf(entry)) & SUM_MASK;
    return this.#withRevoked(this.#digestOf(this.#files.size, sum));
  }

  snapshot(): Uint8Array {
    const entries = this.#sortedEntries();
    const revoked = sortedPrincipals(this.#revoked).map(utf8Encode);
    let length = SNAPSHOT_MAGIC.length + 4;
    for (const entry of entries) length += SNAPSHOT_FILE_BYTES_MIN - 1 + entry.pathBytes.length + entry.data.length;
    for (const principal of revoked) length += 4 + principal.length;
    const writer = new ByteWriter(length + (revoked.length > 0 ? 4 : 0));
    if (revoked.length > 0) {
      writer.raw(SNAPSHOT_MAGIC_REVOKED);
      writer.u32(revoked.length);
      for (const principal of revoked) writer.bytes(principal);
    } else {
      writer.raw(SNAPSHOT_MAGIC);
    }
    writer.u32(entries.length);
    for (const entry of entries) {
      writer.bytes(entry.pathBytes);
      writer.u64(entry.version);
      writer.u64(entry.modifiedSeq);
      writer.bytes(entry.data);
    }
    return writer.finish();
  }

  /**
   * All or nothing: the snapshot is parsed and checked against every rule before the state is
   * replaced. Success discards an open savepoint (state transfer supersedes a tentative execution).
   */
  restore(snapshot: Uint8Array): { ok: true } | { ok: false; reason: string } {
    let entries: FileEntry[];
    let revoked: ReadonlySet<string>;
    try {
      ({ entries, revoked } = parseSnapshot(snapshot));
    } catch (error) {
      if (error instanceof DecodeError) return { ok: false, reason: `bad snapshot: ${error.message}` };
      throw error;
    }
    let bytesTotal = 0;
    for (const entry of entries) bytesTotal += entry.data.length;
    if (bytesTotal > STORE_BYTES_MAX) {
      return { ok: false, reason: `bad snapshot: files hold ${bytesTotal} bytes (max ${STORE_BYTES_MAX})` };
    }
    const dirs = new Map<string, number>();
    for (const entry of entries) addToDirs(dirs, entry.path, 1);
    for (const entry of entries) {
      if (dirs.has(entry.path)) {
        return { ok: false, reason: `bad snapshot: ${showPath(entry.path)} is both a file and a directory` };
      }
    }
    let sum = 0n;
    for (const entry of entries) {
      entry.term = this.#termOf(entry);
      sum = (sum + entry.term) & SUM_MASK;
    }
    this.#files = new Map(entries.map((entry) => [entry.path, entry]));
    this.#dirs = dirs;
    this.#bytesTotal = bytesTotal;
    this.#sum = sum;
    this.#sorted = entries;
    this.#revoked = revoked;
    this.#digest = undefined;
    this.#savepoint = undefined;
    return { ok: true };
  }

  // ---- savepoints (§5.1 tentative execution) ------------------------------------------------

  get hasSavepoint(): boolean {
    return this.#savepoint !== undefined;
  }

  savepoint(): void {
    if (this.#savepoint !== undefined) throw new SavepointError('a savepoint is already open (one at a time)');
    this.#savepoint = {
      sum: this.#sum,
      digest: this.#digest,
      bytesTotal: this.#bytesTotal,
      sorted: this.#sorted,
      revoked: this.#revoked,
      journal: new Map(),
    };
  }

  rollback(): void {
    const savepoint = this.#closeSavepoint('rollback');
    // Each path is journaled once, as it was at the savepoint, so the order of undoing does not matter.
    for (const [path, before] of savepoint.journal) {
      const existsNow = this.#files.has(path);
      if (before === null) {
        if (existsNow) {
          this.#files.delete(path);
          addToDirs(this.#dirs, path, -1);
        }
        continue;
      }
      const { entry } = before;
      entry.data = before.data;
      entry.version = before.version;
      entry.modifiedSeq = before.modifiedSeq;
      entry.term = before.term;
      // A file deleted and created again has a new entry; the savepoint's goes back (a remembered `sorted` holds it).
      this.#files.set(path, entry);
      if (!existsNow) addToDirs(this.#dirs, path, 1);
    }
    this.#sum = savepoint.sum;
    this.#digest = savepoint.digest;
    this.#bytesTotal = savepoint.bytesTotal;
    this.#sorted = savepoint.sorted;
    this.#revoked = savepoint.revoked;
  }

  release(): void {
    this.#closeSavepoint('release');
  }

  #closeSavepoint(what: string): Savepoint {
    const savepoint = this.#savepoint;
    if (savepoint === undefined) throw new SavepointError(`${what} without an open savepoint`);
    this.#savepoint = undefined;
    return savepoint;
  }

  /** Before the first change to `path` since the savepoint: journal its file (`existing`), or its absence. */
  #journal(path: string, existing: FileEntry | undefined): void {
    const journal = this.#savepoint?.journal;
    if (journal === undefined || journal.has(path)) return;
    if (existing === undefined) {
      journal.set(path, null);
      return;
    }
    const { data, version, modifiedSeq, term } = existing;
    journal.set(path, { entry: existing, data, version, modifiedSeq, term });
  }

  // ---- operations ---------------------------------------------------------------------------

  /** `op.data` is owned by the store from here on; a `data` result aliases the store's bytes. */
  #apply(op: FileOp, ctx: ExecutionContext): FileResult {
    const { seq } = ctx;
    switch (op.kind) {
      case 'write':
        return this.#write(op.path, op.data, seq, false);
      case 'append':
        return this.#write(op.path, op.data, seq, true);
      case 'read': {
        const found = this.#find(op.path);
        return 'kind' in found ? found : { kind: 'data', stat: statOf(found), data: found.data };
      }
      case 'stat': {
        const found = this.#find(op.path);
        return 'kind' in found ? found : { kind: 'stat', stat: statOf(found) };
      }
      case 'delete':
        return this.#delete(op.path, seq);
      case 'list':
        return this.#list(op.dir);
      case 'revoke':
        return this.#revoke(op.client, ctx);
    }
  }

  // ---- access (see the header) ----------------------------------------------------------------

  #principalOf(client: string): string {
    return this.#access.principalOf?.(client) ?? client;
  }

  #refuseRevoked(client: string): FileResult | undefined {
    if (!this.isRevoked(client)) return undefined;
    return fileError('REVOKED', `client ${showPath(this.#principalOf(client))} was revoked`);
  }

  #revoke(target: string, ctx: ExecutionContext): FileResult {
    checkSeq(ctx.seq);
    if (!this.#access.mayRevoke(ctx.client)) {
      return fileError('NOT_ALLOWED', `only a replica's own client may revoke clients, not ${showPath(ctx.client)}`);
    }
    if (target === '' || !isWellFormed(target) || utf8Length(target) > CLIENT_BYTES_MAX) {
      return fileError('BAD_OP', `bad client id ${showPath(target)} (non-empty, at most ${CLIENT_BYTES_MAX} bytes)`);
    }
    if (this.#access.mayRevoke(target)) {
      return fileError('NOT_ALLOWED', `${showPath(target)} is a replica's own client: it cannot be revoked`);
    }
    const principal = this.#principalOf(target);
    if (this.#revoked.has(principal)) return { kind: 'revoked', client: principal };
    if (this.#revoked.size >= REVOKED_MAX) {
      return fileError('NOT_ALLOWED', `${REVOKED_MAX} clients are revoked already (max)`);
    }
    this.#revoked = new Set([...this.#revoked, principal]);
    this.#digest = undefined;
    return { kind: 'revoked', client: principal };
  }

  #write(path: string, data: Uint8Array, seq: number, append: boolean): FileResult {
    checkSeq(seq);
    const checked = validatePath(path);
    if (!checked.ok) return badPath(path, checked.reason);
    const existing = this.#files.get(path);
    const sizeBefore = existing?.data.length ?? 0;
    const size = (append ? sizeBefore : 0) + data.length;
    if (size > FILE_BYTES_MAX) {
      return fileError('TOO_LARGE', `${showPath(path)} would be ${size} bytes (max ${FILE_BYTES_MAX})`);
    }
    const bytesTotal = this.#bytesTotal - sizeBefore + size;
    if (bytesTotal > STORE_BYTES_MAX) {
      return fileError('STORE_FULL', `files would hold ${bytesTotal} bytes (max ${STORE_BYTES_MAX})`);
    }
    if (existing !== undefined) {
      this.#journal(path, existing);
      this.#bytesTotal = bytesTotal;
      existing.data = append ? concat(existing.data, data) : data;
      existing.version += 1;
      existing.modifiedSeq = seq;
      this.#recount(existing);
      return { kind: 'written', stat: statOf(existing) };
    }
    const refusal = this.#refuseCreate(path);
    if (refusal !== undefined) return refusal;
    this.#journal(path, undefined);
    const entry: FileEntry = { path, pathBytes: checked.bytes, data, version: 1, modifiedSeq: seq, term: 0n };
    this.#files.set(path, entry);
    this.#bytesTotal = bytesTotal;
    addToDirs(this.#dirs, path, 1);
    this.#sorted = undefined;
    this.#recount(entry);
    return { kind: 'written', stat: statOf(entry) };
  }

  #delete(path: string, seq: number): FileResult {
    checkSeq(seq);
    const found = this.#find(path);
    if ('kind' in found) return found;
    this.#journal(path, found);
    this.#files.delete(path);
    this.#bytesTotal -= found.data.length;
    addToDirs(this.#dirs, path, -1);
    this.#sorted = undefined;
    this.#sum = (this.#sum - found.term) & SUM_MASK;
    this.#digest = undefined;
    return { kind: 'deleted', path };
  }

  #list(dir: string): FileResult {
    const checked = validateDir(dir);
    if (!checked.ok) return badPath(dir, checked.reason);
    if (dir !== '/') {
      if (this.#files.has(dir)) return fileError('NOT_A_DIRECTORY', `not a directory: ${showPath(dir)}`);
      if (!this.#dirs.has(dir)) return fileError('NOT_FOUND', `no such directory: ${showPath(dir)}`);
    }
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const entries: FileStat[] = [];
    for (const entry of this.#sortedEntries()) {
      if (entry.path.startsWith(prefix)) entries.push(statOf(entry));
    }
    return { kind: 'listing', dir, entries };
  }

  /** The file at `path`, or the error result that says why there is none. */
  #find(path: string): FileEntry | FileResult {
    const checked = validatePath(path);
    if (!checked.ok) return badPath(path, checked.reason);
    const entry = this.#files.get(path);
    if (entry !== undefined) return entry;
    if (this.#dirs.has(path)) return fileError('IS_A_DIRECTORY', `is a directory: ${showPath(path)}`);
    return fileError('NOT_FOUND', `no such file: ${showPath(path)}`);
  }

  /** Why a new file cannot be created at (valid) `path`, if it cannot. */
  #refuseCreate(path: string): FileResult | undefined {
    if (this.#dirs.has(path)) return fileError('IS_A_DIRECTORY', `is a directory: ${showPath(path)}`);
    for (const dir of ancestorsOf(path)) {
      if (this.#files.has(dir)) return fileError('NOT_A_DIRECTORY', `not a directory: ${showPath(dir)}`);
    }
    if (this.#files.size >= FILES_MAX) return fileError('TOO_MANY_FILES', `the store holds ${FILES_MAX} files (max)`);
    return undefined;
  }

  #sortedEntries(): FileEntry[] {
    this.#sorted ??= [...this.#files.values()].sort((a, b) => compareBytes(a.pathBytes, b.pathBytes));
    return this.#sorted;
  }

  // ---- digest ------------------------------------------------------------------------------

  /** Replaces `entry`'s term in the sum after its contents or metadata changed (or it was created). */
  #recount(entry: FileEntry): void {
    const term = this.#termOf(entry);
    this.#sum = (this.#sum - entry.term + term) & SUM_MASK;
    entry.term = term;
    this.#digest = undefined;
  }

  #termOf(entry: FileEntry): bigint {
    const leafLength = LEAF_TAG.length + 4 + entry.pathBytes.length + 8 + 8 + 4 + entry.data.length;
    const leafWriter = new ByteWriter(leafLength <= this.#leafScratch.length ? this.#leafScratch : leafLength);
    leafWriter.raw(LEAF_TAG);
    leafWriter.bytes(entry.pathBytes);
    leafWriter.u64(entry.version);
    leafWriter.u64(entry.modifiedSeq);
    leafWriter.bytes(entry.data);
    const leaf = this.#hasher.digest(leafWriter.view());
    if (leaf.length !== 64) throw new RangeError(`Hasher must return SHA-256 as 64 hex digits, got ${leaf}`);

    const expandInput = this.#expandScratch;
    hexToBytes(leaf, expandInput, EXPAND_TAG.length);
    let hex = leaf;
    for (let i = 1; i < TERM_HASHES; i++) {
      expandInput[expandInput.length - 1] = i;
      hex += this.#hasher.digest(expandInput);
    }
    return BigInt(`0x${hex}`) & SUM_MASK;
  }

  /** The files' digest as it is with no revoked client, or bound to the revoked set (see the header). */
  #withRevoked(filesDigest: Digest): Digest {
    if (this.#revoked.size === 0) return filesDigest;
    const principals = sortedPrincipals(this.#revoked).map(utf8Encode);
    let length = REVOKED_DIGEST_TAG.length + 32 + 4;
    for (const principal of principals) length += 4 + principal.length;
    const input = new ByteWriter(length);
    input.raw(REVOKED_DIGEST_TAG);
    input.raw(hexToBytes(filesDigest));
    input.u32(principals.length);
    for (const principal of principals) input.bytes(principal);
    return this.#hasher.digest(input.finish());
  }

  #digestOf(fileCount: number, sum: bigint): Digest {
    const input = new ByteWriter(DIGEST_TAG.length + 4 + SUM_BYTES);
    input.raw(DIGEST_TAG);
    input.u32(fileCount);
    input.raw(hexToBytes(sum.toString(16).padStart(2 * SUM_BYTES, '0')));
    return this.#hasher.digest(input.finish());
  }
}

/** Files in canonical order, every rule checked; terms are left for the caller to compute. */
function parseSnapshot(snapshot: Uint8Array): { entries: FileEntry[]; revoked: ReadonlySet<string> } {
  const reader = new ByteReader(snapshot);
  const magic = reader.raw(SNAPSHOT_MAGIC.length, 'magic');
  let revoked: ReadonlySet<string> = NO_ONE;
  if (compareBytes(magic, SNAPSHOT_MAGIC_REVOKED) === 0) {
    revoked = parseRevoked(reader);
  } else if (compareBytes(magic, SNAPSHOT_MAGIC) !== 0) {
    throw new DecodeError('not a file-store snapshot (bad magic)');
  }
  return { entries: parseFiles(reader), revoked };
}

/** Revoked principals: at least one (else the snapshot is version 1), sorted, no duplicates. */
function parseRevoked(reader: ByteReader): ReadonlySet<string> {
  const count = reader.u32('revoked count');
  if (count === 0 || count > REVOKED_MAX) throw new DecodeError(`${count} revoked clients (1 to ${REVOKED_MAX})`);
  if (count * 5 > reader.remaining) throw new DecodeError(`${count} revoked clients do not fit`);
  const revoked = new Set<string>();
  let previous: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const principal = reader.string(`revoked client ${i}`, CLIENT_BYTES_MAX);
    const bytes = utf8Encode(principal);
    if (bytes.length === 0) throw new DecodeError(`revoked client ${i} is empty`);
    if (previous !== undefined && compareBytes(previous, bytes) >= 0) {
      throw new DecodeError(`revoked client ${i} is not after the one before (unsorted or duplicate)`);
    }
    previous = bytes;
    revoked.add(principal);
  }
  return revoked;
}

function parseFiles(reader: ByteReader): FileEntry[] {
  const count = reader.u32('file count');
  if (count > FILES_MAX) throw new DecodeError(`${count} files (max ${FILES_MAX})`);
  if (count * SNAPSHOT_FILE_BYTES_MIN > reader.remaining) throw new DecodeError(`${count} files do not fit`);
  const entries: FileEntry[] = [];
  let previous: FileEntry | undefined;
  for (let i = 0; i < count; i++) {
    const path = reader.string(`file ${i} path`, PATH_BYTES_MAX);
    const checked = validatePath(path);
    if (!checked.ok) throw new DecodeError(`file ${i} path ${showPath(path)} ${checked.reason}`);
    if (previous !== undefined && compareBytes(previous.pathBytes, checked.bytes) >= 0) {
      throw new DecodeError(
        `file ${i} ${showPath(path)} is not after ${showPath(previous.path)} (unsorted or duplicate)`,
      );
    }
    const version = reader.u64(`file ${i} version`);
    if (version === 0) throw new DecodeError(`file ${i} has version 0 (a file has version ≥ 1)`);
    const modifiedSeq = reader.u64(`file ${i} modifiedSeq`);
    const data = reader.bytes(`file ${i} data`, FILE_BYTES_MAX).slice();
    previous = { path, pathBytes: checked.bytes, data, version, modifiedSeq, term: 0n };
    entries.push(previous);
  }
  reader.end('snapshot');
  return entries;
}

/** Principals in UTF-8 byte order (canonical for the digest and the snapshot). */
function sortedPrincipals(principals: ReadonlySet<string>): string[] {
  if (principals.size === 0) return [];
  return [...principals].sort((a, b) => compareBytes(utf8Encode(a), utf8Encode(b)));
}

function statOf(entry: FileEntry): FileStat {
  return { path: entry.path, size: entry.data.length, version: entry.version, modifiedSeq: entry.modifiedSeq };
}

function badPath(path: string, reason: string): FileResult {
  return fileError('BAD_PATH', `path ${showPath(path)} ${reason}`);
}

/** A host bug, not a bad operation: fail loudly before any state changes. */
function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`ExecutionContext.seq must be a non-negative safe integer, got ${seq}`);
  }
}

/** `/a/b/c` → `/a`, `/a/b` (a valid path's directories, without `/`). */
function ancestorsOf(path: string): string[] {
  const dirs: string[] = [];
  for (let slash = path.indexOf('/', 1); slash !== -1; slash = path.indexOf('/', slash + 1)) {
    dirs.push(path.slice(0, slash));
  }
  return dirs;
}

function addToDirs(dirs: Map<string, number>, path: string, delta: 1 | -1): void {
  for (const dir of ancestorsOf(path)) {
    const count = (dirs.get(dir) ?? 0) + delta;
    if (count === 0) dirs.delete(dir);
    else dirs.set(dir, count);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
