import { describe, expect, it } from 'vitest';
import type { LogRowInfo } from '../../../core/host/lab-api.ts';
import { collectRows, logRowView, logRowViews, phaseCounts, quorumCount } from './log-rows.ts';

const row = (overrides: Partial<LogRowInfo>): LogRowInfo => ({
  seq: 1,
  view: 0,
  digest: 'abcdef0123456789',
  batchSize: 1,
  prepares: 0,
  commits: 0,
  phase: 'pre-prepared',
  ...overrides,
});

describe('log rows against the quorums (§4.2)', () => {
  it('with f = 1, prepared needs 2 prepares and committed needs 3 commits', () => {
    const view = logRowView(row({ prepares: 1, commits: 0 }), 1);
    expect(view.prepares).toEqual({ count: 1, needed: 2, met: false, label: '1/2f=2' });
    expect(view.commits).toEqual({ count: 0, needed: 3, met: false, label: '0/2f+1=3' });
  });

  it('marks a quorum met at exactly the threshold', () => {
    const view = logRowView(row({ prepares: 2, commits: 3, phase: 'committed' }), 1);
    expect(view.prepares.met).toBe(true);
    expect(view.commits.met).toBe(true);
  });

  it('scales with f (n = 7: 4 prepares, 5 commits)', () => {
    const view = logRowView(row({ prepares: 4, commits: 4, phase: 'prepared' }), 2);
    expect(view.prepares.label).toBe('4/2f=4');
    expect(view.prepares.met).toBe(true);
    expect(view.commits.label).toBe('4/2f+1=5');
    expect(view.commits.met).toBe(false);
  });

  it('orders phases from empty to executed', () => {
    const phases = ['empty', 'pre-prepared', 'prepared', 'committed', 'executed'] as const;
    expect(phases.map((phase) => logRowView(row({ phase }), 1).progress)).toEqual([0, 1, 2, 3, 4]);
  });

  it('shortens the digest and shows a dash for an empty slot', () => {
    expect(logRowView(row({}), 1).digestShort).toBe('abcdef0123');
    expect(logRowView(row({ digest: null, phase: 'empty' }), 1).digestShort).toBe('—');
  });

  it('lists the newest sequence number first and counts phases', () => {
    const views = logRowViews(
      [row({ seq: 3, phase: 'prepared' }), row({ seq: 5, phase: 'executed' }), row({ seq: 4, phase: 'executed' })],
      1,
    );
    expect(views.map((v) => v.seq)).toEqual([5, 4, 3]);
    expect(phaseCounts(views)).toEqual({ empty: 0, 'pre-prepared': 0, prepared: 1, committed: 0, executed: 2 });
  });

  it('quorumCount labels any formula', () => {
    expect(quorumCount(2, 2, 'f+1').label).toBe('2/f+1=2');
  });
});

describe('rows kept after garbage collection (issue 15, point 11)', () => {
  const executedRow = (seq: number, phase: LogRowInfo['phase'] = 'executed'): LogRowInfo => ({
    seq,
    view: 0,
    digest: 'ab'.repeat(32),
    batchSize: 1,
    prepares: 2,
    commits: 3,
    phase,
  });

  it('keeps the executed rows a stable checkpoint collected, newest first, bounded', () => {
    const before = [executedRow(1), executedRow(2), executedRow(3), executedRow(4), executedRow(5, 'prepared')];
    const after = [executedRow(5, 'committed')];
    expect(collectRows([], before, after, 4).map((r) => r.seq)).toEqual([4, 3, 2, 1]);
    const kept = collectRows([executedRow(0)], before, after, 4, 3);
    expect(kept.map((r) => r.seq)).toEqual([4, 3, 2]);
  });

  it('keeps nothing while no checkpoint collected anything', () => {
    expect(collectRows([], [executedRow(1)], [executedRow(1), executedRow(2)], 0)).toEqual([]);
    expect(collectRows([], [executedRow(1)], [], null)).toEqual([]);
  });
});
