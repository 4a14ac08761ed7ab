/**
 * FrameTransport over real libp2p nodes (TCP + Noise + Yamux) on 127.0.0.1, peers added explicitly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { collectFrames, frameNumber, numberedFrame, TestNet, waitFor } from './test-helpers.ts';

const net = new TestNet();
afterEach(() => net.stopAll());

describe('FrameTransport between two nodes', () => {
  it('carries frames both ways, labelled with the Noise-authenticated sender', async () => {
    const a = await net.peer();
    const b = await net.peer();
    TestNet.link(a, b);
    TestNet.link(b, a);
    const atA = collectFrames(a.transport);
    const atB = collectFrames(b.transport);

    a.transport.send(b.transport.peerId, Uint8Array.of(1, 2, 3));
    b.transport.send(a.transport.peerId, Uint8Array.of(4, 5));
    await waitFor(() => atA.length === 1 && atB.length === 1, 'one frame each way');

    expect(atB[0]).toEqual({ from: a.node.peerId.toString(), frame: Uint8Array.of(1, 2, 3) });
    expect(atA[0]).toEqual({ from: b.node.peerId.toString(), frame: Uint8Array.of(4, 5) });
    expect(a.transport.stats()).toMatchObject({ framesOut: 1, bytesOut: 3, framesIn: 1, bytesIn: 2 });
  });

  it('delivers 10,000 small frames intact and in order', async () => {
    const a = await net.peer({ maxQueuedFrames: 10_000 });
    const b = await net.peer();
    TestNet.link(a, b);
    const atB = collectFrames(b.transport);
    const count = 10_000;

    for (let seq = 0; seq < count; seq++) {
      a.transport.send(b.transport.peerId, numberedFrame(seq, seq % 61));
    }
    await waitFor(() => atB.length === count, `${count} frames`, 15_000);

    const outOfPlace = atB.findIndex(({ frame }, i) => frameNumber(frame) !== i || frame.byteLength !== 4 + (i % 61));
    expect(outOfPlace).toBe(-1);
    expect(
      atB.every(
        ({ from, frame }) =>
          from === a.transport.peerId && frame.subarray(4).every((x) => x === (frameNumber(frame) & 0xff)),
      ),
    ).toBe(true);
    expect(Object.values(a.transport.stats().dropped).reduce((sum, n) => sum + n, 0)).toBe(0);
  });

  it('sustains a bulk transfer that fills the stream and waits for drain many times', async () => {
    const a = await net.peer({ maxQueuedFrames: 400, maxQueuedBytes: 32 * 1024 * 1024 });
    const b = await net.peer();
    TestNet.link(a, b);
    const atB = collectFrames(b.transport);
    const count = 300;
    for (let seq = 0; seq < count; seq++) {
      a.transport.send(b.transport.peerId, numberedFrame(seq, 64 * 1024));
    }
    await waitFor(() => atB.length === count, `${count} frames of 64 KiB`, 15_000);
    expect(atB.map(({ frame }) => frameNumber(frame))).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it('drops, with a counted reason, frames it must not send', async () => {
    const a = await net.peer({ maxFrameBytes: 1000 });
    const b = await net.peer();
    const stranger = await net.node();

    a.transport.send(b.transport.peerId, Uint8Array.of(1)); // never added
    a.transport.send(a.transport.peerId, Uint8Array.of(1));
    TestNet.link(a, b);
    a.transport.send(b.transport.peerId, new Uint8Array(1001));
    a.transport.send(stranger.peerId.toString(), Uint8Array.of(1));
    a.transport.send('not a peer id', Uint8Array.of(1));

    expect(a.transport.stats().dropped).toMatchObject({ 'unknown-peer': 3, self: 1, 'frame-too-large': 1 });
    expect(() => a.transport.addPeer('not a peer id')).toThrow();
  });

  it('stops sending to a removed peer: its queue is dropped and its stream closed', async () => {
    const a = await net.peer();
    const b = await net.peer();
    TestNet.link(a, b);
    const atB = collectFrames(b.transport);
    a.transport.send(b.transport.peerId, Uint8Array.of(1));
    await waitFor(() => atB.length === 1, 'the first frame');

    a.transport.removePeer(b.transport.peerId);
    a.transport.send(b.transport.peerId, Uint8Array.of(2));
    expect(a.transport.stats().dropped['unknown-peer']).toBe(1);
    expect(a.transport.stats().peers).toEqual({});
    await waitFor(() => b.transport.stats().inboundStreamsOpen === 0, 'b to see the stream closed');
    expect(b.transport.stats().dropped['inbound-truncated']).toBe(0);
  });

  it('drops inbound frames from peers that acceptFrom rejects, and admits them once allowed', async () => {
    const allowed = new Set<string>();
    const a = await net.peer();
    const b = await net.peer({ acceptFrom: (peer) => allowed.has(peer) });
    TestNet.link(a, b);
    const atB = collectFrames(b.transport);

    a.transport.send(b.transport.peerId, Uint8Array.of(1));
    await waitFor(() => b.transport.stats().dropped['inbound-not-accepted'] === 1, 'the rejected frame');
    expect(atB).toEqual([]);
    expect(b.logs.some((entry) => entry.event === 'inbound-not-accepted' && entry.peer === a.transport.peerId)).toBe(
      true,
    );

    allowed.add(a.transport.peerId);
    a.transport.send(b.transport.peerId, Uint8Array.of(2));
    await waitFor(() => atB.length === 1, 'the admitted frame');
    expect(atB[0]?.frame).toEqual(Uint8Array.of(2));
  });

  it('keeps delivering to other handlers when one throws', async () => {
    const a = await net.peer();
    const b = await net.peer();
    TestNet.link(a, b);
    b.transport.onFrame(() => {
      throw new Error('replica bug');
    });
    const atB = collectFrames(b.transport);
    a.transport.send(b.transport.peerId, Uint8Array.of(1));
    a.transport.send(b.transport.peerId, Uint8Array.of(2));
    await waitFor(() => atB.length === 2, 'both frames');
    expect(b.transport.stats().dropped['handler-threw']).toBe(2);
  });
});

describe('FrameTransport among four nodes', () => {
  it('forms a full mesh where every frame reaches its addressee from the right sender, in order', async () => {
    const peers = await Promise.all([0, 1, 2, 3].map(() => net.peer()));
    const inboxes = peers.map((p) => collectFrames(p.transport));
    for (const from of peers) {
      for (const to of peers) {
        if (from !== to) {
          TestNet.link(from, to);
        }
      }
    }
    const perPair = 200;
    for (let seq = 0; seq < perPair; seq++) {
      peers.forEach((from, i) =>
        peers.forEach((to, j) => {
          if (i !== j) {
            from.transport.send(to.transport.peerId, Uint8Array.of(i, j, seq >> 8, seq & 0xff));
          }
        }),
      );
    }
    await waitFor(() => inboxes.every((inbox) => inbox.length === 3 * perPair), 'every frame', 10_000);

    inboxes.forEach((inbox, j) => {
      for (const [i, sender] of peers.entries()) {
        if (i === j) {
          continue;
        }
        const fromSender = inbox.filter(({ from }) => from === sender.transport.peerId);
        // The claimed sender inside the frame matches the authenticated one.
        expect(fromSender.every(({ frame }) => frame[0] === i && frame[1] === j)).toBe(true);
        expect(fromSender.map(({ frame }) => (frame[2]! << 8) | frame[3]!)).toEqual(
          Array.from({ length: perPair }, (_, k) => k),
        );
      }
    });
  });
});
