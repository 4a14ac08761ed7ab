/**
 * How every `pbft-lab` entry point turns errors into an exit code: a wrong command line prints the
 * usage (exit 2), an expected failure prints one line (exit 1), anything else is a bug and throws.
 */
import { UsageError } from './usage-error.ts';

/** `--help` or `-h` anywhere among a verb's options (not after `--`, where it would be data). */
export function asksForHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/**
 * One verb: its usage on `--help` (stdout, exit 0), or `run` with errors turned into exit codes.
 * `usage` is that verb's usage only, so a mistake is answered with the lines that are about it.
 */
export async function runVerb(
  usage: string,
  argv: readonly string[],
  run: () => number | Promise<number>,
): Promise<number> {
  if (asksForHelp(argv)) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  return runCli(usage, run);
}

export async function runCli(usage: string, run: () => number | Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`pbft-lab: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    // Expected failures (a refused data directory, no cluster found…) get one clear line, not a stack.
    if (error instanceof Error && error.name !== 'Error' && !process.env.PBFT_LAB_DEBUG) {
      process.stderr.write(`pbft-lab: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
