import { describe, expect, it } from 'vitest';
import { acceptance, buildOp, describeOp, describeResult, executedSeq, isMutating } from './client-ops.ts';

describe('client operations', () => {
  it('builds each kind of operation from the form', () => {
    expect(buildOp({ kind: 'write', path: ' /a.txt ', text: 'hi' })).toEqual({
      ok: true,
      op: { kind: 'write', path: '/a.txt', text: 'hi' },
    });
    expect(buildOp({ kind: 'append', path: '/a.txt', text: '!' })).toEqual({
      ok: true,
      op: { kind: 'append', path: '/a.txt', text: '!' },
    });
    expect(buildOp({ kind: 'read', path: '/a.txt', text: 'ignored' })).toEqual({
      ok: true,
      op: { kind: 'read', path: '/a.txt' },
    });
    expect(buildOp({ kind: 'list', path: '', text: '' })).toEqual({ ok: true, op: { kind: 'list', dir: '/' } });
    expect(buildOp({ kind: 'list', path: '/docs', text: '' })).toEqual({
      ok: true,
      op: { kind: 'list', dir: '/docs' },
    });
  });

  it('asks for an absolute path', () => {
    const built = buildOp({ kind: 'read', path: 'a.txt', text: '' });
    expect(built.ok).toBe(false);
  });

  it('knows which operations change the file system', () => {
    expect(['write', 'append', 'delete', 'read', 'list', 'stat'].map((k) => isMutating(k as never))).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it('describes operations and results', () => {
    const stat = { path: '/a.txt', size: 5, version: 2, modifiedSeq: 9 };
    expect(describeOp({ kind: 'write', path: '/a.txt', text: 'hello' })).toBe('write /a.txt (5 chars)');
    expect(describeResult({ kind: 'written', stat })).toBe('written: /a.txt, 5 bytes, version 2, executed at n=9');
    expect(executedSeq({ kind: 'written', stat })).toBe(9);
    expect(executedSeq({ kind: 'deleted', path: '/a.txt' })).toBeNull();
    expect(describeResult({ kind: 'data', stat, text: 'hello', base64: 'aGVsbG8=' })).toBe('/a.txt: hello');
    expect(describeResult({ kind: 'data', stat, text: null, base64: '' })).toBe('/a.txt: 5 bytes of binary data');
    expect(describeResult({ kind: 'listing', dir: '/', entries: [stat] })).toBe('1 file under /');
    expect(describeResult({ kind: 'error', code: 'NOT_FOUND', message: 'no such file: /b' })).toBe(
      'NOT_FOUND: no such file: /b',
    );
  });

  it('accepts a result at f+1 matching replies (§4.1)', () => {
    expect(acceptance(2, 1)).toEqual({
      matching: 2,
      needed: 2,
      accepted: true,
      label: '2 replicas matched (f+1 = 2 needed)',
    });
    expect(acceptance(1, 1).accepted).toBe(false);
    expect(acceptance(3, 2).accepted).toBe(true);
    // §5.1: tentative replies need 2f+1.
    expect(acceptance(2, 1, false)).toMatchObject({ needed: 3, accepted: false });
    expect(acceptance(3, 1, false).label).toBe('3 replicas matched (2f+1 = 3 needed, tentative)');
  });
});
