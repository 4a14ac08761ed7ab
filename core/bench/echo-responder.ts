/**
 * The echo peer of `pbft-lab bench --transport echo`: a libp2p node on loopback with the lab's frame
 * transport (core/net/frame-transport.ts) that sends every frame it receives straight back to its
 * sender. Prints `listening MULTIADDR` (with its peer id); exits when its stdin closes.
 */
import { createFrameTransport } from '../net/frame-transport.ts';
import { createLabNode } from '../net/node.ts';

export const LISTENING = 'listening ';

async function run(): Promise<void> {
  const node = await createLabNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, allowLoopback: true });
  const transport = createFrameTransport(node, { allowLoopback: true });
  const senders = new Set<string>();
  transport.onFrame((from, frame) => {
    if (!senders.has(from)) {
      senders.add(from);
      // Replies go on our own outbound stream, over the connection the sender opened.
      transport.addPeer(from);
    }
    transport.send(from, frame);
  });
  await transport.start();
  process.stdout.write(`${LISTENING}${node.getMultiaddrs()[0]!.toString()}\n`);
  await new Promise<void>((resolve) => {
    process.stdin.resume();
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  await transport.stop();
  await node.stop();
}

if (import.meta.main) {
  await run();
  process.exit(0);
}
