/**
 * Headless replicas as separate processes (`pbft-lab replica`), for tests over real libp2p: start,
 * read the dashboard URL each prints, kill, restart with the same data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { forEachLine } from '../../core/process/lines.ts';
import type { ClusterKey } from '../../core/net/cluster-key.ts';
import type { LabOp, LabSnapshot, SubmitOutcome } from '../../core/host/lab-api.ts';

const MAIN = fileURLToPath(new URL('../../core/cli/main.ts', import.meta.url));

export interface ReplicaProcessOptions {
  readonly dataDir: string;
  readonly cluster: string;
  /** Given at every start (`--cluster-key`); the data directory keeps it after the first. */
  readonly clusterKey: ClusterKey;
  readonly size: number;
  readonly listen?: string;
  readonly extraArgs?: readonly string[];
  /** Run the command through this prefix (e.g. ['ip', 'netns', 'exec', 'ns1']). */
  readonly wrapper?: readonly string[];
}

export class ReplicaProcess {
  readonly options: ReplicaProcessOptions;
  child: ChildProcess | null = null;
  apiUrl: string | null = null;
  readonly output: string[] = [];
  private urlWaiters: ((url: string) => void)[] = [];

  constructor(options: ReplicaProcessOptions) {
    this.options = options;
  }

  start(): void {
    const o = this.options;
    const args = [
      MAIN,
      'replica',
      '--data-dir',
      o.dataDir,
      '--cluster',
      o.cluster,
      '--size',
      String(o.size),
      '--cluster-key',
      o.clusterKey.joinCode,
      '--listen',
      o.listen ?? '/ip4/127.0.0.1/tcp/0',
      '--api-port',
      '0',
      ...(o.extraArgs ?? []),
    ];
    const command = o.wrapper ? [...o.wrapper, process.execPath, ...args] : [process.execPath, ...args];
    this.apiUrl = null;
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      forEachLine(stream, (line) => {
        this.output.push(line);
        if (this.output.length > 2000) this.output.shift();
        const match = /dashboard and API: (\S+)/.exec(line);
        if (match) {
          this.apiUrl = match[1]!;
          for (const resolve of this.urlWaiters.splice(0)) resolve(this.apiUrl);
        }
      });
    }
  }

  url(timeoutMs = 20_000): Promise<string> {
    if (this.apiUrl) return Promise.resolve(this.apiUrl);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no API URL within ${timeoutMs} ms; output:\n${this.output.join('\n')}`)),
        timeoutMs,
      );
      this.urlWaiters.push((url) => {
        clearTimeout(timer);
        resolve(url);
      });
    });
  }

  /** Kill at once (a crash): no clean shutdown. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }
}

/** Poll `check` until it returns a value (not undefined) or time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
  );
}

/** GET /api/snapshot of a replica, with the token from its printed URL. */
export async function fetchSnapshot(apiUrl: string): Promise<LabSnapshot> {
  const url = new URL(apiUrl);
  const response = await fetch(`${url.origin}/api/snapshot?token=${url.searchParams.get('token')}`);
  if (!response.ok) throw new Error(`snapshot: HTTP ${response.status}`);
  return (await response.json()) as LabSnapshot;
}

/** POST /api/submit on a replica: its dashboard's client submits the operation. */
export async function submitVia(apiUrl: string, op: LabOp, timeoutMs = 30_000): Promise<SubmitOutcome> {
  const url = new URL(apiUrl);
  const response = await fetch(`${url.origin}/api/submit?token=${url.searchParams.get('token')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(op),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`submit: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as SubmitOutcome;
}
