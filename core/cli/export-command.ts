/**
 * `pbft-lab export RUN`: a run file for other tools — ShiViz's log, JSON Lines of every event with
 * vector clocks, the clients' history for Porcupine or Knossos/Jepsen, and the exercise's report.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { sha256Hasher } from '../crypto/node.ts';
import { exerciseById } from '../exercises/catalogue.ts';
import { judgeRun } from '../exercises/judge.ts';
import { runReport } from '../exercises/report.ts';
import { causalOrder } from '../record/causality.ts';
import { eventsJsonl } from '../record/export-jsonl.ts';
import { jepsenHistory, porcupineHistory } from '../record/export-history.ts';
import { SHIVIZ_REGEX, shivizLog } from '../record/export-shiviz.ts';
import { checkShiviz, parseShiviz } from '../record/shiviz-check.ts';
import { buildTimeline } from '../record/timeline.ts';
import { readRun } from './replay-command.ts';
import { UsageError } from './usage-error.ts';

export const EXPORT_USAGE = `usage: pbft-lab export RUN.jsonl [--shiviz FILE] [--jsonl FILE] [--porcupine FILE] [--jepsen FILE] [--report FILE]
                         [--with-status]
  --shiviz     the space-time log for ShiViz (github.com/DistributedClocks/shiviz): its first line is the
               regular expression to paste; vector clocks per event
  --jsonl      every event as a JSON object per line (docs/exercises.md gives the schema)
  --porcupine  the clients' history as Porcupine operations (JSON); --jepsen as Knossos/Jepsen EDN
  --report     the exercise's checks and the students' predictions (a run made by pbft-lab exercise run)
  --with-status  keep the replicas' periodic STATUS messages (left out: they outnumber everything else)`;

export async function exportCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      shiviz: { type: 'string' },
      jsonl: { type: 'string' },
      porcupine: { type: 'string' },
      jepsen: { type: 'string' },
      report: { type: 'string' },
      'with-status': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError('name one run file');
  if (!values.shiviz && !values.jsonl && !values.porcupine && !values.jepsen && !values.report)
    throw new UsageError('say what to export: --shiviz, --jsonl, --porcupine, --jepsen or --report');
  const run = await readRun(positionals[0]!);
  const timeline = buildTimeline(run, sha256Hasher);
  if (!timeline.replay.ok)
    print(
      `NOTE: the replay diverged at step ${timeline.replay.divergence!.index}; the export stops there (pbft-lab replay says more)`,
    );
  const events =
    values.shiviz || values.jsonl
      ? causalOrder(timeline, sha256Hasher, values['with-status'] ? { include: () => true } : {})
      : [];
  if (values.shiviz) {
    const log = shivizLog(events);
    checkShiviz(parseShiviz(log));
    await writeFile(values.shiviz, log);
    print(`ShiViz log: ${values.shiviz} (${events.length} events). Its first line is the regular expression to paste:`);
    print(`  ${SHIVIZ_REGEX}`);
  }
  if (values.jsonl) {
    await writeFile(values.jsonl, eventsJsonl(run, events));
    print(`JSON Lines: ${values.jsonl} (${events.length} events)`);
  }
  if (values.porcupine) {
    await writeFile(values.porcupine, porcupineHistory(run));
    print(`Porcupine history: ${values.porcupine} (${run.ops.length} operations)`);
  }
  if (values.jepsen) {
    await writeFile(values.jepsen, jepsenHistory(run));
    print(`Jepsen/Knossos history: ${values.jepsen} (${run.ops.length} operations)`);
  }
  if (values.report) {
    if (!run.header.exercise)
      throw new UsageError('--report needs a run of an exercise (pbft-lab exercise run … --out)');
    const exercise = exerciseById(run.header.exercise.id);
    const judgement = judgeRun(exercise, run);
    await writeFile(values.report, runReport(exercise, run, judgement.verdicts, timeline.replay));
    print(`report: ${values.report}`);
  }
  return 0;
}
