/**
 * What `electron-vite build` emits, checked without Electron (it cannot be downloaded here):
 *
 * - main and preload are built afresh with electron.vite.config.ts, exactly as `electron-vite build`
 *   does, into a scratch directory inside the project (so node_modules resolves as it does from out/);
 * - every import of the main bundle is `electron`, a Node builtin, or a package.json dependency
 *   (electron-builder ships `dependencies` only: a devDependency or a merely transitive package
 *   would be missing, or there by luck, in the installed app);
 * - the preload requires nothing but `electron` (a sandboxed preload can require nothing else);
 * - the main process loads no libp2p: the replica runs in the lab process (a utility process);
 * - the main bundle runs under Node, with `electron` stubbed (test-support/electron-stub.ts):
 *   it registers app:// as privileged before `ready` and serves the renderer directory on it (and
 *   nothing outside), loads the window from app://, refuses navigation, redirects, new windows,
 *   webviews and every permission but the clipboard write its own page needs, forks the lab process
 *   (a real ReplicaHost in it), answers IPC through it, forwards events and stops it before quitting.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { parseAst } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataDir } from '../core/host/storage.ts';
import { buildApp, StubApp, type BuiltApp } from '../test/helpers/stub-app.ts';
import type { SetupState } from './shared/app-setup.ts';
import type { StubReport } from './test-support/electron-stub.ts';

const projectDir = join(import.meta.dirname, '..');
const packageJson = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as {
  main: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

let built: BuiltApp;
let scratchDir: string;
let mainFile: string;
let preloadFile: string;

beforeAll(async () => {
  built = await buildApp();
  scratchDir = built.dir;
  mainFile = built.mainFile;
  preloadFile = built.preloadFile;
  // What the app:// handler must never serve: a file beside the renderer directory.
  await writeFile(join(scratchDir, 'package.json'), '{"secret": true}');
});

afterAll(async () => {
  await built?.remove();
});

/** Every module specifier in a bundle: static and dynamic imports, re-exports, require() calls. */
function moduleSpecifiers(code: string): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown> & { type?: string };
    const source = n.source as { type?: string; value?: unknown } | null | undefined;
    if (
      (n.type === 'ImportDeclaration' ||
        n.type === 'ExportAllDeclaration' ||
        n.type === 'ExportNamedDeclaration' ||
        n.type === 'ImportExpression') &&
      source
    ) {
      found.push(source.type === 'Literal' && typeof source.value === 'string' ? source.value : '<computed>');
    }
    if (n.type === 'CallExpression') {
      const callee = n.callee as { type?: string; name?: string };
      const [first] = n.arguments as { type?: string; value?: unknown }[];
      if (callee.type === 'Identifier' && callee.name === 'require') {
        found.push(first?.type === 'Literal' && typeof first.value === 'string' ? first.value : '<computed>');
      }
    }
    for (const value of Object.values(n)) visit(value);
  };
  visit(parseAst(code));
  return found;
}

/** `@libp2p/crypto/keys` → `@libp2p/crypto`, `ws` → `ws`. */
function packageNameOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

describe('package.json', () => {
  it('starts Electron at the built main process', () => {
    expect(packageJson.main).toBe('out/main/index.js');
  });
});

/** The bare specifiers of a bundle and of the chunks it imports (relative imports followed). */
async function bareSpecifiers(entry: string, seen = new Set<string>()): Promise<string[]> {
  if (seen.has(entry)) return [];
  seen.add(entry);
  const found: string[] = [];
  for (const specifier of moduleSpecifiers(await readFile(entry, 'utf8'))) {
    if (specifier.startsWith('./') || specifier.startsWith('../')) {
      const chunk = resolve(dirname(entry), specifier);
      // A chunk must be part of the build, next to main (it ships in out/main).
      expect(relative(join(scratchDir, 'main'), chunk).startsWith('..')).toBe(false);
      found.push(...(await bareSpecifiers(chunk, seen)));
    } else found.push(specifier);
  }
  return found;
}

const isShippable = (s: string): boolean =>
  s === 'electron' ||
  (s.startsWith('node:') && builtinModules.includes(s.slice('node:'.length))) ||
  Object.hasOwn(packageJson.dependencies, packageNameOf(s));

describe('the main bundle', () => {
  it('imports only electron, Node builtins and package.json dependencies, and no libp2p: the replica is not in main', async () => {
    const specifiers = await bareSpecifiers(mainFile);
    expect(specifiers).toContain('electron');
    expect(
      specifiers.filter((s) => !isShippable(s)),
      'bare builtins, devDependencies or undeclared packages',
    ).toEqual([]);
    expect(specifiers.filter((s) => /^(libp2p|@libp2p\/|@chainsafe\/|multicast-dns)/.test(s))).toEqual([]);
  });
});

describe('the lab process bundle', () => {
  it('runs the replica (libp2p, mDNS) and imports no electron: a utility process is Node with a parent port', async () => {
    const specifiers = await bareSpecifiers(join(scratchDir, 'main', 'lab-process.js'));
    expect(specifiers).toContain('libp2p');
    expect(specifiers).toContain('multicast-dns');
    expect(specifiers).not.toContain('electron');
    expect(specifiers.filter((s) => !isShippable(s))).toEqual([]);
  });
});

describe('the preload bundle', () => {
  it('is CommonJS that requires electron and nothing else', async () => {
    const code = await readFile(preloadFile, 'utf8');
    expect(new Set(moduleSpecifiers(code))).toEqual(new Set(['electron']));
    expect(code).toContain('exposeInMainWorld');
  });
});

/** Runs the built main under Node with the electron stub; resolves with the stub's report. */
function runMain(scenario: string, userDataDir: string, args: string[]): Promise<{ report: StubReport; log: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PBFT_LAB_STUB_SCENARIO: scenario,
      // No mDNS from a test: it would multicast on the machine's real network interface.
      PBFT_LAB_NO_MDNS: '1',
    };
    delete env['ELECTRON_RENDERER_URL'];
    delete env['PBFT_LAB_CLUSTER'];
    delete env['PBFT_LAB_SIZE'];
    const child = spawn(
      process.execPath,
      [
        '--import',
        join(import.meta.dirname, 'test-support', 'register-electron-stub.ts'),
        mainFile,
        `--user-data-dir=${userDataDir}`,
        ...args,
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const line = output.split('\n').find((l) => l.startsWith('STUB-REPORT '));
      if (line === undefined) return reject(new Error(`the main process printed no report:\n${output}`));
      resolve({ report: JSON.parse(line.slice('STUB-REPORT '.length)) as StubReport, log: output });
    });
  });
}

describe('the main bundle run under Node with electron stubbed', () => {
  const cluster = `stub-${process.pid}`;
  let userDataDir: string;
  /** One 'run' of the main bundle (a replica, IPC, hardening probes, quit), asserted on below. */
  let run: { report: StubReport; log: string };
  beforeAll(async () => {
    userDataDir = await mkdtemp(join(scratchDir, 'user-data-'));
    run = await runMain('run', userDataDir, [`--cluster=${cluster}`, '--size', '4']);
  });

  it('takes its user data from --user-data-dir before the lock; a second launch on it says why it quits', async () => {
    const { report, log } = await runMain('second-instance', userDataDir, []);
    expect(report.calls).toEqual(['app.setPath userData', 'app.requestSingleInstanceLock', 'app.quit']);
    expect(report.userData).toBe(userDataDir);
    expect(report.exitCode).toBe(0);
    expect(log).toContain(`PBFT Lab is already running with the user data in ${userDataDir}`);
    expect(log).toContain('--user-data-dir DIR');
  });

  it('runs the replica in a utility process, answers the dashboard over IPC through it, and stops it before quitting', () => {
    const { report, log } = run;
    expect(report.exitCode, log).toBe(0);
    expect(report.errorBoxes).toEqual([]);
    expect(report.calls).toEqual(
      expect.arrayContaining([
        'ipcMain.handle lab:snapshot',
        'ipcMain.handle lab:setBehaviour',
        'ipcMain.handle app:state',
        'new BrowserWindow',
        'utilityProcess.fork',
      ]),
    );
    expect(report.utilityProcesses.map((p) => p.modulePath)).toEqual([join(scratchDir, 'main', 'lab-process.js')]);
    expect(report.replies['state']).toMatchObject({ ok: true, value: { phase: 'running' } });
    // The replica's own lines (it runs in the lab process) reach the app's output.
    expect(log).toMatch(/peer 12D3KooW\w+ listening on/);
    expect(log).toContain('SIGTERM: stopping the replica');
    expect(report.windowOptions).toMatchObject({ webPreferences: { sandbox: true, contextIsolation: true } });
    expect(report.replies['version']).toEqual({ ok: true, value: '0.0.0-stub' });
    expect(report.replies['snapshot.self']).toMatchObject({ cluster, size: 4, f: 1, role: 'forming' });
    expect(report.replies['behaviours.ok']).toBe(true);
    expect(report.replies['badSubmit']).toMatchObject({ ok: false, error: { name: 'BadRequestError' } });
    expect(report.replies['untrusted']).toEqual({ threw: 'UntrustedSenderError' });
    // The host's start-up lines reach the window once it listens.
    expect(report.eventBatches).toBeGreaterThan(0);
    expect(report.eventKinds).toContain('log');
    // The first quit waited for the host to stop; the second went through and removed the handlers.
    expect(report.beforeQuitPrevented).toEqual([true, false]);
    expect(report.handlersAfterQuit).toBe(0);
  });

  describe('its hardening (the same run)', () => {
    let report: StubReport;
    let log: string;
    beforeAll(() => {
      ({ report, log } = run);
    });

    it('registers app:// as a privileged standard scheme before ready, and serves it after', () => {
      expect(report.privilegedSchemes).toEqual([
        { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } },
      ]);
      const at = (call: string) => report.calls.indexOf(call);
      expect(at('protocol.registerSchemesAsPrivileged')).toBeGreaterThanOrEqual(0);
      expect(at('protocol.registerSchemesAsPrivileged')).toBeLessThan(at('app.whenReady'));
      expect(at('app.whenReady')).toBeLessThan(at('protocol.handle app'));
    });

    it('loads the window from app://, never from file://', () => {
      expect(report.loadedUrl).toBe('app://pbft-lab/index.html');
      expect(report.calls.filter((call) => call.startsWith('window.loadFile'))).toEqual([]);
    });

    it('serves the renderer directory on app://, with its types and the CSP, and nothing outside it', () => {
      const h = report.hardening;
      expect(h['appIndex']).toMatchObject({
        status: 200,
        contentType: 'text/html; charset=utf-8',
        body: expect.stringContaining('stub renderer'),
        csp: expect.stringContaining("script-src 'self'"),
      });
      expect(h['appScript']).toMatchObject({ status: 200, contentType: 'text/javascript; charset=utf-8' });
      expect(h['appTraversal']).toMatchObject({ status: 400, body: null });
      expect(h['appMissing']).toMatchObject({ status: 404 });
    });

    it('refuses navigation, redirects and subframe navigation away from the page, and allows the page', () => {
      const refusedAway = { web: true, file: true, otherAppHost: true, app: false };
      expect(report.hardening['will-navigate']).toEqual(refusedAway);
      expect(report.hardening['will-redirect']).toEqual(refusedAway);
      expect(report.hardening['will-frame-navigate']).toEqual(refusedAway);
      expect(log).toContain('refused will-redirect to https://example.com/');
    });

    it('denies new windows and webviews', () => {
      expect(report.hardening['windowOpen']).toEqual({ action: 'deny' });
      expect(report.hardening['webviewPrevented']).toBe(true);
    });

    it('denies every permission and every device, but the clipboard write to the app’s own page (the start screen’s Copy)', () => {
      const permissions = report.hardening['permissionCheck'] as Record<string, unknown>;
      expect(Object.keys(permissions).length).toBeGreaterThan(5);
      const { 'clipboard-sanitized-write': clipboardWrite, ...others } = permissions;
      expect(clipboardWrite).toBe(true);
      expect(new Set(Object.values(others))).toEqual(new Set([false]));
      expect(report.hardening['permissionRequest']).toEqual(permissions);
      const foreign = report.hardening['permissionCheckForeign'] as Record<string, unknown>;
      expect(new Set(Object.values(foreign))).toEqual(new Set([false]));
      expect(report.hardening['permissionRequestForeign']).toEqual(foreign);
      expect(report.hardening['devicePermission']).toBe(false);
    });
  });

  it('shows an error box and exits 1 for a mistyped switch, listing the switches', async () => {
    const { report } = await runMain('bad-switch', await mkdtemp(join(scratchDir, 'user-data-')), ['--size', '5']);
    expect(report.errorBoxes).toEqual([
      { title: 'PBFT Lab: invalid setting', content: expect.stringContaining('--size must be 3f+1') },
    ]);
    expect(report.errorBoxes[0]!.content).toContain('--cluster-key CODE');
    expect(report.calls).not.toContain('new BrowserWindow');
    expect(report.calls.at(-1)).toBe('app.exit 1');
    expect(report.exitCode).toBe(1);
  });

  it('shows why on the start screen (no error box, no exit) when the data directory belongs to another cluster', async () => {
    const otherUserData = await mkdtemp(join(scratchDir, 'user-data-'));
    const other = await openDataDir({ dir: join(otherUserData, 'replica'), cluster: 'evening', size: 7 });
    await other.close();
    const app = new StubApp({
      mainFile,
      userDataDir: otherUserData,
      args: ['--cluster', 'pbft-lab', '--no-mdns'],
      name: 'app with another cluster’s directory',
    });
    app.start();
    try {
      const state = await app.waitFor(
        async () => {
          const s = await app.call<SetupState>('app:state');
          return s.phase === 'failed' ? s : undefined;
        },
        20_000,
        'failed',
      );
      expect(state.error).toContain('belongs to cluster "evening" of size 7, not cluster "pbft-lab" of size 4');
      expect(state.error).toContain('choose a data directory of its own');
      expect(state.cluster).toMatchObject({ cluster: 'pbft-lab', dataDir: join(otherUserData, 'replica') });
      expect(await app.quit()).toBe(0);
    } finally {
      app.kill();
    }
  });
});
