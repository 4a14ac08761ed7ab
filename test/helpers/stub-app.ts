/**
 * The desktop app as tests can run it here (no Electron binary): main and preload built afresh with
 * electron.vite.config.ts, exactly as `electron-vite build` does, into a scratch directory inside the
 * project; main then run under Node with `electron` stubbed (electron/test-support), its lab process
 * forked as a Node child with a parent port. A `StubApp` drives one such instance through the stub's
 * `remote` scenario: IPC calls as its window's page makes them, its menu, its quit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build as viteBuild } from 'vite';
import type { InlineConfig } from 'vite';
import { resolveConfig } from 'electron-vite';
import { forEachLine } from '../../core/process/lines.ts';

const projectDir = join(import.meta.dirname, '..', '..');
const registerStub = join(projectDir, 'electron', 'test-support', 'register-electron-stub.ts');

export interface BuiltApp {
  readonly dir: string;
  readonly mainFile: string;
  readonly preloadFile: string;
  remove(): Promise<void>;
}

/** Builds main (with the lab process) and preload into a scratch directory, with a stand-in renderer. */
export async function buildApp(): Promise<BuiltApp> {
  // Inside the project (.cache/ is git-ignored), so bare imports resolve through its node_modules.
  await mkdir(join(projectDir, '.cache'), { recursive: true });
  const dir = await mkdtemp(join(projectDir, '.cache', 'electron-build-'));
  const { config } = await resolveConfig({ root: projectDir, logLevel: 'silent' }, 'build', 'production');
  for (const target of ['main', 'preload'] as const) {
    const targetConfig = config?.[target] as InlineConfig | undefined;
    if (!targetConfig?.build) throw new Error(`electron.vite.config.ts has no ${target} build`);
    targetConfig.build.outDir = join(dir, target);
    targetConfig.logLevel = 'silent';
    await viteBuild(targetConfig);
  }
  // A stand-in renderer where main looks for the built one (out/main → out/renderer), for app://.
  await mkdir(join(dir, 'renderer', 'assets'), { recursive: true });
  await writeFile(join(dir, 'renderer', 'index.html'), '<!doctype html><title>stub renderer</title>');
  await writeFile(join(dir, 'renderer', 'assets', 'app.js'), 'export {};');
  return {
    dir,
    mainFile: join(dir, 'main', 'index.js'),
    preloadFile: join(dir, 'preload', 'index.cjs'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface StubAppOptions {
  readonly mainFile: string;
  /** The app's command line (its switches; `--user-data-dir` is added from `userDataDir`). */
  readonly args?: readonly string[];
  readonly userDataDir: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Run through this prefix (e.g. ['ip', 'netns', 'exec', 'ns1']). */
  readonly wrapper?: readonly string[];
  /** A label for its lines in failure messages. */
  readonly name?: string;
}

type Reply = { id: number; [key: string]: unknown };

/** One app instance (stubbed main + its lab process), driven as its window would drive it. */
export class StubApp {
  readonly options: StubAppOptions;
  readonly output: string[] = [];
  private child: ChildProcess | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(options: StubAppOptions) {
    this.options = options;
  }

  get name(): string {
    return this.options.name ?? 'app';
  }

  start(): void {
    const env: NodeJS.ProcessEnv = { ...process.env, PBFT_LAB_STUB_SCENARIO: 'remote', ...this.options.env };
    delete env['ELECTRON_RENDERER_URL'];
    delete env['PBFT_LAB_CLUSTER'];
    delete env['PBFT_LAB_SIZE'];
    const command = [
      ...(this.options.wrapper ?? []),
      process.execPath,
      '--import',
      registerStub,
      this.options.mainFile,
      `--user-data-dir=${this.options.userDataDir}`,
      ...(this.options.args ?? []),
    ];
    const child = spawn(command[0]!, command.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    for (const stream of [child.stdout!, child.stderr!]) {
      forEachLine(stream, (line) => {
        if (line.startsWith('STUB-REPLY ')) {
          const reply = JSON.parse(line.slice('STUB-REPLY '.length)) as Reply;
          this.waiting.get(reply.id)?.(reply);
          this.waiting.delete(reply.id);
          return;
        }
        this.output.push(line);
        if (this.output.length > 3000) this.output.shift();
      });
    }
  }

  /** One request to the stub's remote driver. */
  request(op: string, body: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<Reply> {
    const child = this.child;
    if (!child?.stdin) return Promise.reject(new Error(`${this.name} is not running`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.name}: no reply to ${op} within ${timeoutMs} ms\n${this.tail()}`));
      }, timeoutMs);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      child.stdin!.write(`${JSON.stringify({ id, op, ...body })}\n`);
    });
  }

  /**
   * An IPC call from the page; resolves with the handler's reply (`{ok, value}` or `{ok, error}`),
   * the handler's time inside main (`ms`), and the round trip seen from here (`rttMs`: the pipe to
   * the stubbed main, its event loop's queue, the handler, the pipe back).
   */
  async invoke<T = unknown>(
    channel: string,
    ...args: unknown[]
  ): Promise<{ reply: IpcReply<T>; ms: number; rttMs: number }> {
    const started = performance.now();
    const answer = await this.request('invoke', { channel, args });
    const rttMs = performance.now() - started;
    if (answer['error']) throw new Error(`${this.name}: ${String(answer['error'])}`);
    if (answer['threw']) throw new Error(`${this.name}: ${channel} threw ${String(answer['threw'])}`);
    return { reply: answer['result'] as IpcReply<T>, ms: answer['ms'] as number, rttMs };
  }

  /** An IPC call that must succeed: its value. */
  async call<T = unknown>(channel: string, ...args: unknown[]): Promise<T> {
    const { reply } = await this.invoke<T>(channel, ...args);
    if (!reply.ok) throw new Error(`${this.name}: ${channel} failed: ${reply.error.name}: ${reply.error.message}`);
    return reply.value;
  }

  /** Polls `probe` until it returns a value (not undefined). */
  async waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${this.name}: not ${what} within ${timeoutMs} ms\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Quits as the user would (the replica stops first); resolves with the exit code. */
  async quit(timeoutMs = 20_000): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    await this.request('quit').catch(() => {});
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(): void {
    this.child?.kill('SIGKILL');
  }

  tail(lines = 40): string {
    return `--- ${this.name}\n${this.output.slice(-lines).join('\n')}`;
  }
}

export type IpcReply<T> = { ok: true; value: T } | { ok: false; error: { name: string; message: string } };
