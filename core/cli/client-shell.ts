/**
 * `pbft-lab client` without an operation: a shell. One client, one roster, one set of connections
 * for the whole class; each line is an operation, answered in the time the protocol takes (tens of
 * milliseconds) instead of a process start and a search per operation. Prompt and line editing from
 * node:readline; the history (↑/↓) is kept between sessions beside the cluster hints.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { decodeResult } from '../app/file-ops.ts';
import type { SessionResult } from '../host/client-session.ts';
import type { NetworkSubmitOptions } from '../host/network-client.ts';
import type { FileOp } from '../app/file-ops.ts';
import { checkClientOp, parseClientOp } from './client-op.ts';
import { formatAgreement, formatJson, formatResult } from './client-output.ts';
import { hintsDir } from './cluster-hints.ts';

export const SHELL_HELP = `operations (PATH starts with /):
  write PATH TEXT…    append PATH TEXT…    read PATH    stat PATH    delete PATH    list [DIR]
  ro read PATH        (ro before read, stat or list: §5.1 read-only, 2f+1 matching replies, no ordering)
  help                quit (or Ctrl-D)`;

const HISTORY_MAX = 500;

export interface ClientShellOptions {
  readonly client: { submit(op: FileOp, options: NetworkSubmitOptions): Promise<SessionResult> };
  readonly cluster: string;
  readonly size: number;
  readonly json: boolean;
  /** Every read, stat and list read-only (--read-only). */
  readonly readOnly: boolean;
  readonly timeoutMs: number;
  readonly print: (line: string) => void;
  /** Resolves true once the roster is known. */
  readonly found: Promise<boolean>;
  /** @default process.stdin */
  readonly input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** @default process.stdout */
  readonly output?: NodeJS.WritableStream;
  /** Where ↑/↓ history is kept; null: nowhere. @default `${hintsDir()}/client_history` */
  readonly historyFile?: string | null;
}

/** Splits a shell line into the words of an operation; the text of write/append keeps its spaces. */
export function shellWords(line: string): { words: string[]; readOnly: boolean } {
  let rest = line.trim();
  let readOnly = false;
  const ro = /^ro\s+/.exec(rest);
  if (ro) {
    readOnly = true;
    rest = rest.slice(ro[0].length);
  }
  const match = /^(write|append)\s+(\S+)(?:\s(.*))?$/s.exec(rest);
  if (match) return { words: [match[1]!, match[2]!, match[3] ?? ''], readOnly };
  return { words: rest.split(/\s+/).filter((w) => w !== ''), readOnly };
}

export async function runClientShell(options: ClientShellOptions): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const interactive = Boolean(input.isTTY);
  const { print } = options;
  // History is for a person at a terminal; lines piped in are not remembered.
  const historyFile = !interactive
    ? null
    : options.historyFile === undefined
      ? join(hintsDir(), 'client_history')
      : options.historyFile;
  const history = historyFile ? await loadHistory(historyFile) : [];
  const rl = createInterface({
    input,
    output: interactive ? output : undefined,
    terminal: interactive,
    history,
    historySize: HISTORY_MAX,
    prompt: `${options.cluster}> `,
  });
  if (interactive) {
    print(`pbft-lab client shell for cluster "${options.cluster}" of ${options.size}; "help" lists the operations`);
    void options.found.then((found) => {
      if (!found) return;
      // Above the prompt, without eating what is being typed.
      output.write(`\r\x1b[K(connected: ${options.size} replicas agreed on the roster)\n`);
      rl.prompt(true);
    });
    rl.prompt();
  }
  for await (const line of rl) {
    const { words, readOnly } = shellWords(line);
    if (words.length === 0) {
      if (interactive) rl.prompt();
      continue;
    }
    if (words[0] === 'quit' || words[0] === 'exit') break;
    if (words[0] === 'help' || words[0] === '?') print(SHELL_HELP);
    else await runLine(options, words, readOnly || options.readOnly);
    if (interactive) rl.prompt();
  }
  rl.close();
  if (historyFile) await saveHistory(historyFile, (rl as unknown as { history: string[] }).history ?? history);
  return 0;
}

async function runLine(options: ClientShellOptions, words: string[], readOnlyWanted: boolean): Promise<void> {
  const { print } = options;
  let op: FileOp;
  try {
    op = checkClientOp(parseClientOp(words));
  } catch (error) {
    print(`error: ${(error as Error).message}`);
    return;
  }
  const readOnly = readOnlyWanted && (op.kind === 'read' || op.kind === 'list' || op.kind === 'stat');
  if (readOnlyWanted && !readOnly && !options.readOnly) print(`(ro is for read, stat and list; ${op.kind} is ordered)`);
  try {
    const outcome = await options.client.submit(op, { readOnly, timeoutMs: options.timeoutMs });
    const decoded = decodeResult(outcome.result);
    if (!decoded.ok) return print(`error: the replicas agreed on a result that does not decode: ${decoded.reason}`);
    if (options.json) return print(formatJson(decoded.result, outcome, options.size));
    for (const line of formatResult(decoded.result)) print(line);
    print(formatAgreement(outcome, options.size));
  } catch (error) {
    print(`error: ${(error as Error).message}`);
  }
}

/** readline wants the newest entry first. */
async function loadHistory(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter(Boolean).reverse().slice(0, HISTORY_MAX);
  } catch {
    return [];
  }
}

async function saveHistory(file: string, newestFirst: readonly string[]): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, [...newestFirst].slice(0, HISTORY_MAX).reverse().join('\n') + '\n', { mode: 0o600 });
  } catch {
    // a history that cannot be saved is only lost
  }
}
