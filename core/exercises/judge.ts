/**
 * Judging a run: replay it (every digest must match the recording), lay it out as a timeline, and
 * evaluate the exercise's checks over it. The same for a simulated run, a demo's and a lab's.
 */
import { sha256Hasher } from '../crypto/node.ts';
import type { Hasher } from '../pbft/crypto.ts';
import type { RunFile, Verdict } from '../record/run-file.ts';
import { buildTimeline, type Timeline } from '../record/timeline.ts';
import { evaluateCheck } from './checks.ts';
import type { Exercise } from './schema.ts';

export interface Judgement {
  readonly exercise: Exercise;
  readonly timeline: Timeline;
  readonly verdicts: readonly Verdict[];
  /** Every check passed and the replay matched the recording. */
  readonly ok: boolean;
}

export function judgeRun(exercise: Exercise, run: RunFile, hasher: Hasher = sha256Hasher): Judgement {
  const timeline = buildTimeline(run, hasher);
  const verdicts: Verdict[] = exercise.checks.map((check, i) => {
    const result = evaluateCheck(check, exercise, timeline, hasher);
    return {
      k: 'verdict',
      check: i,
      title: check.title,
      ok: result.ok,
      detail: result.detail,
      ...(result.witness === undefined ? {} : { witness: result.witness }),
    };
  });
  return {
    exercise,
    timeline,
    verdicts,
    ok: timeline.replay.ok && verdicts.every((v) => v.ok),
  };
}

/** The run with its verdicts (a judged run file). */
export function withVerdicts(run: RunFile, judgement: Judgement): RunFile {
  return { ...run, verdicts: judgement.verdicts };
}
