/**
 * FrameTransport against misbehaving and failing peers, over real libp2p on 127.0.0.1: a raw libp2p
 * node plays the misbehaving side by writing bytes on the replica protocol itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrames, encodeLengthPrefix, REPLICA_PROTOCOL_ID } from './frames.ts';
import { createLabNode, generateIdentityKey } from './node.ts';
import { createFrameTransport } from './frame-transport.ts';
import { collectFrames, frameNumber, numberedFrame, TestNet, waitFor } from './test-helpers.ts';
import type { LabNode } from './node.ts';
import type { TestPeer } from './test-helpers.ts';
import type { Stream, StreamCloseEvent } from '@libp2p/interface';

const net = new TestNet();
afterEach(() => net.stopAll());

/** Opens a replica-protocol stream from a raw node to `victim`, and records how it closes. */
async function rawStream(
  attacker: LabNode,
  victim: TestPeer,
): Promise<{ stream: Stream; closed: Promise<StreamCloseEvent> }> {
  const stream = await attacker.dialProtocol(victim.node.getMultiaddrs(), REPLICA_PROTOCOL_ID);
  const closed = new Promise<StreamCloseEvent>((resolve) => stream.addEventListener('close', resolve, { once: true }));
  return { stream, closed };
}

describe('inbound framing violations', () => {
  it('resets a stream whose length prefix exceeds maxFrameBytes without waiting for the payload', async () => {
    const victim = await net.peer();
    const attacker = await net.node();
    const atVictim = collectFrames(victim.transport);
    const { stream, closed } = await rawStream(attacker, victim);

    // One good frame, then a prefix announcing 64 MiB followed by only 16 bytes.
    const good = encodeFrames([Uint8Array.of(7)]).subarray();
    stream.send(new Uint8Array([...good, ...encodeLengthPrefix(64 * 1024 * 1024), ...new Uint8Array(16)]));

    const closeEvent = await closed;
    expect(closeEvent.error?.name).toBe('StreamResetError');
    expect(atVictim).toEqual([{ from: attacker.peerId.toString(), frame: Uint8Array.of(7) }]);
    expect(victim.transport.stats().dropped['inbound-frame-too-large']).toBe(1);
    expect(victim.logs).toContainEqual(
      expect.objectContaining({ event: 'inbound-stream-reset', reason: 'inbound-frame-too-large' }),
    );

    // Only that stream died: the same connection still carries a fresh, well-formed stream.
    const again = await rawStream(attacker, victim);
    again.stream.send(encodeFrames([Uint8Array.of(8)]));
    await waitFor(() => atVictim.length === 2, 'a frame on a fresh stream');
    expect(atVictim[1]?.frame).toEqual(Uint8Array.of(8));
    await waitFor(() => victim.transport.stats().inboundStreamsOpen === 1, 'the reset stream to be forgotten');
  });

  it('drops a frame cut short by the end of its stream, after delivering the complete ones', async () => {
    const victim = await net.peer();
    const attacker = await net.node();
    const atVictim = collectFrames(victim.transport);
    const { stream } = await rawStream(attacker, victim);

    stream.send(new Uint8Array([...encodeFrames([Uint8Array.of(1, 1)]).subarray(), ...encodeLengthPrefix(100), 9, 9]));
    await stream.close();

    await waitFor(() => victim.transport.stats().dropped['inbound-truncated'] === 1, 'the truncation to be counted');
    expect(atVictim.map(({ frame }) => frame)).toEqual([Uint8Array.of(1, 1)]);
    expect(victim.logs).toContainEqual(expect.objectContaining({ event: 'inbound-truncated' }));
  });
});

describe('partial frames: who may make us hold what, and for how long (issue 13, finding 3)', () => {
  it('a non-member may announce no frame larger than maxNonMemberFrameBytes; a member may', async () => {
    const members = new Set<string>();
    const victim = await net.peer({ maxNonMemberFrameBytes: 1000, isMember: (p) => members.has(p) });
    const stranger = await net.node();
    const atVictim = collectFrames(victim.transport);
    const { stream, closed } = await rawStream(stranger, victim);
    stream.send(encodeLengthPrefix(1001));
    expect((await closed).error?.name).toBe('StreamResetError');
    expect(victim.transport.stats().dropped['inbound-frame-too-large']).toBe(1);

    members.add(stranger.peerId.toString());
    const again = await rawStream(stranger, victim);
    again.stream.send(encodeFrames([new Uint8Array(5000).fill(3)]));
    await waitFor(() => atVictim.length === 1, 'the member’s large frame');
  });

  it('resets a stream whose frame stays incomplete past its deadline, and holds nothing after', async () => {
    const victim = await net.peer({ partialFrames: { timeoutMs: 300, minBytesPerSec: 1e9 } });
    const attacker = await net.node();
    const { stream, closed } = await rawStream(attacker, victim);
    stream.send(new Uint8Array([...encodeLengthPrefix(10_000), ...new Uint8Array(9_999)]));
    await waitFor(() => victim.transport.stats().partialFrameBytes.members > 9_000, 'the partial frame to be held');
    const started = Date.now();
    expect((await closed).error?.name).toBe('StreamResetError');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(victim.transport.stats().dropped['inbound-partial-timeout']).toBe(1);
    expect(victim.transport.stats().partialFrameBytes).toEqual({ members: 0, nonMembers: 0 });
  });

  it('caps partial bytes per peer across its streams, and for all non-members together', async () => {
    const victim = await net.peer({
      isMember: () => false,
      maxNonMemberFrameBytes: 100_000,
      partialFrames: { perNonMemberBytes: 150_000, nonMembersBytes: 250_000 },
    });
    const open = async (node: LabNode) => {
      const raw = await rawStream(node, victim);
      raw.stream.send(new Uint8Array([...encodeLengthPrefix(100_000), ...new Uint8Array(99_000)]));
      await waitFor(() => victim.transport.stats().inboundStreamsOpened > 0, 'the stream');
      return raw;
    };
    // One peer, two streams: the second passes its cap of 150 kB.
    const greedy = await net.node();
    await open(greedy);
    await waitFor(() => victim.transport.stats().partialFrameBytes.nonMembers >= 99_000, 'the first partial frame');
    const second = await open(greedy);
    expect((await second.closed).error?.name).toBe('StreamResetError');
    expect(victim.transport.stats().dropped['inbound-partial-cap']).toBe(1);

    // Other peers, one stream each: the third partial frame passes the 250 kB of all non-members.
    const others = [await net.node(), await net.node()];
    await open(others[0]!);
    await waitFor(() => victim.transport.stats().partialFrameBytes.nonMembers >= 198_000, 'two partial frames');
    const third = await open(others[1]!);
    expect((await third.closed).error?.name).toBe('StreamResetError');
    expect(victim.transport.stats().dropped['inbound-partial-cap']).toBe(2);
    expect(victim.transport.stats().partialFrameBytes.nonMembers).toBeLessThanOrEqual(250_000);
  });
});

describe('backpressure', () => {
  it('keeps memory bounded towards a peer that never reads: bounded queue, counted drops', async () => {
    // The receiver accepts the stream and pauses it, so yamux stops granting send window.
    const sink = await net.node();
    await sink.handle(REPLICA_PROTOCOL_ID, (stream) => stream.pause());
    const maxQueuedFrames = 200;
    const maxBatchBytes = 16 * 1024;
    const sender = await net.peer({
      maxQueuedFrames,
      maxQueuedBytes: 1024 * 1024,
      maxFrameBytes: 64 * 1024,
      maxBatchBytes,
    });
    const sinkId = sink.peerId.toString();
    sender.transport.addPeer(sinkId, sink.getMultiaddrs());
    await waitFor(() => sender.transport.stats().peers[sinkId]?.state === 'open', 'the link to open');

    const frameBytes = 1024;
    const sent = 6000;
    for (let burst = 0; burst < 30; burst++) {
      for (let i = 0; i < sent / 30; i++) {
        sender.transport.send(sinkId, new Uint8Array(frameBytes));
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await waitFor(() => sender.transport.stats().peers[sinkId]!.streamBufferedBytes > 0, 'the stream to fill up');

    const stats = sender.transport.stats();
    const link = stats.peers[sinkId]!;
    // In flight: the yamux window (256 KiB initially) plus at most one batch parked in the stream.
    expect(link.framesOut * frameBytes).toBeLessThan(256 * 1024 + 2 * maxBatchBytes);
    expect(link.streamBufferedBytes).toBeLessThanOrEqual(maxBatchBytes + 64 * 4);
    expect(link.queuedFrames).toBe(maxQueuedFrames);
    expect(stats.dropped['queue-full']).toBe(sent - link.framesOut - link.queuedFrames);
    expect(sender.logs.filter((entry) => entry.event === 'queue-full')).toHaveLength(1);
  });
});

describe('reconnection', () => {
  it('reconnects with backoff to a peer restarted with the same key and port, and frames flow again', async () => {
    const bKey = await generateIdentityKey();
    const a = await net.peer();
    const b1 = await net.peer({}, { privateKey: bKey });
    TestNet.link(a, b1);
    TestNet.link(b1, a);
    const bId = b1.transport.peerId;
    const atB1 = collectFrames(b1.transport);
    a.transport.send(bId, numberedFrame(1));
    await waitFor(() => atB1.length === 1, 'the first frame');

    // Stop b entirely (transport and node), then send while it is down: the frame waits in the queue.
    const bAddrs = b1.node.getMultiaddrs();
    await b1.transport.stop();
    await b1.node.stop();
    await waitFor(() => a.transport.stats().peers[bId]?.state !== 'open', 'a to notice b is gone');
    a.transport.send(bId, numberedFrame(2));
    // Redials back off exponentially (20, 40, 80, 160 ms less ≤ 20 % jitter): four failures take
    // ≥ 240 ms, where a fixed 20 ms retry would take about 80.
    const downSince = Date.now();
    await waitFor(() => a.transport.stats().dialFailures >= 5, 'five failed redials while b is down');
    expect(Date.now() - downSince).toBeGreaterThanOrEqual(230);
    expect(a.transport.stats().peers[bId]).toMatchObject({ state: 'backoff', queuedFrames: 1 });

    // Restart b with the same identity on the same port.
    const b2node = await createLabNode({
      privateKey: bKey,
      listen: bAddrs.map(String),
      mdns: false,
      allowLoopback: true,
    });
    expect(b2node.peerId.toString()).toBe(bId);
    const b2 = createFrameTransport(b2node, { allowLoopback: true, backoff: { initialMs: 20, maxMs: 300 } });
    const atB2 = collectFrames(b2);
    await b2.start();
    b2.addPeer(a.transport.peerId, a.node.getMultiaddrs());
    const atA = collectFrames(a.transport);
    try {
      await waitFor(() => atB2.length === 1, 'the queued frame after the restart', 8_000);
      expect(atB2[0]).toEqual({ from: a.transport.peerId, frame: numberedFrame(2) });
      expect(frameNumber(atB2[0]!.frame)).toBe(2);
      expect(a.transport.stats().reconnects).toBe(1);

      b2.send(a.transport.peerId, Uint8Array.of(42));
      await waitFor(() => atA.length === 1, 'a frame back from the restarted peer');
      expect(atA[0]).toEqual({ from: bId, frame: Uint8Array.of(42) });
    } finally {
      await b2.stop();
      await b2node.stop();
    }
  });
});
