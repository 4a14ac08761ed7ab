/**
 * `pbft-lab record collect`: every replica's record of a run, gathered into one run file (from the
 * data directories on this machine, or from each replica's dashboard API).
 */
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LabOp, LabResult } from '../host/lab-api.ts';
import { labOpBytes, labResultBytes } from '../exercises/workload.ts';
import { apiSource, collectSessions, directorySource, opsFromNotes, type RecordSource } from '../record/collect.ts';
import { RUN_SCHEMA, writeRunFile, type RunFile } from '../record/run-file.ts';
import { UsageError } from './usage-error.ts';

export const RECORD_USAGE = `usage: pbft-lab record collect (--data-dir DIR… | --demo-dir BASE | --url URL…) --out RUN.jsonl
                             [--since TIME] [--until TIME]
  --data-dir DIR   a replica's data directory (its records/ inside), on this machine or copied from a lab machine
  --demo-dir BASE  every replica-K directory of a demo's --data-dir
  --url URL        a running replica's dashboard URL, with its token (repeat for each machine)
  --since, --until keep the sessions recording in that window (ISO time, e.g. 2025-03-04T10:15)
Every replica records its inputs into <data dir>/records while it runs (one file per start);
pbft-lab replay RUN.jsonl replays the run file, pbft-lab export writes ShiViz, JSON Lines and histories.`;

export async function recordCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'collect') throw new UsageError(sub === undefined ? 'say collect' : `unknown record command "${sub}"`);
  const { values } = parseArgs({
    args: rest,
    options: {
      'data-dir': { type: 'string', multiple: true },
      'demo-dir': { type: 'string' },
      url: { type: 'string', multiple: true },
      out: { type: 'string', short: 'o' },
      since: { type: 'string' },
      until: { type: 'string' },
    },
    strict: true,
  });
  if (!values.out) throw new UsageError('--out RUN.jsonl is required');
  const sources: RecordSource[] = [
    ...(values['data-dir'] ?? []).map(directorySource),
    ...(values.url ?? []).map(apiSource),
  ];
  if (values['demo-dir']) {
    const base = values['demo-dir'];
    const dirs = (await readdir(base)).filter((d) => /^replica-\d+$/.test(d)).sort();
    if (dirs.length === 0) throw new UsageError(`--demo-dir ${base}: no replica-K directories in it`);
    sources.push(...dirs.map((d) => directorySource(path.join(base, d))));
  }
  if (sources.length === 0) throw new UsageError('give --data-dir, --demo-dir or --url');
  const time = (text: string | undefined, flag: string): number | undefined => {
    if (text === undefined) return undefined;
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw new UsageError(`--${flag}: not a time: "${text}"`);
    return ms;
  };
  const sessions = await collectSessions(sources, {
    fromW: time(values.since, 'since'),
    untilW: time(values.until, 'until'),
  });
  if (sessions.length === 0) throw new UsageError('no recorded session in the sources and window given');
  const replicas = [...new Set(sessions.map((s) => s.replica))].sort((a, b) => a - b);
  const start = sessions[0]!.entries[0]!;
  const n = start.k === 'start' ? start.config.n : replicas.length;
  const run: RunFile = {
    header: {
      k: 'run',
      schema: RUN_SCHEMA,
      source: 'collected',
      createdAt: new Date().toISOString(),
      n,
      clock: 'wall',
    },
    sessions,
    ops: opsFromNotes(
      sessions,
      (op) => labOpBytes(op as unknown as LabOp),
      (result) => labResultBytes(result as unknown as LabResult),
    ),
    marks: [],
    answers: [],
    verdicts: [],
  };
  await writeFile(values.out, writeRunFile(run));
  for (const r of replicas) {
    const mine = sessions.filter((s) => s.replica === r);
    const lines = mine.reduce((sum, s) => sum + s.entries.length, 0);
    print(
      `replica ${r}: ${mine.length} session(s), ${lines} lines${mine.some((s) => s.entries.at(-1)?.k === 'end' && (s.entries.at(-1) as { why: string }).why === 'truncated') ? ' (a record reached its size limit)' : ''}`,
    );
  }
  if (replicas.length < n) print(`NOTE: records of ${replicas.length} of ${n} replicas: the others' are missing`);
  print(`run file: ${values.out} (${run.ops.length} client operation(s) from the dashboards' clients)`);
  return 0;
}
