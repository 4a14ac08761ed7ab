/**
 * The instructor's "stop" (the room's Exercises panel): the run ends at the script's next poll, the
 * cluster is left as it was found (the silent primary honest again), nothing is judged, and the report
 * says why. A live cluster faked in memory: replicas that answer every probe and request at once.
 */
import { describe, expect, it } from 'vitest';
import type { FaultCommand, LabOp, SubmitOutcome } from '../host/lab-api.ts';
import type { LiveCluster } from './live-cluster.ts';
import { ExerciseSession, type ExerciseProgress } from './session.ts';

class InstantCluster implements LiveCluster {
  readonly n = 4;
  readonly roster = ['p0', 'p1', 'p2', 'p3'];
  readonly commands: string[] = [];
  private executed = 0;

  async probe() {
    return this.roster.map(() => ({ view: 0, normal: true, executed: this.executed, stable: 0 }));
  }
  async setBehaviour(replica: number, behaviour: string | null): Promise<void> {
    this.commands.push(`r${replica} behaviour ${behaviour}`);
  }
  async fault(replica: number, command: FaultCommand): Promise<void> {
    this.commands.push(`r${replica} ${command.kind}`);
  }
  async submit(_host: number, op: LabOp): Promise<SubmitOutcome> {
    this.executed++;
    const path = 'path' in op ? op.path : '/';
    return {
      timestamp: this.executed,
      result: { kind: 'written', stat: { path, size: 1, version: 1, modifiedSeq: this.executed } },
      matching: 2,
      latencyMs: 1,
    };
  }
  async byzantineClient(): Promise<never> {
    throw new Error('no Byzantine client here');
  }
  async records() {
    return [];
  }
  async close(): Promise<void> {}
}

describe('ExerciseSession.stop', () => {
  it('stops the run, restores the cluster, judges nothing and says why', async () => {
    const cluster = new InstantCluster();
    const progress: ExerciseProgress[] = [];
    const session = new ExerciseSession(cluster, (p) => progress.push(p), { pollMs: 10 });
    expect(() => session.stop()).toThrow(/no exercise is running/);
    session.start('silent-primary');
    // Wait for the silent step: replica 0 made silent by the script.
    for (let i = 0; i < 200 && !cluster.commands.includes('r0 behaviour silent'); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(progress.at(-1)).toMatchObject({ stepIndex: 1, done: false, waitingFor: expect.stringMatching(/view/) });
    session.stop();
    await session.finished;
    expect(progress.at(-1)).toMatchObject({
      exerciseId: 'silent-primary',
      done: true,
      error: 'stopped by the instructor',
    });
    expect(progress.at(-1)!.verdicts).toBeUndefined();
    expect(cluster.commands.at(-1)).toBe('r0 behaviour null');
    expect(session.running).toBe(false);
    expect(session.lastRun).toBeNull();
  });
});
