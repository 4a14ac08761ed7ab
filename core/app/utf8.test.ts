import { describe, expect, it } from 'vitest';
import { isWellFormed, utf8Decode, utf8Encode, utf8Length, utf8Write } from './utf8.ts';

/** mulberry32: a small seeded PRNG for reproducible random inputs. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const SEED = Number(process.env.UTF8_SEED ?? 20240601);
const encoder = new TextEncoder();
const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

describe('utf8', () => {
  it('encodes boundary code points as TextEncoder does and decodes them back', () => {
    const points = [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x10ffff];
    for (const point of points) {
      const text = String.fromCodePoint(point);
      expect([...utf8Encode(text)], `U+${point.toString(16)}`).toEqual([...encoder.encode(text)]);
      expect(utf8Decode(utf8Encode(text))).toBe(text);
    }
  });

  it('writes a lone surrogate as U+FFFD, and isWellFormed tells it apart', () => {
    for (const text of ['\ud800', 'a\udc00', '\udbff\ud800', 'x\ud83d']) {
      expect([...utf8Encode(text)]).toEqual([...encoder.encode(text)]);
      expect(utf8Length(text)).toBe(encoder.encode(text).length);
      expect(isWellFormed(text)).toBe(false);
    }
    expect(isWellFormed('a🙂b\u{10ffff}')).toBe(true);
  });

  it('matches TextEncoder and round-trips on random strings', () => {
    const random = prng(SEED);
    for (let i = 0; i < 2000; i++) {
      const units = Array.from({ length: Math.floor(random() * 12) }, () => {
        const r = random();
        if (r < 0.4) return Math.floor(random() * 0x80);
        if (r < 0.9) return Math.floor(random() * 0x10000); // includes lone surrogates
        return -1; // a surrogate pair
      });
      const text = units
        .map((u) => (u < 0 ? String.fromCodePoint(0x10000 + Math.floor(random() * 0x100000)) : String.fromCharCode(u)))
        .join('');
      const bytes = utf8Encode(text);
      expect([...bytes], `seed=${SEED} ${JSON.stringify(text)}`).toEqual([...encoder.encode(text)]);
      expect(utf8Length(text), `seed=${SEED} ${JSON.stringify(text)}`).toBe(bytes.length);
      const into = new Uint8Array(bytes.length + 3).fill(0xaa);
      expect(utf8Write(text, into, 2)).toBe(bytes.length + 2);
      expect([...into]).toEqual([0xaa, 0xaa, ...bytes, 0xaa]);
      if (isWellFormed(text)) expect(utf8Decode(bytes)).toBe(text);
    }
  });

  const invalid: [string, number[]][] = [
    ['a lone continuation byte', [0x80]],
    ['overlong 2-byte /', [0xc0, 0xaf]],
    ['overlong C1', [0xc1, 0xbf]],
    ['overlong 3-byte', [0xe0, 0x80, 0xaf]],
    ['overlong 4-byte', [0xf0, 0x80, 0x80, 0xaf]],
    ['an encoded high surrogate', [0xed, 0xa0, 0x80]],
    ['an encoded low surrogate', [0xed, 0xbf, 0xbf]],
    ['beyond U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['lead byte F5', [0xf5, 0x80, 0x80, 0x80]],
    ['lead byte FF', [0xff]],
    ['a truncated 2-byte sequence', [0x61, 0xc3]],
    ['a truncated 4-byte sequence', [0xf0, 0x9f, 0x99]],
    ['a missing continuation', [0xe2, 0x28, 0xa1]],
  ];
  it.each(invalid)('refuses %s', (_name, bytes) => {
    expect(utf8Decode(new Uint8Array(bytes))).toBeUndefined();
  });

  it('accepts and refuses exactly what a fatal TextDecoder does, on random bytes', () => {
    const random = prng(SEED + 1);
    const interesting = [0x00, 0x2f, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    for (let i = 0; i < 20000; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(random() * 6) }, () =>
        random() < 0.5 ? interesting[Math.floor(random() * interesting.length)]! : Math.floor(random() * 256),
      );
      let expected: string | undefined;
      try {
        expected = fatalDecoder.decode(bytes);
      } catch {
        expected = undefined;
      }
      expect(utf8Decode(bytes), `seed=${SEED + 1} bytes=${[...bytes].join(',')}`).toBe(expected);
    }
  });

  it('decodes long strings (chunked string building)', () => {
    const text = 'é🙂x'.repeat(10000);
    expect(utf8Decode(utf8Encode(text))).toBe(text);
  });
});
