/**
 * The `pbft-lab` command. Verbs: sim (more come with the networking issue: replica, demo, client, bench).
 */
import { SIM_USAGE, simCommand } from './sim-command.ts';
import { UsageError } from './usage-error.ts';

const USAGE = `usage: pbft-lab <verb> [options]

verbs:
  sim     seeded simulation of a PBFT cluster with fault injection and checkers
          ${SIM_USAGE.replace(/\n/g, '\n          ')}`;

export function main(argv: string[]): number {
  const [verb, ...rest] = argv;
  const print = (line: string): void => void process.stdout.write(line + '\n');
  try {
    switch (verb) {
      case 'sim':
        return simCommand(rest, print);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        print(USAGE);
        return verb === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown verb "${verb}"`);
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`pbft-lab: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2));
