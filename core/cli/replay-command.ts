/**
 * `pbft-lab replay RUN`: rebuild every replica of a run file from its starting state and feed it its
 * recorded inputs through the same sans-IO core; every output and state digest must match. Exit 1 at
 * the first divergence, named by replica, session and line. `--serve` opens the scrubbing view.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { sha256Hasher } from '../crypto/node.ts';
import { EXERCISES } from '../exercises/catalogue.ts';
import { judgeRun } from '../exercises/judge.ts';
import { replayRun } from '../record/replay.ts';
import { parseRunFile, RunFileError } from '../record/run-file.ts';
import { UsageError } from './usage-error.ts';

export const REPLAY_USAGE = `usage: pbft-lab replay RUN.jsonl [--json] [--serve [--port P] [--host HOST]]
  replays every recorded replica session of the run file and checks that each output and state digest
  is the recording's; exit 1 at the first divergence (replica, session, line of the file, and what differs)
  --serve: the scrubbing view (pause, step, jump to a sequence number, each replica's log, view and
           checkpoints at any step) at a URL it prints; Ctrl-C stops it`;

export async function replayCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      serve: { type: 'boolean', default: false },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1)
    throw new UsageError('name one run file (pbft-lab record collect or exercise run --out makes one)');
  const file = positionals[0]!;
  const run = await readRun(file);
  const result = replayRun(run.sessions, { hasher: sha256Hasher, coalitions: run.header.coalitions });
  if (values.json) print(JSON.stringify(result));
  else {
    const replicas = [...new Set(run.sessions.map((s) => s.replica))].sort((a, b) => a - b);
    print(
      `${file}: ${run.sessions.length} session(s) of replica(s) ${replicas.join(', ')}${run.header.exercise ? `, exercise ${run.header.exercise.id}` : ''} (${run.header.source})`,
    );
    if (result.ok)
      print(
        `every output and state digest matched: ${result.entries} recorded calls replayed, ${result.takes} drains compared`,
      );
    else {
      const d = result.divergence!;
      print(
        `DIVERGED at step ${d.index} of the run: replica ${d.replica}, session ${d.session}, line ${d.line} of ${file}`,
      );
      print(`  the recorded call: ${d.call}`);
      print(`  ${d.what}`);
      print(`  (the ${d.index} steps before it replayed exactly as recorded)`);
    }
  }
  if (values.serve) {
    const { serveReplay } = await import('../record/replay-server.ts');
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError(`--port: not a port: "${values.port}"`);
    const exercise = run.header.exercise ? EXERCISES.find((e) => e.id === run.header.exercise!.id) : undefined;
    const verdicts = run.verdicts.length > 0 || !exercise ? run.verdicts : judgeRun(exercise, run).verdicts;
    const server = await serveReplay(run, { port, host: values.host, name: file, verdicts });
    print(`scrubbing view: ${server.url}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
  }
  return result.ok ? 0 : 1;
}

export async function readRun(file: string) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: ${(error as Error).message}`);
  }
  try {
    return parseRunFile(text, file);
  } catch (error) {
    if (error instanceof RunFileError) throw new UsageError(error.message);
    throw error;
  }
}
