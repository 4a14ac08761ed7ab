import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePng, distinctColours } from './png.ts';

/** A tiny RGB PNG written by hand, each row with the given filter. */
function png(width: number, rows: number[][], filters: number[]): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'latin1');
    return Buffer.concat([head, data, Buffer.alloc(4)]); // the CRC is not checked by the decoder
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(rows.length, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const raw = Buffer.concat(rows.map((row, y) => Buffer.from([filters[y]!, ...row])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('PNG check for screenshots', () => {
  it('undoes the row filters', () => {
    // Row 0 unfiltered: red, green. Row 1 "up" filter with zero deltas: the same two pixels again.
    const decoded = decodePng(
      png(
        2,
        [
          [255, 0, 0, 0, 255, 0],
          [0, 0, 0, 0, 0, 0],
        ],
        [0, 2],
      ),
    );
    expect([...decoded.pixels]).toEqual([255, 0, 0, 0, 255, 0, 255, 0, 0, 0, 255, 0]);
    expect(distinctColours(decoded)).toBe(2);
  });

  it('undoes the sub filter', () => {
    const decoded = decodePng(png(2, [[10, 20, 30, 1, 1, 1]], [1]));
    expect([...decoded.pixels]).toEqual([10, 20, 30, 11, 21, 31]);
  });

  it('finds a one-colour image to have one colour', () => {
    expect(distinctColours(decodePng(png(3, [[9, 9, 9, 9, 9, 9, 9, 9, 9]], [0])))).toBe(1);
  });

  it('refuses what is not a PNG', () => {
    expect(() => decodePng(Buffer.from('GIF89a'))).toThrow('not a PNG');
  });
});
