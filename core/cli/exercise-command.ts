/**
 * `pbft-lab exercise`: the classroom exercises (core/exercises, docs/exercises.md).
 *
 *   exercise list [--json]          the exercises, in teaching order
 *   exercise show ID [--json]       one exercise: steps, predictions, checks, explanation
 *   exercise run ID --sim           as a seeded simulation: exit 1 if a check fails
 *   exercise run ID --urls U0,U1…   on a running cluster (the demo, lab machines), through each dashboard's API
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EXERCISES, exerciseById } from '../exercises/catalogue.ts';
import { judgeRun, withVerdicts, type Judgement } from '../exercises/judge.ts';
import { runReport } from '../exercises/report.ts';
import type { Exercise } from '../exercises/schema.ts';
import { describeUntil } from '../exercises/script.ts';
import { runInSimulator } from '../exercises/sim-driver.ts';
import { writeRunFile, type Answer, type RunFile } from '../record/run-file.ts';
import { UsageError } from './usage-error.ts';

export const EXERCISE_USAGE = `usage: pbft-lab exercise list [--json]
       pbft-lab exercise show ID [--json]
       pbft-lab exercise run ID --sim [--seed N] [--out RUN.jsonl] [--report REPORT.md] [--answers ANSWERS.json]
       pbft-lab exercise run ID --urls URL0,URL1,… [--out …] [--report …] [--answers …]
  --sim: a seeded simulation (the exercise's seed unless --seed); exit 1 if a check fails
  --urls: each replica's dashboard URL with its token, in replica order (the demo's table prints them)
  --out: save the run file (every replica's record, the clients' history, the verdicts): pbft-lab replay / export read it
  --answers: the students' predictions, {"by": "group 1", "answers": {"question-id": "answer", …}}`;

type Print = (line: string) => void;

export async function exerciseCommand(argv: string[], print: Print): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'list':
      return list(rest, print);
    case 'show':
      return show(rest, print);
    case 'run':
      return run(rest, print);
    case undefined:
      throw new UsageError('say list, show ID or run ID');
    default:
      throw new UsageError(`unknown exercise command "${sub}" (list, show, run)`);
  }
}

function list(argv: string[], print: Print): number {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, strict: true });
  if (values.json) {
    print(
      JSON.stringify(
        EXERCISES.map((e) => ({ id: e.id, title: e.title, paper: e.paper, goal: e.goal, live: e.live, n: e.n })),
        null,
        2,
      ),
    );
    return 0;
  }
  const width = Math.max(...EXERCISES.map((e) => e.id.length));
  for (const e of EXERCISES)
    print(`${e.id.padEnd(width)}  ${e.title}${e.live === 'simulator-only' ? '  [simulator only]' : ''}`);
  print('');
  print('pbft-lab exercise show ID for the steps and questions; pbft-lab exercise run ID --sim to run one at home');
  return 0;
}

function show(argv: string[], print: Print): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: true,
  });
  const exercise = exerciseById(oneId(positionals));
  if (values.json) {
    print(JSON.stringify(exercise, null, 2));
    return 0;
  }
  print(`${exercise.title} (${exercise.id})`);
  print(`paper: ${exercise.paper}`);
  print(`goal: ${exercise.goal}`);
  print(
    `setup: n = ${exercise.n}, ${exercise.clients.count} client(s)${exercise.clients.byzantine ? ` (client 0 Byzantine: ${exercise.clients.byzantine})` : ''}${exercise.protocol?.checkpointInterval ? `, a checkpoint every ${exercise.protocol.checkpointInterval}` : ''}${exercise.live === 'simulator-only' ? '; SIMULATOR ONLY' : ''}`,
  );
  exercise.steps.forEach((step, i) => {
    print('');
    print(`step ${i + 1}: ${step.title} [${step.id}]`);
    print(`  ${step.instructions}`);
    for (const q of step.predictions ?? []) print(`  ? ${q.text}${q.choices ? `  (${q.choices.join(' / ')})` : ''}`);
    for (const a of step.actions ?? []) print(`  does: ${JSON.stringify(a)}`);
    print(`  until: ${describeUntil(step)}`);
  });
  print('');
  print('checks:');
  for (const c of exercise.checks) print(`  - ${c.title}`);
  return 0;
}

async function run(argv: string[], print: Print): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      sim: { type: 'boolean', default: false },
      seed: { type: 'string' },
      urls: { type: 'string' },
      out: { type: 'string' },
      report: { type: 'string' },
      answers: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  const exercise = exerciseById(oneId(positionals));
  if (values.sim === (values.urls !== undefined)) throw new UsageError('give exactly one of --sim and --urls');
  const answers = values.answers ? await readAnswers(exercise, values.answers) : [];
  let raw: RunFile;
  if (values.sim) {
    const seed = values.seed === undefined ? exercise.seed : Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new UsageError(`--seed wants a whole number, got "${values.seed}"`);
    print(`${exercise.title} (${exercise.id}): a seeded simulation, seed ${seed}`);
    const simulated = runInSimulator(exercise, seed);
    raw = simulated.run;
    // The simulator's own checkers stop a run at the first violation (the colluding exercise's point).
    for (const v of simulated.simulation.violations)
      print(`simulator: the run stopped at its first violation (${v.property}): ${v.detail}`);
    if (simulated.simulation.livenessFailure) print(`simulator: ${simulated.simulation.livenessFailure}`);
  } else {
    if (values.seed !== undefined) throw new UsageError('--seed is for --sim');
    const { runLive } = await import('../exercises/live-run.ts');
    raw = await runLive(exercise, values.urls!.split(',').filter(Boolean), print);
  }
  const judgement = judgeRun(exercise, { ...raw, answers });
  // A live run printed its steps as they came (since its start); the simulator's are printed here.
  printJudgement(judgement, print, { steps: values.sim });
  const judged = withVerdicts({ ...raw, answers }, judgement);
  if (values.out) {
    await writeFile(values.out, writeRunFile(judged));
    print(`run file: ${values.out} (pbft-lab replay ${values.out}; pbft-lab export ${values.out} --shiviz …)`);
  }
  if (values.report) {
    await writeFile(values.report, runReport(exercise, judged, judgement.verdicts, judgement.timeline.replay));
    print(`report: ${values.report}`);
  }
  return judgement.ok ? 0 : 1;
}

export function printJudgement(judgement: Judgement, print: Print, options: { steps: boolean }): void {
  const { timeline, verdicts } = judgement;
  const t0 = timeline.startW;
  for (const mark of options.steps ? timeline.run.marks : []) {
    const step = judgement.exercise.steps.find((s) => s.id === mark.step);
    print(
      `  ${((mark.w - t0) / 1000).toFixed(2).padStart(6)} s  step ${mark.step}: ${step?.title ?? ''}${mark.previousTimedOut ? '  (the step before ended on its time limit)' : ''}`,
    );
  }
  const replay = timeline.replay;
  print(
    replay.ok
      ? `replay: every output and state digest matched (${replay.entries} recorded calls, ${replay.takes} drains)`
      : `replay DIVERGED at replica ${replay.divergence!.replica}, session ${replay.divergence!.session}, line ${replay.divergence!.line} (${replay.divergence!.call}): ${replay.divergence!.what}`,
  );
  print('checks:');
  for (const v of verdicts) print(`  ${v.ok ? 'PASS' : 'FAIL'}  ${v.title}\n        ${v.detail}`);
  print(`${verdicts.filter((v) => v.ok).length} of ${verdicts.length} checks passed`);
}

function oneId(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('name one exercise (pbft-lab exercise list shows them)');
  return positionals[0]!;
}

async function readAnswers(exercise: Exercise, file: string): Promise<Answer[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--answers ${file}: ${(error as Error).message}`);
  }
  const v = value as { by?: unknown; answers?: unknown };
  if (typeof v !== 'object' || v === null || typeof v.answers !== 'object' || v.answers === null)
    throw new UsageError(`--answers ${file}: expected {"by": "…", "answers": {"question-id": "answer"}}`);
  return Object.entries(v.answers as Record<string, unknown>).map(([question, answer]) => {
    const step = exercise.steps.find((s) => (s.predictions ?? []).some((q) => q.id === question));
    if (!step) throw new UsageError(`--answers ${file}: exercise ${exercise.id} asks no question "${question}"`);
    return {
      k: 'answer',
      question,
      step: step.id,
      answer: String(answer),
      ...(typeof v.by === 'string' ? { by: v.by } : {}),
    };
  });
}
