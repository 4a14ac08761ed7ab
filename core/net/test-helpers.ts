/**
 * Helpers for the network tests: real libp2p nodes on 127.0.0.1 (mDNS off), transports with short
 * backoffs, and a registry that stops everything a test started.
 */
import { createFrameTransport } from './frame-transport.ts';
import { createLabNode } from './node.ts';
import type { NetLogEntry } from './counters.ts';
import type { FrameTransport, FrameTransportOptions } from './frame-transport.ts';
import type { LabNode, LabNodeOptions } from './node.ts';

export interface TestPeer {
  readonly node: LabNode;
  readonly transport: FrameTransport;
  /** Every log entry the transport emitted. */
  readonly logs: NetLogEntry[];
}

/** Stops every node and transport created through it, newest first. */
export class TestNet {
  readonly #stoppers: Array<() => Promise<void>> = [];

  async node(options: LabNodeOptions = {}): Promise<LabNode> {
    const node = await createLabNode({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      allowLoopback: true,
      ...options,
    });
    this.#stoppers.push(async () => {
      await node.stop();
    });
    return node;
  }

  async peer(options: FrameTransportOptions = {}, nodeOptions: LabNodeOptions = {}): Promise<TestPeer> {
    const node = await this.node(nodeOptions);
    const logs: NetLogEntry[] = [];
    const transport = createFrameTransport(node, {
      allowLoopback: true,
      backoff: { initialMs: 20, maxMs: 300 },
      dialTimeoutMs: 2_000,
      log: (entry) => logs.push(entry),
      ...options,
    });
    this.#stoppers.push(() => transport.stop());
    await transport.start();
    return { node, transport, logs };
  }

  /** Adds `b` to `a`'s peers with b's listen addresses. */
  static link(a: TestPeer, b: TestPeer): void {
    a.transport.addPeer(b.transport.peerId, b.node.getMultiaddrs());
  }

  async stopAll(): Promise<void> {
    const stoppers = this.#stoppers.splice(0).reverse();
    for (const stop of stoppers) {
      await stop().catch(() => {});
    }
  }
}

/** Polls `condition` every 10 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface ReceivedFrame {
  readonly from: string;
  readonly frame: Uint8Array;
}

/** Records every frame `transport` delivers. */
export function collectFrames(transport: FrameTransport): ReceivedFrame[] {
  const received: ReceivedFrame[] = [];
  transport.onFrame((from, frame) => received.push({ from, frame }));
  return received;
}

/** A frame carrying a 32-bit sequence number followed by `padding` bytes of filler. */
export function numberedFrame(seq: number, padding = 0): Uint8Array {
  const frame = new Uint8Array(4 + padding);
  new DataView(frame.buffer).setUint32(0, seq);
  frame.fill(seq & 0xff, 4);
  return frame;
}

export function frameNumber(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
}
