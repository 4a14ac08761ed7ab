/** Framing: varint length prefixes, incremental decoding, and rejection of bad prefixes before buffering. */
import { describe, expect, it } from 'vitest';
import { Uint8ArrayList } from 'uint8arraylist';
import {
  encodeFrames,
  encodeLengthPrefix,
  FrameDecoder,
  FrameTooLargeError,
  MalformedFrameLengthError,
} from './frames.ts';

function decodeAll(decoder: FrameDecoder, ...chunks: Uint8Array[]): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk, (frame) => frames.push(frame));
  }
  return frames;
}

describe('length prefix', () => {
  it('is an unsigned LEB128 varint', () => {
    expect([...encodeLengthPrefix(0)]).toEqual([0]);
    expect([...encodeLengthPrefix(127)]).toEqual([127]);
    expect([...encodeLengthPrefix(128)]).toEqual([0x80, 0x01]);
    expect([...encodeLengthPrefix(300)]).toEqual([0xac, 0x02]);
    expect([...encodeLengthPrefix(4 * 1024 * 1024)]).toEqual([0x80, 0x80, 0x80, 0x02]);
  });
});

describe('FrameDecoder', () => {
  it('round-trips frames of many sizes, including empty ones, fed one byte at a time', () => {
    const sent = [0, 1, 127, 128, 300, 70_000].map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff));
    const wire = encodeFrames(sent).subarray();
    const decoder = new FrameDecoder();
    const received = decodeAll(decoder, ...[...wire].map((byte) => Uint8Array.of(byte)));
    expect(received).toEqual(sent);
    expect(decoder.midFrame).toBe(false);
  });

  it('decodes several frames from one chunk and a frame split across a Uint8ArrayList', () => {
    const wire = encodeFrames([Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5, 6)]).subarray();
    const decoder = new FrameDecoder();
    const frames: Uint8Array[] = [];
    decoder.push(new Uint8ArrayList(wire.subarray(0, 4), wire.subarray(4, 6)), (f) => frames.push(f));
    expect(frames).toEqual([Uint8Array.of(1, 2), Uint8Array.of(3)]);
    expect(decoder.midFrame).toBe(true);
    expect(decoder.bufferedBytes).toBe(0); // the prefix of the third frame is consumed, its payload not yet here
    decoder.push(wire.subarray(6), (f) => frames.push(f));
    expect(frames.at(-1)).toEqual(Uint8Array.of(4, 5, 6));
  });

  it('hands out copies, so keeping a frame does not pin or alias the input chunk', () => {
    const chunk = encodeFrames([Uint8Array.of(9, 9, 9)]).subarray();
    const [frame] = decodeAll(new FrameDecoder(), chunk);
    chunk.fill(0);
    expect(frame).toEqual(Uint8Array.of(9, 9, 9));
  });

  it('rejects an oversized length prefix at once, before any payload, and keeps no bytes', () => {
    const decoder = new FrameDecoder(1024);
    const delivered: Uint8Array[] = [];
    const good = encodeFrames([Uint8Array.of(1)]).subarray();
    const bad = encodeLengthPrefix(64 * 1024 * 1024);
    const chunk = new Uint8Array([...good, ...bad, 0xaa, 0xbb]);
    let error: unknown;
    try {
      decoder.push(chunk, (f) => delivered.push(f));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FrameTooLargeError);
    expect((error as Error).name).toBe('FrameTooLargeError');
    expect((error as FrameTooLargeError).announcedBytes).toBe(64 * 1024 * 1024);
    expect(delivered).toEqual([Uint8Array.of(1)]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(() => decoder.push(Uint8Array.of(0), () => {})).toThrow(/after a framing error/);
  });

  it('rejects an oversized prefix from its first bytes, without waiting for the rest of the varint', () => {
    const decoder = new FrameDecoder(1024);
    // 0xff 0xff already means ≥ 16383 > 1024, whatever follows.
    expect(() => decoder.push(Uint8Array.of(0xff, 0xff), () => {})).toThrow(FrameTooLargeError);
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const frame = new Uint8Array(1024).fill(3);
    expect(decodeAll(new FrameDecoder(1024), encodeFrames([frame]).subarray())).toEqual([frame]);
  });

  it('rejects a length prefix longer than five bytes as malformed', () => {
    const decoder = new FrameDecoder();
    expect(() => decoder.push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x00), () => {})).toThrow(
      MalformedFrameLengthError,
    );
  });

  it('reports a truncated frame as buffered bytes, never as a frame', () => {
    const decoder = new FrameDecoder();
    const wire = encodeFrames([new Uint8Array(100)]).subarray();
    expect(decodeAll(decoder, wire.subarray(0, 50))).toEqual([]);
    expect(decoder.midFrame).toBe(true);
    expect(decoder.bufferedBytes).toBe(49);
    const afterPrefixOnly = new FrameDecoder();
    decodeAll(afterPrefixOnly, encodeLengthPrefix(100));
    expect(afterPrefixOnly.midFrame).toBe(true);
  });
});
