import { describe, expect, it } from 'vitest';
import type { Prepare, Request } from '../pbft/messages.ts';
import { happenedBefore } from './telemetry-events.ts';
import { Telemetry } from './telemetry.ts';
import { decodeEventsFrame } from './telemetry-binary.ts';
import { decodeTraceHeader } from './telemetry-trace.ts';
import { encodeFrame, parseFrame } from './wire.ts';

const prepare = (replica: number): Prepare => ({ type: 'prepare', view: 0, seq: 1, digest: 'ab'.repeat(32), replica });
const request: Request = {
  type: 'request',
  client: 'c1',
  timestamp: 7,
  readOnly: false,
  op: new Uint8Array([1]),
  auth: [],
};

describe('telemetry', () => {
  it('a traced frame carries the sender clock; the receiver pairs the receive with the send by id', () => {
    const r0 = new Telemetry({ replica: 0, n: 4, incarnation: 0xabcdef01 });
    const r1 = new Telemetry({ replica: 1, n: 4, incarnation: 2 });
    const seen0 = r0.subscribe();
    const seen1 = r1.subscribe();
    r0.clientRequest('c1', request);
    const trace = r0.send([1, 2, 3], prepare(0));
    const parsed = parseFrame(encodeFrame({ kind: 'replica', message: prepare(0), trace }));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.frame.kind !== 'replica') throw new Error('not a replica frame');
    expect(parsed.frame.trace).toEqual({ incarnation: 0xabcdef01, index: 2, vc: [2, 0, 0, 0] });
    r1.receive(0, parsed.frame.trace, parsed.frame.message);

    const [received, sent] = [seen1.take().events, seen0.take().events];
    expect(sent.map((e) => e.body.kind)).toEqual(['receive', 'send']);
    const send = sent[1]!;
    const receive = received[0]!;
    expect(send.body.kind === 'send' && send.body.msgId).toBe('0.abcdef01.2');
    expect(receive.body.kind === 'receive' && receive.body.msgId).toBe('0.abcdef01.2');
    expect(receive.vc).toEqual([2, 1, 0, 0]);
    expect(happenedBefore(send.vc, receive.vc)).toBe(true);
  });

  it('STATUS carries the clock but is not an event; nothing is built without a subscriber', () => {
    const r0 = new Telemetry({ replica: 0, n: 4 });
    const trace = r0.send([1], {
      type: 'status',
      view: 0,
      normal: true,
      lastExecuted: 0,
      firstUncommitted: 1,
      stableSeq: 0,
      replica: 0,
    });
    expect(trace.vc).toEqual([0, 0, 0, 0]);
    r0.send([1], prepare(0));
    const queue = r0.subscribe();
    expect(queue.length).toBe(0);
    r0.send([1], prepare(0));
    expect(queue.take().events[0]!.index).toBe(2);
  });

  it('a slow subscriber loses the oldest events and is told how many', () => {
    const r0 = new Telemetry({ replica: 0, n: 1 });
    const queue = r0.subscribe(3);
    for (let i = 1; i <= 5; i++) r0.behaviour(null);
    const taken = queue.take();
    expect(taken.lost).toBe(2);
    expect(taken.events.map((e) => e.index)).toEqual([3, 4, 5]);
    expect(queue.take()).toEqual({ events: [], lost: 0 });
  });

  it('a malformed trace makes the frame malformed', () => {
    expect(decodeTraceHeader(new Uint8Array([0, 0, 0]))).toMatch(/cut short/);
    expect(decodeTraceHeader(new Uint8Array([0, 0, 0, 0, 1, 0xff, 0x7f]))).toMatch(/entries/);
    const bytes = encodeFrame({
      kind: 'replica',
      message: prepare(0),
      trace: { incarnation: 1, index: 1, vc: [1, 0] },
    });
    expect(parseFrame(bytes.subarray(0, 6)).ok).toBe(false);
  });
});

describe('the wire form', () => {
  it('PREPARE and COMMIT read back with their ids, clocks and digests (first 16 hex digits)', () => {
    const r0 = new Telemetry({ replica: 0, n: 4, incarnation: 5, wallMs: () => 1.5 });
    const queue = r0.subscribe();
    const trace = r0.send([1, 2, 3], prepare(0));
    r0.receive(2, { ...trace, vc: [1, 0, 3, 0] }, { ...prepare(2), type: 'commit' });
    const [send, receive] = queue.take().events;
    expect(send).toEqual({
      replica: 0,
      incarnation: '00000005',
      index: 1,
      vc: [1, 0, 0, 0],
      wallMs: 1,
      body: {
        kind: 'send',
        msgId: '0.00000005.1',
        to: [1, 2, 3],
        type: 'prepare',
        view: 0,
        seq: 1,
        digest: 'ab'.repeat(8),
        text: 'PREPARE v=0 n=1 d=ababab',
      },
    });
    expect(receive!.body).toEqual({
      kind: 'receive',
      msgId: '2.00000005.1',
      from: 2,
      type: 'commit',
      view: 0,
      seq: 1,
      digest: 'ab'.repeat(8),
      text: 'COMMIT v=0 n=1 d=ababab',
    });
    expect(receive!.vc).toEqual([2, 0, 3, 0]);
  });
});

describe('replies', () => {
  it("one event for a frame of replies to a client node, naming each request; the node's prefix travels once", () => {
    const r2 = new Telemetry({ replica: 2, n: 4, incarnation: 9 });
    const queue = r2.subscribe();
    const reply = (client: string, timestamp: number) => ({
      type: 'reply' as const,
      view: 3,
      timestamp,
      client,
      replica: 2,
      tentative: false,
      readOnly: false,
      result: new Uint8Array(),
    });
    r2.replies('12D3KooWnode', [reply('12D3KooWnode/1', 5), reply('12D3KooWnode/2', 6)]);
    const frame = queue.takeFrame()!.frame;
    expect(new TextDecoder().decode(frame)).not.toContain('12D3KooWnode/');
    const [event] = decodeEventsFrame(frame)!.events;
    expect(event!.body).toMatchObject({
      kind: 'send',
      msgId: 'rep:2.00000009.1',
      to: '12D3KooWnode',
      type: 'reply',
      view: 3,
      requests: ['12D3KooWnode/1:5', '12D3KooWnode/2:6'],
    });
  });
});
