/**
 * The `pbft-lab` command. Verbs: replica, demo, client, room, sim, exercise, record, replay, export, bench.
 *
 * `pbft-lab VERB --help` and `pbft-lab help VERB` print that verb's usage; a wrong command line
 * prints the usage of the verb it was for, and only the list of verbs when the verb itself is wrong.
 */
import { BENCH_USAGE, benchCommand } from './bench-command.ts';
import { CLIENT_USAGE, clientCommand } from './client-command.ts';
import { DEMO_USAGE, demoCommand } from './demo-command.ts';
import { EXERCISE_USAGE, exerciseCommand } from './exercise-command.ts';
import { EXPORT_USAGE, exportCommand } from './export-command.ts';
import { RECORD_USAGE, recordCommand } from './record-command.ts';
import { REPLAY_USAGE, replayCommand } from './replay-command.ts';
import { REPLICA_USAGE, replicaCommand } from './replica-command.ts';
import { ROOM_USAGE, roomCommand } from './room-command.ts';
import { SIM_USAGE, simCommand } from './sim-command.ts';
import { runCli, runVerb } from './run-cli.ts';
import { UsageError } from './usage-error.ts';

type Print = (line: string) => void;

interface Verb {
  readonly summary: string;
  readonly usage: string;
  readonly run: (argv: string[], print: Print) => number | Promise<number>;
}

const VERBS: Record<string, Verb> = {
  replica: {
    summary: 'one headless replica (LAN discovery by mDNS, or --join); --api-port serves the dashboard API',
    usage: REPLICA_USAGE,
    run: replicaCommand,
  },
  demo: {
    summary: 'the one-machine lab: N replicas as separate processes on loopback',
    usage: DEMO_USAGE,
    run: demoCommand,
  },
  client: {
    summary: 'file-store operations agreed by the replicas: one per call, or a shell without one',
    usage: CLIENT_USAGE,
    run: clientCommand,
  },
  room: {
    summary: "the instructor's view: every replica's telemetry, one space-time diagram, the checker",
    usage: ROOM_USAGE,
    run: roomCommand,
  },
  sim: {
    summary: 'seeded simulation of a PBFT cluster with fault injection and checkers',
    usage: SIM_USAGE,
    run: simCommand,
  },
  exercise: {
    summary: 'classroom exercises: list, show, run (--sim: a seeded simulation; --urls: a running cluster)',
    usage: EXERCISE_USAGE,
    run: exerciseCommand,
  },
  record: {
    summary: "record collect: every replica's recorded inputs of a run into one run file",
    usage: RECORD_USAGE,
    run: recordCommand,
  },
  replay: {
    summary: 'deterministic replay of a run file: every output and state digest must match (--serve: scrub it)',
    usage: REPLAY_USAGE,
    run: replayCommand,
  },
  export: {
    summary: 'a run file as ShiViz log, JSON Lines, Porcupine/Jepsen history, or an exercise report',
    usage: EXPORT_USAGE,
    run: exportCommand,
  },
  bench: {
    summary: 'closed-loop throughput and latency (in-memory transport, or libp2p on loopback)',
    usage: BENCH_USAGE,
    run: benchCommand,
  },
};

const USAGE = `usage: pbft-lab <verb> [options]

verbs:
${Object.entries(VERBS)
  .map(([name, verb]) => `  ${name.padEnd(8)}${verb.summary}`)
  .join('\n')}

pbft-lab help VERB (or pbft-lab VERB --help) prints the options of one verb.`;

/** The usage of one verb, or of all. */
export function usageOf(verb: string | undefined): string {
  return verb !== undefined && Object.hasOwn(VERBS, verb) ? VERBS[verb]!.usage : USAGE;
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const print: Print = (line) => void process.stdout.write(line + '\n');
  if (verb !== undefined && Object.hasOwn(VERBS, verb)) {
    const { usage, run } = VERBS[verb]!;
    return runVerb(usage, rest, () => run(rest, print));
  }
  return runCli(USAGE, () => {
    switch (verb) {
      case 'help':
        if (rest.length > 1) throw new UsageError('help takes at most one verb');
        if (rest[0] !== undefined && !Object.hasOwn(VERBS, rest[0])) throw new UsageError(`unknown verb "${rest[0]}"`);
        print(usageOf(rest[0]));
        return 0;
      case undefined:
      case '--help':
      case '-h':
        print(USAGE);
        return verb === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown verb "${verb}"`);
    }
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
