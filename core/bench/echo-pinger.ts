/**
 * The load of `pbft-lab bench --transport echo`: a libp2p node with the lab's frame transport that
 * keeps `inFlight` frames of `frameBytes` bytes travelling to the echo peer (echo-responder.ts) and
 * back, each sent again as soon as it returns (a closed loop per slot, like a PBFT client). The first
 * four bytes of a frame name its slot. Options come as JSON in argv[2]; it talks to the benchmark by
 * worker-protocol.ts.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdOfMultiaddr } from '../net/addresses.ts';
import { createFrameTransport } from '../net/frame-transport.ts';
import { createLabNode } from '../net/node.ts';
import { LatencyHistogram, type HistogramJson } from './latency-histogram.ts';
import { announceReady, serveParent } from './worker-protocol.ts';

export interface PingerOptions {
  /** The echo peer's multiaddr, with its peer id. */
  readonly address: string;
  readonly inFlight: number;
  readonly frameBytes: number;
}

export interface PingerResult {
  readonly ops: number;
  /** Round-trip times of the measured frames. */
  readonly latency: HistogramJson;
}

async function run(options: PingerOptions): Promise<void> {
  const address = multiaddr(options.address);
  const echo = peerIdOfMultiaddr(address);
  if (!echo) throw new Error(`${options.address} names no peer id`);
  const node = await createLabNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowLoopback: true });
  const transport = createFrameTransport(node, { allowLoopback: true });
  await transport.start();
  transport.addPeer(echo, [address]);

  const sentAt = new Float64Array(options.inFlight);
  let measuring = false;
  let running = true;
  let latency = new LatencyHistogram();
  let returned = 0;
  let firstRound: () => void = () => {};
  const send = (slot: number, frame: Uint8Array): void => {
    sentAt[slot] = performance.now();
    transport.send(echo, frame);
  };
  transport.onFrame((from, frame) => {
    if (from !== echo || frame.byteLength < 4) return;
    const slot = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0);
    if (slot >= options.inFlight) return;
    if (measuring) latency.record(performance.now() - sentAt[slot]!);
    if (++returned === options.inFlight) firstRound();
    // The frame is ours (the transport hands over a fresh copy): send it again as it is.
    if (running) send(slot, frame);
  });
  const warm = new Promise<void>((resolve) => (firstRound = resolve));
  for (let slot = 0; slot < options.inFlight; slot++) {
    const frame = new Uint8Array(options.frameBytes);
    new DataView(frame.buffer).setUint32(0, slot);
    send(slot, frame);
  }
  await warm;
  announceReady();
  await serveParent<PingerResult>({
    measure() {
      latency = new LatencyHistogram();
      measuring = true;
    },
    measuredOps: () => latency.count,
    stop() {
      measuring = false;
      running = false;
      return { ops: latency.count, latency: latency.toJSON() };
    },
  });
  await transport.stop();
  await node.stop();
}

if (import.meta.main) {
  await run(JSON.parse(process.argv[2]!) as PingerOptions);
  process.exit(0);
}
