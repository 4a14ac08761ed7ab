/**
 * The Byzantine catalogue in the simulator: with at most f faulty replicas every behaviour leaves
 * safety and liveness intact (n = 4 here, n = 7 in catalogue-n7.test.ts); with f+1 colluding the
 * checkers name the property that breaks; and the honest replica is untouched by the wrappers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TestCluster, text } from '../testing/cluster.ts';
import { env, explain, sweepBehaviour } from '../testing/sweep.ts';
import { runSeed } from '../sim/sweep.ts';
import type { ScenarioOptions } from '../sim/scenario.ts';
import { CATALOGUE, createBehaviour, UnknownBehaviourError } from './catalogue.ts';
import { CLIENT_CATALOGUE } from './client-behaviours.ts';
import { FaultyReplica } from './faulty-replica.ts';
import { Replica } from '../pbft/replica.ts';
import { FileStore } from '../app/file-store.ts';

describe('the catalogue as data', () => {
  it('has the twelve replica behaviours and the fuzz replica, each with a description and what to observe', () => {
    expect(CATALOGUE.map((b) => b.id)).toEqual([
      'silent',
      'equivocate',
      'wrong-digest',
      'corrupt-reply',
      'delay-preprepare',
      'censor-client',
      'replay',
      'forge-view-change',
      'lying-checkpoint',
      'spurious-view-change',
      'flood',
      'bad-auth',
      'fuzz',
    ]);
    for (const b of CATALOGUE) {
      expect(b.description.length).toBeGreaterThan(20);
      expect(b.observe.length).toBeGreaterThan(20);
    }
    expect(() => createBehaviour('nice')).toThrow(UnknownBehaviourError);
  });
});

describe('K = f faulty replicas, n = 4: safety always, liveness after healing, 20 seeds per behaviour', () => {
  for (const { id } of CATALOGUE) {
    it(id, () => {
      const { viewChanges } = sweepBehaviour(id, 4, 20);
      // A faulty primary that equivocates or censors is replaced.
      if (id === 'equivocate' || id === 'censor-client') expect(viewChanges).toBeGreaterThan(0);
    });
  }
});

describe('faulty clients (n = 4 and 7): correct clients keep safety and liveness', () => {
  for (const { id } of CLIENT_CATALOGUE) {
    for (const n of [4, 7] as const) {
      it(`${id}, n=${n}`, () => {
        const options: ScenarioOptions = {
          replicas: n,
          clientBehaviour: id,
          faults: ['crash', 'restart', 'partition', 'loss'],
        };
        let viewChanges = 0;
        for (let seed = 1; seed <= (n === 4 ? 20 : 10); seed++) {
          const result = runSeed(seed, options, env);
          expect(result.ok, explain(result, options)).toBe(true);
          viewChanges += result.viewChanges;
        }
        // Aardvark's attack: backups cannot authenticate the request the primary ordered, so they replace it.
        if (id === 'aardvark-mac') expect(viewChanges).toBeGreaterThan(0);
      });
    }
  }
});

describe('regression seeds with Byzantine replicas', () => {
  for (const seed of [820, 2191]) {
    it(`seed ${seed}, a slow primary (random behaviour): the request timer was reset by any progress, so the primary was never replaced`, () => {
      const options: ScenarioOptions = {
        faulty: 1,
        behaviour: 'random',
        faults: ['crash', 'restart', 'partition', 'loss'],
      };
      const result = runSeed(seed, options, env);
      expect(result.ok, explain(result, options)).toBe(true);
    });
  }

  it('seed 15, a silent primary: the next primary moved on after its NEW-VIEW was lost; it now re-sends it to replicas still waiting', () => {
    const options: ScenarioOptions = {
      replicas: 4,
      faulty: 1,
      behaviour: 'silent',
      faults: ['crash', 'restart', 'partition', 'loss'],
    };
    const result = runSeed(15, options, env);
    expect(result.ok, explain(result, options)).toBe(true);
  });

  it('seed 735 (n = 7, two silent): a read-only reply showed a batch still tentative; reads now wait for it to commit (§5.1)', () => {
    const options: ScenarioOptions = {
      replicas: 7,
      faulty: 2,
      behaviour: 'random',
      faults: ['crash', 'restart', 'partition', 'loss'],
    };
    const result = runSeed(735, options, env);
    expect(result.ok, explain(result, options)).toBe(true);
  });

  it('seed 4675 (a slow primary): a read-only reply showed a state from before a write the client had accepted on tentative replies, rolled back by a view change; reads now wait until the committed state catches up', () => {
    const options: ScenarioOptions = {
      faulty: 1,
      behaviour: 'random',
      faults: ['crash', 'restart', 'partition', 'loss'],
    };
    const result = runSeed(4675, options, env);
    expect(result.ok, explain(result, options)).toBe(true);
  });

  const randomBehaviour: ScenarioOptions = {
    faulty: 1,
    behaviour: 'random',
    faults: ['crash', 'restart', 'partition', 'loss'],
  };
  it('seeds 4291 and 4879: late read-only answers were counted with the replies of its ordered retry; replies now say read-only', () => {
    for (const seed of [4291, 4879]) {
      const result = runSeed(seed, randomBehaviour, env);
      expect(result.ok, explain(result, randomBehaviour)).toBe(true);
    }
  });

  it('seed 1543: a backup that lost the pre-prepare waited forever (its primary was alone in a view change); it now executes on 2f+1 COMMITs', () => {
    const result = runSeed(1543, randomBehaviour, env);
    expect(result.ok, explain(result, randomBehaviour)).toBe(true);
  });

  it('seed 6977: a replica that executed on 2f+1 COMMITs cast no COMMIT itself, and a prepared one stayed one short; it now adds its COMMIT', () => {
    // 'random' drew censor-client (replica 0) here until the catalogue grew; naming it gives the same scenario.
    const options: ScenarioOptions = { ...randomBehaviour, behaviour: 'censor-client' };
    const result = runSeed(6977, options, env);
    expect(result.ok, explain(result, options)).toBe(true);
  });
});

describe('f+1 colluding replicas break what n ≥ 3f+1 promised, and the checkers say what', () => {
  const demo = (behaviour: string, n: 4 | 7, property: string) => {
    const options: ScenarioOptions = { replicas: n, faulty: (n - 1) / 3 + 1, behaviour, faults: [] };
    for (let seed = 1; seed <= 3; seed++) {
      const result = runSeed(seed, options, env);
      expect(
        result.violations.map((v) => v.property),
        explain(result, options),
      ).toContain(property);
    }
  };
  it('an equivocating primary with a colluding backup: two correct replicas commit different batches (agreement)', () =>
    demo('equivocation-coalition', 4, 'agreement'));
  it('f+1 replicas sending the same wrong reply: a client accepts a wrong result (linearizability)', () =>
    demo('corrupt-reply', 4, 'linearizability'));
});

describe('the honest replica is untouched by the catalogue', () => {
  it('a FaultyReplica with no behaviour produces exactly the honest outputs', () => {
    const c = new TestCluster(4, { checkpointInterval: 2, logWindow: 4 });
    const config = c.config;
    const crypto = c.crypto.replica(1);
    const bare = new Replica({ id: 1, config, crypto, app: new FileStore(c.crypto.hasher) });
    const wrapped = new FaultyReplica(
      new Replica({ id: 1, config, crypto, app: new FileStore(c.crypto.hasher) }),
      crypto,
      () => 0.5,
    );
    for (let i = 0; i < 5; i++) {
      c.submit('alice', { kind: 'write', path: `/f${i}`, data: text(String(i)) });
      c.deliverAll();
    }
    // Replay to both replicas every message replica 1 received in the cluster run.
    const inputs = c.events.length;
    expect(inputs).toBeGreaterThan(0);
    const c2 = new TestCluster(4, { checkpointInterval: 2, logWindow: 4 });
    let steps = 0;
    const originalDeliver = c2.deliver.bind(c2);
    c2.deliver = (e) => {
      if (e.to === 1) {
        bare.step(e.from, e.message);
        wrapped.step(e.from, e.message);
        expect(wrapped.takeOutputs()).toEqual(bare.takeOutputs());
        steps++;
      }
      originalDeliver(e);
    };
    for (let i = 0; i < 5; i++) {
      c2.submit('alice', { kind: 'write', path: `/f${i}`, data: text(String(i)) });
      c2.deliverAll();
      bare.tick();
      wrapped.tick();
      expect(wrapped.takeOutputs()).toEqual(bare.takeOutputs());
    }
    expect(steps).toBeGreaterThan(20);
  });

  it('the honest code does not know behaviours exist', () => {
    for (const file of ['replica.ts', 'client.ts', 'proofs.ts']) {
      const source = readFileSync(new URL(`../pbft/${file}`, import.meta.url), 'utf8');
      expect(source).not.toMatch(/byzantine|behaviour/i);
    }
  });
});
