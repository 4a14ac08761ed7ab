/** A long sweep shows its progress (issue 15, point 7). */
import { describe, expect, it } from 'vitest';
import { emptySummary } from '../sim/sweep.ts';
import { simCommand } from './sim-command.ts';
import { describeProgress, SimProgress } from './sim-progress.ts';

describe('sim progress', () => {
  it('says how many seeds are done, what failed so far, and how long is left', () => {
    const summary = { ...emptySummary(), runs: 120, livenessFailures: 1 };
    expect(describeProgress(summary, 1000, 6_000)).toBe(
      'seeds 120/1000 (12%), 0 safety violations, 1 liveness failure so far; about 44 s left',
    );
    expect(describeProgress({ ...summary, runs: 10 }, 1000, 60_000)).toMatch(/about 99 min left$/);
  });

  it('shows at most two lines a second', () => {
    const meter = new SimProgress(100, 0);
    const summary = { ...emptySummary(), runs: 1 };
    expect(meter.update(summary, 100)).toBeNull();
    expect(meter.update(summary, 600)).toMatch(/^seeds 1\/100/);
    expect(meter.update(summary, 700)).toBeNull();
  });

  it('a sweep writes progress lines to the progress sink (stderr at a terminal), never into its output', () => {
    const shown: (string | null)[] = [];
    const printed: string[] = [];
    const started = Date.now();
    // Enough seeds to last past the first half second on any machine.
    let to = 2;
    while (!shown.some((l) => l !== null) && Date.now() - started < 60_000) {
      simCommand(
        ['--seeds', `1..${to}`, '--faults', 'none', '--json'],
        (l) => printed.push(l),
        (l) => shown.push(l),
      );
      to *= 4;
    }
    expect(shown.some((l) => l !== null && /^seeds \d+\/\d+ \(\d+%\), 0 safety violations/.test(l))).toBe(true);
    expect(shown.at(-1)).toBeNull();
    expect(printed.every((l) => !l.startsWith('seeds '))).toBe(true);
  });
});
