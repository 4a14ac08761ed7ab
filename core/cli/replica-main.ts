/**
 * The headless replica on its own: what `pbft-lab replica` runs. It is the entry of the prebuilt
 * bundle (out/replica/, `npm run build:replica`), which holds this command and nothing else, so a
 * replica process loads one JavaScript file instead of the TypeScript sources and ~600 modules
 * (docs/performance.md, Memory).
 */
import { REPLICA_USAGE, replicaCommand } from './replica-command.ts';
import { runVerb } from './run-cli.ts';

export async function replicaMain(argv: string[]): Promise<number> {
  const print = (line: string): void => void process.stdout.write(line + '\n');
  return runVerb(REPLICA_USAGE, argv, () => replicaCommand(argv, print));
}

if (import.meta.main) process.exitCode = await replicaMain(process.argv.slice(2));
