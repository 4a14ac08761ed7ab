/**
 * `pbft-lab demo`: the one-machine lab. Starts N replicas as separate processes on loopback, each
 * with its own data directory and dashboard port, prints where to reach each one, and stops them all
 * on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ClusterKey } from '../net/cluster-key.ts';
import { forEachLine } from '../process/lines.ts';
import { UsageError } from './usage-error.ts';

export const DEMO_USAGE = `usage: pbft-lab demo [--replicas 4|7|10] [--data-dir DIR] [--cluster NAME] [--api-port-base P] [--api-host HOST]
                     [--checkpoint-interval K]`;

/** Replicas start through the command itself, which runs them as a lab machine would (bin/replica-runtime.mjs). */
const BIN = fileURLToPath(new URL('../../bin/pbft-lab.mjs', import.meta.url));

export async function demoCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      replicas: { type: 'string', default: '4' },
      'data-dir': { type: 'string' },
      cluster: { type: 'string' },
      'api-port-base': { type: 'string', default: '7400' },
      'api-host': { type: 'string', default: '127.0.0.1' },
      'checkpoint-interval': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const n = Number(values.replicas);
  if (![4, 7, 10].includes(n)) throw new UsageError(`--replicas must be 4, 7 or 10, got "${values.replicas}"`);
  const portBase = Number(values['api-port-base']);
  if (!Number.isInteger(portBase) || portBase < 1024 || portBase + n > 65535)
    throw new UsageError(`--api-port-base must be a port from 1024, got "${values['api-port-base']}"`);
  // A fresh cluster name per demo, so two demos (or a classroom of them) on one LAN never merge; and a
  // secret of its own, so nothing else on the LAN can connect to its replicas.
  const cluster = values.cluster ?? `demo-${randomBytes(3).toString('hex')}`;
  const key = ClusterKey.generate();
  const base = values['data-dir'] ?? (await mkdtemp(join(tmpdir(), 'pbft-lab-demo-')));
  print(`PBFT Lab demo: ${n} replicas (f = ${(n - 1) / 3}) on this machine, cluster "${cluster}", data in ${base}`);
  print(`join code: ${key.joinCode}`);

  const children: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const dataDir = join(base, `replica-${i}`);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const args = [
      BIN,
      'replica',
      '--data-dir',
      dataDir,
      '--cluster',
      cluster,
      '--size',
      String(n),
      '--cluster-key',
      key.joinCode,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--allow-loopback',
      '--api-port',
      String(portBase + i),
      '--api-host',
      values['api-host'],
      ...(values['checkpoint-interval'] ? ['--checkpoint-interval', values['checkpoint-interval']] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const prefix = `[${i}] `;
    for (const stream of [child.stdout!, child.stderr!]) forEachLine(stream, (line) => print(prefix + line));
    child.on('exit', (code, signal) => print(`${prefix}exited (${signal ?? code})`));
  }
  print(
    `submit operations with: npx pbft-lab client --cluster-key ${key.joinCode} --cluster ${cluster} --size ${n} write /hello world`,
  );
  print('stop all replicas with Ctrl-C');

  await new Promise<void>((resolve) => {
    let exited = 0;
    for (const child of children) child.on('exit', () => ++exited === children.length && resolve());
    const stop = (): void => {
      for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  print('all replicas stopped');
  return 0;
}
