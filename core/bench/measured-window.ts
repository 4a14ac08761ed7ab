/**
 * The parent side of a benchmark's measured window (worker-protocol.ts is the worker side): after
 * the warm-up, every worker is told `measure` at once; the window closes after `durationS` or once
 * the workers together report `ops` operations, whichever comes first; then `stop`, and each worker
 * answers with its result. CPU time of every watched process is read from /proc at both ends, and
 * the resident memory of each (VmRSS) at both ends and every `rssEveryS` seconds in between, so a long
 * run shows whether memory stays flat.
 */
import type { BenchProcess, ProcessUsage } from './bench-process.ts';
import { BenchError } from './bench-process.ts';
import { round, type ProcessCost } from './report.ts';
import { PROGRESS } from './worker-protocol.ts';

export interface WindowOptions {
  /** Processes that generate load and answer `measure` / `stop`. */
  readonly workers: readonly BenchProcess[];
  /** Processes whose CPU and memory are read (the workers among them, if they should be). */
  readonly watched: readonly BenchProcess[];
  readonly warmupS: number;
  readonly durationS: number;
  /** Close the window once this many operations were measured. @default no limit */
  readonly ops?: number;
  /** @default 5 */
  readonly rssEveryS?: number;
}

export interface RssSample {
  /** Seconds since the window opened. */
  readonly atS: number;
  /** VmRSS of each watched process, in the order given, MiB. */
  readonly rssMiB: readonly number[];
}

export interface WindowResult {
  readonly wallS: number;
  /** Each worker's result line, parsed. */
  readonly results: readonly unknown[];
  /** Usage of each watched process when the window opened and when it closed. */
  readonly before: readonly ProcessUsage[];
  readonly after: readonly ProcessUsage[];
  readonly rssSamples: readonly RssSample[];
}

/** What each watched process cost in the window (CPU) and over its life (peak RSS), in the order given. */
export function processCosts(watched: readonly BenchProcess[], window: WindowResult): ProcessCost[] {
  return watched.map((p, i) => ({
    role: p.role,
    pid: p.pid,
    cpuS: round(window.after[i]!.cpuS - window.before[i]!.cpuS, 2),
    peakRssMiB: round(window.after[i]!.peakRssMiB, 1),
    rssStartMiB: round(window.before[i]!.rssMiB, 1),
    rssEndMiB: round(window.after[i]!.rssMiB, 1),
  }));
}

/** How long a worker may take to answer `stop` with its result. */
const RESULT_TIMEOUT_MS = 60_000;

export async function runMeasuredWindow(options: WindowOptions): Promise<WindowResult> {
  const { workers, watched } = options;
  await sleep(options.warmupS * 1000);
  const before = watched.map((p) => p.usage());
  const startedAt = performance.now();
  const elapsedS = (): number => (performance.now() - startedAt) / 1000;
  const rssSamples: RssSample[] = [{ atS: 0, rssMiB: before.map((u) => round1(u.rssMiB)) }];
  const sampler = setInterval(
    () => rssSamples.push({ atS: round1(elapsedS()), rssMiB: watched.map((p) => round1(p.usage().rssMiB)) }),
    (options.rssEveryS ?? 5) * 1000,
  );
  const progress = workers.map(() => 0);
  const unsubscribe: (() => void)[] = [];
  try {
    for (const w of workers) w.tell('measure');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.durationS * 1000);
      workers.forEach((w, i) =>
        unsubscribe.push(
          w.onLine((line) => {
            if (!line.startsWith(PROGRESS)) return;
            progress[i] = Number(line.slice(PROGRESS.length));
            if (options.ops !== undefined && progress.reduce((a, b) => a + b, 0) >= options.ops) {
              clearTimeout(timer);
              resolve();
            }
          }),
        ),
      );
    });
  } finally {
    for (const u of unsubscribe) u();
    clearInterval(sampler);
  }
  const resultLines = workers.map((w) => w.waitForLine((line) => line.startsWith('{'), RESULT_TIMEOUT_MS));
  for (const w of workers) w.tell('stop');
  const wallS = elapsedS();
  const after = watched.map((p) => p.usage());
  // A periodic sample taken just before the window closed says the same as the last one.
  if (rssSamples.length > 1 && wallS - rssSamples.at(-1)!.atS < 0.5) rssSamples.pop();
  rssSamples.push({ atS: round1(wallS), rssMiB: after.map((u) => round1(u.rssMiB)) });
  const results = (await Promise.all(resultLines)).map((line, i) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw new BenchError(`${workers[i]!.role}: its result is not JSON: ${line.slice(0, 200)}`);
    }
  });
  return { wallS, results, before, after, rssSamples };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
