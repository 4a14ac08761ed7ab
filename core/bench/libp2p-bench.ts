/**
 * The libp2p transport of `pbft-lab bench`: n `pbft-lab replica` processes and one client process
 * (core/bench/libp2p-clients.ts) on loopback. No mDNS (it would multicast on the machine's real
 * interface): replicas start one after another, each given the `join with: --join …` addresses of
 * those before it; the clients join replica 0. CPU and peak memory of every child come from /proc at the end.
 */
import { forEachLine } from '../cli/lines.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientsOptions, ClientsResult } from './libp2p-clients.ts';
import {
  describeOperation,
  percentiles,
  round,
  type BenchOptions,
  type BenchReport,
  type ProcessCost,
} from './report.ts';

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
const CLIENTS = fileURLToPath(new URL('./libp2p-clients.ts', import.meta.url));
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

export class BenchError extends Error {
  override readonly name = 'BenchError';
}

interface Child {
  readonly role: string;
  readonly process: ChildProcess;
  readonly lines: string[];
  readonly waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[];
}

function start(role: string, args: string[], cpuProfDir: string | undefined): Child {
  const nodeArgs = cpuProfDir
    ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${role.replace(/\W+/g, '-')}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const c: Child = { role, process: child, lines: [], waiters: [] };
  for (const stream of [child.stdout, child.stderr]) {
    forEachLine(stream, (line) => {
      c.lines.push(line);
      if (c.lines.length > 50) c.lines.shift();
      for (const w of c.waiters.splice(0)) {
        if (w.test(line)) w.resolve(line);
        else c.waiters.push(w);
      }
    });
  }
  return c;
}

function waitForLine(c: Child, test: (line: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new BenchError(`${c.role}: no expected output within ${timeoutMs} ms; last lines:\n${c.lines.join('\n')}`),
        ),
      timeoutMs,
    );
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new BenchError(`${c.role} exited (${code}); last lines:\n${c.lines.join('\n')}`));
    };
    c.process.once('exit', onExit);
    c.waiters.push({
      test,
      resolve: (line) => {
        clearTimeout(timer);
        c.process.off('exit', onExit);
        resolve(line);
      },
    });
  });
}

/** CPU seconds (user + system) and peak RSS (VmHWM, MiB) of a live process. */
function procCost(pid: number): { cpuS: number; peakRssMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN };
}

export async function runLibp2pBench(options: BenchOptions, print: (line: string) => void): Promise<BenchReport> {
  if (options.readRatio > 0) throw new BenchError('--read-ratio is supported by the memory transport only');
  const n = options.replicas;
  const cluster = `bench-${randomBytes(3).toString('hex')}`;
  const base = await mkdtemp(join(tmpdir(), 'pbft-lab-bench-'));
  const children: Child[] = [];
  const loadAverage = loadavg();
  const replicaArgs = (i: number, joinAddresses: readonly string[]): string[] => [
    MAIN,
    'replica',
    '--data-dir',
    join(base, `replica-${i}`),
    '--cluster',
    cluster,
    '--size',
    String(n),
    '--listen',
    '/ip4/127.0.0.1/tcp/0',
    '--allow-loopback',
    '--no-mdns',
    ...joinAddresses.flatMap((a) => ['--join', a]),
  ];
  const joinPrefix = 'join with: --join ';
  // Ctrl-C on the benchmark stops its children too (the default SIGINT would orphan them).
  const interrupted = (): void => {
    for (const c of children) c.process.kill('SIGTERM');
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // Replica i joins replicas 0..i-1, so every pair is introduced (a replica does not pass on the
    // addresses of peers it met by --join before the roster exists).
    const joinable: string[] = [];
    for (let i = 0; i < n; i++) {
      const replica = start(`replica ${i}`, replicaArgs(i, joinable), options.cpuProfDir);
      children.push(replica);
      const line = await waitForLine(replica, (l) => l.startsWith(joinPrefix), 30_000);
      joinable.push(line.slice(joinPrefix.length).trim());
    }
    const joinAddress = joinable[0]!;
    const clientsOptions: ClientsOptions = {
      cluster,
      size: n,
      join: joinAddress,
      clients: options.clients,
      warmupS: options.warmupS,
      durationS: options.durationS,
      payload: options.payload,
    };
    const clients = start('clients', [CLIENTS, JSON.stringify(clientsOptions)], options.cpuProfDir);
    children.push(clients);
    await waitForLine(clients, (l) => l === 'measuring', 120_000);
    const before = children.map((c) => procCost(c.process.pid!));
    const line = await waitForLine(clients, (l) => l.startsWith('{'), (options.durationS + 60) * 1000);
    const after = children.map((c) => procCost(c.process.pid!));
    clients.process.stdin!.end();
    const result = JSON.parse(line) as ClientsResult;
    if (result.errors > 0) print(`warning: ${result.errors} operations timed out or failed`);

    const processes: ProcessCost[] = children.map((c, i) => ({
      role: c.role,
      pid: c.process.pid!,
      cpuS: round(after[i]!.cpuS - before[i]!.cpuS, 2),
      peakRssMiB: round(after[i]!.peakRssMiB, 1),
    }));
    const cpuS = processes.reduce((sum, p) => sum + p.cpuS, 0);
    const p = percentiles(result.latenciesMs);
    return {
      transport: 'libp2p',
      replicas: n,
      clients: options.clients,
      durationS: round(result.wallS),
      warmupS: options.warmupS,
      payload: options.payload,
      readRatio: options.readRatio,
      operation: describeOperation(options),
      ops: result.ops,
      opsPerSec: round(result.ops / result.wallS, 1),
      latencyMsP50: round(p.p50),
      latencyMsP90: round(p.p90),
      latencyMsP99: round(p.p99),
      latencyMsMax: round(p.max),
      batchSizeMean: null,
      cpu: {
        seconds: round(cpuS),
        cores: round(cpuS / result.wallS),
        usPerOp: round(result.ops === 0 ? 0 : (cpuS * 1e6) / result.ops, 1),
      },
      memory: {
        peakRssMiB: Math.max(...processes.filter((x) => x.role.startsWith('replica')).map((x) => x.peakRssMiB)),
      },
      processes,
      loadAverage: loadAverage.map((x) => round(x, 2)),
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.process.exitCode !== null || c.process.signalCode !== null) return resolve();
            const timer = setTimeout(() => {
              c.process.kill('SIGKILL');
              resolve();
            }, 5000);
            c.process.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            c.process.kill('SIGTERM');
          }),
      ),
    );
    await rm(base, { recursive: true, force: true });
  }
}
