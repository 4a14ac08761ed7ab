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
  /** The most replica messages one received message caused, over all runs. */
  messagesPerInputPeak: number;
  /** What the adversaries did, summed over the runs. */
  adversary: Record<string, number>;
  /** The first few failures: seed and what broke. */
  failures: { seed: number; what: string }[];
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
    messagesPerInputPeak: 0,
    adversary: {},
    failures: [],
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
  summary.messagesPerInputPeak = Math.max(summary.messagesPerInputPeak, result.messagesPerInputPeak);
  const { behaviour, ...network } = result.adversary;
  for (const [k, v] of [
    ...Object.entries(network),
    ...Object.entries(behaviour).map(([k, v]) => [`behaviour.${k}`, v] as const),
  ])
    if (v > 0) summary.adversary[k] = (summary.adversary[k] ?? 0) + v;
  if (failed && summary.failures.length < 20) {
    const what =
      result.violations.map((v) => `${v.property}: ${v.detail}`).join('; ') || `liveness: ${result.livenessFailure}`;
    summary.failures.push({ seed: result.seed, what });
  }
}

/** The command line that replays one seed of a sweep, with its trace. */
export function reproduceCommand(seed: number, options: ScenarioOptions): string {
  const parts = [`npx pbft-lab sim --seed ${seed}`];
  if (options.replicas) parts.push(`--replicas ${options.replicas}`);
  if (options.clients) parts.push(`--clients ${options.clients}`);
  if (options.ops) parts.push(`--ops ${options.ops}`);
  if (options.faulty) parts.push(`--faulty ${options.faulty}`);
  if (options.behaviour) parts.push(`--behaviour ${options.behaviour}`);
  if (options.clientBehaviour) parts.push(`--client-behaviour ${options.clientBehaviour}`);
  if (options.twins) parts.push(`--twins ${options.twins}`);
  if (options.adversary) parts.push('--adversary');
  if (options.writeAhead === false) parts.push('--write-ahead off');
  if (options.earlyInvariants === false) parts.push('--early-invariants off');
  if (options.workBounds === false) parts.push('--work-bounds off');
  if (options.clientKeys && options.clientKeys !== 'off') parts.push(`--client-keys ${options.clientKeys}`);
  parts.push(`--faults ${options.faults && options.faults.length > 0 ? options.faults.join(',') : 'none'}`);
  return parts.join(' ') + ' --trace';
}
