/**
 * `pbft-lab sim`: seeded simulation sweeps.
 *
 *   pbft-lab sim --seeds 1..1000 [--replicas 4|7|10] [--clients M] [--ops K] [--faults crash,restart,partition,loss] [--json]
 *   pbft-lab sim --seed N [--trace]        one run, with its trace
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind, type ScenarioOptions } from '../sim/scenario.ts';
import { describeFault } from '../sim/simulation.ts';
import { describeAdversary } from '../sim/network-adversary.ts';
import { describeTwins } from '../sim/twins.ts';
import { describeClientKeys } from '../sim/client-keys.ts';
import { scenarioFromSeed } from '../sim/scenario.ts';
import { addRun, emptySummary, reproduceCommand, runSeed } from '../sim/sweep.ts';
import type { RunResult } from '../sim/simulation.ts';
import { nodeSimEnvironment } from './sim-environment.ts';
import { SimProgress } from './sim-progress.ts';
import { UsageError } from './usage-error.ts';
import { CATALOGUE } from '../byzantine/catalogue.ts';
import { EQUIVOCATION_COALITION } from '../byzantine/coalition.ts';
import { CLIENT_CATALOGUE } from '../byzantine/client-behaviours.ts';

export const SIM_USAGE = `usage: pbft-lab sim (--seeds A..B | --seed N) [--replicas 4|7|10] [--clients M] [--ops K]
                    [--faults none|crash,restart,partition,loss] [--crypto fast|ed25519] [--json] [--trace]
                    [--faulty K --behaviour ID|fuzz|random] [--twins K] [--adversary] [--expect-violation]
                    [--client-behaviour ID] [--write-ahead on|off] [--early-invariants on|off] [--work-bounds on|off]
                    [--client-keys on|unfixed|off]
       pbft-lab sim --list-behaviours

  --faulty K --behaviour ID   K Byzantine replicas running a catalogue behaviour, "fuzz" (the generic
                              Byzantine replica) or "random" (a catalogue behaviour drawn per seed)
  --twins K                   Twins: K identities run as two unmodified replicas each, partitioned per view
  --adversary                 the targeting network adversary before GST, and the faulty replicas' own links
  --write-ahead off           model the host before issue 18: messages leave before their records are durable
  --early-invariants off      do not stop at the first broken protocol rule (NEW-VIEW binding, a view taken
                              back after a crash): let the run show the agreement violation it leads to
  --work-bounds off           do not check the bounds on work and answers per received message
  --client-keys on            clients' MAC keys travel as the host sends them (cut-off clients, forgotten keys);
                              unfixed: as the host did before issue 13 (a restarted replica's new address is
                              never learnt, nobody asks for a missing key)`;

export function parseSeeds(text: string): { from: number; to: number } {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim());
  if (!match) throw new UsageError(`--seeds wants A..B (e.g. 1..1000), got "${text}"`);
  const from = Number(match[1]);
  const to = match[2] === undefined ? from : Number(match[2]);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from)
    throw new UsageError(`--seeds range "${text}" is empty or too large`);
  return { from, to };
}

function parseCount(name: string, text: string | undefined, allowed?: readonly number[]): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new UsageError(`--${name} wants a positive whole number, got "${text}"`);
  if (allowed && !allowed.includes(value))
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got ${value}`);
  return value;
}

export function parseFaults(text: string | undefined): FaultKind[] {
  if (text === undefined) return [...FAULT_KINDS];
  if (text === 'none' || text === '') return [];
  const kinds = text.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      throw new UsageError(`--faults: unknown fault "${k}" (known: ${FAULT_KINDS.join(', ')}, or none)`);
  }
  return kinds as FaultKind[];
}

/** Progress lines go to stderr, over each other, when it is a terminal; nowhere otherwise. */
function terminalProgress(): ((line: string | null) => void) | null {
  if (!process.stderr.isTTY) return null;
  return (line) => void process.stderr.write(line === null ? '\r\x1b[K' : `\r\x1b[K${line}`);
}

/**
 * @param progress where a sweep's progress goes (a line, or null to clear it). @default stderr if a terminal
 */
export function simCommand(
  argv: string[],
  print: (line: string) => void,
  progress: ((line: string | null) => void) | null = terminalProgress(),
): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      seeds: { type: 'string' },
      seed: { type: 'string' },
      replicas: { type: 'string' },
      clients: { type: 'string' },
      ops: { type: 'string' },
      faults: { type: 'string' },
      crypto: { type: 'string', default: 'fast' },
      json: { type: 'boolean', default: false },
      trace: { type: 'boolean', default: false },
      faulty: { type: 'string' },
      behaviour: { type: 'string' },
      'client-behaviour': { type: 'string' },
      'expect-violation': { type: 'boolean', default: false },
      twins: { type: 'string' },
      adversary: { type: 'boolean', default: false },
      'write-ahead': { type: 'string', default: 'on' },
      'early-invariants': { type: 'string', default: 'on' },
      'work-bounds': { type: 'string', default: 'on' },
      'client-keys': { type: 'string', default: 'off' },
      'list-behaviours': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values['list-behaviours']) {
    print(
      JSON.stringify(
        [
          ...[...CATALOGUE, EQUIVOCATION_COALITION].map((b) => ({ ...b, scope: 'replica' })),
          ...CLIENT_CATALOGUE.map((b) => ({ ...b, scope: 'client' })),
        ],
        null,
        2,
      ),
    );
    return 0;
  }
  if ((values.seeds === undefined) === (values.seed === undefined))
    throw new UsageError('give exactly one of --seeds A..B or --seed N');
  const behaviourIds = [...CATALOGUE.map((b) => b.id), EQUIVOCATION_COALITION.id];
  if (values.behaviour !== undefined && values.behaviour !== 'random' && !behaviourIds.includes(values.behaviour)) {
    throw new UsageError(
      `--behaviour: unknown "${values.behaviour}" (known: random, ${behaviourIds.join(', ')}; see --list-behaviours)`,
    );
  }
  const faulty = parseCount('faulty', values.faulty);
  const twins = parseCount('twins', values.twins);
  for (const flag of ['write-ahead', 'early-invariants', 'work-bounds'] as const)
    if (values[flag] !== 'on' && values[flag] !== 'off')
      throw new UsageError(`--${flag} must be on or off, got "${values[flag]}"`);
  const clientKeys = values['client-keys'];
  if (clientKeys !== 'on' && clientKeys !== 'off' && clientKeys !== 'unfixed')
    throw new UsageError(`--client-keys must be on, unfixed or off, got "${clientKeys}"`);
  if (values.behaviour !== undefined && faulty === undefined) throw new UsageError('--behaviour needs --faulty K');
  const expectViolation = values['expect-violation'];
  const clientBehaviour = values['client-behaviour'];
  if (clientBehaviour !== undefined && !CLIENT_CATALOGUE.some((b) => b.id === clientBehaviour)) {
    throw new UsageError(
      `--client-behaviour: unknown "${clientBehaviour}" (known: ${CLIENT_CATALOGUE.map((b) => b.id).join(', ')})`,
    );
  }
  if (values.crypto !== 'fast' && values.crypto !== 'ed25519')
    throw new UsageError(`--crypto must be fast or ed25519, got "${values.crypto}"`);
  const options: ScenarioOptions = {
    replicas: parseCount('replicas', values.replicas, [4, 7, 10]),
    clients: parseCount('clients', values.clients),
    ops: parseCount('ops', values.ops),
    faults: parseFaults(values.faults),
    faulty,
    behaviour: values.behaviour,
    clientBehaviour,
    twins,
    adversary: values.adversary,
    writeAhead: values['write-ahead'] === 'on',
    earlyInvariants: values['early-invariants'] === 'on',
    workBounds: values['work-bounds'] === 'on',
    clientKeys,
  };
  const env = nodeSimEnvironment(values.crypto);
  const range = parseSeeds(values.seeds ?? values.seed!);
  const single = values.seed !== undefined;
  const summary = emptySummary();
  const started = performance.now();
  const meter = single || !progress ? null : new SimProgress(range.to - range.from + 1, started);
  // A line printed while the progress line is shown replaces it; the next update brings it back.
  const printAbove = (line: string): void => {
    progress?.(null);
    print(line);
  };
  for (let seed = range.from; seed <= range.to; seed++) {
    const result = runSeed(seed, options, env);
    addRun(summary, result, expectViolation);
    const shown = meter?.update(summary, performance.now());
    if (shown) progress!(shown);
    const failed = expectViolation ? result.violations.length === 0 : !result.ok;
    if (failed) printFailure(result, options, printAbove, expectViolation);
    else if (expectViolation && !values.json)
      for (const v of result.violations) printAbove(`seed ${seed}: ${v.property} violated, as expected: ${v.detail}`);
    else if (single && values.trace) for (const line of result.trace) printAbove(line);
  }
  if (meter) progress!(null);
  const wallMs = Math.round(performance.now() - started);
  const opsPerSec = Math.round(summary.committedOps / Math.max(wallMs / 1000, 0.001));
  if (values.json) {
    print(JSON.stringify({ ...summary, wallMs, simulatedOpsPerSec: opsPerSec }));
  } else {
    print(
      `${summary.runs} runs, ${summary.safetyViolations} safety violations, ${summary.livenessFailures} liveness failures; ` +
        `${summary.committedOps} ops committed, ${summary.viewChanges} view changes, ${summary.stateTransfers} state transfers, ` +
        `${summary.checkpointsStable} stable checkpoints; ${wallMs} ms wall (${opsPerSec} simulated ops/s)`,
    );
  }
  return summary.failedSeeds.length > 0 ? 1 : 0;
}

function printFailure(
  result: RunResult,
  options: ScenarioOptions,
  print: (line: string) => void,
  expectViolation = false,
): void {
  const scenario = scenarioFromSeed(result.seed, options);
  print(`FAIL seed ${result.seed} (n=${result.n}, ${result.clients} clients)`);
  if (scenario.byzantine)
    print(`  byzantine: replicas ${scenario.byzantine.replicas.join(', ')} run "${scenario.byzantine.behaviour}"`);
  if (scenario.twins) print(`  ${describeTwins(scenario.twins, scenario.n)}`);
  if (scenario.clientKeys) print(`  ${describeClientKeys(scenario.clientKeys)}`);
  if (scenario.adversary)
    print(`  network adversary until ${scenario.healAt}ms: ${describeAdversary(scenario.adversary)}`);
  if (expectViolation) print('  expected a violation (--expect-violation), and the checkers found none');
  for (const v of result.violations) print(`  ${v.property} violated: ${v.detail}`);
  if (result.livenessFailure) print(`  liveness failed: ${result.livenessFailure}`);
  for (const fault of scenario.faults) print(`  fault: ${describeFault(fault)}`);
  print(`  reproduce with: ${reproduceCommand(result.seed, options)}`);
  print('  last messages:');
  for (const line of result.trace) print(`    ${line}`);
}
