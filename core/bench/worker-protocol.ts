/**
 * The worker side of a benchmark's measured window (measured-window.ts is the parent side). A worker
 * is a child process that generates load: a process of logical PBFT clients, the echo pinger.
 *
 *   worker → parent (stdout)  `ready` once warm; `progress N` (N = operations measured so far) every
 *                             100 ms while measuring; after `stop`, one JSON line: its result.
 *   parent → worker (stdin)   `measure`, then `stop`; then stdin closes and the worker exits.
 */
import { forEachLine } from '../process/lines.ts';

export const READY = 'ready';
export const PROGRESS = 'progress ';
export const PROGRESS_INTERVAL_MS = 100;

export interface Worker<Result> {
  /** Open the measured window: count from now. */
  measure(): void;
  /** Operations measured so far. */
  measuredOps(): number;
  /** Close the window (stop generating load) and say what was measured. */
  stop(): Result;
}

/** Serves the parent's commands; resolves when the parent closes stdin. */
export function serveParent<Result>(worker: Worker<Result>): Promise<void> {
  let progress: ReturnType<typeof setInterval> | null = null;
  const say = (line: string): void => void process.stdout.write(line + '\n');
  forEachLine(process.stdin, (line) => {
    if (line === 'measure') {
      worker.measure();
      progress = setInterval(() => say(`${PROGRESS}${worker.measuredOps()}`), PROGRESS_INTERVAL_MS);
    } else if (line === 'stop') {
      if (progress) clearInterval(progress);
      say(JSON.stringify(worker.stop()));
    }
  });
  return new Promise((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
}

export function announceReady(): void {
  process.stdout.write(READY + '\n');
}
