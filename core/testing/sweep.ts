/** Helpers for tests that sweep simulator seeds: a failing seed fails the test with its reproduce line. */
import { expect } from 'vitest';
import { nodeSimEnvironment } from '../cli/sim-environment.ts';
import { FAULT_KINDS, type ScenarioOptions } from '../sim/scenario.ts';
import type { RunResult } from '../sim/simulation.ts';
import { addRun, emptySummary, reproduceCommand, runSeed } from '../sim/sweep.ts';

export const env = nodeSimEnvironment();
export const ALL_FAULTS = [...FAULT_KINDS];

export function explain(result: RunResult, options: ScenarioOptions): string {
  return [
    `seed ${result.seed} failed: ${result.violations.map((v) => `${v.property}: ${v.detail}`).join('; ')} ${result.livenessFailure ?? ''}`,
    `reproduce with: ${reproduceCommand(result.seed, options)}`,
    ...result.trace.slice(-15),
  ].join('\n');
}

export function sweep(from: number, to: number, options: ScenarioOptions) {
  const summary = emptySummary();
  for (let seed = from; seed <= to; seed++) {
    const result = runSeed(seed, options, env);
    addRun(summary, result);
    expect(result.ok, explain(result, options)).toBe(true);
  }
  return summary;
}

/** A behaviour on K = f replicas over seeds 1..seeds with every fault kind: each run must be safe and live. */
export function sweepBehaviour(behaviour: string, n: 4 | 7, seeds: number): { viewChanges: number } {
  const options: ScenarioOptions = {
    replicas: n,
    faulty: (n - 1) / 3,
    behaviour,
    faults: ['crash', 'restart', 'partition', 'loss'],
  };
  let viewChanges = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const result = runSeed(seed, options, env);
    expect(result.ok, explain(result, options)).toBe(true);
    viewChanges += result.viewChanges;
  }
  return { viewChanges };
}
