/** Operations are checked by the client before they are sent (issue 15, point 14). */
import { describe, expect, it } from 'vitest';
import { MAX_OP_BYTES } from '../pbft/codec.ts';
import { checkClientOp, parseClientOp } from './client-op.ts';
import { UsageError } from './usage-error.ts';

const parse = (...words: string[]) => checkClientOp(parseClientOp(words));

describe('pbft-lab client operations', () => {
  it('refuses a path without its leading slash before anything is sent, and suggests the right one', () => {
    expect(() => parse('read', 'hello')).toThrow(UsageError);
    expect(() => parse('read', 'hello')).toThrow('read: path "hello" must start with / (did you mean /hello?)');
    expect(() => parse('write', '/a//b', 'x')).toThrow(/empty component/);
    expect(() => parse('delete', '/')).toThrow(/root directory/);
    expect(() => parse('list', 'docs')).toThrow(/must start with \//);
    expect(parse('list')).toEqual({ kind: 'list', dir: '/' });
  });

  it('refuses an operation over the 64 KiB limit, naming the limit', () => {
    expect(() => parse('write', '/big', 'x'.repeat(MAX_OP_BYTES))).toThrow(
      /the limit is 64 KiB \(65536 bytes\) per operation/,
    );
    expect(parse('write', '/fits', 'x'.repeat(60_000)).kind).toBe('write');
  });

  it('takes the text of write and append as several words, as echo does', () => {
    const op = parse('write', '/notes', 'three', 'little', 'words');
    expect(op.kind === 'write' && new TextDecoder().decode(op.data)).toBe('three little words');
    expect(() => parse('append', '/notes')).toThrow(/takes PATH and TEXT/);
  });
});
