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
