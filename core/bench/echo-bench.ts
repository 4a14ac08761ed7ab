/**
 * `pbft-lab bench --transport echo`: the frame transport alone (core/net: TCP + Noise + Yamux, the
 * length-prefixed frames and their coalescing), between two processes on loopback. One process echoes
 * every frame back (echo-responder.ts), the other keeps C frames in flight (echo-pinger.ts). What
 * PBFT over libp2p can reach is bounded by this: each ordered operation costs several frames per
 * replica (docs/performance.md).
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { BenchError, BenchProcess } from './bench-process.ts';
import type { PingerOptions, PingerResult } from './echo-pinger.ts';
import { LISTENING } from './echo-responder.ts';
import { processCosts, runMeasuredWindow } from './measured-window.ts';
import { LatencyHistogram } from './latency-histogram.ts';
import { round, type BenchOptions, type BenchReport, type ProcessCost } from './report.ts';
import { READY } from './worker-protocol.ts';

const RESPONDER = fileURLToPath(new URL('./echo-responder.ts', import.meta.url));
const PINGER = fileURLToPath(new URL('./echo-pinger.ts', import.meta.url));
/** The frame size when --payload does not say: about a PBFT request or COMMIT. */
export const ECHO_FRAME_BYTES = 100;
/** Frames in flight must fit the transport's per-peer queue (4096 frames), or it evicts them. */
export const MAX_ECHO_IN_FLIGHT = 4096;

export async function runEchoBench(options: BenchOptions): Promise<BenchReport> {
  const frameBytes = options.payload > 0 ? options.payload : ECHO_FRAME_BYTES;
  if (frameBytes < 4) throw new BenchError('echo frames need at least 4 bytes (the slot number)');
  if (options.clients > MAX_ECHO_IN_FLIGHT)
    throw new BenchError(`at most ${MAX_ECHO_IN_FLIGHT} echo frames in flight, got ${options.clients}`);
  const loadAverage = loadavg();
  const processes: BenchProcess[] = [];
  const interrupted = (): void => {
    for (const p of processes) p.kill();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const responder = new BenchProcess('echo', [RESPONDER], options.cpuProfDir);
    processes.push(responder);
    const listening = await responder.waitForLine((l) => l.startsWith(LISTENING), 30_000);
    const pingerOptions: PingerOptions = {
      address: listening.slice(LISTENING.length).trim(),
      inFlight: options.clients,
      frameBytes,
    };
    const pinger = new BenchProcess('pinger', [PINGER, JSON.stringify(pingerOptions)], options.cpuProfDir);
    processes.push(pinger);
    await pinger.waitForLine((l) => l === READY, 30_000);

    const window = await runMeasuredWindow({
      workers: [pinger],
      watched: processes,
      warmupS: options.warmupS,
      durationS: options.durationS,
      ops: options.ops,
    });
    const result = window.results[0] as PingerResult;
    const costs: ProcessCost[] = processCosts(processes, window);
    const cpuS = costs.reduce((sum, p) => sum + p.cpuS, 0);
    const p = LatencyHistogram.fromJSON(result.latency).summary();
    const wallS = window.wallS;
    return {
      transport: 'echo',
      replicas: 0,
      clients: options.clients,
      durationS: round(wallS),
      warmupS: options.warmupS,
      payload: frameBytes,
      readRatio: 0,
      operation: `round trip of a ${frameBytes}-byte frame (frame transport only, no PBFT)`,
      ops: result.ops,
      opsPerSec: round(result.ops / wallS, 1),
      latencyMsP50: round(p.p50),
      latencyMsP90: round(p.p90),
      latencyMsP99: round(p.p99),
      latencyMsMax: round(p.max),
      batchSizeMean: null,
      cpu: {
        seconds: round(cpuS),
        cores: round(cpuS / wallS),
        usPerOp: round(result.ops === 0 ? 0 : (cpuS * 1e6) / result.ops, 1),
      },
      memory: { peakRssMiB: Math.max(...costs.map((c) => c.peakRssMiB)) },
      processes: costs,
      loadAverage: loadAverage.map((x) => round(x, 2)),
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await Promise.all(processes.map((p) => p.finish(true)));
  }
}
