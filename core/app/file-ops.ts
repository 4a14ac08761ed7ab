/**
 * The file store's operations and results as plain data, the path rules and limits, the binary
 * encoding the CLI and the dashboard use to build requests and read replies, and one-line describers.
 *
 * Wire format. Integers are big-endian; `str` is a u32 byte length then strict UTF-8; `bytes` is a
 * u32 length then the bytes; `u64` carries a safe integer (< 2^53). Every value has one encoding:
 * fixed-width integers, no optional fields, no trailing bytes.
 *
 *   op     = tag:u8 ...   1 write  path:str data:bytes     4 delete path:str
 *                         2 append path:str data:bytes     5 list   dir:str
 *                         3 read   path:str                6 stat   path:str
 *                                                         7 revoke client:str
 *   stat   = path:str size:u32 version:u64 modifiedSeq:u64
 *   result = tag:u8 ...   1 written  stat                  4 listing dir:str count:u32 stat*count
 *                         2 data     stat data:bytes       5 stat    stat
 *                         3 deleted  path:str              6 error   code:u8 message:str
 *                                                         7 revoked client:str
 *
 * `decodeOp` checks structure only (tag, lengths, UTF-8, no trailing bytes); the store checks paths
 * and limits when it executes, so a bad path is a `BAD_PATH` result and bad bytes a `BAD_OP` result.
 */
import { ByteReader, ByteWriter, DecodeError } from './binary.ts';
import { isWellFormed, utf8Encode, utf8Length } from './utf8.ts';

/** Longest path, in UTF-8 bytes. */
export const PATH_BYTES_MAX = 255;
/** Most components in a path (`/a/b` has 2). */
export const PATH_COMPONENTS_MAX = 32;
/** Largest file, in bytes (1 MiB). */
export const FILE_BYTES_MAX = 1024 * 1024;
/** Most files the store holds. */
export const FILES_MAX = 10_000;
/** Longest client id a revoke may name, in UTF-8 bytes. */
export const CLIENT_BYTES_MAX = 255;
/** Most clients the store keeps revoked. */
export const REVOKED_MAX = 10_000;
/**
 * Most bytes in all files together (64 MiB). FILES_MAX × FILE_BYTES_MAX would be 10 GiB: more than a
 * replica can snapshot at every checkpoint or send in a state transfer, and an easy way for one
 * client to exhaust every replica's memory.
 */
export const STORE_BYTES_MAX = 64 * 1024 * 1024;

/**
 * An operation. Paths are absolute and slash-separated (`/notes/a.txt`); directories are implicit:
 * a directory exists while some file lies beneath it, and `/` always exists.
 */
export type FileOp =
  /** Create the file or replace its contents. */
  | { readonly kind: 'write'; readonly path: string; readonly data: Uint8Array }
  /** Add to the end of the file, creating it if it is missing (like a shell's `>>`). */
  | { readonly kind: 'append'; readonly path: string; readonly data: Uint8Array }
  | { readonly kind: 'read'; readonly path: string }
  | { readonly kind: 'delete'; readonly path: string }
  /** Every file beneath `dir` at any depth, sorted by path (UTF-8 byte order). */
  | { readonly kind: 'list'; readonly dir: string }
  | { readonly kind: 'stat'; readonly path: string }
  /**
   * Revoke a client's access (OSDI'99 §3: "services may provide operations to change the access
   * permissions of a client"): from this
   * point in the order on, every request of that client peer and its logical clients is refused at
   * execution. Only the replicas' own clients may issue it (see FileStore's access rules).
   */
  | { readonly kind: 'revoke'; readonly client: string };

export type FileOpKind = FileOp['kind'];

export interface FileStat {
  readonly path: string;
  /** Bytes. */
  readonly size: number;
  /** How many times the file was written or appended to since it was created (1 after creation). */
  readonly version: number;
  /** Sequence number of the batch that last modified the file (ExecutionContext.seq). */
  readonly modifiedSeq: number;
}

/** Error codes; their wire value is their position + 1, so new codes go at the end. */
export const FILE_ERROR_CODES = [
  'BAD_OP', // the operation's bytes do not decode
  'BAD_PATH', // the path breaks the path rules (validatePath)
  'TOO_LARGE', // the file would exceed FILE_BYTES_MAX
  'TOO_MANY_FILES', // creating the file would exceed FILES_MAX
  'NOT_FOUND', // no such file (or, for list, no such directory)
  'IS_A_DIRECTORY', // a file operation named a directory
  'NOT_A_DIRECTORY', // a directory in the path (or list's directory) is a file
  'STORE_FULL', // the files together would exceed STORE_BYTES_MAX
  'REVOKED', // the client was revoked: nothing it asks is executed
  'NOT_ALLOWED', // a revoke from a client that is not a replica's own, or of a replica's own client
] as const;
export type FileErrorCode = (typeof FILE_ERROR_CODES)[number];

export type FileResult =
  /** After write or append: the file's new stat. */
  | { readonly kind: 'written'; readonly stat: FileStat }
  /** After read. */
  | { readonly kind: 'data'; readonly stat: FileStat; readonly data: Uint8Array }
  | { readonly kind: 'deleted'; readonly path: string }
  | { readonly kind: 'listing'; readonly dir: string; readonly entries: readonly FileStat[] }
  | { readonly kind: 'stat'; readonly stat: FileStat }
  /** After revoke: the client peer now refused (the peer part of the id given). */
  | { readonly kind: 'revoked'; readonly client: string }
  | { readonly kind: 'error'; readonly code: FileErrorCode; readonly message: string };

export type FileResultKind = FileResult['kind'];

export interface FailedDecode {
  readonly ok: false;
  readonly reason: string;
}
export type DecodedOp = { readonly ok: true; readonly op: FileOp } | FailedDecode;
export type DecodedResult = { readonly ok: true; readonly result: FileResult } | FailedDecode;

const OP_TAGS = { write: 1, append: 2, read: 3, delete: 4, list: 5, stat: 6, revoke: 7 } as const satisfies Record<
  FileOpKind,
  number
>;
const RESULT_TAGS = {
  written: 1,
  data: 2,
  deleted: 3,
  listing: 4,
  stat: 5,
  error: 6,
  revoked: 7,
} as const satisfies Record<FileResultKind, number>;
/** Smallest encoded stat: an empty path's length, size, version, modifiedSeq. */
const STAT_BYTES_MIN = 4 + 4 + 8 + 8;

// ---- paths ----------------------------------------------------------------------------------

export type PathCheck = { readonly ok: true; readonly bytes: Uint8Array } | FailedDecode;

/**
 * The path rules: starts with `/`; components non-empty (so no `//` and no trailing `/`), none `.`
 * or `..`; no NUL; well-formed Unicode; at most PATH_BYTES_MAX UTF-8 bytes and PATH_COMPONENTS_MAX
 * components. `/` itself is a directory, not a file path. On success, `bytes` is the UTF-8 encoding.
 */
export function validatePath(path: string): PathCheck {
  // The same few paths are checked again and again (every execution of every operation): remember.
  let check = pathChecks.get(path);
  if (check === undefined) {
    if (pathChecks.size >= PATH_CHECKS_MAX) pathChecks.clear();
    pathChecks.set(path, (check = checkPath(path)));
  }
  return check;
}

/** Recent validatePath results (the check is a pure function of the path; `bytes` is never modified). */
const pathChecks = new Map<string, PathCheck>();
const PATH_CHECKS_MAX = 4096;

function checkPath(path: string): PathCheck {
  if (!path.startsWith('/')) return fail('must start with /');
  if (path === '/') return fail('is the root directory');
  if (!isWellFormed(path)) return fail('is not well-formed Unicode');
  if (path.includes('\0')) return fail('contains NUL');
  const bytes = utf8Encode(path);
  if (bytes.length > PATH_BYTES_MAX) return fail(`is ${bytes.length} bytes (max ${PATH_BYTES_MAX})`);
  const components = path.split('/');
  components.shift(); // the empty string before the leading '/'
  if (components.length > PATH_COMPONENTS_MAX) {
    return fail(`has ${components.length} components (max ${PATH_COMPONENTS_MAX})`);
  }
  for (const component of components) {
    if (component === '') return fail('has an empty component');
    if (component === '.' || component === '..') return fail(`has a '${component}' component`);
  }
  return { ok: true, bytes };
}

/** A directory for `list`: `/` or anything `validatePath` accepts. */
export function validateDir(dir: string): PathCheck {
  return dir === '/' ? { ok: true, bytes: utf8Encode('/') } : validatePath(dir);
}

function fail(reason: string): FailedDecode {
  return { ok: false, reason };
}

// ---- operations -----------------------------------------------------------------------------

export function isReadOnlyKind(kind: FileOpKind): boolean {
  return kind === 'read' || kind === 'list' || kind === 'stat';
}

/** The kind named by an encoded operation's tag, without decoding the rest; undefined for an unknown tag. */
export function peekOpKind(bytes: Uint8Array): FileOpKind | undefined {
  return bytes.length === 0 ? undefined : OP_KINDS_BY_TAG.get(bytes[0]!);
}
const OP_KINDS_BY_TAG = new Map(Object.entries(OP_TAGS).map(([kind, tag]) => [tag as number, kind as FileOpKind]));

export function encodeOp(op: FileOp): Uint8Array {
  const writer = new ByteWriter(16 + 3 * textOf(op).length + dataOf(op).length);
  writer.u8(OP_TAGS[op.kind]);
  switch (op.kind) {
    case 'write':
    case 'append':
      writer.string(op.path);
      writer.bytes(op.data);
      break;
    case 'read':
    case 'delete':
    case 'stat':
      writer.string(op.path);
      break;
    case 'list':
      writer.string(op.dir);
      break;
    case 'revoke':
      writer.string(op.client);
      break;
  }
  return writer.finish();
}

function textOf(op: FileOp): string {
  return op.kind === 'list' ? op.dir : op.kind === 'revoke' ? op.client : op.path;
}

function dataOf(op: FileOp): Uint8Array {
  return op.kind === 'write' || op.kind === 'append' ? op.data : EMPTY;
}
const EMPTY = new Uint8Array(0);

/** Structural decoding; `data` is a copy, so the op does not alias `bytes`. */
export function decodeOp(bytes: Uint8Array): DecodedOp {
  const decoded = decodeWith(bytes, readOp);
  return decoded.ok ? { ok: true, op: decoded.value } : decoded;
}

function readOp(reader: ByteReader): FileOp {
  const tag = reader.u8('op tag');
  let op: FileOp;
  switch (tag) {
    case OP_TAGS.write:
    case OP_TAGS.append: {
      const path = reader.string('path');
      const data = reader.bytes('data').slice();
      op = tag === OP_TAGS.write ? { kind: 'write', path, data } : { kind: 'append', path, data };
      break;
    }
    case OP_TAGS.read:
      op = { kind: 'read', path: reader.string('path') };
      break;
    case OP_TAGS.delete:
      op = { kind: 'delete', path: reader.string('path') };
      break;
    case OP_TAGS.list:
      op = { kind: 'list', dir: reader.string('dir') };
      break;
    case OP_TAGS.stat:
      op = { kind: 'stat', path: reader.string('path') };
      break;
    case OP_TAGS.revoke:
      op = { kind: 'revoke', client: reader.string('client') };
      break;
    default:
      throw new DecodeError(`unknown op tag ${tag}`);
  }
  reader.end('op');
  return op;
}

// ---- results --------------------------------------------------------------------------------

export function fileError(code: FileErrorCode, message: string): FileResult {
  return { kind: 'error', code, message };
}

export function encodeResult(result: FileResult): Uint8Array {
  // An exact size for an error (the commonest small result: a stat of a missing path) saves finish()'s copy.
  const writer = new ByteWriter(
    result.kind === 'data'
      ? 64 + result.stat.path.length * 3 + result.data.length
      : result.kind === 'error'
        ? 6 + utf8Length(result.message)
        : 128,
  );
  writer.u8(RESULT_TAGS[result.kind]);
  switch (result.kind) {
    case 'written':
    case 'stat':
      writeStat(writer, result.stat);
      break;
    case 'data':
      writeStat(writer, result.stat);
      writer.bytes(result.data);
      break;
    case 'deleted':
      writer.string(result.path);
      break;
    case 'revoked':
      writer.string(result.client);
      break;
    case 'listing':
      writer.string(result.dir);
      writer.u32(result.entries.length);
      for (const entry of result.entries) writeStat(writer, entry);
      break;
    case 'error':
      writer.u8(FILE_ERROR_CODES.indexOf(result.code) + 1);
      writer.string(result.message);
      break;
  }
  return writer.finish();
}

function writeStat(writer: ByteWriter, stat: FileStat): void {
  writer.string(stat.path);
  writer.u32(stat.size);
  writer.u64(stat.version);
  writer.u64(stat.modifiedSeq);
}

/** Strict decoding of a reply (a faulty replica may send anything); `data` is a copy. */
export function decodeResult(bytes: Uint8Array): DecodedResult {
  const decoded = decodeWith(bytes, readResult);
  return decoded.ok ? { ok: true, result: decoded.value } : decoded;
}

function readResult(reader: ByteReader): FileResult {
  const tag = reader.u8('result tag');
  let result: FileResult;
  switch (tag) {
    case RESULT_TAGS.written:
      result = { kind: 'written', stat: readStat(reader) };
      break;
    case RESULT_TAGS.stat:
      result = { kind: 'stat', stat: readStat(reader) };
      break;
    case RESULT_TAGS.data: {
      const stat = readStat(reader);
      const data = reader.bytes('data', FILE_BYTES_MAX).slice();
      if (data.length !== stat.size) throw new DecodeError(`data is ${data.length} bytes but size is ${stat.size}`);
      result = { kind: 'data', stat, data };
      break;
    }
    case RESULT_TAGS.deleted:
      result = { kind: 'deleted', path: reader.string('path') };
      break;
    case RESULT_TAGS.revoked:
      result = { kind: 'revoked', client: reader.string('client') };
      break;
    case RESULT_TAGS.listing: {
      const dir = reader.string('dir');
      const count = reader.u32('entry count');
      if (count > FILES_MAX) throw new DecodeError(`listing has ${count} entries (max ${FILES_MAX})`);
      if (count * STAT_BYTES_MIN > reader.remaining) throw new DecodeError(`listing of ${count} entries is truncated`);
      const entries: FileStat[] = [];
      for (let i = 0; i < count; i++) entries.push(readStat(reader));
      result = { kind: 'listing', dir, entries };
      break;
    }
    case RESULT_TAGS.error: {
      const wire = reader.u8('error code');
      const code = FILE_ERROR_CODES[wire - 1];
      if (code === undefined) throw new DecodeError(`unknown error code ${wire}`);
      result = { kind: 'error', code, message: reader.string('message') };
      break;
    }
    default:
      throw new DecodeError(`unknown result tag ${tag}`);
  }
  reader.end('result');
  return result;
}

function readStat(reader: ByteReader): FileStat {
  const path = reader.string('path');
  const size = reader.u32('size');
  if (size > FILE_BYTES_MAX) throw new DecodeError(`size ${size} exceeds ${FILE_BYTES_MAX}`);
  const version = reader.u64('version');
  if (version === 0) throw new DecodeError('version 0 (a file has version ≥ 1)');
  return { path, size, version, modifiedSeq: reader.u64('modifiedSeq') };
}

function decodeWith<T>(bytes: Uint8Array, read: (reader: ByteReader) => T): { ok: true; value: T } | FailedDecode {
  try {
    return { ok: true, value: read(new ByteReader(bytes)) };
  } catch (error) {
    if (error instanceof DecodeError) return { ok: false, reason: error.message };
    throw error;
  }
}

// ---- one-line describers (traces, the dashboard's log) ----------------------------------------

/** E.g. `write /hello 5B`, `list /docs`. */
export function describeOp(op: FileOp): string {
  switch (op.kind) {
    case 'write':
    case 'append':
      return `${op.kind} ${showPath(op.path)} ${op.data.length}B`;
    case 'list':
      return `list ${showPath(op.dir)}`;
    case 'revoke':
      return `revoke ${showPath(op.client)}`;
    default:
      return `${op.kind} ${showPath(op.path)}`;
  }
}

/** E.g. `written /hello 5B v1 seq7`, `error NOT_FOUND: no such file: /x`. */
export function describeResult(result: FileResult): string {
  switch (result.kind) {
    case 'written':
    case 'data':
    case 'stat':
      return `${result.kind} ${describeStat(result.stat)}`;
    case 'deleted':
      return `deleted ${showPath(result.path)}`;
    case 'revoked':
      return `revoked ${showPath(result.client)}`;
    case 'listing':
      return `listing ${showPath(result.dir)} ${result.entries.length} file${result.entries.length === 1 ? '' : 's'}`;
    case 'error':
      return `error ${result.code}: ${oneLine(result.message)}`;
  }
}

function describeStat(stat: FileStat): string {
  return `${showPath(stat.path)} ${stat.size}B v${stat.version} seq${stat.modifiedSeq}`;
}

const SHOWN_CODE_POINTS_MAX = 80;

/**
 * A path for messages and traces: as it is when short and plain; otherwise cut to 80 code points
 * and quoted with escapes, so it stays on one line and bounded in size whatever a client sent.
 */
export function showPath(path: string): string {
  const points = Array.from(path);
  const cut = points.length > SHOWN_CODE_POINTS_MAX;
  const shown = cut ? points.slice(0, SHOWN_CODE_POINTS_MAX).join('') : path;
  if (!cut && shown !== '' && !/[\s\p{Cc}\p{Cs}"]/u.test(shown)) return shown;
  return oneLine(JSON.stringify(shown)) + (cut ? '…' : '');
}

/** Escapes what JSON.stringify leaves as line or control characters. */
function oneLine(text: string): string {
  return text.replace(/[\n\r\u0085\u2028\u2029\p{Cc}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
