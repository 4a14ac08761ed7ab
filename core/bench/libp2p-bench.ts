/**
 * The libp2p transport of `pbft-lab bench`: n `pbft-lab replica` processes and P client processes
 * (core/bench/libp2p-clients.ts, one libp2p node each, carrying C logical clients between them) on
 * loopback. No mDNS (it would multicast on the machine's real interface): replicas start one after
 * another, each given the `join with: --join …` addresses of those before it; the clients join
 * replica 0. CPU and memory of every child come from /proc (measured-window.ts).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { multiaddr } from '@multiformats/multiaddr';
import { RoomHost } from '../host/room-host.ts';
import { ClusterKey } from '../net/cluster-key.ts';
import { BenchError, BenchProcess } from './bench-process.ts';
import type { ClientsOptions, ClientsResult } from './libp2p-clients.ts';
import { processCosts, runMeasuredWindow } from './measured-window.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { describeOperation, round, type BenchOptions, type BenchReport, type ProcessCost } from './report.ts';
import { READY } from './worker-protocol.ts';

/** What users run: the replica bundle under its memory-bounding V8 flags (bin/replica-runtime.mjs). */
const MAIN = fileURLToPath(new URL('../../bin/pbft-lab.mjs', import.meta.url));
const CLIENTS = fileURLToPath(new URL('./libp2p-clients.ts', import.meta.url));
const JOIN_PREFIX = 'join with: --join ';

export { BenchError };

/** C logical clients over P processes, as evenly as possible. */
export function spreadClients(clients: number, processes: number): number[] {
  return Array.from(
    { length: processes },
    (_, k) => Math.floor(clients / processes) + (k < clients % processes ? 1 : 0),
  );
}

export async function runLibp2pBench(options: BenchOptions, print: (line: string) => void): Promise<BenchReport> {
  const n = options.replicas;
  const clientProcesses = options.clientProcesses ?? 1;
  if (clientProcesses > options.clients)
    throw new BenchError(`${clientProcesses} client processes for ${options.clients} clients: at least one each`);
  const cluster = `bench-${randomBytes(3).toString('hex')}`;
  // A secret of its own, as every cluster has; --cluster-key off measures what it costs.
  const key = options.clusterKey === false ? null : ClusterKey.generate();
  const base = await mkdtemp(join(tmpdir(), 'pbft-lab-bench-'));
  const replicas: BenchProcess[] = [];
  const clients: BenchProcess[] = [];
  let room: RoomHost | null = null;
  const loadAverage = loadavg();
  const replicaArgs = (i: number, joinAddresses: readonly string[]): string[] => [
    MAIN,
    'replica',
    '--data-dir',
    join(base, `replica-${i}`),
    '--cluster',
    cluster,
    '--size',
    String(n),
    '--listen',
    '/ip4/127.0.0.1/tcp/0',
    '--allow-loopback',
    '--no-mdns',
    ...(options.record === false ? ['--no-record'] : []),
    ...(key ? ['--cluster-key', key.joinCode] : ['--open-cluster']),
    ...joinAddresses.flatMap((a) => ['--join', a]),
  ];
  // Ctrl-C on the benchmark stops its children too (the default SIGINT would orphan them).
  const interrupted = (): void => {
    for (const p of [...replicas, ...clients]) p.kill();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // Replica i joins replicas 0..i-1, so every pair is introduced (a replica does not pass on the
    // addresses of peers it met by --join before the roster exists).
    const joinable: string[] = [];
    for (let i = 0; i < n; i++) {
      const replica = new BenchProcess(`replica ${i}`, replicaArgs(i, joinable), options.cpuProfDir);
      replicas.push(replica);
      const line = await replica.waitForLine((l) => l.startsWith(JOIN_PREFIX), 30_000);
      joinable.push(line.slice(JOIN_PREFIX.length).trim());
    }
    const ready = spreadClients(options.clients, clientProcesses).map((count, k) => {
      const clientsOptions: ClientsOptions = {
        cluster,
        joinCode: key?.joinCode ?? null,
        size: n,
        join: joinable[0]!,
        clients: count,
        index: k,
        payload: options.payload,
        readRatio: options.readRatio,
      };
      const role = clientProcesses === 1 ? 'clients' : `clients ${k}`;
      const worker = new BenchProcess(role, [CLIENTS, JSON.stringify(clientsOptions)], options.cpuProfDir);
      clients.push(worker);
      return worker.waitForLine((l) => l === READY, 120_000);
    });
    await Promise.all(ready);
    if (options.telemetrySubscriber) room = await subscribeRoom(cluster, n, key, joinable);

    const watched = [...replicas, ...clients];
    const window = await runMeasuredWindow({
      workers: clients,
      watched,
      warmupS: options.warmupS,
      durationS: options.durationS,
      ops: options.ops,
    });
    const results = window.results as ClientsResult[];
    const ops = results.reduce((sum, r) => sum + r.ops, 0);
    const errors = results.reduce((sum, r) => sum + r.errors, 0);
    if (errors > 0) print(`warning: ${errors} operations timed out or failed`);
    const processes: ProcessCost[] = processCosts(watched, window);
    const cpuS = processes.reduce((sum, p) => sum + p.cpuS, 0);
    const latency = new LatencyHistogram();
    for (const r of results) latency.add(r.latency);
    const p = latency.summary();
    const wallS = window.wallS;
    return {
      transport: 'libp2p',
      clusterKey: key !== null,
      record: options.record !== false,
      ...(room ? { telemetry: room.telemetryCounts() } : {}),
      replicas: n,
      clients: options.clients,
      clientProcesses,
      durationS: round(wallS),
      warmupS: options.warmupS,
      payload: options.payload,
      readRatio: options.readRatio,
      operation: describeOperation(options),
      ops,
      opsPerSec: round(ops / wallS, 1),
      latencyMsP50: round(p.p50),
      latencyMsP90: round(p.p90),
      latencyMsP99: round(p.p99),
      latencyMsMax: round(p.max),
      batchSizeMean: null,
      readOnlyOps: results.reduce((sum, r) => sum + r.readOnlyOps, 0),
      readOnlyFallbacks: results.reduce((sum, r) => sum + r.readOnlyFallbacks, 0),
      errors,
      cpu: {
        seconds: round(cpuS),
        cores: round(cpuS / wallS),
        usPerOp: round(ops === 0 ? 0 : (cpuS * 1e6) / ops, 1),
      },
      memory: {
        peakRssMiB: Math.max(...processes.slice(0, n).map((x) => x.peakRssMiB)),
        replicaRssSamples: window.rssSamples.map((s) => ({ atS: s.atS, rssMiB: s.rssMiB.slice(0, n) })),
      },
      processes,
      loadAverage: loadAverage.map((x) => round(x, 2)),
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await room?.stop();
    // Client processes exit when their stdin closes (writing their CPU profiles); replicas on SIGTERM.
    await Promise.all(clients.map((c) => c.finish(true)));
    await Promise.all(replicas.map((r) => r.finish(false)));
    await rm(base, { recursive: true, force: true });
  }
}

/** A room observer in this process, subscribed to every replica's telemetry before the window opens. */
async function subscribeRoom(
  cluster: string,
  n: number,
  key: ClusterKey | null,
  joinable: readonly string[],
): Promise<RoomHost> {
  const room = new RoomHost({
    cluster,
    size: n,
    clusterKey: key,
    join: joinable.map((a) => multiaddr(a)),
    mdns: false,
    allowLoopback: true,
  });
  await room.start();
  const deadline = Date.now() + 20_000;
  while (room.replicasHeard() < n) {
    if (Date.now() > deadline) {
      await room.stop();
      throw new BenchError(`the telemetry subscriber heard ${room.replicasHeard()} of ${n} replicas in 20 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return room;
}
