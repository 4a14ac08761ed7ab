import { describe, expect, it } from 'vitest';
import { qrPath } from './qr.ts';

/** The dark modules a path draws, as "row,col" keys. */
function darkCells(d: string): Set<string> {
  const cells = new Set<string>();
  for (const m of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-\3z/g)) {
    const [col, row, run] = [Number(m[1]), Number(m[2]), Number(m[3])];
    for (let i = 0; i < run; i++) cells.add(`${row},${col + i}`);
  }
  return cells;
}

describe('qrPath', () => {
  const JOIN_CODE = 'ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789-ABCD-EFGH-JKMN-PQRS-TVWX-YZ01';

  it('draws a QR code of a join code: a valid size, the three finder patterns, nothing else in the path', () => {
    const { size, d } = qrPath(JOIN_CODE);
    expect((size - 21) % 4).toBe(0);
    expect(d).toMatch(/^(M\d+ \d+h\d+v1h-\d+z)+$/);
    const dark = darkCells(d);
    // A finder pattern: a dark 7×7 ring, a light ring, a dark 3×3 core — at three corners.
    const corners: [number, number][] = [
      [0, 0],
      [0, size - 7],
      [size - 7, 0],
    ];
    for (const [r0, c0] of corners) {
      for (let i = 0; i < 7; i++) {
        const ring: [number, number][] = [
          [r0, c0 + i],
          [r0 + 6, c0 + i],
          [r0 + i, c0],
          [r0 + i, c0 + 6],
        ];
        for (const [r, c] of ring) expect(dark.has(`${r},${c}`), `finder module ${r},${c}`).toBe(true);
      }
      expect(dark.has(`${r0 + 1},${c0 + 1}`)).toBe(false);
      expect(dark.has(`${r0 + 3},${c0 + 3}`)).toBe(true);
    }
  });

  it('is deterministic, and differs between codes', () => {
    expect(qrPath(JOIN_CODE)).toEqual(qrPath(JOIN_CODE));
    expect(qrPath(JOIN_CODE).d).not.toBe(qrPath(JOIN_CODE.replace('ABCD', 'ABCE')).d);
  });

  it('encodes text outside the alphanumeric set as bytes', () => {
    expect(qrPath('join code: xyz').size).toBeGreaterThanOrEqual(21);
  });
});
