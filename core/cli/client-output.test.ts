/** `pbft-lab client list` prints the entries as ls -l would (issue 15, point 6). */
import { describe, expect, it } from 'vitest';
import { formatResult } from './client-output.ts';

describe('pbft-lab client output', () => {
  it('a listing shows every entry with its size, version and last modifying sequence number', () => {
    const lines = formatResult({
      kind: 'listing',
      dir: '/',
      entries: [
        { path: '/hello', size: 5, version: 1, modifiedSeq: 1 },
        { path: '/notes/week1', size: 1200, version: 12, modifiedSeq: 31 },
      ],
    });
    expect(lines).toEqual([
      'total 2 files, 1205 bytes in /',
      '   5  v1   seq 1   /hello',
      '1200  v12  seq 31  /notes/week1',
    ]);
  });

  it('an empty directory says so', () => {
    expect(formatResult({ kind: 'listing', dir: '/docs', entries: [] })).toEqual(['total 0 files, 0 bytes in /docs']);
  });
});
