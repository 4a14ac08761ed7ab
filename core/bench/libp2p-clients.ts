/**
 * The client process of `pbft-lab bench --transport libp2p`: C closed-loop NetworkClients (each its
 * own libp2p node and identity, no mDNS, joined by multiaddr). Reads its options as JSON from argv[2];
 * prints `measuring` when the measured window opens and one JSON line when it closes, then waits for
 * its stdin to close (the parent reads this process's /proc entry first) and exits.
 */
import { multiaddr } from '@multiformats/multiaddr';
import type { FileOp } from '../app/file-ops.ts';
import { NetworkClient } from '../host/network-client.ts';

export interface ClientsOptions {
  readonly cluster: string;
  readonly size: number;
  readonly join: string;
  readonly clients: number;
  readonly warmupS: number;
  readonly durationS: number;
  readonly payload: number;
}

export interface ClientsResult {
  readonly ops: number;
  readonly wallS: number;
  readonly latenciesMs: number[];
  readonly errors: number;
}

async function run(options: ClientsOptions): Promise<void> {
  const clients = Array.from(
    { length: options.clients },
    () =>
      new NetworkClient({
        cluster: options.cluster,
        size: options.size,
        join: [multiaddr(options.join)],
        mdns: false,
        allowLoopback: true,
      }),
  );
  await Promise.all(clients.map((c) => c.start()));
  const opOf = (i: number): FileOp =>
    options.payload === 0
      ? { kind: 'stat', path: '/bench-null' }
      : { kind: 'write', path: `/bench/c${i}`, data: new Uint8Array(options.payload).fill(0x61) };
  // The first operation of each client waits for the roster (cluster formation).
  await Promise.all(clients.map((c, i) => c.submit(opOf(i), 60_000)));

  let measuring = false;
  let running = true;
  const latenciesMs: number[] = [];
  let errors = 0;
  const loops = clients.map(async (c, i) => {
    const op = opOf(i);
    while (running) {
      try {
        const r = await c.submit(op, 10_000);
        if (measuring && running) latenciesMs.push(r.latencyMs);
      } catch {
        errors++;
      }
    }
  });
  await sleep(options.warmupS * 1000);
  measuring = true;
  process.stdout.write('measuring\n');
  const start = performance.now();
  await sleep(options.durationS * 1000);
  measuring = false;
  const wallS = (performance.now() - start) / 1000;
  const result: ClientsResult = { ops: latenciesMs.length, wallS, latenciesMs, errors };
  process.stdout.write(JSON.stringify(result) + '\n');
  await new Promise<void>((resolve) => {
    process.stdin.resume();
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  running = false;
  await Promise.race([Promise.allSettled(loops), sleep(2000)]);
  await Promise.allSettled(clients.map((c) => c.stop()));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

if (import.meta.main) {
  await run(JSON.parse(process.argv[2]!) as ClientsOptions);
  process.exit(0);
}
