/**
 * A run file: every replica's record of one run, gathered in one JSON Lines file, with what the
 * drivers knew around it — the clients' operations as they saw them (for the linearizability
 * history), when each step of an exercise started, the students' predictions and the checks' verdicts.
 *
 *   {"k":"run", schema, source, createdAt, n, clock, exercise?, coalitions?}   first line
 *   {"r":R, "s":S, …a record entry…}     replica R's session S (format.ts), its lines in order
 *   {"k":"op", …}                         a client operation (ClientOp)
 *   {"k":"mark", …}                       an exercise step started (StepMark)
 *   {"k":"answer", …}                     a prediction (Answer)
 *   {"k":"verdict", …}                    a check's result (Verdict)
 *
 * docs/exercises.md documents the schema for other tools.
 */
import { parseRecordLine, RecordFormatError, type RecordEntry, type RecordSession } from './format.ts';
import type { CoalitionSpec } from './replay.ts';
import type { Json } from './values.ts';

export const RUN_SCHEMA = 'pbft-lab/run/1';

export interface RunHeader {
  readonly k: 'run';
  readonly schema: typeof RUN_SCHEMA;
  /** Who ran it: the simulator, the one-machine demo, lab machines, or records gathered by hand. */
  readonly source: 'sim' | 'demo' | 'lab' | 'collected';
  readonly createdAt: string;
  readonly n: number;
  /** The time base of every `w`: virtual ms in the simulator, wall ms since 1970 otherwise. */
  readonly clock: 'virtual' | 'wall';
  readonly exercise?: { readonly id: string; readonly seed?: number };
  readonly coalitions?: readonly CoalitionSpec[];
}

/** A client operation as the driver that sent it saw it (one clock: the driver's). */
export interface ClientOp {
  readonly k: 'op';
  /** The exercise's client number. */
  readonly client: number;
  /** The PBFT client id the replicas saw. */
  readonly clientId: string;
  readonly byzantine?: boolean;
  /** The request's timestamp (null if it never got one). */
  readonly timestamp: number | null;
  /** The operation (LabOp JSON) and its bytes (base64), and the accepted result (LabResult JSON) and its bytes. */
  readonly op: Json;
  readonly opBytes: string;
  readonly invokedW: number;
  readonly completedW: number | null;
  readonly result: Json;
  readonly resultBytes: string | null;
  readonly matching?: number;
  /** ok: accepted; info: no result (timed out, refused, the run ended): it may or may not have happened. */
  readonly outcome: 'ok' | 'info';
}

export interface StepMark {
  readonly k: 'mark';
  readonly step: string;
  readonly w: number;
  /** The step before ended on its time limit, its condition unmet. */
  readonly previousTimedOut?: boolean;
}

export interface Answer {
  readonly k: 'answer';
  readonly question: string;
  readonly step: string;
  readonly answer: string;
  /** Who answered (a student's name or a group), if given. */
  readonly by?: string;
}

export interface Verdict {
  readonly k: 'verdict';
  readonly check: number;
  readonly title: string;
  readonly ok: boolean;
  readonly detail: string;
  /** The step of the run (its position in replay order) that shows it. */
  readonly witness?: number;
}

export interface RunFile {
  readonly header: RunHeader;
  readonly sessions: readonly RecordSession[];
  readonly ops: readonly ClientOp[];
  readonly marks: readonly StepMark[];
  readonly answers: readonly Answer[];
  readonly verdicts: readonly Verdict[];
}

export class RunFileError extends Error {
  override readonly name = 'RunFileError';
}

export function writeRunFile(run: RunFile): string {
  const lines: string[] = [JSON.stringify(run.header)];
  for (const s of run.sessions)
    for (const e of s.entries) lines.push(JSON.stringify({ r: s.replica, s: s.session, ...e }));
  for (const x of [...run.ops, ...run.marks, ...run.answers, ...run.verdicts]) lines.push(JSON.stringify(x));
  return lines.join('\n') + '\n';
}

export function parseRunFile(text: string, origin = 'run file'): RunFile {
  const lines = text.split('\n');
  let header: RunHeader | null = null;
  const sessions = new Map<string, { replica: number; session: number; entries: RecordEntry[]; lines: number[] }>();
  const ops: ClientOp[] = [];
  const marks: StepMark[] = [];
  const answers: Answer[] = [];
  const verdicts: Verdict[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${origin}:${i + 1}`;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new RunFileError(`${where}: not JSON`);
    }
    if (header === null) {
      if (value.k !== 'run' || value.schema !== RUN_SCHEMA)
        throw new RunFileError(
          `${where}: not a run file (the first line must be {"k":"run","schema":"${RUN_SCHEMA}",…})`,
        );
      header = value as unknown as RunHeader;
      return;
    }
    if (typeof value.r === 'number' && typeof value.s === 'number') {
      const { r, s, ...rest } = value;
      let entry: RecordEntry;
      try {
        entry = parseRecordLine(JSON.stringify(rest), where);
      } catch (error) {
        if (error instanceof RecordFormatError) throw new RunFileError(error.message);
        throw error;
      }
      const key = `${r}/${s}`;
      let session = sessions.get(key);
      if (!session) {
        if (entry.k !== 'start')
          throw new RunFileError(`${where}: replica ${r} session ${s} does not begin with its start`);
        sessions.set(key, (session = { replica: r as number, session: s as number, entries: [], lines: [] }));
      }
      session.entries.push(entry);
      session.lines.push(i + 1);
      return;
    }
    switch (value.k) {
      case 'op':
        return void ops.push(value as unknown as ClientOp);
      case 'mark':
        return void marks.push(value as unknown as StepMark);
      case 'answer':
        return void answers.push(value as unknown as Answer);
      case 'verdict':
        return void verdicts.push(value as unknown as Verdict);
      default:
        throw new RunFileError(`${where}: unknown line ${JSON.stringify(value.k)}`);
    }
  });
  if (header === null) throw new RunFileError(`${origin}: empty`);
  return {
    header,
    sessions: [...sessions.values()].map((s) => ({ ...s, origin })),
    ops,
    marks,
    answers,
    verdicts,
  };
}
