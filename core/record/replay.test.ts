/**
 * Deterministic replay of recorded simulations: every digest matches, whatever the faults and the
 * Byzantine behaviours; a tampered record is reported at the first entry where the replay parts from it.
 */
import { describe, expect, it } from 'vitest';
import { sha256Hasher } from '../crypto/node.ts';
import { env, ALL_FAULTS } from '../testing/sweep.ts';
import { scenarioFromSeed, type ScenarioOptions } from '../sim/scenario.ts';
import { Simulation } from '../sim/simulation.ts';
import type { RecordEntry, RecordSession } from './format.ts';
import { replayRun } from './replay.ts';
import { SimRecorder } from './sim-recorder.ts';

function recordedRun(seed: number, options: ScenarioOptions): { sessions: RecordSession[]; ok: boolean } {
  const recorder = new SimRecorder();
  const result = new Simulation(scenarioFromSeed(seed, options), env, {
    createReplica: recorder.createReplica,
  }).run();
  recorder.endAll();
  return { sessions: recorder.sessions, ok: result.ok };
}

describe('replaying a recorded simulation', () => {
  const cases: [string, number, ScenarioOptions][] = [
    ['crashes, restarts, partitions and loss', 42, { replicas: 4, faults: ALL_FAULTS }],
    ['the primary crashed and restarted from its disk, twice', 19, { replicas: 4, faults: ['crash', 'restart'] }],
    [
      'a Byzantine primary that equivocates',
      7,
      { replicas: 4, faulty: 1, behaviour: 'equivocate', faults: ALL_FAULTS },
    ],
    ['the generic fuzz replica (random draws)', 11, { replicas: 4, faulty: 1, behaviour: 'fuzz', faults: ALL_FAULTS }],
    ['n = 7 with a slow primary', 3, { replicas: 7, faulty: 2, behaviour: 'delay-preprepare' }],
  ];
  for (const [name, seed, options] of cases) {
    it(`${name}: every output and state digest matches`, () => {
      const { sessions, ok } = recordedRun(seed, options);
      expect(ok).toBe(true);
      const result = replayRun(sessions, { hasher: sha256Hasher });
      expect(result.divergence).toBeNull();
      expect(result.takes).toBeGreaterThan(100);
      expect(result.entries).toBe(sessions.reduce((n, s) => n + s.entries.length, 0));
    });
  }

  it('a restart is a session of its own, started from what the replica persisted', () => {
    const { sessions } = recordedRun(19, { replicas: 4, faults: ['crash', 'restart'] });
    const restarts = sessions.filter((s) => s.session > 0);
    expect(restarts.map((s) => s.replica)).toEqual([0, 0]);
    const start = restarts[0]!.entries[0]!;
    expect(start.k === 'start' && start.persisted).not.toBeNull();
  });

  it('the same seed records the same lines', () => {
    const a = recordedRun(5, { replicas: 4, faults: ALL_FAULTS });
    const b = recordedRun(5, { replicas: 4, faults: ALL_FAULTS });
    expect(JSON.stringify(b.sessions)).toBe(JSON.stringify(a.sessions));
  });
});

describe('a tampered record', () => {
  const { sessions } = recordedRun(42, { replicas: 4, faults: ALL_FAULTS });
  const tampered = (session: number, change: (entries: RecordEntry[]) => number): [RecordSession[], number] => {
    const copy = sessions.map((s) => ({ ...s, entries: [...s.entries] }));
    const at = change(copy[session]!.entries);
    return [copy, at];
  };

  it('a recorded output digest altered: reported at that drain', () => {
    const [copy, at] = tampered(1, (entries) => {
      const i = entries.findIndex((e, j) => j > 200 && e.k === 'take' && e.n > 0);
      entries[i] = { ...(entries[i] as Extract<RecordEntry, { k: 'take' }>), out: '0000000000000000' };
      return i;
    });
    const result = replayRun(copy, { hasher: sha256Hasher });
    expect(result.ok).toBe(false);
    expect(result.divergence).toMatchObject({ replica: copy[1]!.replica, session: copy[1]!.session, entry: at });
    expect(result.divergence!.what).toMatch(/^outputs differ/);
  });

  it('a received message dropped from the record: reported at the first drain that depended on it', () => {
    const [copy, removed] = tampered(2, (entries) => {
      const i = entries.findIndex((e, j) => j > 100 && e.k === 'step' && typeof e.from === 'number');
      entries.splice(i, 1);
      return i;
    });
    const result = replayRun(copy, { hasher: sha256Hasher });
    expect(result.ok).toBe(false);
    const d = result.divergence!;
    expect(d.replica).toBe(copy[2]!.replica);
    expect(d.entry).toBeGreaterThanOrEqual(removed);
    // Everything before the reported entry replayed as recorded: replaying just up to it succeeds.
    const upTo = replayRun(copy, { hasher: sha256Hasher, stopAfter: d.index });
    expect(upTo.ok).toBe(true);
  });

  it('a recorded signature check flipped: the replay no longer matches from there', () => {
    const [copy, at] = tampered(0, (entries) => {
      const i = entries.findIndex((e) => e.k === 'step' && e.o?.ver !== undefined);
      const step = entries[i] as Extract<RecordEntry, { k: 'step' }>;
      entries[i] = { ...step, o: { ...step.o, ver: step.o!.ver!.replace(/1/, '0') } };
      return i;
    });
    const result = replayRun(copy, { hasher: sha256Hasher });
    expect(result.ok).toBe(false);
    expect(result.divergence!.replica).toBe(copy[0]!.replica);
    expect(result.divergence!.entry).toBeGreaterThanOrEqual(at);
  });
});
