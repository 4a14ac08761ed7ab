/**
 * A child process of a benchmark (a replica, a client process, an echo peer): spawned with the same
 * Node (and a CPU profile if asked), its output read line by line (the last lines kept for errors),
 * commands written to its stdin one per line, and its CPU time and memory read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { forEachLine } from '../process/lines.ts';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;
/** Output lines kept for an error message. */
const KEPT_LINES = 50;
/** How long a process told to finish may take before it is sent SIGTERM, then SIGKILL. */
const FINISH_GRACE_MS = 5_000;

export class BenchError extends Error {
  override readonly name = 'BenchError';
}

/** What /proc says about a live process. */
export interface ProcessUsage {
  /** User + system CPU seconds since the process started. */
  readonly cpuS: number;
  /** Resident set size now (VmRSS), MiB. */
  readonly rssMiB: number;
  /** Peak resident set size (VmHWM), MiB. */
  readonly peakRssMiB: number;
}

export function processUsage(pid: number): ProcessUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
    return match ? Number(match[1]) / 1024 : NaN;
  };
  return { cpuS, rssMiB: kib('VmRSS'), peakRssMiB: kib('VmHWM') };
}

export class BenchProcess {
  readonly role: string;
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private readonly listeners = new Set<(line: string) => void>();

  /** `node [--cpu-prof …] ...args`; the profile is named after the role. */
  constructor(role: string, args: readonly string[], cpuProfDir?: string) {
    this.role = role;
    const profile = cpuProfDir
      ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${role.replace(/\W+/g, '-')}.cpuprofile`]
      : [];
    this.child = spawn(process.execPath, [...profile, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.child.pid!;
    // A child that exits early closes its stdin: a command written then must not crash the benchmark.
    this.child.stdin!.on('error', () => {});
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      forEachLine(stream, (line) => {
        this.lines.push(line);
        if (this.lines.length > KEPT_LINES) this.lines.shift();
        for (const listener of this.listeners) listener(line);
      });
    }
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Calls `listener` for every later output line; returns unsubscribe. */
  onLine(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next output line that passes `test`; rejects if the process exits or `timeoutMs` passes first. */
  waitForLine(test: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe();
        this.child.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        done();
        reject(this.error(`no expected output within ${timeoutMs} ms`));
      }, timeoutMs);
      const onExit = (code: number | null, signal: string | null): void => {
        done();
        reject(this.error(`exited (${code ?? signal})`));
      };
      const unsubscribe = this.onLine((line) => {
        if (!test(line)) return;
        done();
        resolve(line);
      });
      this.child.once('exit', onExit);
    });
  }

  /** Writes one command line to the process's stdin. */
  tell(command: string): void {
    if (!this.exited) this.child.stdin!.write(command + '\n');
  }

  usage(): ProcessUsage {
    return processUsage(this.pid);
  }

  /**
   * Ends the process: `closeStdin` lets a worker exit on its own (so its CPU profile is written);
   * otherwise, and after a grace period, SIGTERM, then SIGKILL.
   */
  async finish(closeStdin: boolean): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const within = (ms: number): Promise<boolean> =>
      Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (closeStdin) {
      this.child.stdin!.end();
      if (await within(FINISH_GRACE_MS)) return;
    }
    this.child.kill('SIGTERM');
    if (await within(FINISH_GRACE_MS)) return;
    this.child.kill('SIGKILL');
    await exited;
  }

  /** For Ctrl-C: no waiting. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGTERM');
  }

  private error(what: string): BenchError {
    return new BenchError(`${this.role}: ${what}; last lines:\n${this.lines.join('\n')}`);
  }
}
