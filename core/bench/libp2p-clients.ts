/**
 * A client process of `pbft-lab bench --transport libp2p`: ONE libp2p node (NetworkClient, no mDNS,
 * joined by multiaddr) running C logical PBFT clients, each a closed loop (its next request once its
 * last result was accepted). Their requests and the replies to them share the node's connections.
 * Options come as JSON in argv[2]; it talks to the benchmark by worker-protocol.ts.
 */
import { multiaddr } from '@multiformats/multiaddr';
import type { FileOp } from '../app/file-ops.ts';
import { NetworkClient } from '../host/network-client.ts';
import { ClusterKey } from '../net/cluster-key.ts';
import { LatencyHistogram, type HistogramJson } from './latency-histogram.ts';
import { announceReady, serveParent } from './worker-protocol.ts';

export interface ClientsOptions {
  readonly cluster: string;
  /** The cluster's join code, or null for a cluster without a key. */
  readonly joinCode: string | null;
  readonly size: number;
  readonly join: string;
  /** Logical clients in this process. */
  readonly clients: number;
  /** This process's index among the client processes (names the files written). */
  readonly index: number;
  readonly payload: number;
  readonly readRatio: number;
}

export interface ClientsResult {
  readonly ops: number;
  /** Of the measured operations, accepted as read-only (2f+1) / sent read-only but ordered after a timeout. */
  readonly readOnlyOps: number;
  readonly readOnlyFallbacks: number;
  /** Latencies of the measured operations. */
  readonly latency: HistogramJson;
  readonly errors: number;
}

const FIRST_OP_TIMEOUT_MS = 60_000;
const OP_TIMEOUT_MS = 10_000;

async function run(options: ClientsOptions): Promise<void> {
  const node = new NetworkClient({
    cluster: options.cluster,
    clusterKey: options.joinCode === null ? null : ClusterKey.fromJoinCode(options.joinCode),
    size: options.size,
    join: [multiaddr(options.join)],
    mdns: false,
    allowLoopback: true,
    clients: options.clients,
  });
  await node.start();
  const nullOp: FileOp = { kind: 'stat', path: '/bench-null' };
  const readWriteOp = (j: number): FileOp =>
    options.payload === 0
      ? nullOp
      : { kind: 'write', path: `/bench/p${options.index}c${j}`, data: new Uint8Array(options.payload).fill(0x61) };
  // The first operation of each client waits for the roster (cluster formation).
  await Promise.all(
    Array.from({ length: options.clients }, (_, j) =>
      node.submit(readWriteOp(j), { client: j, timeoutMs: FIRST_OP_TIMEOUT_MS }),
    ),
  );

  let measuring = false;
  let running = true;
  let latency = new LatencyHistogram();
  let readOnlyOps = 0;
  let readOnlyFallbacks = 0;
  let errors = 0;
  const loop = async (j: number): Promise<void> => {
    const op = readWriteOp(j);
    while (running) {
      const readOnly = options.readRatio > 0 && Math.random() < options.readRatio;
      try {
        const r = await node.submit(readOnly ? nullOp : op, { client: j, readOnly, timeoutMs: OP_TIMEOUT_MS });
        if (!measuring) continue;
        latency.record(r.latencyMs);
        if (r.readOnly) readOnlyOps++;
        else if (readOnly) readOnlyFallbacks++;
      } catch {
        if (measuring) errors++;
      }
    }
  };
  const loops = Array.from({ length: options.clients }, (_, j) => loop(j));
  announceReady();

  await serveParent<ClientsResult>({
    measure() {
      latency = new LatencyHistogram();
      readOnlyOps = readOnlyFallbacks = errors = 0;
      measuring = true;
    },
    measuredOps: () => latency.count,
    stop() {
      measuring = false;
      running = false;
      return {
        ops: latency.count,
        readOnlyOps,
        readOnlyFallbacks,
        latency: latency.toJSON(),
        errors,
      };
    },
  });
  running = false;
  await Promise.race([Promise.allSettled(loops), sleep(2000)]);
  await node.stop();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

if (import.meta.main) {
  await run(JSON.parse(process.argv[2]!) as ClientsOptions);
  process.exit(0);
}
