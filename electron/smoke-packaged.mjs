// The packaged app's smoke test (the release workflow runs it on each platform; on Linux under
// xvfb): start the app as a lab machine would be started for a one-machine cluster, wait until its
// replica listens, then quit it and wait for a clean exit.
//
//   node electron/smoke-packaged.mjs [--timeout 90] -- COMMAND [ARG…]
//   xvfb-run -a node electron/smoke-packaged.mjs -- pbft-lab                 (the installed deb)
//   node electron/smoke-packaged.mjs -- "release/win-unpacked/PBFT Lab.exe"
//
// The app gets a user-data directory of its own and a local-only cluster (--local: loopback only,
// no mDNS), so no firewall or local-network prompt can stop it on a build machine. Success is the
// replica's own line, printed by the lab process (the utility process), `peer … listening on
// /ip4/127.0.0.1/tcp/…`, then main's `replica of cluster "smoke" … started`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { parseArgs } from 'node:util';

/** The lines that mean the replica is up, in the order they come. */
export const READY_LINES = [
  /peer 12D3KooW\w+ listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+/,
  /replica of cluster "smoke" \(n = 4\) started as 12D3KooW\w+/,
];

/**
 * Runs the app until its replica listens; resolves with what it printed and how it ended.
 * @param {{ command: string, args?: string[], timeoutMs: number, env?: NodeJS.ProcessEnv }} options
 * @returns {Promise<{ ok: boolean, reason: string, output: string[], exitCode: number | null }>}
 */
export function smoke(options) {
  const userData = mkdtempSync(join(tmpdir(), 'pbft-lab-smoke-'));
  const args = [...(options.args ?? []), `--user-data-dir=${userData}`, '--cluster', 'smoke', '--local'];
  const child = spawn(options.command, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  /** @type {string[]} */
  const output = [];
  let next = 0;
  return new Promise((resolvePromise) => {
    /** @type {string | null} */
    let verdict = null;
    let ok = false;
    const finish = (/** @type {boolean} */ success, /** @type {string} */ reason) => {
      if (verdict !== null) return;
      verdict = reason;
      ok = success;
      clearTimeout(timer);
      // Quit as a person closing the app would (Electron quits on SIGTERM; the replica stops first).
      if (child.exitCode === null) child.kill('SIGTERM');
      setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 15_000).unref();
    };
    const timer = setTimeout(
      () => finish(false, `no "${READY_LINES[next]}" within ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    const onData = (/** @type {Buffer} */ chunk) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) {
        if (line === '') continue;
        output.push(line);
        if (READY_LINES[next]?.test(line)) next++;
        if (next === READY_LINES.length) finish(true, 'the replica listens');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (error) => finish(false, `could not start ${options.command}: ${error.message}`));
    child.on('exit', (code, signal) => {
      finish(false, `the app exited (${signal ?? code}) before its replica listened`);
      // On Windows the replica's process may still hold a file of it for a moment (EBUSY): retry, and
      // never let a leftover temporary directory turn a passed smoke test into a crash.
      try {
        rmSync(userData, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      } catch (error) {
        output.push(`(could not remove ${userData}: ${error instanceof Error ? error.message : error})`);
      }
      resolvePromise({ ok, reason: verdict ?? '', output, exitCode: code });
    });
  });
}

async function main() {
  const { values, positionals } = parseArgs({
    options: { timeout: { type: 'string', default: '90' } },
    allowPositionals: true,
  });
  const [command, ...args] = positionals;
  if (!command) {
    console.error('usage: node electron/smoke-packaged.mjs [--timeout SECONDS] -- COMMAND [ARG…]');
    process.exit(2);
  }
  const result = await smoke({ command: resolveCommand(command), args, timeoutMs: Number(values.timeout) * 1000 });
  for (const line of result.output) console.log(`| ${line}`);
  console.log(`${result.ok ? 'smoke test passed' : 'SMOKE TEST FAILED'}: ${result.reason} (exit ${result.exitCode})`);
  process.exit(result.ok ? 0 : 1);
}

/** A path with a separator is a file (resolved here); a bare name is looked up on the PATH. */
function resolveCommand(/** @type {string} */ command) {
  return /[\\/]/.test(command) ? resolve(command) : command;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
