/**
 * The short report of one run, in Markdown: which run, whether its replay matched the recording,
 * each check with its verdict and reason, the students' predictions against the expected answers,
 * and the exercise's explanation. Teachers grade from it; students keep it.
 */
import type { Answer, RunFile, Verdict } from '../record/run-file.ts';
import type { ReplayResult } from '../record/replay.ts';
import type { Exercise } from './schema.ts';

export function runReport(
  exercise: Exercise,
  run: RunFile,
  verdicts: readonly Verdict[],
  replay: ReplayResult,
): string {
  const h = run.header;
  const source =
    h.source === 'sim'
      ? `a seeded simulation (seed ${h.exercise?.seed ?? exercise.seed})`
      : h.source === 'demo'
        ? 'the one-machine demo'
        : h.source === 'lab'
          ? 'lab machines'
          : 'collected records';
  const passed = verdicts.filter((v) => v.ok).length;
  const lines = [
    `# ${exercise.title}`,
    '',
    `Exercise \`${exercise.id}\` (${exercise.paper}), run on ${source}, ${h.createdAt}.`,
    '',
    `**Goal.** ${exercise.goal}`,
    '',
    faultyLine(exercise),
    '',
    `**Replay.** ${
      replay.ok
        ? `every output and state digest matched the recording (${replay.entries} recorded calls, ${replay.takes} drains, ${replay.sessions} replica session(s)).`
        : `diverged: replica ${replay.divergence!.replica}, session ${replay.divergence!.session}, line ${replay.divergence!.line} (${replay.divergence!.call}): ${replay.divergence!.what}.`
    }`,
    '',
    `## Checks: ${passed} of ${verdicts.length} passed`,
    '',
    ...verdicts.map(
      (v) =>
        `- ${v.ok ? 'PASS' : 'FAIL'} — ${v.title}. ${v.detail}.${v.witness === undefined ? '' : ` (Step ${v.witness} of the replay.)`}`,
    ),
    '',
    ...predictionsSection(exercise, run.answers),
    '## What happened',
    '',
    ...exercise.explanation.flatMap((p) => [p, '']),
  ];
  return lines.join('\n');
}

/**
 * How many replicas the exercise makes Byzantine over the run, against f (issue 19): beyond the
 * bound a violation is what the exercise shows, within it a violation would be a bug.
 */
export function faultyLine(exercise: Exercise): string {
  const f = Math.floor((exercise.n - 1) / 3);
  const byzantine = new Set<number>();
  for (const step of exercise.steps)
    for (const action of step.actions ?? [])
      if (action.do === 'behaviour' && action.behaviour !== null) for (const r of action.replicas) byzantine.add(r);
  const names = [...byzantine].sort((a, b) => a - b).map((r) => `r${r}`);
  const who = names.length > 0 ? ` (${names.join(', ')})` : '';
  return byzantine.size > f
    ? `**Faulty replicas: ${byzantine.size}${who}, more than f = ${f}.** Beyond PBFT's bound: a violation here is what the exercise shows, not a bug.`
    : `**Faulty replicas: ${byzantine.size}${who} of at most f = ${f}.** Within PBFT's bound: any safety violation here would be a bug.`;
}

function predictionsSection(exercise: Exercise, answers: readonly Answer[]): string[] {
  const questions = exercise.steps.flatMap((s) => (s.predictions ?? []).map((q) => ({ step: s, q })));
  if (questions.length === 0) return [];
  const rows = questions.flatMap(({ step, q }) => {
    const given = answers.filter((a) => a.question === q.id && a.step === step.id);
    if (given.length === 0) return [`| ${cell(q.text)} | — | ${cell(q.answer)} | |`];
    return given.map(
      (a) =>
        `| ${cell(q.text)}${a.by ? ` (${cell(a.by)})` : ''} | ${cell(a.answer)} | ${cell(q.answer)} | ${a.answer.trim().toLowerCase() === q.answer.toLowerCase() ? 'right' : 'not quite'} |`,
    );
  });
  return [
    '## Predictions (asked before the fault)',
    '',
    '| Question | Answer given | Expected | |',
    '|---|---|---|---|',
    ...rows,
    '',
    ...questions.map(({ q }) => `- *${q.text}* ${q.why}`),
    '',
  ];
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
