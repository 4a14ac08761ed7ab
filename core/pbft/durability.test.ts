/**
 * Issue 18, defect 1: durable before visible. Nothing a replica sends may depend on state a crash can
 * take back. The host writes the view record asynchronously (temp file, fsync, rename); a backup that
 * sent VIEW-CHANGE(1) and was killed before that write landed restarted in view 0 — two such backups
 * let the old primary commit a batch at n=1 in view 0 with them, while the new primary built a valid
 * NEW-VIEW(1) from their VIEW-CHANGEs and executed another batch at n=1.
 *
 * The cluster here writes records as the host does (`disk: 'host'`: the view record is durable only when
 * the test says so), with and without the write-ahead rule (core/pbft/write-ahead.ts).
 */
import { describe, expect, it } from 'vitest';
import { isType, TestCluster, text, type Envelope } from '../testing/cluster.ts';

const write = (path: string, data: string) => ({ kind: 'write', path, data: text(data) }) as const;

function twoBackupsCrashAfterTheirViewChange(writeAhead: boolean): TestCluster {
  const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 10_000 }, 1, {
    disk: 'host',
    writeAhead,
  });
  // The primary r0 orders alice's write at n=1, but nobody hears from it for a while.
  c.submit('alice', write('/a', 'x'));
  c.submit('bob', write('/b', 'y'));
  const toPrimary = c.queue.splice(0);
  const away = (e: Envelope) => e.from === 0 || e.to === 0;
  const changing = isType('view-change', 'new-view');
  // The clients time out and broadcast; the backups relay and start their timers. Just before these
  // expire, alice's first request reaches r0, which pre-prepares it at n=1 (nobody hears it yet).
  c.tick(55, (e) => !away(e) && !changing(e));
  c.queue.push(toPrimary[0]!);
  c.deliverAll((e) => e.to === 0 && e.from === 'alice');
  // The backups' timers expire: VIEW-CHANGE(1).
  c.tickUntil(
    () => [2, 3].every((r) => c.replica(r).status === 'view-change'),
    200,
    (e) => !away(e) && !changing(e),
  );
  // r2's and r3's VIEW-CHANGEs reach the new primary r1 (if they left at all), and r1 sends NEW-VIEW(1).
  c.deliverAll((e) => e.message.type === 'view-change' && e.to === 1);
  const fromNewPrimary = [
    ...new Set(
      c.queue
        .filter((e) => (e.from === 1 && changing(e)) || (e.from === 1 && e.message.type === 'pre-prepare'))
        .map((e) => e.message),
    ),
  ];
  const fromPrimary = c.queue.filter((e) => e.from === 0 && (e.to === 2 || e.to === 3));
  // Both crash before their view records are durable, and restart at once.
  for (const r of [2, 3]) {
    c.crash(r);
    c.restart(r);
  }
  // The old primary's pre-prepare reaches them now: r0, r2, r3 commit n=1 in the view they are in.
  c.queue.push(...fromPrimary);
  c.deliverAll((e) => [0, 2, 3].includes(e.from as number) && [0, 2, 3].includes(e.to as number));
  // Then r1's NEW-VIEW(1) and its pre-prepare for n=1 reach them (re-sent on their next STATUS, in a real run).
  for (const m of fromNewPrimary)
    if (m.type !== 'view-change') for (const r of [2, 3]) c.queue.push({ from: 1, to: r, message: m });
  c.deliverAll((e) => e.to !== 0 && e.from !== 0);
  return c;
}

describe('issue 18 defect 1: the view record is durable before the VIEW-CHANGE leaves', () => {
  it('without write-ahead (the host before the fix), two crashes break agreement: two batches execute at n=1', () => {
    const c = twoBackupsCrashAfterTheirViewChange(false);
    expect(c.replica(2).view).toBe(1);
    const atOne = new Set(
      c
        .eventsOf('executed')
        .filter((e) => e.seq === 1)
        .map((e) => e.digest),
    );
    expect(atOne.size).toBe(2);
  });

  it('with write-ahead, the VIEW-CHANGEs never left before the crash: one batch at n=1, everywhere', () => {
    const c = twoBackupsCrashAfterTheirViewChange(true);
    const atOne = new Set(
      c
        .eventsOf('executed')
        .filter((e) => e.seq === 1)
        .map((e) => e.digest),
    );
    expect(atOne.size).toBe(1);
    expect(c.eventsOf('executed', 2).map((e) => e.seq)).toEqual([1]);
    // r1 never got their VIEW-CHANGEs, so it could not build NEW-VIEW(1) from them.
    expect(c.eventsOf('new-view', 1)).toEqual([]);
  });

  it('a VIEW-CHANGE leaves once its view record is durable, and a restart then resumes the view change', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 10_000 }, 1, {
      disk: 'host',
      writeAhead: true,
    });
    c.submit('alice', write('/a', 'x'));
    c.crash(0);
    c.tickUntil(
      () => c.replica(2).status === 'view-change',
      200,
      (e) => e.message.type === 'request',
    );
    expect(c.queue.filter((e) => e.from === 2 && e.message.type === 'view-change')).toEqual([]);
    expect(c.pendingRecords(2)).toBe(1);
    c.makeDurable(2);
    expect(c.queue.filter((e) => e.from === 2 && e.message.type === 'view-change').length).toBe(3);
    c.crash(2);
    expect(c.restart(2).status).toBe('view-change');
    expect(c.replica(2).view).toBe(1);
  });
});
