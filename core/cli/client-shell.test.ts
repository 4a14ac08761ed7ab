/** The interactive client: one connection, an operation per line (issue 15, point 2). */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { encodeResult, type FileOp } from '../app/file-ops.ts';
import type { SessionResult } from '../host/client-session.ts';
import { runClientShell, shellWords } from './client-shell.ts';

describe('pbft-lab client shell', () => {
  it('splits a line into an operation, keeping the spaces of the text', () => {
    expect(shellWords('write /a  two  words ')).toEqual({ words: ['write', '/a', ' two  words'], readOnly: false });
    expect(shellWords('  ro read /a')).toEqual({ words: ['read', '/a'], readOnly: true });
    expect(shellWords('list')).toEqual({ words: ['list'], readOnly: false });
  });

  it('runs one operation per line on one client, reports mistakes without leaving, and stops at quit', async () => {
    const submitted: { op: FileOp; readOnly: boolean | undefined }[] = [];
    const client = {
      submit: async (op: FileOp, options: { readOnly?: boolean }): Promise<SessionResult> => {
        submitted.push({ op, readOnly: options.readOnly });
        const stat = { path: '/a', size: 2, version: 1, modifiedSeq: 1 };
        const result =
          op.kind === 'read'
            ? encodeResult({ kind: 'data', stat, data: new TextEncoder().encode('hi') })
            : encodeResult({ kind: 'written', stat });
        return {
          timestamp: 1,
          result,
          matching: 3,
          readOnly: options.readOnly ?? false,
          committed: false,
          latencyMs: 4,
        };
      },
    };
    const input = new PassThrough();
    const lines: string[] = [];
    const done = runClientShell({
      client,
      cluster: 'demo-1',
      size: 4,
      json: false,
      readOnly: false,
      timeoutMs: 1000,
      print: (line) => lines.push(line),
      found: Promise.resolve(true),
      input,
      historyFile: null,
    });
    input.end('write /a hi\nread a\nro read /a\nquit\nwrite /never reached\n');
    expect(await done).toBe(0);
    expect(submitted.map((s) => [s.op.kind, s.readOnly])).toEqual([
      ['write', false],
      ['read', true],
    ]);
    expect(lines).toContain('written /a 2B v1 seq1');
    expect(lines).toContain('error: read: path "a" must start with / (did you mean /a?)');
    expect(lines).toContain('hi');
    expect(lines).toContain('(3 matching replies, 2f+1 = 3 needed, read-only; 4.0 ms)');
  });
});
