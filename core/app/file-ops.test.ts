import { describe, expect, it } from 'vitest';
import {
  FILE_ERROR_CODES,
  PATH_BYTES_MAX,
  PATH_COMPONENTS_MAX,
  decodeOp,
  decodeResult,
  describeOp,
  describeResult,
  encodeOp,
  encodeResult,
  isReadOnlyKind,
  peekOpKind,
  showPath,
  validateDir,
  validatePath,
} from './file-ops.ts';
import type { FileOp, FileResult } from './file-ops.ts';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('validatePath', () => {
  const accepted = [
    '/a',
    '/hello.txt',
    '/a/b/c.d',
    '/.hidden', // only '.' and '..' themselves are refused
    '/a/...',
    '/with space/and\ttab',
    '/日本語/файл',
    '/emoji/🙂',
    '/' + 'x'.repeat(PATH_BYTES_MAX - 1),
    '/' + 'é'.repeat(127), // 1 + 254 bytes
    '/a'.repeat(PATH_COMPONENTS_MAX),
  ];
  it.each(accepted)('accepts %j', (path) => {
    const check = validatePath(path);
    expect(check.ok).toBe(true);
    if (check.ok) expect(check.bytes).toEqual(text(path));
  });

  const refused: [string, string][] = [
    ['', 'must start with /'],
    ['a/b', 'must start with /'],
    ['/', 'is the root directory'],
    ['//a', 'has an empty component'],
    ['/a//b', 'has an empty component'],
    ['/a/', 'has an empty component'],
    ['/.', "has a '.' component"],
    ['/a/./b', "has a '.' component"],
    ['/..', "has a '..' component"],
    ['/a/../b', "has a '..' component"],
    ['/a\0b', 'contains NUL'],
    ['/a\ud800', 'is not well-formed Unicode'],
    ['/\udc00a', 'is not well-formed Unicode'],
    ['/' + 'x'.repeat(PATH_BYTES_MAX), 'is 256 bytes (max 255)'],
    ['/' + 'é'.repeat(128), 'is 257 bytes (max 255)'],
    ['/a'.repeat(PATH_COMPONENTS_MAX + 1), 'has 33 components (max 32)'],
  ];
  it.each(refused)('refuses %j: %s', (path, reason) => {
    expect(validatePath(path)).toEqual({ ok: false, reason });
  });

  it('accepts / as a directory but not as a file', () => {
    expect(validateDir('/').ok).toBe(true);
    expect(validateDir('/a/b').ok).toBe(true);
    expect(validateDir('/a/').ok).toBe(false);
    expect(validatePath('/').ok).toBe(false);
  });
});

const ops: FileOp[] = [
  { kind: 'write', path: '/hello', data: text('world') },
  { kind: 'write', path: '/empty', data: new Uint8Array(0) },
  { kind: 'append', path: '/日本/log', data: new Uint8Array([0, 255, 1, 254]) },
  { kind: 'read', path: '/hello' },
  { kind: 'delete', path: '/a/b' },
  { kind: 'list', dir: '/' },
  { kind: 'stat', path: '/🙂' },
  { kind: 'read', path: 'not/valid//but/encodable' }, // the codec carries any string; the store judges paths
];

describe('operation codec', () => {
  it.each(ops)('round-trips $kind', (op) => {
    expect(decodeOp(encodeOp(op))).toEqual({ ok: true, op });
  });

  it('has the documented layout: tag, u32-length path, u32-length data', () => {
    expect([...encodeOp({ kind: 'write', path: '/hi', data: text('yo') })]).toEqual([
      1, 0, 0, 0, 3, 0x2f, 0x68, 0x69, 0, 0, 0, 2, 0x79, 0x6f,
    ]);
    expect([...encodeOp({ kind: 'list', dir: '/' })]).toEqual([5, 0, 0, 0, 1, 0x2f]);
  });

  it('decodes data into a copy that does not alias the input', () => {
    const bytes = encodeOp({ kind: 'write', path: '/x', data: text('abc') });
    const decoded = decodeOp(bytes);
    bytes.fill(0);
    expect(decoded.ok && decoded.op.kind === 'write' && [...decoded.op.data]).toEqual([...text('abc')]);
  });

  const malformed: [string, number[], string][] = [
    ['empty', [], 'truncated op tag at byte 0'],
    ['unknown tag', [9, 0, 0, 0, 0], 'unknown op tag 9'],
    ['tag 0', [0], 'unknown op tag 0'],
    ['truncated length', [3, 0, 0], 'truncated path length at byte 1'],
    ['length past the end', [3, 0, 0, 0, 5, 0x2f], 'truncated path at byte 5'],
    ['missing data', [1, 0, 0, 0, 1, 0x2f], 'truncated data length at byte 6'],
    ['trailing bytes', [3, 0, 0, 0, 1, 0x2f, 0], '1 trailing bytes after op'],
    ['overlong UTF-8', [3, 0, 0, 0, 3, 0x2f, 0xc0, 0xaf], 'path is not valid UTF-8'],
    ['encoded surrogate', [3, 0, 0, 0, 4, 0x2f, 0xed, 0xa0, 0x80], 'path is not valid UTF-8'],
    ['huge length', [3, 0xff, 0xff, 0xff, 0xff], 'truncated path at byte 5'],
  ];
  it.each(malformed)('refuses %s with a reason', (_name, bytes, reason) => {
    expect(decodeOp(new Uint8Array(bytes))).toEqual({ ok: false, reason });
  });

  it('refuses every strict prefix of a valid encoding', () => {
    const bytes = encodeOp({ kind: 'append', path: '/a/b', data: text('data') });
    for (let length = 0; length < bytes.length; length++) {
      expect(decodeOp(bytes.subarray(0, length)).ok, `prefix of ${length} bytes`).toBe(false);
    }
  });

  it('tells read-only kinds from the tag byte alone', () => {
    expect(ops.map((op) => peekOpKind(encodeOp(op)))).toEqual(ops.map((op) => op.kind));
    expect(peekOpKind(new Uint8Array(0))).toBeUndefined();
    expect(peekOpKind(new Uint8Array([42]))).toBeUndefined();
    expect(['write', 'append', 'read', 'delete', 'list', 'stat'].filter((k) => isReadOnlyKind(k as never))).toEqual([
      'read',
      'list',
      'stat',
    ]);
  });
});

const stat = { path: '/notes/a.txt', size: 5, version: 3, modifiedSeq: 2 ** 40 + 7 };
const results: FileResult[] = [
  { kind: 'written', stat },
  { kind: 'data', stat, data: text('hello') },
  { kind: 'deleted', path: '/gone' },
  { kind: 'listing', dir: '/notes', entries: [stat, { ...stat, path: '/notes/b', size: 0, version: 1 }] },
  { kind: 'listing', dir: '/', entries: [] },
  { kind: 'stat', stat: { ...stat, modifiedSeq: Number.MAX_SAFE_INTEGER } },
  ...FILE_ERROR_CODES.map((code): FileResult => ({ kind: 'error', code, message: `${code} happened: /é` })),
];

describe('result codec', () => {
  it.each(results)('round-trips $kind', (result) => {
    expect(decodeResult(encodeResult(result))).toEqual({ ok: true, result });
  });

  it('refuses every strict prefix and any trailing byte', () => {
    for (const result of results) {
      const bytes = encodeResult(result);
      for (let length = 0; length < bytes.length; length++) {
        expect(decodeResult(bytes.subarray(0, length)).ok, `${result.kind}, prefix of ${length}`).toBe(false);
      }
      expect(decodeResult(new Uint8Array([...bytes, 0]))).toEqual({
        ok: false,
        reason: '1 trailing bytes after result',
      });
    }
  });

  it('refuses results no store could produce', () => {
    const statStart = 1; // after the result tag
    const sizeLowByte = statStart + 4 + stat.path.length + 3;
    const versionLowByte = sizeLowByte + 8;
    const data = encodeResult({ kind: 'data', stat, data: text('hello') });
    data[sizeLowByte] = 6; // 6 bytes promised, 5 sent
    expect(decodeResult(data)).toEqual({ ok: false, reason: 'data is 5 bytes but size is 6' });

    const error = encodeResult({ kind: 'error', code: 'BAD_OP', message: '' });
    error[1] = FILE_ERROR_CODES.length + 1;
    expect(decodeResult(error)).toEqual({ ok: false, reason: `unknown error code ${FILE_ERROR_CODES.length + 1}` });

    expect(decodeResult(new Uint8Array([77]))).toEqual({ ok: false, reason: 'unknown result tag 77' });

    const zeroVersion = encodeResult({ kind: 'stat', stat: { ...stat, version: 1 } });
    zeroVersion[versionLowByte] = 0;
    expect(decodeResult(zeroVersion)).toEqual({ ok: false, reason: 'version 0 (a file has version ≥ 1)' });

    const hugeListing = new Uint8Array([4, 0, 0, 0, 1, 0x2f, 0x7f, 0xff, 0xff, 0xff]);
    expect(decodeResult(hugeListing)).toEqual({ ok: false, reason: 'listing has 2147483647 entries (max 10000)' });
  });
});

describe('describers', () => {
  it('describe operations on one line', () => {
    expect(ops.map(describeOp)).toEqual([
      'write /hello 5B',
      'write /empty 0B',
      'append /日本/log 4B',
      'read /hello',
      'delete /a/b',
      'list /',
      'stat /🙂',
      'read not/valid//but/encodable',
    ]);
  });

  it('describe results on one line', () => {
    expect(results.slice(0, 6).map(describeResult)).toEqual([
      `written /notes/a.txt 5B v3 seq${2 ** 40 + 7}`,
      `data /notes/a.txt 5B v3 seq${2 ** 40 + 7}`,
      'deleted /gone',
      'listing /notes 2 files',
      'listing / 0 files',
      `stat /notes/a.txt 5B v3 seq${Number.MAX_SAFE_INTEGER}`,
    ]);
    expect(describeResult({ kind: 'error', code: 'NOT_FOUND', message: 'no such file: /x\nsecond line' })).toBe(
      'error NOT_FOUND: no such file: /x\\u000asecond line',
    );
  });

  it('quote and cut paths that would break a line or flood a log', () => {
    expect(showPath('/plain/é')).toBe('/plain/é');
    expect(showPath('/two words')).toBe('"/two words"');
    expect(showPath('/line\nbreak')).toBe('"/line\\nbreak"');
    expect(showPath('/sep\u2028x')).toBe('"/sep\\u2028x"');
    expect(showPath('/lone\ud800')).toBe('"/lone\\ud800"');
    expect(showPath('')).toBe('""');
    expect(showPath('/' + 'x'.repeat(500))).toBe(`"/${'x'.repeat(79)}"…`);
    for (const path of ['/a\nb', '/' + '\n'.repeat(1000), '/\u0085']) {
      expect(describeOp({ kind: 'read', path })).not.toMatch(/[\n\r\u0085\u2028\u2029]/);
    }
  });
});
