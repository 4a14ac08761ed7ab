/**
 * How every `pbft-lab` entry point turns errors into an exit code: a wrong command line prints the
 * usage (exit 2), an expected failure prints one line (exit 1), anything else is a bug and throws.
 */
import { UsageError } from './usage-error.ts';

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
