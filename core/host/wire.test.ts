/** Grouped frames: CLIENT-REQUESTS and CLIENT-REPLIES carry several messages for one node, within limits. */
import { DEFAULT_NON_MEMBER_MAX_FRAME_BYTES } from '../net/frame-transport.ts';
import { MAX_OP_BYTES } from '../pbft/codec.ts';
import { describe, expect, it } from 'vitest';
import type { Reply, Request } from '../pbft/messages.ts';
import { SIGNATURE_BYTES, SIGNED_HISTORY_BYTES_MAX } from './behaviour-history.ts';
import {
  encodeFrame,
  encodeGroupedFrames,
  FRAME,
  GROUPED_FRAME_BYTES,
  GROUPED_REQUESTS_FRAME_BYTES,
  GROUPED_PER_FRAME,
  parseFrame,
  type WireFrame,
} from './wire.ts';

const reply = (timestamp: number, resultBytes = 0): Reply => ({
  type: 'reply',
  view: 0,
  timestamp,
  client: `peer/${timestamp % 7}`,
  replica: 2,
  tentative: timestamp % 2 === 0,
  readOnly: false,
  result: new Uint8Array(resultBytes).fill(timestamp & 0xff),
});

const request = (timestamp: number): Request => ({
  type: 'request',
  client: `peer/${timestamp}`,
  timestamp,
  readOnly: false,
  op: Uint8Array.of(1, 2, 3),
  auth: [new Uint8Array(32).fill(9), new Uint8Array(32).fill(8)],
});

const parsed = (bytes: Uint8Array): WireFrame => {
  const p = parseFrame(bytes);
  if (!p.ok) throw new Error(p.reason);
  return p.frame;
};

const reasonOf = (bytes: Uint8Array): string => {
  const p = parseFrame(bytes);
  if (p.ok) throw new Error(`parsed as ${p.frame.kind}`);
  return p.reason;
};

describe('grouped client frames', () => {
  it('one reply alone goes as CLIENT-REPLY, several as one CLIENT-REPLIES, in order', () => {
    const [single] = encodeGroupedFrames('replies', [reply(1)]);
    expect(single![0]).toBe(FRAME.clientReply);
    expect(parsed(single!)).toEqual({ kind: 'client-reply', reply: reply(1) });

    const replies = [reply(1), reply(2, 300), reply(3, 5)];
    const frames = encodeGroupedFrames('replies', replies);
    expect(frames).toHaveLength(1);
    expect(frames[0]![0]).toBe(FRAME.clientReplies);
    expect(parsed(frames[0]!)).toEqual({ kind: 'client-replies', replies });
    expect(encodeFrame({ kind: 'client-replies', replies })).toEqual(frames[0]);
  });

  it(`requests fill a frame up to ${GROUPED_REQUESTS_FRAME_BYTES} bytes only: replicas take no more from a client than ${DEFAULT_NON_MEMBER_MAX_FRAME_BYTES}`, () => {
    const big = (t: number): Request => ({ ...request(t), op: new Uint8Array(MAX_OP_BYTES).fill(t) });
    const frames = encodeGroupedFrames('requests', [big(1), request(2), request(3), big(4)]);
    expect(frames.map((f) => parsed(f).kind)).toEqual(['client-request', 'client-requests', 'client-request']);
    expect(Math.max(...frames.map((f) => f.length))).toBeLessThanOrEqual(DEFAULT_NON_MEMBER_MAX_FRAME_BYTES);
    // Even a lone request of the largest operation, with a MAC for each of 256 replicas.
    const macs = Array.from({ length: 256 }, () => new Uint8Array(32));
    const [lone] = encodeGroupedFrames('requests', [{ ...big(5), auth: macs }]);
    expect(lone!.length).toBeLessThanOrEqual(DEFAULT_NON_MEMBER_MAX_FRAME_BYTES);
  });

  it('requests group the same way', () => {
    const requests = [request(1), request(2)];
    const frames = encodeGroupedFrames('requests', requests);
    expect(frames).toHaveLength(1);
    expect(frames[0]![0]).toBe(FRAME.clientRequests);
    expect(parsed(frames[0]!)).toEqual({ kind: 'client-requests', requests });
    expect(parsed(encodeGroupedFrames('requests', [request(3)])[0]!)).toEqual({
      kind: 'client-request',
      request: request(3),
    });
  });

  it(`splits at ${GROUPED_PER_FRAME} messages and at ${GROUPED_FRAME_BYTES} bytes`, () => {
    const many = Array.from({ length: GROUPED_PER_FRAME * 2 + 1 }, (_, i) => reply(i + 1));
    const frames = encodeGroupedFrames('replies', many);
    expect(frames).toHaveLength(3);
    const back = frames.map(parsed);
    expect(back.map((f) => (f.kind === 'client-replies' ? f.replies.length : 1))).toEqual([
      GROUPED_PER_FRAME,
      GROUPED_PER_FRAME,
      1,
    ]);
    expect(
      back.flatMap((f) => (f.kind === 'client-replies' ? f.replies : f.kind === 'client-reply' ? [f.reply] : [])),
    ).toEqual(many);

    const big = [reply(1, 600_000), reply(2, 600_000), reply(3, 10)];
    const split = encodeGroupedFrames('replies', big).map(parsed);
    expect(split.map((f) => f.kind)).toEqual(['client-reply', 'client-replies']);
  });

  it('a malformed group is refused whole, with the reason', () => {
    const good = encodeGroupedFrames('replies', [reply(1), reply(2)])[0]!;
    expect(reasonOf(good.subarray(0, good.length - 3))).toMatch(
      /^CLIENT-REPLIES reply 1 of \d+ bytes does not fit the frame$/,
    );
    expect(reasonOf(Uint8Array.of(FRAME.clientReplies, 0x80))).toBe(
      'CLIENT-REPLIES cut short in a length prefix at byte 2',
    );
    expect(reasonOf(Uint8Array.of(FRAME.clientReplies, 0x80, 0x80, 0x80, 0x80, 0x01))).toBe(
      'CLIENT-REPLIES length prefix too long at byte 5',
    );
    expect(reasonOf(Uint8Array.of(FRAME.clientReplies, 0))).toBe(
      'CLIENT-REPLIES reply 0 of 0 bytes does not fit the frame',
    );
    const lone = encodeGroupedFrames('replies', [reply(1)])[0]!;
    const loneGrouped = new Uint8Array(lone.length + 1);
    loneGrouped[0] = FRAME.clientReplies;
    loneGrouped[1] = lone.length - 1;
    loneGrouped.set(lone.subarray(1), 2);
    expect(reasonOf(loneGrouped)).toBe('CLIENT-REPLIES with fewer than 2 replies');
    const requestsAsReplies = encodeGroupedFrames('requests', [request(1), request(2)])[0]!;
    requestsAsReplies[0] = FRAME.clientReplies;
    expect(reasonOf(requestsAsReplies)).toBe('CLIENT-REPLIES reply 0: expected reply, got request');
    const tooMany = encodeFrame({
      kind: 'client-replies',
      replies: Array.from({ length: GROUPED_PER_FRAME + 1 }, (_, i) => reply(i + 1)),
    });
    expect(reasonOf(tooMany)).toBe(`CLIENT-REPLIES with more than ${GROUPED_PER_FRAME} replies`);
    const garbage = good.slice();
    garbage[2] = 0xee;
    expect(reasonOf(garbage)).toMatch(/^CLIENT-REPLIES reply 0: /);
  });
});

describe('BEHAVIOUR-HISTORY', () => {
  it('carries a signed history as it is, within a size bound; the ledger checks the rest', () => {
    const signed = new Uint8Array(SIGNATURE_BYTES + 40).fill(7);
    const bytes = encodeFrame({ kind: 'behaviour-history', signed });
    expect(bytes[0]).toBe(FRAME.behaviourHistory);
    expect(parsed(bytes)).toEqual({ kind: 'behaviour-history', signed });
    expect(reasonOf(Uint8Array.of(FRAME.behaviourHistory, ...new Uint8Array(SIGNATURE_BYTES)))).toBe(
      `BEHAVIOUR-HISTORY of ${SIGNATURE_BYTES} bytes, expected ${SIGNATURE_BYTES + 1}…${SIGNED_HISTORY_BYTES_MAX}`,
    );
    const tooLarge = encodeFrame({ kind: 'behaviour-history', signed: new Uint8Array(SIGNED_HISTORY_BYTES_MAX + 1) });
    expect(reasonOf(tooLarge)).toMatch(/^BEHAVIOUR-HISTORY of \d+ bytes/);
  });
});
