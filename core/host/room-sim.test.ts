/**
 * The simulator-backed room: the same Telemetry and RoomModel as on machines, over unmodified replicas
 * in virtual time. The checker is quiet with f faulty and names the coalition with f+1.
 */
import { describe, expect, it } from 'vitest';
import { RoomSimulation } from './room-sim.ts';

function settle(scenario: 'equivocation-coalition' | 'silent-primary' | 'honest') {
  const sim = new RoomSimulation({ scenario });
  for (let i = 0; i < 30; i++) sim.run(200);
  return sim.model.state();
}

describe('the simulated room', () => {
  it('an honest cluster: every check green, every replica executes the six writes', () => {
    const state = settle('honest');
    expect(state.checks.filter((c) => c.status === 'violated' || c.status === 'warning')).toEqual([]);
    expect(state.replicas.map((r) => r.lastExecuted)).toEqual([6, 6, 6, 6]);
  });

  it('a silent primary (f = 1 faulty): the checker stays quiet, the explainer names it and the new view', () => {
    const state = settle('silent-primary');
    expect(state.checks.filter((c) => c.status === 'violated')).toEqual([]);
    expect(state.checks.find((c) => c.id === 'agreement')?.status).toBe('ok');
    const episode = state.viewChanges[0]!;
    expect(episode).toMatchObject({ view: 1, suspected: 0, newPrimary: 1 });
    expect(episode.quorumAt).not.toBeNull();
    expect(episode.newView).not.toBeNull();
    // The replicas name the request their timer ran for; the room says it in its own words.
    const timed = episode.votes.filter((v) => v.reason.startsWith('request timer expired'));
    expect(timed.length).toBeGreaterThan(0);
    for (const vote of timed)
      expect(vote.reason).toMatch(/it was waiting for request \S+:\d+: .*it executed up to \d+\)$/);
  });

  it('f+1 colluding equivocators: the checker names the violation and the coalition', () => {
    const state = settle('equivocation-coalition');
    const agreement = state.checks.find((c) => c.id === 'agreement')!;
    expect(agreement.status).toBe('violated');
    expect(agreement.culprits).toEqual([0, 1]);
    expect(agreement.text).toMatch(/correct replicas disagree at n=\d+: r2 executed \w+; r3 executed \w+/);
    expect(state.checks.find((c) => c.id === 'assumption')?.status).toBe('warning');
    expect(state.crossLog.some((row) => row.cells.some((c) => c?.differs))).toBe(true);
  });
});
