/**
 * The Log panel's rows: one per sequence number between the watermarks, with the prepare and commit
 * counts set against the quorums the paper names (§4.2): prepared needs the pre-prepare and 2f
 * matching prepares from backups; committed-local needs 2f+1 matching commits.
 */
import type { LogRowInfo } from '../../../core/host/lab-api.ts';

export type LogPhase = LogRowInfo['phase'];

export interface QuorumCount {
  readonly count: number;
  readonly needed: number;
  readonly met: boolean;
  /** "2/2f=2": what a student reads in the table. */
  readonly label: string;
}

export interface LogRowView {
  readonly seq: number;
  readonly view: number | null;
  readonly digest: string | null;
  readonly digestShort: string;
  readonly batchSize: number;
  readonly phase: LogPhase;
  /** 0 (empty) … 4 (executed): how far along the three phases plus execution the row is. */
  readonly progress: number;
  readonly prepares: QuorumCount;
  readonly commits: QuorumCount;
}

const PHASE_ORDER: readonly LogPhase[] = ['empty', 'pre-prepared', 'prepared', 'committed', 'executed'];

export function quorumCount(count: number, needed: number, formula: string): QuorumCount {
  return { count, needed, met: count >= needed, label: `${count}/${formula}=${needed}` };
}

export function logRowView(row: LogRowInfo, f: number): LogRowView {
  return {
    seq: row.seq,
    view: row.view,
    digest: row.digest,
    digestShort: row.digest === null ? '—' : row.digest.slice(0, 10),
    batchSize: row.batchSize,
    phase: row.phase,
    progress: PHASE_ORDER.indexOf(row.phase),
    prepares: quorumCount(row.prepares, 2 * f, '2f'),
    commits: quorumCount(row.commits, 2 * f + 1, '2f+1'),
  };
}

/** Newest sequence number first: the live end of the log is what changes. */
export function logRowViews(rows: readonly LogRowInfo[], f: number): LogRowView[] {
  return rows.map((row) => logRowView(row, f)).sort((a, b) => b.seq - a.seq);
}

/** How many rows are in each phase, for the panel's summary line. */
export function phaseCounts(rows: readonly LogRowView[]): Record<LogPhase, number> {
  const counts: Record<LogPhase, number> = { empty: 0, 'pre-prepared': 0, prepared: 0, committed: 0, executed: 0 };
  for (const row of rows) counts[row.phase]++;
  return counts;
}

/** Executed rows kept after garbage collection, for looking back (issue 15: the log emptied at each checkpoint). */
export const COLLECTED_ROWS_KEPT = 300;

/**
 * The rows the last stable checkpoint garbage-collected (§4.3), kept for looking back: rows of the
 * previous snapshot that were executed, are at or below the new stable checkpoint and are gone from
 * the log now, added to those kept before. Newest first, at most `kept` of them.
 */
export function collectRows(
  kept: readonly LogRowInfo[],
  previousLog: readonly LogRowInfo[],
  currentLog: readonly LogRowInfo[],
  stableSeq: number | null,
  max: number = COLLECTED_ROWS_KEPT,
): LogRowInfo[] {
  if (stableSeq === null) return [...kept];
  const live = new Set(currentLog.map((row) => row.seq));
  const bySeq = new Map(kept.map((row) => [row.seq, row]));
  for (const row of previousLog)
    if (row.phase === 'executed' && row.seq <= stableSeq && !live.has(row.seq)) bySeq.set(row.seq, row);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, max);
}
