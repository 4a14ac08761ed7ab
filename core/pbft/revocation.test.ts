/**
 * Issue 13, finding 2: revocation is replicated state. A revoke is an operation ordered like any
 * write; from its place in the order on, every correct replica refuses the revoked client's
 * operations at execution, whichever replica revoked it and whoever pre-prepares the request — so a
 * write of a client revoked through one replica is executed nowhere. The revoked set is in the
 * checkpoint's state digest and snapshot: it survives a wiped disk and a state transfer.
 */
import { describe, expect, it } from 'vitest';
import type { FileOp } from '../app/file-ops.ts';
import { TestCluster, text } from '../testing/cluster.ts';

const write = (path: string, data: string): FileOp => ({ kind: 'write', path, data: text(data) });
/** The teacher's console is a replica's own client; the students' laptops are not. */
const access = { mayRevoke: (client: string) => client === 'teacher' };

function run(c: TestCluster, client: string, op: FileOp) {
  const t = c.submit(client, op);
  c.deliverAll();
  const result = c.lastResult(client);
  expect(result?.timestamp).toBe(t);
  return result!.result;
}

describe('revocation as an ordered operation', () => {
  it('a revoked client is refused at execution by every replica; a student cannot revoke', () => {
    const c = new TestCluster(4, { checkpointInterval: 2 }, 1, { access });
    expect(run(c, 'student', write('/a', 'before')).kind).toBe('written');
    expect(run(c, 'student', { kind: 'revoke', client: 'classmate' })).toMatchObject({ code: 'NOT_ALLOWED' });
    expect(run(c, 'teacher', { kind: 'revoke', client: 'teacher' })).toMatchObject({ code: 'NOT_ALLOWED' });
    expect(run(c, 'teacher', { kind: 'revoke', client: 'student' })).toEqual({ kind: 'revoked', client: 'student' });
    expect(run(c, 'student', write('/b', 'after'))).toMatchObject({ kind: 'error', code: 'REVOKED' });
    expect(run(c, 'teacher', { kind: 'stat', path: '/b' })).toMatchObject({ code: 'NOT_FOUND' });
    expect(run(c, 'teacher', { kind: 'read', path: '/a' }).kind).toBe('data');
    // Every replica executed the same: the same stable checkpoint, the same state digest.
    const stable = c.replicas.map((r) => r!.stableCheckpoint);
    expect(new Set(stable.map((s) => `${s.seq} ${s.stateDigest}`)).size).toBe(1);
    expect(stable[0]!.seq).toBeGreaterThanOrEqual(6);
  });

  it('a write the primary orders anyway is executed nowhere (the check is at execution, not at the door)', () => {
    const c = new TestCluster(4, { checkpointInterval: 2 }, 1, { access });
    run(c, 'teacher', { kind: 'revoke', client: 'mallory' });
    // Mallory's request reaches the primary and is pre-prepared: no host gate in this cluster.
    const t = c.submit('mallory', write('/x', 'sneaked in'));
    c.deliverAll();
    const replies = c.lastResult('mallory');
    expect(replies?.timestamp).toBe(t);
    expect(replies?.result).toMatchObject({ code: 'REVOKED' });
    expect(replies!.matching).toBeGreaterThanOrEqual(2);
    expect(run(c, 'teacher', { kind: 'stat', path: '/x' })).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('the revocation survives a wiped disk and a state transfer, and is in the state digest', () => {
    const c = new TestCluster(4, { checkpointInterval: 2 }, 1, { access });
    run(c, 'student', write('/a', '1'));
    const before = c.replica(0).stableCheckpoint;
    run(c, 'teacher', { kind: 'revoke', client: 'student' });
    run(c, 'teacher', write('/t', 'x'));
    run(c, 'teacher', write('/t', 'y'));
    const after = c.replica(0).stableCheckpoint;
    expect(after.seq).toBeGreaterThan(before.seq);
    // r3 loses everything and catches up by state transfer from the others' stable checkpoint.
    c.crash(3);
    c.restart(3, true);
    for (let i = 0; i < 4; i++) run(c, 'teacher', write('/t', `z${i}`));
    c.tickUntil(() => c.replica(3).lastExecuted === c.replica(0).lastExecuted, 2_000);
    expect(c.replica(3).stableCheckpoint.stateDigest).toBe(c.replica(0).stableCheckpoint.stateDigest);
    // With r0 silent, r3 is needed for every quorum: it refuses the student too.
    c.crash(0);
    const t = c.submit('student', write('/b', 'after'));
    c.tickUntil(() => c.lastResult('student')?.timestamp === t, 5_000);
    expect(c.lastResult('student')?.result).toMatchObject({ code: 'REVOKED' });
  });
});
