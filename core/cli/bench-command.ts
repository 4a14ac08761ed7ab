/**
 * `pbft-lab bench`: closed-loop throughput and latency of a PBFT cluster, either in one process with
 * an in-memory transport (the protocol's own cost) or over libp2p on loopback; and, for comparison,
 * the frame transport alone (echo). docs/performance.md.
 */
import { parseArgs } from 'node:util';
import { runEchoBench } from '../bench/echo-bench.ts';
import { runLibp2pBench } from '../bench/libp2p-bench.ts';
import { runMemoryBench } from '../bench/memory-bench.ts';
import { formatReport, type BenchOptions, type Transport } from '../bench/report.ts';
import { MAX_OP_BYTES } from '../pbft/codec.ts';
import { UsageError } from './usage-error.ts';

export const BENCH_USAGE = `usage: pbft-lab bench [--replicas 4] [--clients C] [--duration S] [--ops N] [--warmup S] [--payload BYTES]
                      [--read-ratio R] [--transport memory|libp2p|echo] [--client-processes P] [--cluster-key on|off]
                      [--record on|off] [--telemetry-subscriber on|off] [--json] [--cpu-prof DIR]
  libp2p: C logical clients over P client processes (one libp2p node each; default 1); --cluster-key off runs
          the cluster without its secret (pnet), to measure what the secret costs; --record off starts the
          replicas with --no-record, to measure what recording their inputs costs (docs/exercises.md);
          --telemetry-subscriber on subscribes a room observer (in the benchmark's process) to every
          replica's telemetry, to measure its cost
  memory: --telemetry-subscriber on adds one observer's queue and JSON per replica (no stream)
  --ops N: close the measured window after N operations (and after --duration S if also given)
  echo: the frame transport alone between two processes, C frames of --payload bytes (default 100) in flight`;

const DEFAULT_DURATION_S = 5;
const MAX_CLIENTS_PER_PROCESS = 4096;
/** With --ops and no --duration, the window still closes after this long. */
const MAX_DURATION_S = 3600;

export function parseBenchArgs(argv: string[]): BenchOptions & { transport: Transport; json: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      replicas: { type: 'string', default: '4' },
      clients: { type: 'string', default: '1' },
      duration: { type: 'string' },
      ops: { type: 'string' },
      warmup: { type: 'string', default: '1' },
      payload: { type: 'string', default: '0' },
      'read-ratio': { type: 'string', default: '0' },
      transport: { type: 'string', default: 'memory' },
      'client-processes': { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'cluster-key': { type: 'string', default: 'on' },
      record: { type: 'string', default: 'on' },
      'telemetry-subscriber': { type: 'string', default: 'off' },
    },
    strict: true,
    allowPositionals: false,
  });
  const replicas = Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 4 || (replicas - 1) % 3 !== 0 || replicas > 64)
    throw new UsageError(`--replicas must be 3f+1 (4, 7, 10, …), got "${values.replicas}"`);
  const clients = Number(values.clients);
  if (!Number.isInteger(clients) || clients < 1 || clients > 10_000)
    throw new UsageError(`--clients must be an integer from 1 to 10000, got "${values.clients}"`);
  let ops: number | undefined;
  if (values.ops !== undefined) {
    ops = Number(values.ops);
    if (!Number.isInteger(ops) || ops < 1)
      throw new UsageError(`--ops must be a positive integer, got "${values.ops}"`);
  }
  const durationS =
    values.duration !== undefined ? Number(values.duration) : ops !== undefined ? MAX_DURATION_S : DEFAULT_DURATION_S;
  if (!(durationS > 0) || durationS > MAX_DURATION_S)
    throw new UsageError(`--duration must be a positive number of seconds up to 3600, got "${values.duration}"`);
  const warmupS = Number(values.warmup);
  if (!(warmupS >= 0) || warmupS > 600)
    throw new UsageError(`--warmup must be a number of seconds ≥ 0, got "${values.warmup}"`);
  const payload = Number(values.payload);
  if (!Number.isInteger(payload) || payload < 0 || payload > MAX_OP_BYTES - 512)
    throw new UsageError(`--payload must be an integer from 0 to ${MAX_OP_BYTES - 512}, got "${values.payload}"`);
  const readRatio = Number(values['read-ratio']);
  if (!(readRatio >= 0 && readRatio <= 1))
    throw new UsageError(`--read-ratio must be between 0 and 1, got "${values['read-ratio']}"`);
  const transport = values.transport;
  if (transport !== 'memory' && transport !== 'libp2p' && transport !== 'echo')
    throw new UsageError(`--transport must be memory, libp2p or echo, got "${transport}"`);
  const clientProcesses = Number(values['client-processes']);
  if (!Number.isInteger(clientProcesses) || clientProcesses < 1 || clientProcesses > clients)
    throw new UsageError(
      `--client-processes must be an integer from 1 to --clients (${clients}), got "${values['client-processes']}"`,
    );
  // A replica queues at most 4096 frames toward one peer (core/net): one reply in flight per logical client.
  if (transport === 'libp2p' && Math.ceil(clients / clientProcesses) > MAX_CLIENTS_PER_PROCESS)
    throw new UsageError(
      `at most ${MAX_CLIENTS_PER_PROCESS} logical clients per client process: raise --client-processes`,
    );
  if (clientProcesses > 1 && transport !== 'libp2p')
    throw new UsageError('--client-processes is for --transport libp2p');
  if (ops !== undefined && transport === 'memory') throw new UsageError('--ops is for --transport libp2p or echo');
  if (transport === 'echo' && (payload > 0 ? payload : 100) < 4)
    throw new UsageError('--payload for echo must be at least 4 bytes');
  const clusterKeyFlag = values['cluster-key'];
  if (clusterKeyFlag !== 'on' && clusterKeyFlag !== 'off')
    throw new UsageError(`--cluster-key must be on or off, got "${clusterKeyFlag}"`);
  if (clusterKeyFlag === 'off' && transport !== 'libp2p')
    throw new UsageError('--cluster-key off is for --transport libp2p');
  const recordFlag = values.record;
  if (recordFlag !== 'on' && recordFlag !== 'off')
    throw new UsageError(`--record must be on or off, got "${recordFlag}"`);
  if (recordFlag === 'off' && transport !== 'libp2p') throw new UsageError('--record off is for --transport libp2p');
  const telemetryFlag = values['telemetry-subscriber'];
  if (telemetryFlag !== 'on' && telemetryFlag !== 'off')
    throw new UsageError(`--telemetry-subscriber must be on or off, got "${telemetryFlag}"`);
  if (telemetryFlag === 'on' && transport === 'echo')
    throw new UsageError('--telemetry-subscriber on is for --transport libp2p or memory');
  const cpuProfDir = values['cpu-prof'];
  if (cpuProfDir !== undefined && cpuProfDir.length === 0) throw new UsageError('--cpu-prof needs a directory');
  return {
    replicas,
    clients,
    durationS,
    ops,
    warmupS,
    payload,
    readRatio,
    transport,
    clientProcesses,
    clusterKey: clusterKeyFlag === 'on',
    record: recordFlag === 'on',
    telemetrySubscriber: telemetryFlag === 'on',
    json: values.json,
    cpuProfDir,
  };
}

export async function benchCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { transport, json, ...options } = parseBenchArgs(argv);
  const report =
    transport === 'memory'
      ? await runMemoryBench(options)
      : transport === 'libp2p'
        ? await runLibp2pBench(options, print)
        : await runEchoBench(options);
  if (!json) for (const line of formatReport(report)) print(line);
  else print(JSON.stringify(report));
  return 0;
}
