/**
 * Issue 17, "the replica off the UI thread": under a flood, the window's IPC calls stay quick.
 *
 * One desktop instance (the built app's main, electron stubbed, its lab process a separate Node
 * process as Electron's utility process would be) is a replica of a local cluster whose other three
 * members are headless replicas on this machine's loopback (at a lower priority: they stand in for
 * the other lab machines). Then, for LOAD_MS:
 *
 *   - the app's replica runs the `flood` behaviour, switched on from the window as a person would,
 *     and re-armed every 1.5 s (5,000 PREPAREs and COMMITs per burst);
 *   - a headless replica floods the app's replica too (beyond f, on purpose: the load, not the
 *     protocol, is under test);
 *   - the window's client submits operations back to back, and so does a headless replica's.
 *
 * Meanwhile the "window" (this test, another process, as a renderer is) calls `lab:version`
 * (answered by main alone) and `lab:snapshot` (main → the lab process → main) every 50 ms, and
 * times each round trip: the pipe to the stubbed main, the wait in main's event loop, the handler,
 * the pipe back; what a window's `ipcRenderer.invoke` pays on top of Chromium's own IPC.
 *
 * The bounds (docs/performance.md, "The desktop app under a flood"): round trips `lab:version` p95
 * < 50 ms and p99 < 250 ms, `lab:snapshot` p95 < 250 ms and p99 < 1,000 ms (it waits on the lab
 * process, which is the flooded replica), each over what a process that does nothing pays at the
 * same moments: a control process, at the app's priority, echoes the same requests over the same
 * kind of pipe, probed beside the app. On an idle machine it answers in well under a millisecond;
 * on this project's 2-core machines, shared with other sessions (load average 12–15), the scheduler
 * alone kept a nearly idle process off the CPU for up to ~400 ms, and a round trip's tail is mostly
 * that. Not at the mercy of the scheduler: main's event loop busy < 25 % of the time and < 150 ms of
 * CPU a second. With the replica in main (before issue 17) the same load kept main's loop busy 35–72 % of
 * the time, with delays p99 47–114 ms; here ~6 %, p99 20–29 ms. Events reach the window in at most 20 batches a
 * second, plus a notice now and then.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabSnapshot } from '../core/host/lab-api.ts';
import { ClusterKey } from '../core/net/cluster-key.ts';
import { forEachLine } from '../core/process/lines.ts';
import type { SetupState } from '../electron/shared/app-setup.ts';
import { localPorts } from '../electron/lab-process/local-ports.ts';
import { eventually, fetchSnapshot, ReplicaProcess, submitVia } from './helpers/replica-process.ts';
import { buildApp, StubApp, type BuiltApp } from './helpers/stub-app.ts';

const N = 4;
const LOAD_MS = 12_000;
const PROBE_INTERVAL_MS = 50;
export const BOUNDS = {
  versionP95Ms: 50,
  versionP99Ms: 250,
  snapshotP95Ms: 250,
  snapshotP99Ms: 1_000,
  mainLoopUtilization: 0.25,
  mainCpuMsPerSecond: 150,
};

type Stats = { n: number; p50: number; p95: number; p99: number; max: number };

const round = (x: number): number => Math.round(x * 10) / 10;

function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    n: sorted.length,
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted.at(-1) ?? NaN),
  };
}

/**
 * The control: a Node process that answers each request line at once, over a pipe like the stubbed
 * main's. Its round trips are what the machine's scheduler alone costs a nearly idle process.
 */
class EchoProcess {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, () => void>();
  private nextId = 1;

  constructor() {
    const script =
      "require('node:readline').createInterface({ input: process.stdin }).on('line', (l) => process.stdout.write(l + '\\n'));";
    this.child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    forEachLine(this.child.stdout!, (line) => {
      const id = Number(line);
      this.waiting.get(id)?.();
      this.waiting.delete(id);
    });
  }

  /** One round trip, in ms. */
  ping(): Promise<number> {
    const id = this.nextId++;
    const started = performance.now();
    return new Promise((resolve) => {
      this.waiting.set(id, () => resolve(performance.now() - started));
      this.child.stdin!.write(`${id}\n`);
    });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

async function postJson(apiUrl: string, path: string, body: unknown): Promise<unknown> {
  const url = new URL(apiUrl);
  const response = await fetch(`${url.origin}${path}?token=${url.searchParams.get('token')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

describe('the desktop app under a flood: IPC round trips from the window', () => {
  const key = ClusterKey.generate();
  const cluster = `flood-${randomBytes(3).toString('hex')}`;
  let built: BuiltApp;
  let base = '';
  let app: StubApp;
  let control: EchoProcess | undefined;
  const replicas: ReplicaProcess[] = [];
  const dump = (): string =>
    [app.tail(30), ...replicas.map((r, i) => `--- headless ${i}\n${r.output.slice(-20).join('\n')}`)].join('\n');

  beforeAll(async () => {
    built = await buildApp();
    base = await mkdtemp(join(tmpdir(), 'pbft-lab-flood-'));
  });

  afterAll(async () => {
    await app?.quit(10_000).catch(() => app.kill());
    control?.kill();
    await Promise.all(replicas.map((r) => r.kill()));
    await built?.remove();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it(`keeps the window's round trips under ${BOUNDS.versionP99Ms} ms (lab:version p99) and ${BOUNDS.snapshotP99Ms} ms (lab:snapshot p99), and main idle, while its replica floods and is flooded`, async () => {
    app = new StubApp({
      mainFile: built.mainFile,
      userDataDir: join(base, 'app'),
      args: ['--cluster', cluster, '--size', String(N), '--cluster-key', key.joinCode, '--local'],
      name: 'app',
    });
    app.start();
    const running = await app.waitFor(
      async () => {
        const s = await app.call<SetupState>('app:state');
        return s.phase === 'running' ? s : undefined;
      },
      30_000,
      'running',
    );
    expect(running.cluster?.local).toBe(true);
    const own = Number(/\/tcp\/(\d+)/.exec((await app.call<LabSnapshot>('lab:snapshot')).self.addresses[0]!)![1]);
    const slots = localPorts(key.fingerprint, N).slice(0, N);
    const others = slots.filter((port) => port !== own);
    for (const [i, port] of others.entries()) {
      const replica = new ReplicaProcess({
        dataDir: join(base, `headless-${i}`),
        cluster,
        clusterKey: key,
        size: N,
        listen: `/ip4/127.0.0.1/tcp/${port}`,
        // The other members stand in for other machines: a lower priority leaves this machine's two
        // cores to the app (main, its lab process) and its window first, as a lab machine's would be.
        wrapper: ['nice', '-n', '10'],
        extraArgs: [
          '--allow-loopback',
          '--no-mdns',
          ...slots.filter((p) => p !== port).flatMap((p) => ['--join', `/ip4/127.0.0.1/tcp/${p}`]),
        ],
      });
      replica.start();
      replicas.push(replica);
    }
    const urls = await Promise.all(replicas.map((r) => r.url(30_000)));
    await eventually(
      async () => {
        const mine = await app.call<LabSnapshot>('lab:snapshot');
        const theirs = await Promise.all(urls.map(fetchSnapshot));
        return mine.self.role === 'replica' && theirs.every((s) => s.self.role === 'replica') ? true : undefined;
      },
      60_000,
      `a cluster of the app and three headless replicas\n${dump()}`,
    );
    await app.request('listen');
    control = new EchoProcess();
    const echo = control;

    /** Probes the window's two calls every PROBE_INTERVAL_MS for `ms`; main's loop delay over the same time. */
    const probe = async (ms: number) => {
      await app.request('loop-delay', { reset: true });
      const eventsBefore = (await app.request('events'))['total'] as number;
      const version: number[] = [];
      const snapshot: number[] = [];
      const versionInMain: number[] = [];
      const snapshotInMain: number[] = [];
      const controlRtt: number[] = [];
      const failures: string[] = [];
      const end = Date.now() + ms;
      const inFlight: Promise<void>[] = [];
      while (Date.now() < end) {
        inFlight.push(
          app.invoke('lab:version').then(({ ms: t, rttMs }) => {
            version.push(rttMs);
            versionInMain.push(t);
          }),
          app.invoke<LabSnapshot>('lab:snapshot').then(({ reply, ms: t, rttMs }) => {
            snapshot.push(rttMs);
            snapshotInMain.push(t);
            if (!reply.ok) failures.push(reply.error.message);
          }),
          echo.ping().then((rttMs) => {
            controlRtt.push(rttMs);
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
      }
      await Promise.all(inFlight);
      const loop = (await app.request('loop-delay')) as unknown as {
        p50: number;
        p99: number;
        max: number;
        utilization: number;
        cpuMsPerSecond: number;
      };
      const events = await app.request('events', { since: eventsBefore });
      return {
        version: stats(version),
        snapshot: stats(snapshot),
        control: stats(controlRtt),
        versionHandlerInMain: stats(versionInMain),
        snapshotHandlerInMain: stats(snapshotInMain),
        mainLoopDelay: { p50: round(loop.p50), p99: round(loop.p99), max: round(loop.max) },
        mainLoopUtilization: Math.round(loop.utilization * 1000) / 1000,
        mainCpuMsPerSecond: Math.round(loop.cpuMsPerSecond),
        failures,
        batchesPerSecond: Math.round(((events['batches'] as number) / ms) * 1000 * 10) / 10,
        eventsPerSecond: Math.round(((events['events'] as number) / ms) * 1000),
        largestBatch: events['largestBatch'] as number,
      };
    };

    const idle = await probe(4_000);

    // The load: both floods re-armed every 1.5 s, two clients submitting back to back.
    let loading = true;
    const submitted = { app: 0, headless: 0, failed: 0 };
    const appClient = (async () => {
      for (let i = 0; loading; i++) {
        const { reply } = await app.invoke('lab:submit', { kind: 'write', path: `/app-${i % 16}`, text: `write ${i}` });
        if (reply.ok) submitted.app++;
        else submitted.failed++;
      }
    })();
    const headlessClient = (async () => {
      for (let i = 0; loading; i++) {
        await submitVia(urls[0]!, { kind: 'append', path: '/headless', text: `${i} ` }, 15_000).then(
          () => submitted.headless++,
          () => submitted.failed++,
        );
      }
    })();
    const rearm = async (): Promise<void> => {
      await app.call('lab:setBehaviour', null);
      await app.call('lab:setBehaviour', 'flood', { exceedF: true });
      await postJson(urls[1]!, '/api/behaviour', { id: null });
      await postJson(urls[1]!, '/api/behaviour', { id: 'flood', exceedF: true });
    };
    await rearm();
    const rearming = setInterval(() => void rearm().catch(() => {}), 1_500);
    let loaded: Awaited<ReturnType<typeof probe>>;
    try {
      loaded = await probe(LOAD_MS);
    } finally {
      clearInterval(rearming);
      loading = false;
    }
    await Promise.all([appClient, headlessClient]);
    const mine = await app.call<LabSnapshot>('lab:snapshot');

    const table = {
      idle: { ...idle, failures: idle.failures.length },
      flood: { ...loaded, failures: loaded.failures.length },
      submitted,
      framesInOut: [mine.metrics.framesIn, mine.metrics.framesOut],
      ignoredMessages: mine.metrics.ignoredMessages,
    };
    console.log(
      `desktop app IPC round trips, idle and under a flood (ms; bounds ${JSON.stringify(BOUNDS)}):\n${JSON.stringify(table)}`,
    );

    // It was a flood: thousands of messages in and out, thousands of events to the window.
    expect(mine.metrics.framesOut).toBeGreaterThan(10_000);
    expect(mine.metrics.ignoredMessages).toBeGreaterThan(1_000);
    expect(loaded.eventsPerSecond).toBeGreaterThan(500);
    expect(loaded.failures).toEqual([]);
    // The bounds, over what the machine's scheduler costs a process that does nothing (the control).
    expect(loaded.version.p95).toBeLessThan(BOUNDS.versionP95Ms + loaded.control.p95);
    expect(loaded.version.p99).toBeLessThan(BOUNDS.versionP99Ms + loaded.control.p99);
    expect(loaded.snapshot.p95).toBeLessThan(BOUNDS.snapshotP95Ms + loaded.control.p95);
    expect(loaded.snapshot.p99).toBeLessThan(BOUNDS.snapshotP99Ms + loaded.control.p99);
    expect(loaded.mainLoopUtilization).toBeLessThan(BOUNDS.mainLoopUtilization);
    expect(loaded.mainCpuMsPerSecond).toBeLessThan(BOUNDS.mainCpuMsPerSecond);
    // Batches: at most one per 50 ms flush, plus a notice now and then.
    expect(loaded.batchesPerSecond).toBeLessThanOrEqual(22);
    expect(loaded.largestBatch).toBeLessThanOrEqual(2_001);
  }, 180_000);
});
