/**
 * What a benchmark run reports, and the small statistics both transports share.
 */

export type Transport = 'memory' | 'libp2p' | 'echo';

export interface BenchOptions {
  readonly replicas: number;
  readonly clients: number;
  readonly durationS: number;
  /** Warm-up before measuring, in seconds. */
  readonly warmupS: number;
  /** 0: a null operation (`stat` of a missing path); otherwise a write of this many bytes. */
  readonly payload: number;
  /** Fraction of operations sent as read-only `stat`s (§5.1's read-only optimisation). */
  readonly readRatio: number;
  /** Write a V8 CPU profile of every benchmark process (replicas, clients) into this directory. */
  readonly cpuProfDir?: string;
  /** libp2p: the processes (one libp2p node each) the C logical clients are spread over. @default 1 */
  readonly clientProcesses?: number;
  /** Close the measured window after this many operations (or `durationS`, whichever comes first). */
  readonly ops?: number;
  /** libp2p: run the cluster with a cluster secret (pnet connection protection), as users do. @default true */
  readonly clusterKey?: boolean;
  /** libp2p: the replicas record their inputs for replay (core/host/recorder.ts), as users run them. @default true */
  readonly record?: boolean;
  /** libp2p: a room observer in the benchmark's own process subscribes to every replica's telemetry. @default false */
  readonly telemetrySubscriber?: boolean;
}

export interface ProcessCost {
  readonly role: string;
  readonly pid: number;
  /** User + system CPU seconds in the measured window. */
  readonly cpuS: number;
  /** Peak resident set size (VmHWM / maxRSS) over the whole life of the process, MiB. */
  readonly peakRssMiB: number;
  /** Resident set size (VmRSS) when the measured window opened and when it closed, MiB. */
  readonly rssStartMiB?: number;
  readonly rssEndMiB?: number;
}

export interface ReplicaRssSample {
  /** Seconds since the measured window opened. */
  readonly atS: number;
  /** VmRSS of each replica process, by replica, MiB. */
  readonly rssMiB: readonly number[];
}

export interface BenchReport {
  readonly transport: Transport;
  /** libp2p: whether the cluster ran with a cluster secret. */
  readonly clusterKey?: boolean;
  /** libp2p: whether the replicas recorded their inputs. */
  readonly record?: boolean;
  /** libp2p with a telemetry subscriber: the events it received in the whole run, and how many it lost. */
  readonly telemetry?: { readonly events: number; readonly lost: number; readonly bytes?: number };
  readonly replicas: number;
  readonly clients: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly payload: number;
  readonly readRatio: number;
  readonly operation: string;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly latencyMsP50: number;
  readonly latencyMsP90: number;
  readonly latencyMsP99: number;
  readonly latencyMsMax: number;
  /** Mean requests per executed batch (replica 0's `executed` events in the measured window); null when not observable (libp2p). */
  readonly batchSizeMean: number | null;
  readonly cpu: {
    /** CPU seconds spent in the measured window (memory: this process; libp2p: all children). */
    readonly seconds: number;
    /** CPU seconds per wall second (1.0 = one core busy). */
    readonly cores: number;
    /** CPU microseconds per operation. */
    readonly usPerOp: number;
  };
  readonly memory: {
    /** Peak RSS of the benchmark process (memory) or the largest replica process (libp2p), MiB. */
    readonly peakRssMiB: number;
    /** Heap used at the end of the run, MiB (memory transport only). */
    readonly heapUsedMiB?: number;
    /** libp2p: each replica's VmRSS at the start and end of the window and every few seconds between. */
    readonly replicaRssSamples?: readonly ReplicaRssSample[];
  };
  /** libp2p: how many client processes (libp2p nodes) carried the logical clients. */
  readonly clientProcesses?: number;
  /** libp2p: measured operations sent read-only and accepted with 2f+1 replies, or ordered after a timeout. */
  readonly readOnlyOps?: number;
  readonly readOnlyFallbacks?: number;
  /** Operations that failed or timed out in the window. */
  readonly errors?: number;
  readonly processes?: readonly ProcessCost[];
  readonly loadAverage: readonly number[];
}

/** Latency percentiles of an unsorted sample, in ms. */
export function percentiles(samples: readonly number[]): { p50: number; p90: number; p99: number; max: number } {
  if (samples.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

export const round = (x: number, digits = 3): number => {
  const scale = 10 ** digits;
  return Math.round(x * scale) / scale;
};

export function describeOperation(options: BenchOptions): string {
  const rw =
    options.payload === 0
      ? 'stat /bench-null (missing path, 0-byte arg/result) ordered'
      : `write of ${options.payload} B to /bench/<client>`;
  return options.readRatio > 0 ? `${rw}; ${options.readRatio * 100}% read-only stat /bench-null` : rw;
}

export function formatReport(r: BenchReport): string[] {
  const who =
    r.transport === 'echo'
      ? `2 processes, ${r.clients} frames in flight`
      : `${r.replicas} replicas, ${r.clients} closed-loop clients` +
        (r.clientProcesses === undefined ? '' : ` over ${r.clientProcesses} client process(es)`) +
        (r.clusterKey === undefined ? '' : r.clusterKey ? ', cluster key on' : ', cluster key OFF') +
        (r.record === undefined ? '' : r.record ? ', recording on' : ', recording OFF') +
        (r.telemetry === undefined
          ? ''
          : `, telemetry subscriber on (${r.telemetry.events} events, ${r.telemetry.lost} lost)`);
  const lines = [
    `transport ${r.transport}, ${who}, ${r.durationS} s after ${r.warmupS} s warm-up`,
    `operation: ${r.operation}`,
    `throughput: ${r.opsPerSec.toFixed(0)} ops/s (${r.ops} ops)`,
    `latency ms: p50 ${r.latencyMsP50.toFixed(3)}  p90 ${r.latencyMsP90.toFixed(3)}  p99 ${r.latencyMsP99.toFixed(3)}  max ${r.latencyMsMax.toFixed(3)}`,
    `batch size mean: ${r.batchSizeMean === null ? 'n/a' : r.batchSizeMean.toFixed(2)}`,
    `cpu: ${r.cpu.seconds.toFixed(2)} s (${r.cpu.cores.toFixed(2)} cores, ${r.cpu.usPerOp.toFixed(1)} µs/op)`,
    `peak RSS: ${r.memory.peakRssMiB.toFixed(1)} MiB${r.memory.heapUsedMiB !== undefined ? `, heap used ${r.memory.heapUsedMiB.toFixed(1)} MiB` : ''}`,
  ];
  for (const p of r.processes ?? [])
    lines.push(
      `  ${p.role} pid ${p.pid}: cpu ${p.cpuS.toFixed(2)} s, peak RSS ${p.peakRssMiB.toFixed(1)} MiB` +
        (p.rssStartMiB === undefined ? '' : `, RSS ${p.rssStartMiB.toFixed(1)} → ${p.rssEndMiB!.toFixed(1)} MiB`),
    );
  const samples = r.memory.replicaRssSamples ?? [];
  if (samples.length > 2)
    lines.push(
      `replica RSS MiB over the window: ${samples.map((s) => `${s.atS} s: ${s.rssMiB.map((x) => x.toFixed(0)).join('/')}`).join(', ')}`,
    );
  if (r.readOnlyOps !== undefined && r.readRatio > 0)
    lines.push(`read-only: ${r.readOnlyOps} accepted with 2f+1, ${r.readOnlyFallbacks} ordered after a timeout`);
  if (r.errors) lines.push(`errors: ${r.errors} operations failed or timed out`);
  lines.push(`load average at start: ${r.loadAverage.map((x) => x.toFixed(2)).join(' ')}`);
  return lines;
}
