/**
 * Progress of a long `pbft-lab sim` sweep, on stderr when it is a terminal: seeds done, what failed
 * so far, and an estimate of the time left. It reads the sweep's summary as it grows, so what it
 * shows is what the final line will say.
 */
import type { SweepSummary } from '../sim/sweep.ts';

/** At most one line this often (a sweep runs hundreds of seeds a second). */
export const PROGRESS_EVERY_MS = 500;

export class SimProgress {
  private readonly total: number;
  private readonly startedAtMs: number;
  private lastShownAtMs: number;

  constructor(total: number, nowMs: number) {
    this.total = total;
    this.startedAtMs = nowMs;
    this.lastShownAtMs = nowMs;
  }

  /** The line to show now, or null if one was shown less than PROGRESS_EVERY_MS ago. */
  update(summary: Readonly<SweepSummary>, nowMs: number): string | null {
    if (nowMs - this.lastShownAtMs < PROGRESS_EVERY_MS) return null;
    this.lastShownAtMs = nowMs;
    return describeProgress(summary, this.total, nowMs - this.startedAtMs);
  }
}

/** E.g. `seeds 120/1000 (12%), 0 safety violations, 1 liveness failure so far; about 37 s left`. */
export function describeProgress(summary: Readonly<SweepSummary>, total: number, elapsedMs: number): string {
  const done = summary.runs;
  const percent = Math.floor((100 * done) / Math.max(total, 1));
  const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;
  const leftS = done === 0 ? null : Math.ceil(((total - done) * elapsedMs) / done / 1000);
  const eta = leftS === null ? '' : `; about ${leftS < 120 ? `${leftS} s` : `${Math.round(leftS / 60)} min`} left`;
  return (
    `seeds ${done}/${total} (${percent}%), ${plural(summary.safetyViolations, 'safety violation')}, ` +
    `${plural(summary.livenessFailures, 'liveness failure')} so far${eta}`
  );
}
