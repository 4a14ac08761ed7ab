/**
 * Every shipped exercise passes its own checks as a seeded simulation, its recorded run replays with
 * every digest matching, and the same seed gives the same run. The validator reports a broken
 * exercise file with the place of the mistake.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHIVIZ_REGEX } from '../record/export-shiviz.ts';
import { EXERCISES, VOCABULARY, exerciseById } from './catalogue.ts';
import { judgeRun } from './judge.ts';
import { faultyLine } from './report.ts';
import { CHECK_KINDS, ExerciseError, parseExercise } from './schema.ts';
import { runInSimulator } from './sim-driver.ts';
import normalCase from './data/normal-case.json' with { type: 'json' };

describe('the shipped exercises, as seeded simulations', () => {
  it('there are at least ten, each with predictions, checks and an explanation', () => {
    expect(EXERCISES.length).toBeGreaterThanOrEqual(10);
    for (const e of EXERCISES) {
      expect(
        e.steps.some((s) => (s.predictions ?? []).length > 0),
        e.id,
      ).toBe(true);
      expect(e.checks.length, e.id).toBeGreaterThan(0);
    }
  });

  for (const exercise of EXERCISES) {
    it(`${exercise.id}: every check passes, and the run replays digest for digest`, () => {
      const { run } = runInSimulator(exercise);
      const judgement = judgeRun(exercise, run);
      expect(judgement.timeline.replay.divergence).toBeNull();
      const failed = judgement.verdicts.filter((v) => !v.ok).map((v) => `${v.title}: ${v.detail}`);
      expect(failed).toEqual([]);
      // Every step ran, none on its time limit.
      expect(run.marks.map((m) => m.step)).toEqual(exercise.steps.map((s) => s.id));
      expect(run.marks.filter((m) => m.previousTimedOut)).toEqual([]);
    });
  }

  it('the same seed gives the same run and the same verdicts', () => {
    const exercise = EXERCISES.find((e) => e.id === 'silent-primary')!;
    const a = runInSimulator(exercise);
    const b = runInSimulator(exercise);
    expect(b.run.sessions).toEqual(a.run.sessions);
    expect(judgeRun(exercise, b.run).verdicts).toEqual(judgeRun(exercise, a.run).verdicts);
  });

  it('another seed runs the same exercise with other timings, and still passes', () => {
    const exercise = EXERCISES.find((e) => e.id === 'equivocating-primary')!;
    const judgement = judgeRun(exercise, runInSimulator(exercise, 9999).run);
    expect(judgement.ok).toBe(true);
  });

  it('a check that does not hold fails with its reason: the normal case with a silent primary', () => {
    const exercise = EXERCISES.find((e) => e.id === 'normal-case')!;
    const broken = {
      ...exercise,
      steps: exercise.steps.map((s) =>
        s.id === 'more'
          ? { ...s, actions: [{ do: 'behaviour', replicas: [0], behaviour: 'silent' } as const, ...(s.actions ?? [])] }
          : s,
      ),
    };
    const judgement = judgeRun(broken, runInSimulator(broken).run);
    const noViewChange = judgement.verdicts.find((v) => v.title.startsWith('Nobody suspects'))!;
    expect(noViewChange.ok).toBe(false);
    expect(noViewChange.detail).toMatch(/started a view change to view 1/);
    expect(noViewChange.witness).toBeGreaterThan(0);
  });
});

describe('the report says whether a violation is expected (issue 19)', () => {
  it('f+1 colluding replicas: beyond the bound; one equivocating primary: within it', () => {
    expect(faultyLine(exerciseById('colluding-replicas'))).toMatch(
      /Faulty replicas: 2 \(r\d, r\d\), more than f = 1.*not a bug/,
    );
    expect(faultyLine(exerciseById('equivocating-primary'))).toMatch(
      /Faulty replicas: 1 \(r0\) of at most f = 1.*would be a bug/,
    );
    expect(faultyLine(exerciseById('normal-case'))).toMatch(/Faulty replicas: 0 of at most f = 1/);
  });
});

describe('the exercise validator', () => {
  const broken = (change: (e: Record<string, unknown>) => void): unknown => {
    const copy = structuredClone(normalCase) as Record<string, unknown>;
    change(copy);
    return copy;
  };
  const cases: [string, (e: Record<string, unknown>) => void, RegExp][] = [
    [
      'a replica beyond n',
      (e) => ((e.steps as { actions?: unknown[] }[])[2]!.actions = [{ do: 'pause', replica: 4 }]),
      /steps\[2\]\.actions\[0\]\.replica replica 4 does not exist/,
    ],
    [
      'an unknown behaviour',
      (e) =>
        ((e.steps as { actions?: unknown[] }[])[1]!.actions = [
          { do: 'behaviour', replicas: [1], behaviour: 'teleport' },
        ]),
      /unknown behaviour "teleport"/,
    ],
    [
      'a check naming no step',
      (e) => ((e.checks as unknown[])[0] = { check: 'no-view-change', title: 'x', during: { from: 'nowhere' } }),
      /checks\[0\]\.during\.from no step "nowhere"/,
    ],
    [
      'an answer that is not a choice',
      (e) => ((e.steps as { predictions: { answer: string }[] }[])[0]!.predictions[0]!.answer = '7'),
      /"7" is not one of the choices/,
    ],
    ['n that is not 3f+1', (e) => (e.n = 5), /n must be 3f\+1/],
    ['a misspelt field', (e) => (e.explanations = []), /explanations is not a field/],
    [
      'a partition leaving a replica out',
      (e) => ((e.steps as { actions?: unknown[] }[])[1]!.actions = [{ do: 'partition', sides: [[0, 1], [2]] }]),
      /every replica 0…3 must be on exactly one side/,
    ],
  ];
  for (const [name, change, message] of cases) {
    it(`reports ${name}`, () => {
      expect(() => parseExercise(broken(change), VOCABULARY, 'x.json')).toThrow(ExerciseError);
      expect(() => parseExercise(broken(change), VOCABULARY, 'x.json')).toThrow(message);
    });
  }
});

describe("the teacher's guide (docs/exercises.md)", () => {
  const guide = readFileSync(new URL('../../docs/exercises.md', import.meta.url), 'utf8');

  it('names every exercise, its mistakes, every kind of check, and the ShiViz regex the export writes', () => {
    for (const e of EXERCISES) {
      expect(guide).toContain(`\`${e.id}\``);
      expect(guide).toContain(`**${e.id}.**`);
    }
    for (const kind of CHECK_KINDS) expect(guide).toContain(`\`${kind}\``);
    expect(guide).toContain(SHIVIZ_REGEX);
  });
});
