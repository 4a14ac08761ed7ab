/** Many seeded runs and their summary (the `pbft-lab sim` verb prints it). */
import { scenarioFromSeed, type ScenarioOptions } from './scenario.ts';
import { Simulation, type RunResult, type SimEnvironment } from './simulation.ts';

export interface SweepSummary {
  runs: number;
  safetyViolations: number;
  livenessFailures: number;
  committedOps: number;
  failedSeeds: number[];
  viewChanges: number;
  stateTransfers: number;
  checkpointsStable: number;
  messagesDelivered: number;
  /** Worst virtual time to complete a run's last operation, and the run's bound. */
  lastCompletionMsMax: number;
}

export function runSeed(seed: number, options: ScenarioOptions, env: SimEnvironment): RunResult {
  return new Simulation(scenarioFromSeed(seed, options), env).run();
}

export function emptySummary(): SweepSummary {
  return {
    runs: 0,
    safetyViolations: 0,
    livenessFailures: 0,
    committedOps: 0,
    failedSeeds: [],
    viewChanges: 0,
    stateTransfers: 0,
    checkpointsStable: 0,
    messagesDelivered: 0,
    lastCompletionMsMax: 0,
  };
}

/** With `expectViolation` (an f+1 coalition demonstration) a run fails when the checkers found nothing. */
export function addRun(summary: SweepSummary, result: RunResult, expectViolation = false): void {
  summary.runs++;
  summary.safetyViolations += result.violations.length > 0 ? 1 : 0;
  summary.livenessFailures += result.livenessFailure !== null ? 1 : 0;
  summary.committedOps += result.committedOps;
  const failed = expectViolation ? result.violations.length === 0 : !result.ok;
  if (failed) summary.failedSeeds.push(result.seed);
  summary.viewChanges += result.viewChanges;
  summary.stateTransfers += result.stateTransfers;
  summary.checkpointsStable += result.checkpointsStable;
  summary.messagesDelivered += result.messagesDelivered;
  summary.lastCompletionMsMax = Math.max(summary.lastCompletionMsMax, result.lastCompletionMs);
}
