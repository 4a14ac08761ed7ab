/**
 * What `pbft-lab client` prints: a result as a person reads it (a listing as `ls -l` would show it),
 * or one JSON object for scripts; and the line saying how many replicas agreed.
 */
import { describeResult, showPath, type FileResult, type FileStat } from '../app/file-ops.ts';
import type { SessionResult } from '../host/client-session.ts';
import { labResultFromFile } from '../host/lab-ops.ts';

/**
 * One line per file, sizes right-aligned, like `ls -l`: size in bytes, version (how many writes and
 * appends made it), the sequence number that last modified it, the path. A `total` line first.
 */
export function formatListing(dir: string, entries: readonly FileStat[]): string[] {
  const bytes = entries.reduce((sum, e) => sum + e.size, 0);
  const head = `total ${entries.length} file${entries.length === 1 ? '' : 's'}, ${bytes} bytes in ${showPath(dir)}`;
  const width = (values: readonly string[]): number => Math.max(0, ...values.map((v) => v.length));
  const sizes = entries.map((e) => String(e.size));
  const versions = entries.map((e) => `v${e.version}`);
  const seqs = entries.map((e) => `seq ${e.modifiedSeq}`);
  const [sw, vw, qw] = [width(sizes), width(versions), width(seqs)];
  return [
    head,
    ...entries.map(
      (e, i) => `${sizes[i]!.padStart(sw)}  ${versions[i]!.padEnd(vw)}  ${seqs[i]!.padEnd(qw)}  ${showPath(e.path)}`,
    ),
  ];
}

/** The result for a person: a file's text, a listing, or a one-line description. */
export function formatResult(result: FileResult): string[] {
  switch (result.kind) {
    case 'data':
      return [new TextDecoder().decode(result.data)];
    case 'listing':
      return formatListing(result.dir, result.entries);
    default:
      return [describeResult(result)];
  }
}

export interface Agreement {
  readonly count: number;
  readonly name: 'f+1' | '2f+1';
}

/** f+1 committed replies suffice; 2f+1 are needed when some were tentative or read-only (§5.1). */
export function neededReplies(outcome: SessionResult, size: number): Agreement {
  const f = (size - 1) / 3;
  return outcome.committed ? { count: f + 1, name: 'f+1' } : { count: 2 * f + 1, name: '2f+1' };
}

/** E.g. `(3 matching replies, 2f+1 = 3 needed, tentative; 12.4 ms)`. */
export function formatAgreement(outcome: SessionResult, size: number): string {
  const needed = neededReplies(outcome, size);
  const how = outcome.readOnly ? ', read-only' : outcome.committed ? '' : ', tentative';
  return `(${outcome.matching} matching replies, ${needed.name} = ${needed.count} needed${how}; ${outcome.latencyMs.toFixed(1)} ms)`;
}

/** One JSON object: the result in the LabApi's form, and how it was agreed. */
export function formatJson(result: FileResult, outcome: SessionResult, size: number): string {
  return JSON.stringify({
    result: labResultFromFile(result),
    matching: outcome.matching,
    needed: neededReplies(outcome, size).count,
    readOnly: outcome.readOnly,
    replicas: size,
    latencyMs: Math.round(outcome.latencyMs * 100) / 100,
  });
}
