import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Hasher } from '../pbft/crypto.ts';
import {
  FILES_MAX,
  FILE_BYTES_MAX,
  PATH_BYTES_MAX,
  PATH_COMPONENTS_MAX,
  STORE_BYTES_MAX,
  decodeOp,
  decodeResult,
  encodeOp,
  encodeResult,
} from './file-ops.ts';
import type { FileErrorCode, FileOp, FileResult, FileStat } from './file-ops.ts';
import { DIGEST_SUM_BITS, FileStore } from './file-store.ts';
import { SavepointError } from './state-machine.ts';
import type { ExecutionContext } from './state-machine.ts';

const sha256: Hasher = { digest: (data) => createHash('sha256').update(data).digest('hex') };
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const at = (seq: number): ExecutionContext => ({ client: 'alice', timestamp: seq, seq });

/** mulberry32: a small seeded PRNG for reproducible random workloads. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Applies `ops` with seq 1, 2, … and returns the results. */
function run(store: FileStore, ops: FileOp[], firstSeq = 1): FileResult[] {
  return ops.map((op, i) => store.apply(op, at(firstSeq + i)));
}

function errorCode(result: FileResult): FileErrorCode | undefined {
  return result.kind === 'error' ? result.code : undefined;
}

/** The state as a value: its digest and the SHA-256 of its snapshot bytes. */
function fingerprint(store: FileStore): { digest: string; snapshotSha256: string } {
  return { digest: store.digest(), snapshotSha256: sha256.digest(store.snapshot()) };
}

// ---- an independent encoder of the documented formats, for golden and corruption tests ------------

interface PlainFile {
  path: string;
  version: number;
  modifiedSeq: number;
  data: Uint8Array;
}

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}
function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}
function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  return concat(u32(bytes.length), bytes);
}
function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts.map((part) => Uint8Array.from(part))));
}

/** "PFS" 0x01, u32 count, then per file path, version, modifiedSeq, data — in the order given. */
function encodeSnapshot(files: PlainFile[]): Uint8Array {
  return concat(
    [0x50, 0x46, 0x53, 0x01],
    u32(files.length),
    ...files.flatMap((file) => [
      lengthPrefixed(text(file.path)),
      u64(file.version),
      u64(file.modifiedSeq),
      lengthPrefixed(file.data),
    ]),
  );
}

/** The digest formula of file-store.ts's header, computed with BigInt from the files alone. */
function referenceDigest(files: PlainFile[]): string {
  const modulus = 2n ** BigInt(DIGEST_SUM_BITS);
  let sum = 0n;
  for (const file of files) {
    const leaf = sha256.digest(
      concat(
        text('FSL1'),
        lengthPrefixed(text(file.path)),
        u64(file.version),
        u64(file.modifiedSeq),
        lengthPrefixed(file.data),
      ),
    );
    let term = leaf;
    for (let i = 1; i < 8; i++) term += sha256.digest(concat(text('FSX1'), Buffer.from(leaf, 'hex'), [i]));
    sum = (sum + BigInt(`0x${term}`)) % modulus;
  }
  const sumBytes = Buffer.from(sum.toString(16).padStart(DIGEST_SUM_BITS / 4, '0'), 'hex');
  return sha256.digest(concat(text('FSD1'), u32(files.length), sumBytes));
}

// ---- operations ----------------------------------------------------------------------------

describe('operations', () => {
  it('write creates a file, read returns it, write replaces it, append extends it', () => {
    const store = new FileStore(sha256);
    expect(store.apply({ kind: 'write', path: '/hello', data: text('world') }, at(7))).toEqual({
      kind: 'written',
      stat: { path: '/hello', size: 5, version: 1, modifiedSeq: 7 },
    });
    expect(store.apply({ kind: 'read', path: '/hello' }, at(0))).toEqual({
      kind: 'data',
      stat: { path: '/hello', size: 5, version: 1, modifiedSeq: 7 },
      data: text('world'),
    });
    expect(store.apply({ kind: 'write', path: '/hello', data: text('hi') }, at(9))).toEqual({
      kind: 'written',
      stat: { path: '/hello', size: 2, version: 2, modifiedSeq: 9 },
    });
    expect(store.apply({ kind: 'append', path: '/hello', data: text(' there') }, at(10))).toEqual({
      kind: 'written',
      stat: { path: '/hello', size: 8, version: 3, modifiedSeq: 10 },
    });
    expect(store.apply({ kind: 'read', path: '/hello' }, at(0))).toMatchObject({ data: text('hi there') });
    expect(store.apply({ kind: 'stat', path: '/hello' }, at(0))).toEqual({
      kind: 'stat',
      stat: { path: '/hello', size: 8, version: 3, modifiedSeq: 10 },
    });
  });

  it('append creates a missing file; an empty write creates an empty file', () => {
    const store = new FileStore(sha256);
    expect(run(store, [{ kind: 'append', path: '/log', data: text('a') }])).toEqual([
      { kind: 'written', stat: { path: '/log', size: 1, version: 1, modifiedSeq: 1 } },
    ]);
    expect(run(store, [{ kind: 'write', path: '/empty', data: new Uint8Array(0) }], 2)).toEqual([
      { kind: 'written', stat: { path: '/empty', size: 0, version: 1, modifiedSeq: 2 } },
    ]);
  });

  it('delete removes a file; a new file at the same path starts again at version 1', () => {
    const store = new FileStore(sha256);
    run(store, [
      { kind: 'write', path: '/f', data: text('1') },
      { kind: 'write', path: '/f', data: text('2') },
    ]);
    expect(store.apply({ kind: 'delete', path: '/f' }, at(3))).toEqual({ kind: 'deleted', path: '/f' });
    expect(store.apply({ kind: 'read', path: '/f' }, at(0))).toEqual({
      kind: 'error',
      code: 'NOT_FOUND',
      message: 'no such file: /f',
    });
    expect(store.apply({ kind: 'delete', path: '/f' }, at(4))).toMatchObject({ code: 'NOT_FOUND' });
    expect(store.apply({ kind: 'write', path: '/f', data: text('3') }, at(5))).toMatchObject({
      stat: { version: 1, modifiedSeq: 5 },
    });
  });

  it('list returns every file beneath a directory, at any depth, in UTF-8 byte order', () => {
    const store = new FileStore(sha256);
    // '\uff5e' sorts before '🙂' as UTF-8 (EF.. < F0..) but after it as UTF-16 (FF5E > D83D)
    const paths = ['/docs/b', '/docs/a/deep/x', '/docs/🙂', '/docs/\uff5e', '/docs.txt', '/top', '/docs/a/y'];
    run(
      store,
      paths.map((path) => ({ kind: 'write', path, data: text(path) })),
    );
    const listing = store.apply({ kind: 'list', dir: '/docs' }, at(0));
    expect(listing.kind === 'listing' && listing.entries.map((e) => e.path)).toEqual([
      '/docs/a/deep/x',
      '/docs/a/y',
      '/docs/b',
      '/docs/\uff5e',
      '/docs/🙂',
    ]);
    const root = store.apply({ kind: 'list', dir: '/' }, at(0));
    expect(root.kind === 'listing' && root.entries.length).toBe(paths.length);
    expect(store.apply({ kind: 'list', dir: '/docs/a' }, at(0))).toEqual({
      kind: 'listing',
      dir: '/docs/a',
      entries: [
        { path: '/docs/a/deep/x', size: 14, version: 1, modifiedSeq: 2 },
        { path: '/docs/a/y', size: 9, version: 1, modifiedSeq: 7 },
      ],
    });
    expect(new FileStore(sha256).apply({ kind: 'list', dir: '/' }, at(0))).toEqual({
      kind: 'listing',
      dir: '/',
      entries: [],
    });
  });

  it('directories are implicit: they exist while a file lies beneath them', () => {
    const store = new FileStore(sha256);
    run(store, [{ kind: 'write', path: '/a/b/c', data: text('x') }]);
    expect(store.apply({ kind: 'list', dir: '/a/b' }, at(0))).toMatchObject({ kind: 'listing' });
    expect(store.apply({ kind: 'delete', path: '/a/b/c' }, at(2))).toMatchObject({ kind: 'deleted' });
    expect(store.apply({ kind: 'list', dir: '/a' }, at(0))).toEqual({
      kind: 'error',
      code: 'NOT_FOUND',
      message: 'no such directory: /a',
    });
    expect(store.apply({ kind: 'write', path: '/a', data: text('now a file') }, at(3))).toMatchObject({
      kind: 'written',
    });
  });

  it('a path cannot be both a file and a directory', () => {
    const store = new FileStore(sha256);
    run(store, [
      { kind: 'write', path: '/dir/file', data: text('x') },
      { kind: 'write', path: '/plain', data: text('y') },
    ]);
    const refusals: [FileOp, FileErrorCode, string][] = [
      [{ kind: 'write', path: '/dir', data: text('z') }, 'IS_A_DIRECTORY', 'is a directory: /dir'],
      [{ kind: 'append', path: '/dir', data: text('z') }, 'IS_A_DIRECTORY', 'is a directory: /dir'],
      [{ kind: 'read', path: '/dir' }, 'IS_A_DIRECTORY', 'is a directory: /dir'],
      [{ kind: 'stat', path: '/dir' }, 'IS_A_DIRECTORY', 'is a directory: /dir'],
      [{ kind: 'delete', path: '/dir' }, 'IS_A_DIRECTORY', 'is a directory: /dir'],
      [{ kind: 'write', path: '/plain/x', data: text('z') }, 'NOT_A_DIRECTORY', 'not a directory: /plain'],
      [{ kind: 'write', path: '/dir/file/x/y', data: text('z') }, 'NOT_A_DIRECTORY', 'not a directory: /dir/file'],
      [{ kind: 'list', dir: '/plain' }, 'NOT_A_DIRECTORY', 'not a directory: /plain'],
      [{ kind: 'read', path: '/plain/x' }, 'NOT_FOUND', 'no such file: /plain/x'],
    ];
    const before = fingerprint(store);
    for (const [op, code, message] of refusals) {
      expect(store.apply(op, at(100)), JSON.stringify(op)).toEqual({ kind: 'error', code, message });
    }
    expect(fingerprint(store)).toEqual(before);
  });

  it('refuses bad paths with BAD_PATH and the rule they break', () => {
    const store = new FileStore(sha256);
    const bad = ['relative', '/', '/a//b', '/a/', '/./a', '/a/..', '/nul\0', '/\ud800'];
    for (const path of bad) {
      for (const op of [
        { kind: 'write', path, data: text('x') },
        { kind: 'append', path, data: text('x') },
        { kind: 'read', path },
        { kind: 'stat', path },
        { kind: 'delete', path },
      ] as FileOp[]) {
        expect(errorCode(store.apply(op, at(1))), `${op.kind} ${JSON.stringify(path)}`).toBe('BAD_PATH');
      }
    }
    for (const dir of ['relative', '/a/', '//']) {
      expect(errorCode(store.apply({ kind: 'list', dir }, at(0)))).toBe('BAD_PATH');
    }
    expect(store.apply({ kind: 'read', path: '/a//b' }, at(0))).toEqual({
      kind: 'error',
      code: 'BAD_PATH',
      message: 'path /a//b has an empty component',
    });
    expect(store.fileCount).toBe(0);
  });

  it('copies data in and out, so callers cannot change the state behind its digest', () => {
    const store = new FileStore(sha256);
    const data = text('original');
    store.apply({ kind: 'write', path: '/f', data }, at(1));
    data.fill(0);
    const read = store.apply({ kind: 'read', path: '/f' }, at(0));
    if (read.kind === 'data') read.data.fill(0);

    const opBytes = encodeOp({ kind: 'append', path: '/g', data: text('bytes') });
    store.execute(opBytes, at(2));
    opBytes.fill(0);

    expect(store.apply({ kind: 'read', path: '/f' }, at(0))).toMatchObject({ data: text('original') });
    expect(store.apply({ kind: 'read', path: '/g' }, at(0))).toMatchObject({ data: text('bytes') });
    expect(store.digest()).toBe(store.digestFromScratch());
  });

  it('fails loudly, before changing anything, when the host passes a bad sequence number', () => {
    const store = new FileStore(sha256);
    for (const seq of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => store.apply({ kind: 'write', path: '/f', data: text('x') }, at(seq))).toThrow(RangeError);
      expect(() => store.apply({ kind: 'delete', path: '/f' }, at(seq))).toThrow(RangeError);
    }
    expect(store.fileCount).toBe(0);
  });
});

describe('limits', () => {
  it('a file may hold FILE_BYTES_MAX bytes and no more', () => {
    const store = new FileStore(sha256);
    expect(store.apply({ kind: 'write', path: '/big', data: new Uint8Array(FILE_BYTES_MAX) }, at(1))).toMatchObject({
      stat: { size: FILE_BYTES_MAX },
    });
    expect(store.apply({ kind: 'write', path: '/big2', data: new Uint8Array(FILE_BYTES_MAX + 1) }, at(2))).toEqual({
      kind: 'error',
      code: 'TOO_LARGE',
      message: `/big2 would be ${FILE_BYTES_MAX + 1} bytes (max ${FILE_BYTES_MAX})`,
    });
    const before = fingerprint(store);
    expect(errorCode(store.apply({ kind: 'append', path: '/big', data: text('!') }, at(3)))).toBe('TOO_LARGE');
    expect(fingerprint(store)).toEqual(before);
    expect(store.apply({ kind: 'stat', path: '/big' }, at(0))).toMatchObject({ stat: { version: 1 } });
  });

  it(`paths may have up to ${PATH_BYTES_MAX} bytes and ${PATH_COMPONENTS_MAX} components`, () => {
    const store = new FileStore(sha256);
    const longest = '/' + 'é'.repeat((PATH_BYTES_MAX - 1) / 2);
    const deepest = '/d'.repeat(PATH_COMPONENTS_MAX);
    expect(
      run(
        store,
        [longest, deepest].map((path) => ({ kind: 'write', path, data: text('x') })),
      ).map((r) => r.kind),
    ).toEqual(['written', 'written']);
    expect(errorCode(store.apply({ kind: 'write', path: longest + 'x', data: text('x') }, at(3)))).toBe('BAD_PATH');
    expect(errorCode(store.apply({ kind: 'write', path: deepest + '/d', data: text('x') }, at(3)))).toBe('BAD_PATH');
  });

  it(`all files together hold at most STORE_BYTES_MAX bytes`, () => {
    const store = new FileStore(sha256);
    const fileCount = STORE_BYTES_MAX / FILE_BYTES_MAX;
    const full = new Uint8Array(FILE_BYTES_MAX);
    for (let i = 0; i < fileCount; i++) store.apply({ kind: 'write', path: `/f${i}`, data: full }, at(i + 1));
    expect(store.bytesTotal).toBe(STORE_BYTES_MAX);
    const before = fingerprint(store);
    expect(store.apply({ kind: 'write', path: '/extra', data: text('x') }, at(100))).toEqual({
      kind: 'error',
      code: 'STORE_FULL',
      message: `files would hold ${STORE_BYTES_MAX + 1} bytes (max ${STORE_BYTES_MAX})`,
    });
    expect(errorCode(store.apply({ kind: 'append', path: '/f0', data: text('x') }, at(100)))).toBe('TOO_LARGE');
    expect(fingerprint(store)).toEqual(before);
    // Replacing a file counts its new size, not its old one; deleting frees its bytes.
    expect(store.apply({ kind: 'write', path: '/f1', data: full.subarray(1) }, at(101)).kind).toBe('written');
    expect(store.apply({ kind: 'write', path: '/extra', data: text('x') }, at(102)).kind).toBe('written');
    expect(errorCode(store.apply({ kind: 'append', path: '/extra', data: text('x') }, at(103)))).toBe('STORE_FULL');
    expect(store.apply({ kind: 'delete', path: '/f2' }, at(104)).kind).toBe('deleted');
    expect(store.bytesTotal).toBe(STORE_BYTES_MAX - FILE_BYTES_MAX);

    const overfull = encodeSnapshot(
      Array.from({ length: fileCount + 1 }, (_, i) => ({
        path: `/f${1000 + i}`,
        version: 1,
        modifiedSeq: 1,
        data: full,
      })),
    );
    expect(store.restore(overfull)).toEqual({
      ok: false,
      reason: `bad snapshot: files hold ${STORE_BYTES_MAX + FILE_BYTES_MAX} bytes (max ${STORE_BYTES_MAX})`,
    });
    const copy = new FileStore(sha256);
    expect(copy.restore(store.snapshot())).toEqual({ ok: true });
    expect(copy.bytesTotal).toBe(store.bytesTotal);
  });

  it(`the store holds at most ${FILES_MAX} files`, () => {
    const store = new FileStore(sha256);
    for (let i = 0; i < FILES_MAX; i++)
      store.apply({ kind: 'write', path: `/d${i % 50}/f${i}`, data: text('') }, at(i + 1));
    expect(store.fileCount).toBe(FILES_MAX);
    expect(store.apply({ kind: 'write', path: '/one-more', data: text('') }, at(FILES_MAX + 1))).toEqual({
      kind: 'error',
      code: 'TOO_MANY_FILES',
      message: `the store holds ${FILES_MAX} files (max)`,
    });
    expect(errorCode(store.apply({ kind: 'append', path: '/one-more', data: text('') }, at(FILES_MAX + 1)))).toBe(
      'TOO_MANY_FILES',
    );
    // Existing files can still change, and deleting one makes room.
    expect(store.apply({ kind: 'append', path: '/d0/f0', data: text('x') }, at(FILES_MAX + 2)).kind).toBe('written');
    expect(store.apply({ kind: 'delete', path: '/d1/f1' }, at(FILES_MAX + 3)).kind).toBe('deleted');
    expect(store.apply({ kind: 'write', path: '/one-more', data: text('') }, at(FILES_MAX + 4)).kind).toBe('written');

    const copy = new FileStore(sha256);
    expect(copy.restore(store.snapshot())).toEqual({ ok: true });
    expect(copy.digest()).toBe(store.digest());
  });
});

// ---- the StateMachine contract ----------------------------------------------------------------

describe('StateMachine', () => {
  it('execute is apply behind the binary codec', () => {
    const ops: FileOp[] = [
      { kind: 'write', path: '/a/x', data: text('one') },
      { kind: 'append', path: '/a/x', data: text('two') },
      { kind: 'read', path: '/a/x' },
      { kind: 'list', dir: '/a' },
      { kind: 'stat', path: '/nope' },
      { kind: 'delete', path: '/a/x' },
      { kind: 'write', path: 'bad', data: text('') },
    ];
    const typed = new FileStore(sha256);
    const binary = new FileStore(sha256);
    ops.forEach((op, i) => {
      const result = binary.execute(encodeOp(op), at(i + 1));
      expect(result).toEqual(encodeResult(typed.apply(op, at(i + 1))));
      expect(decodeResult(result).ok).toBe(true);
    });
    expect(binary.digest()).toBe(typed.digest());
  });

  it('malformed operation bytes give a BAD_OP result and change nothing', () => {
    const store = new FileStore(sha256);
    store.apply({ kind: 'write', path: '/keep', data: text('me') }, at(1));
    const before = fingerprint(store);
    const valid = encodeOp({ kind: 'write', path: '/x', data: text('data') });
    const malformed: [Uint8Array, string][] = [
      [new Uint8Array(0), 'bad op: truncated op tag at byte 0'],
      [new Uint8Array([99]), 'bad op: unknown op tag 99'],
      [valid.subarray(0, valid.length - 1), 'bad op: truncated data at byte 11'],
      [new Uint8Array([...valid, 0]), 'bad op: 1 trailing bytes after op'],
      [new Uint8Array([3, 0, 0, 0, 2, 0x2f, 0xff]), 'bad op: path is not valid UTF-8'],
    ];
    for (const [bytes, message] of malformed) {
      expect(decodeResult(store.execute(bytes, at(2)))).toEqual({
        ok: true,
        result: { kind: 'error', code: 'BAD_OP', message },
      });
    }
    expect(fingerprint(store)).toEqual(before);
  });

  it('isReadOnly is true for read, list and stat only', () => {
    const store = new FileStore(sha256);
    const ops: FileOp[] = [
      { kind: 'write', path: '/a', data: text('') },
      { kind: 'append', path: '/a', data: text('') },
      { kind: 'delete', path: '/a' },
      { kind: 'read', path: '/a' },
      { kind: 'list', dir: '/' },
      { kind: 'stat', path: '/a' },
    ];
    expect(ops.map((op) => store.isReadOnly(encodeOp(op)))).toEqual([false, false, false, true, true, true]);
    expect(store.isReadOnly(new Uint8Array(0))).toBe(false);
    expect(store.isReadOnly(new Uint8Array([200]))).toBe(false);
  });
});

// ---- digest ----------------------------------------------------------------------------------

describe('digest', () => {
  it('follows the documented formula', () => {
    const files: PlainFile[] = [
      { path: '/a', version: 2, modifiedSeq: 5, data: text('hello') },
      { path: '/dir/é', version: 1, modifiedSeq: 4, data: new Uint8Array([0, 1, 2]) },
    ];
    const store = new FileStore(sha256);
    expect(store.digest()).toBe(referenceDigest([]));
    store.apply({ kind: 'write', path: '/a', data: text('first') }, at(3));
    store.apply({ kind: 'write', path: '/dir/é', data: new Uint8Array([0, 1, 2]) }, at(4));
    store.apply({ kind: 'write', path: '/a', data: text('hello') }, at(5));
    expect(store.digest()).toBe(referenceDigest(files));
    expect(store.snapshot()).toEqual(encodeSnapshot(files));
  });

  it('changes with every modification and with nothing else', () => {
    const store = new FileStore(sha256);
    const seen = new Set<string>([store.digest()]);
    const modifications: FileOp[] = [
      { kind: 'write', path: '/a', data: text('x') },
      { kind: 'write', path: '/a', data: text('x') }, // same bytes, but version and seq change
      { kind: 'append', path: '/a', data: new Uint8Array(0) },
      { kind: 'write', path: '/b/c', data: text('x') },
      { kind: 'delete', path: '/a' },
    ];
    modifications.forEach((op, i) => {
      store.apply(op, at(i + 1));
      expect(seen.has(store.digest()), op.kind).toBe(false);
      seen.add(store.digest());
    });
    const before = store.digest();
    for (const op of [
      { kind: 'read', path: '/b/c' },
      { kind: 'stat', path: '/b/c' },
      { kind: 'list', dir: '/' },
      { kind: 'read', path: '/missing' },
      { kind: 'delete', path: '/missing' },
    ] as FileOp[]) {
      store.apply(op, at(99));
    }
    expect(store.digest()).toBe(before);
  });

  it('depends on the set of files, not the order they were created in', () => {
    const forward = new FileStore(sha256);
    const backward = new FileStore(sha256);
    const writes = ['/x', '/y/z', '/é', '/a'].map((path, i) => ({ path, seq: 10 + i }));
    for (const { path, seq } of writes) forward.apply({ kind: 'write', path, data: text(path) }, at(seq));
    for (const { path, seq } of [...writes].reverse())
      backward.apply({ kind: 'write', path, data: text(path) }, at(seq));
    expect(fingerprint(backward)).toEqual(fingerprint(forward));
  });
});

// ---- a seeded random workload ---------------------------------------------------------------------

const SEEDS = process.env.FILE_STORE_SEED ? [Number(process.env.FILE_STORE_SEED)] : [1, 2, 3];
const NAMES = ['a', 'b', 'c.txt', 'é', '日本', '🙂'];

/** What the store should answer, from a plain map of path → file; results compared by kind, code, stat and data. */
class Model {
  readonly files = new Map<string, { data: Uint8Array; version: number; modifiedSeq: number }>();

  apply(
    op: FileOp,
    seq: number,
  ): { kind: FileResult['kind']; code?: FileErrorCode; stat?: FileStat; data?: Uint8Array; paths?: string[] } {
    if (op.kind === 'revoke') return { kind: 'error', code: 'NOT_ALLOWED' };
    const path = op.kind === 'list' ? op.dir : op.path;
    const valid =
      op.kind === 'list' && path === '/' ? true : /^(\/[^/\0]+)+$/.test(path) && !/\/\.\.?(\/|$)/.test(path);
    if (!valid) return { kind: 'error', code: 'BAD_PATH' };
    const isDir = (p: string): boolean => [...this.files.keys()].some((f) => f.startsWith(`${p}/`));
    const file = this.files.get(path);
    const statOf = (p: string): FileStat => {
      const f = this.files.get(p)!;
      return { path: p, size: f.data.length, version: f.version, modifiedSeq: f.modifiedSeq };
    };
    switch (op.kind) {
      case 'write':
      case 'append': {
        const data = op.kind === 'append' && file ? new Uint8Array([...file.data, ...op.data]) : op.data;
        if (data.length > FILE_BYTES_MAX) return { kind: 'error', code: 'TOO_LARGE' };
        if (!file) {
          if (isDir(path)) return { kind: 'error', code: 'IS_A_DIRECTORY' };
          const parts = path.split('/');
          for (let i = 2; i < parts.length; i++) {
            if (this.files.has(parts.slice(0, i).join('/'))) return { kind: 'error', code: 'NOT_A_DIRECTORY' };
          }
        }
        this.files.set(path, { data, version: (file?.version ?? 0) + 1, modifiedSeq: seq });
        return { kind: 'written', stat: statOf(path) };
      }
      case 'read':
      case 'stat':
      case 'delete': {
        if (!file) return { kind: 'error', code: isDir(path) ? 'IS_A_DIRECTORY' : 'NOT_FOUND' };
        if (op.kind === 'read') return { kind: 'data', stat: statOf(path), data: file.data };
        if (op.kind === 'stat') return { kind: 'stat', stat: statOf(path) };
        this.files.delete(path);
        return { kind: 'deleted' };
      }
      case 'list': {
        if (file) return { kind: 'error', code: 'NOT_A_DIRECTORY' };
        if (path !== '/' && !isDir(path)) return { kind: 'error', code: 'NOT_FOUND' };
        const prefix = path === '/' ? '/' : `${path}/`;
        const paths = [...this.files.keys()].filter((p) => p.startsWith(prefix));
        return { kind: 'listing', paths: paths.sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))) };
      }
    }
  }
}

function randomOp(random: () => number): Uint8Array {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const depth = 1 + Math.floor(random() * 3);
  const path = Array.from({ length: depth }, () => `/${pick(NAMES)}`).join('');
  const size = random() < 0.05 ? 3000 : Math.floor(random() * 40);
  const data = Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
  const r = random();
  let op: FileOp;
  if (r < 0.3) op = { kind: 'write', path, data };
  else if (r < 0.5) op = { kind: 'append', path, data };
  else if (r < 0.62) op = { kind: 'delete', path };
  else if (r < 0.72) op = { kind: 'read', path };
  else if (r < 0.77) op = { kind: 'stat', path };
  else if (r < 0.87) op = { kind: 'list', dir: random() < 0.3 ? '/' : path };
  else if (r < 0.93)
    op = { kind: pick(['write', 'read'] as const), path: pick(['x', '/a//b', '/a/..', '/a/'] as const), data };
  else {
    const bytes = encodeOp({ kind: 'write', path, data });
    return random() < 0.5 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : new Uint8Array([...bytes, 1]);
  }
  return encodeOp(op);
}

describe('a seeded random workload of 2,000 operations', () => {
  it.each(SEEDS)(
    'seed %i: the model agrees, the incremental digest equals a from-scratch one, replicas agree',
    (seed) => {
      const why = `reproduce with FILE_STORE_SEED=${seed}`;
      const random = prng(seed);
      const store = new FileStore(sha256);
      const twin = new FileStore(sha256);
      const model = new Model();
      const kinds = new Map<string, number>();
      for (let i = 0; i < 2000; i++) {
        const seq = i + 1;
        const op = randomOp(random);
        const bytes = store.execute(op, at(seq));
        expect(twin.execute(op, at(seq)), `${why}, op ${i}`).toEqual(bytes);
        const decodedResult = decodeResult(bytes);
        if (!decodedResult.ok) throw new Error(`${why}, op ${i}: ${decodedResult.reason}`);
        const result = decodedResult.result;
        kinds.set(
          result.kind === 'error' ? result.code : result.kind,
          (kinds.get(result.kind === 'error' ? result.code : result.kind) ?? 0) + 1,
        );

        const decodedOp = decodeOp(op);
        if (!decodedOp.ok) {
          expect(errorCode(result), `${why}, op ${i}`).toBe('BAD_OP');
        } else {
          const expected = model.apply(decodedOp.op, seq);
          const actual = {
            kind: result.kind,
            ...(result.kind === 'error' ? { code: result.code } : {}),
            ...(result.kind === 'written' || result.kind === 'stat' ? { stat: result.stat } : {}),
            ...(result.kind === 'data' ? { stat: result.stat, data: result.data } : {}),
            ...(result.kind === 'listing' ? { paths: result.entries.map((e) => e.path) } : {}),
          };
          expect(actual, `${why}, op ${i}: ${decodedOp.op.kind}`).toEqual(expected);
        }
        if (i % 100 === 99) expect(store.digest(), `${why}, op ${i}`).toBe(store.digestFromScratch());
      }
      expect(store.digest(), why).toBe(store.digestFromScratch());
      expect(store.digest(), why).toBe(
        referenceDigest(
          [...model.files].map(([path, f]) => ({ path, version: f.version, modifiedSeq: f.modifiedSeq, data: f.data })),
        ),
      );
      expect(fingerprint(twin), why).toEqual(fingerprint(store));

      const restored = new FileStore(sha256);
      expect(restored.restore(store.snapshot()), why).toEqual({ ok: true });
      expect(fingerprint(restored), why).toEqual(fingerprint(store));

      // The workload reaches every outcome (otherwise this test would prove less than it claims).
      for (const outcome of [
        'written',
        'data',
        'deleted',
        'listing',
        'stat',
        'BAD_OP',
        'BAD_PATH',
        'NOT_FOUND',
        'IS_A_DIRECTORY',
        'NOT_A_DIRECTORY',
      ]) {
        expect(kinds.get(outcome) ?? 0, `${why}: ${outcome} never happened`).toBeGreaterThan(0);
      }
    },
  );
});

// ---- snapshot and restore -------------------------------------------------------------------------

describe('snapshot and restore', () => {
  function sample(): FileStore {
    const store = new FileStore(sha256);
    run(store, [
      { kind: 'write', path: '/b', data: text('bee') },
      { kind: 'write', path: '/a/x', data: text('ex') },
      { kind: 'append', path: '/a/x', data: text('tra') },
      { kind: 'write', path: '/é', data: new Uint8Array([0, 255]) },
    ]);
    return store;
  }

  it('round-trips the whole state, replacing what the store held', () => {
    const store = sample();
    const other = new FileStore(sha256);
    other.apply({ kind: 'write', path: '/b/to-be-replaced', data: text('old') }, at(1));
    expect(other.restore(store.snapshot())).toEqual({ ok: true });
    expect(fingerprint(other)).toEqual(fingerprint(store));
    expect(other.apply({ kind: 'read', path: '/a/x' }, at(0))).toEqual(
      store.apply({ kind: 'read', path: '/a/x' }, at(0)),
    );
    expect(other.apply({ kind: 'list', dir: '/' }, at(0))).toEqual(store.apply({ kind: 'list', dir: '/' }, at(0)));
    // The restored store keeps working, and keeps its directory rules.
    expect(errorCode(other.apply({ kind: 'write', path: '/a', data: text('') }, at(9)))).toBe('IS_A_DIRECTORY');
    for (const target of [store, other]) target.apply({ kind: 'append', path: '/b', data: text('!') }, at(10));
    expect(fingerprint(other)).toEqual(fingerprint(store));
    expect(other.digest()).toBe(other.digestFromScratch());
  });

  it('does not alias the snapshot bytes it restored from', () => {
    const snapshot = sample().snapshot();
    const store = new FileStore(sha256);
    store.restore(snapshot);
    const before = fingerprint(store);
    snapshot.fill(0);
    expect(fingerprint(store)).toEqual(before);
    expect(store.digest()).toBe(store.digestFromScratch());
  });

  it('an empty store has a snapshot of magic and a zero count', () => {
    const store = new FileStore(sha256);
    expect([...store.snapshot()]).toEqual([0x50, 0x46, 0x53, 0x01, 0, 0, 0, 0]);
    const other = sample();
    expect(other.restore(store.snapshot())).toEqual({ ok: true });
    expect(fingerprint(other)).toEqual(fingerprint(store));
  });

  it('refuses every truncation of a snapshot and leaves the state unchanged', () => {
    const snapshot = sample().snapshot();
    const store = new FileStore(sha256);
    store.apply({ kind: 'write', path: '/mine', data: text('keep') }, at(1));
    const before = fingerprint(store);
    for (let length = 0; length < snapshot.length; length++) {
      const outcome = store.restore(snapshot.subarray(0, length));
      expect(outcome.ok, `prefix of ${length} bytes`).toBe(false);
      if (!outcome.ok) expect(outcome.reason).toMatch(/^bad snapshot: /);
    }
    expect(fingerprint(store)).toEqual(before);
  });

  const file = (path: string, extra: Partial<PlainFile> = {}): PlainFile => ({
    path,
    version: 1,
    modifiedSeq: 1,
    data: text('x'),
    ...extra,
  });
  const corrupt: [string, Uint8Array, string][] = [
    ['bad magic', concat([0x50, 0x46, 0x53, 0x03, 0, 0, 0, 0]), 'not a file-store snapshot (bad magic)'],
    [
      'version 2 with no revoked client',
      concat([0x50, 0x46, 0x53, 0x02, 0, 0, 0, 0]),
      '0 revoked clients (1 to 10000)',
    ],
    ['a trailing byte', concat(encodeSnapshot([file('/a')]), [0]), '1 trailing bytes after snapshot'],
    [
      'too many files',
      concat([0x50, 0x46, 0x53, 0x01], u32(FILES_MAX + 1)),
      `${FILES_MAX + 1} files (max ${FILES_MAX})`,
    ],
    ['a count beyond the bytes', concat([0x50, 0x46, 0x53, 0x01], u32(3)), '3 files do not fit'],
    ['unsorted paths', encodeSnapshot([file('/b'), file('/a')]), 'file 1 /a is not after /b (unsorted or duplicate)'],
    ['a duplicate path', encodeSnapshot([file('/a'), file('/a')]), 'file 1 /a is not after /a (unsorted or duplicate)'],
    // UTF-16 order would accept this one; the canonical order is UTF-8 bytes
    [
      'UTF-16 order',
      encodeSnapshot([file('/🙂'), file('/\uff5e')]),
      'file 1 /\uff5e is not after /🙂 (unsorted or duplicate)',
    ],
    ['a bad path', encodeSnapshot([file('/a/../b')]), "file 0 path /a/../b has a '..' component"],
    ['a long path', encodeSnapshot([file('/' + 'x'.repeat(PATH_BYTES_MAX))]), 'file 0 path is 256 bytes (max 255)'],
    ['version 0', encodeSnapshot([file('/a', { version: 0 })]), 'file 0 has version 0 (a file has version ≥ 1)'],
    [
      'a file too large',
      encodeSnapshot([file('/a', { data: new Uint8Array(FILE_BYTES_MAX + 1) })]),
      `file 0 data is ${FILE_BYTES_MAX + 1} bytes (max ${FILE_BYTES_MAX})`,
    ],
    [
      'a file that is also a directory',
      encodeSnapshot([file('/a'), file('/a/b')]),
      '/a is both a file and a directory',
    ],
    [
      'invalid UTF-8',
      new Uint8Array([0x50, 0x46, 0x53, 0x01, ...u32(1), ...u32(2), 0x2f, 0xff, ...u64(1), ...u64(1), ...u32(0)]),
      'file 0 path is not valid UTF-8',
    ],
  ];
  it.each(corrupt)('refuses %s with a reason and leaves the state unchanged', (_name, snapshot, reason) => {
    const store = sample();
    const before = fingerprint(store);
    expect(store.restore(snapshot)).toEqual({ ok: false, reason: `bad snapshot: ${reason}` });
    expect(fingerprint(store)).toEqual(before);
  });

  it('accepts what its own independent encoding describes', () => {
    const files = [file('/a/b', { version: 3, modifiedSeq: 2 ** 40 }), file('/c', { data: new Uint8Array(0) })];
    const store = new FileStore(sha256);
    expect(store.restore(encodeSnapshot(files))).toEqual({ ok: true });
    expect(store.digest()).toBe(referenceDigest(files));
    expect(store.snapshot()).toEqual(encodeSnapshot(files));
  });

  it('a flipped bit is refused or yields a different digest, never the same state', () => {
    const original = sample();
    const snapshot = original.snapshot();
    const random = prng(SEEDS[0]!);
    for (let trial = 0; trial < 300; trial++) {
      const flipped = snapshot.slice();
      const bit = Math.floor(random() * snapshot.length * 8);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const store = new FileStore(sha256);
      const outcome = store.restore(flipped);
      if (outcome.ok) {
        expect(store.digest(), `bit ${bit}`).not.toBe(original.digest());
        expect(store.digest()).toBe(store.digestFromScratch());
      } else {
        expect(fingerprint(store)).toEqual(fingerprint(new FileStore(sha256)));
      }
    }
  });
});

// ---- savepoints: tentative execution (§5.1) -------------------------------------------------------

/** Every path the random workload can name: depth 1 to 3 over NAMES. */
const WORKLOAD_PATHS = [1, 2, 3].flatMap((depth) => {
  let paths = [''];
  for (let i = 0; i < depth; i++) paths = paths.flatMap((prefix) => NAMES.map((name) => `${prefix}/${name}`));
  return paths;
});

/**
 * Everything a client or a checkpoint can see: digest, snapshot, sizes, and the answer to read and
 * list at every workload path (which shows each file's stat and bytes, and which directories exist).
 */
function observe(store: FileStore): object {
  return {
    ...fingerprint(store),
    fromScratch: store.digestFromScratch(),
    fileCount: store.fileCount,
    bytesTotal: store.bytesTotal,
    root: store.apply({ kind: 'list', dir: '/' }, at(0)),
    answers: WORKLOAD_PATHS.map((path) => [
      store.apply({ kind: 'read', path }, at(0)),
      store.apply({ kind: 'list', dir: path }, at(0)),
    ]),
  };
}

/** A hasher that counts its calls: the measure of digest work. */
function countingSha256(): Hasher & { calls: number } {
  const hasher = {
    calls: 0,
    digest: (data: Uint8Array): string => {
      hasher.calls += 1;
      return sha256.digest(data);
    },
  };
  return hasher;
}

describe('§5.1 tentative execution: savepoint, rollback, release', () => {
  function sample(hasher: Hasher = sha256): FileStore {
    const store = new FileStore(hasher);
    run(store, [
      { kind: 'write', path: '/a', data: text('one') },
      { kind: 'append', path: '/a', data: text('+two') },
      { kind: 'write', path: '/d/x', data: text('ex') },
      { kind: 'write', path: '/d/y', data: text('why') },
      { kind: 'write', path: '/keep', data: text('untouched') },
    ]);
    return store;
  }

  it('"a view change may abort tentative executions": rollback returns to exactly the state at the savepoint', () => {
    const store = sample();
    const before = observe(store);
    const digestBefore = store.digest();
    store.savepoint();
    expect(store.hasSavepoint).toBe(true);
    const tentative: FileOp[] = [
      { kind: 'write', path: '/a', data: text('replaced') },
      { kind: 'append', path: '/a', data: text('!') },
      { kind: 'delete', path: '/a' },
      { kind: 'write', path: '/a', data: text('a new file, version 1') },
      { kind: 'delete', path: '/d/x' },
      { kind: 'delete', path: '/d/y' },
      { kind: 'write', path: '/d', data: text('/d is a file now') },
      { kind: 'write', path: '/new/deep/file', data: text('created') },
      { kind: 'write', path: '/gone', data: text('created and deleted') },
      { kind: 'delete', path: '/gone' },
      { kind: 'read', path: '/keep' },
    ];
    expect(run(store, tentative, 6).filter((result) => result.kind === 'error')).toEqual([]);
    expect(store.digest()).not.toBe(digestBefore);
    store.rollback();
    expect(store.hasSavepoint).toBe(false);
    expect(observe(store)).toEqual(before);
    // The directory /d is back, with its count: removing one file leaves it, removing both empties it.
    expect(errorCode(store.apply({ kind: 'write', path: '/d', data: text('') }, at(20)))).toBe('IS_A_DIRECTORY');
    expect(store.apply({ kind: 'delete', path: '/d/x' }, at(21)).kind).toBe('deleted');
    expect(store.apply({ kind: 'list', dir: '/d' }, at(0))).toMatchObject({ kind: 'listing' });
    expect(store.apply({ kind: 'delete', path: '/d/y' }, at(22)).kind).toBe('deleted');
    expect(errorCode(store.apply({ kind: 'list', dir: '/d' }, at(0)))).toBe('NOT_FOUND');
    expect(store.digest()).toBe(store.digestFromScratch());
  });

  it('release keeps the tentative batch: the state equals executing it without a savepoint (the batch committed)', () => {
    const store = sample();
    const twin = sample();
    const batch: FileOp[] = [
      { kind: 'append', path: '/a', data: text('+three') },
      { kind: 'delete', path: '/d/x' },
      { kind: 'write', path: '/e/f', data: text('new') },
    ];
    store.savepoint();
    const results = run(store, batch, 6);
    store.release();
    expect(store.hasSavepoint).toBe(false);
    expect(results).toEqual(run(twin, batch, 6));
    expect(observe(store)).toEqual(observe(twin));
    // A later savepoint returns to the released state, not to the earlier one.
    const released = observe(store);
    store.savepoint();
    run(store, [{ kind: 'delete', path: '/e/f' }], 7);
    store.rollback();
    expect(observe(store)).toEqual(released);
  });

  it('savepoint, rollback and release do no digest work; the digest comes back without a hash', () => {
    const hasher = countingSha256();
    const store = new FileStore(hasher);
    for (let i = 0; i < 300; i++) store.apply({ kind: 'write', path: `/bulk/f${i}`, data: text(`${i}`) }, at(i + 1));
    const digest = store.digest();
    store.apply({ kind: 'list', dir: '/' }, at(0));

    hasher.calls = 0;
    store.savepoint();
    expect(hasher.calls).toBe(0);
    run(
      store,
      [
        { kind: 'write', path: '/bulk/f1', data: text('changed') },
        { kind: 'delete', path: '/bulk/f2' },
        { kind: 'write', path: '/fresh', data: text('new') },
      ],
      400,
    );
    // Journaling adds no hashing: a term per changed file (the delete subtracts the term it kept).
    expect(hasher.calls).toBe(2 * (DIGEST_SUM_BITS / 256));
    hasher.calls = 0;
    store.rollback();
    expect(store.digest()).toBe(digest);
    expect(hasher.calls).toBe(0);

    store.savepoint();
    store.apply({ kind: 'write', path: '/bulk/f3', data: text('kept') }, at(400));
    hasher.calls = 0;
    store.release();
    expect(hasher.calls).toBe(0);
  });

  it('one savepoint at a time: a second throws SavepointError, and the open one still rolls back', () => {
    const store = sample();
    const before = observe(store);
    store.savepoint();
    store.apply({ kind: 'write', path: '/a', data: text('tentative') }, at(6));
    expect(() => store.savepoint()).toThrow(SavepointError);
    expect(() => store.savepoint()).toThrow('a savepoint is already open (one at a time)');
    store.apply({ kind: 'delete', path: '/keep' }, at(6));
    store.rollback();
    expect(observe(store)).toEqual(before);
  });

  it('rollback or release without a savepoint throws SavepointError and changes nothing', () => {
    const store = sample();
    const before = observe(store);
    expect(() => store.rollback()).toThrow(SavepointError);
    expect(() => store.release()).toThrow('release without an open savepoint');
    store.savepoint();
    store.release();
    expect(() => store.rollback()).toThrow('rollback without an open savepoint');
    expect(observe(store)).toEqual(before);
    let name: string | undefined;
    try {
      store.release();
    } catch (error) {
      name = (error as Error).name;
    }
    expect(name).toBe('SavepointError');
  });

  it('a successful restore (state transfer) discards the savepoint; a refused one keeps it', () => {
    const store = sample();
    const before = observe(store);
    store.savepoint();
    store.apply({ kind: 'write', path: '/a', data: text('tentative') }, at(6));
    expect(store.restore(new Uint8Array([1, 2, 3])).ok).toBe(false);
    expect(store.hasSavepoint).toBe(true);
    store.rollback();
    expect(observe(store)).toEqual(before);

    const other = new FileStore(sha256);
    other.apply({ kind: 'write', path: '/elsewhere', data: text('x') }, at(1));
    store.savepoint();
    store.apply({ kind: 'delete', path: '/a' }, at(6));
    expect(store.restore(other.snapshot())).toEqual({ ok: true });
    expect(store.hasSavepoint).toBe(false);
    expect(() => store.rollback()).toThrow(SavepointError);
    expect(observe(store)).toEqual(observe(other));
  });
});

describe('§5.1 tentative execution: seeded random batches, each rolled back or released', () => {
  it.each(SEEDS)('seed %i: a rollback returns to the savepoint, a release equals executing without one', (seed) => {
    const why = `reproduce with FILE_STORE_SEED=${seed}`;
    const random = prng(seed);
    const store = new FileStore(sha256); // executes each batch tentatively first
    const twin = new FileStore(sha256); // executes only the batches that committed, never under a savepoint
    const undone = new Map<string, number>();
    let seq = 0;
    for (let round = 0; round < 120; round++) {
      for (let i = Math.floor(random() * 8); i > 0; i--) {
        const op = randomOp(random);
        seq += 1;
        expect(store.execute(op, at(seq)), `${why}, round ${round}`).toEqual(twin.execute(op, at(seq)));
      }
      // Observing caches the digest and the sorted order; not observing leaves them to be rebuilt.
      const before = random() < 0.5 ? observe(store) : undefined;
      store.savepoint();
      const batch = Array.from({ length: Math.floor(random() * 25) }, () => randomOp(random));
      const results = batch.map((op) => store.execute(op, at(seq + 1)));
      if (random() < 0.3) expect(store.digest(), `${why}, round ${round}`).toBe(store.digestFromScratch());
      if (random() < 0.5) {
        store.rollback();
        expect(observe(store), `${why}, round ${round}: rollback`).toEqual(before ?? observe(twin));
        if (before !== undefined) expect(observe(twin), `${why}, round ${round}`).toEqual(before);
        for (const bytes of results) {
          const decoded = decodeResult(bytes);
          if (!decoded.ok) throw new Error(`${why}: ${decoded.reason}`);
          const result = decoded.result;
          const what = result.kind === 'written' ? (result.stat.version === 1 ? 'created' : 'changed') : result.kind;
          undone.set(what, (undone.get(what) ?? 0) + 1);
        }
      } else {
        store.release();
        seq += 1;
        const twinResults = batch.map((op) => twin.execute(op, at(seq)));
        expect(results, `${why}, round ${round}: release`).toEqual(twinResults);
        expect(observe(store), `${why}, round ${round}: release`).toEqual(observe(twin));
      }
    }
    expect(store.digest(), why).toBe(store.digestFromScratch());
    // Rolled-back batches created, changed and deleted files (otherwise this test would prove less).
    for (const what of ['created', 'changed', 'deleted']) {
      expect(undone.get(what) ?? 0, `${why}: no rolled-back batch ${what} a file`).toBeGreaterThan(10);
    }
  });
});

describe("access: revoked clients (OSDI'99 §3)", () => {
  const access = { mayRevoke: (c: string) => c.split('/')[0] === 'op', principalOf: (c: string) => c.split('/')[0]! };
  const by = (client: string, seq: number): ExecutionContext => ({ client, timestamp: seq, seq });

  it('only an operator revokes; a revoked principal and its logical clients change nothing, reads included', () => {
    const store = new FileStore(sha256, access);
    expect(store.apply({ kind: 'write', path: '/a', data: text('1') }, by('eve/1', 1)).kind).toBe('written');
    expect(errorCode(store.apply({ kind: 'revoke', client: 'bob' }, by('eve', 2)))).toBe('NOT_ALLOWED');
    expect(errorCode(store.apply({ kind: 'revoke', client: 'op/2' }, by('op', 2)))).toBe('NOT_ALLOWED');
    expect(errorCode(store.apply({ kind: 'revoke', client: '' }, by('op', 2)))).toBe('BAD_OP');
    const digest = store.digest();
    expect(store.apply({ kind: 'revoke', client: 'eve/7' }, by('op/1', 3))).toEqual({ kind: 'revoked', client: 'eve' });
    expect(store.digest()).not.toBe(digest);
    expect(store.isRevoked('eve/3')).toBe(true);
    expect(store.revokedClients()).toEqual(['eve']);
    for (const client of ['eve', 'eve/1']) {
      const bytes = store.execute(encodeOp({ kind: 'read', path: '/a' }), by(client, 0));
      expect(decodeResult(bytes)).toMatchObject({ ok: true, result: { kind: 'error', code: 'REVOKED' } });
      expect(errorCode(store.apply({ kind: 'delete', path: '/a' }, by(client, 4)))).toBe('REVOKED');
    }
    expect(store.fileCount).toBe(1);
    // Revoking again is harmless and changes nothing.
    const after = store.digest();
    expect(store.apply({ kind: 'revoke', client: 'eve' }, by('op', 5)).kind).toBe('revoked');
    expect(store.digest()).toBe(after);
  });

  it('with no revoked client, digest and snapshot are exactly those of the files alone', () => {
    const plain = new FileStore(sha256);
    const guarded = new FileStore(sha256, access);
    for (const store of [plain, guarded]) store.apply({ kind: 'write', path: '/x', data: text('y') }, at(1));
    expect(guarded.digest()).toBe(plain.digest());
    expect(guarded.snapshot()).toEqual(plain.snapshot());
  });

  it('the revoked set is in the snapshot and the digest: restore, from-scratch digest, refused corruptions', () => {
    const store = new FileStore(sha256, access);
    store.apply({ kind: 'write', path: '/x', data: text('y') }, at(1));
    store.apply({ kind: 'revoke', client: 'zed' }, by('op', 2));
    store.apply({ kind: 'revoke', client: 'amy' }, by('op', 3));
    const snapshot = store.snapshot();
    const copy = new FileStore(sha256, access);
    expect(copy.restore(snapshot)).toEqual({ ok: true });
    expect(copy.digest()).toBe(store.digest());
    expect(copy.digestFromScratch()).toBe(store.digest());
    expect(copy.revokedClients()).toEqual(['amy', 'zed']);
    expect(copy.snapshot()).toEqual(snapshot);
    // Swap the two (sorted) names: refused, state unchanged.
    const swapped = snapshot.slice();
    const a = swapped.indexOf(0x61); // 'a' of amy
    const z = swapped.indexOf(0x7a); // 'z' of zed
    swapped.set(text('zed'), a);
    swapped.set(text('amy'), z);
    const target = new FileStore(sha256, access);
    const result = target.restore(swapped);
    expect(result.ok).toBe(false);
    expect(target.revokedClients()).toEqual([]);
  });

  it('a revoke executed tentatively is taken back by rollback and kept by release', () => {
    const store = new FileStore(sha256, access);
    const digest = store.digest();
    store.savepoint();
    store.apply({ kind: 'revoke', client: 'eve' }, by('op', 1));
    expect(store.isRevoked('eve')).toBe(true);
    store.rollback();
    expect(store.isRevoked('eve')).toBe(false);
    expect(store.digest()).toBe(digest);
    store.savepoint();
    store.apply({ kind: 'revoke', client: 'eve' }, by('op', 1));
    store.release();
    expect(store.isRevoked('eve')).toBe(true);
  });
});
