/**
 * What `electron-vite build` emits, checked without Electron (it cannot be downloaded here):
 *
 * - main and preload are built afresh with electron.vite.config.ts, exactly as `electron-vite build`
 *   does, into a scratch directory inside the project (so node_modules resolves as it does from out/);
 * - every import of the main bundle is `electron`, a Node builtin, or a package.json dependency
 *   (electron-builder ships `dependencies` only: a devDependency or a merely transitive package
 *   would be missing, or there by luck, in the installed app);
 * - the preload requires nothing but `electron` (a sandboxed preload can require nothing else);
 * - the main bundle runs under Node, with `electron` stubbed (test-support/electron-stub.ts):
 *   it registers app:// as privileged before `ready` and serves the renderer directory on it (and
 *   nothing outside), loads the window from app://, refuses navigation, redirects, new windows,
 *   webviews and every permission, starts a real ReplicaHost, answers IPC, forwards events and
 *   stops the host before quitting.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build as viteBuild, parseAst } from 'vite';
import type { InlineConfig } from 'vite';
import { resolveConfig } from 'electron-vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDataDir } from '../core/host/storage.ts';
import type { StubReport } from './test-support/electron-stub.ts';

const projectDir = join(import.meta.dirname, '..');
const packageJson = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as {
  main: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

let scratchDir: string;
let mainFile: string;
let preloadFile: string;

beforeAll(async () => {
  // Inside the project (.cache/ is git-ignored), so bare imports resolve through its node_modules.
  await mkdir(join(projectDir, '.cache'), { recursive: true });
  scratchDir = await mkdtemp(join(projectDir, '.cache', 'electron-build-'));
  const { config } = await resolveConfig({ root: projectDir, logLevel: 'silent' }, 'build', 'production');
  for (const target of ['main', 'preload'] as const) {
    const targetConfig = config?.[target] as InlineConfig | undefined;
    if (!targetConfig?.build) throw new Error(`electron.vite.config.ts has no ${target} build`);
    targetConfig.build.outDir = join(scratchDir, target);
    await viteBuild(targetConfig);
  }
  mainFile = join(scratchDir, 'main', 'index.js');
  preloadFile = join(scratchDir, 'preload', 'index.cjs');
  // A stand-in renderer where main looks for the built one (out/main → out/renderer), for app://.
  await mkdir(join(scratchDir, 'renderer', 'assets'), { recursive: true });
  await writeFile(join(scratchDir, 'renderer', 'index.html'), '<!doctype html><title>stub renderer</title>');
  await writeFile(join(scratchDir, 'renderer', 'assets', 'app.js'), 'export {};');
  // What the app:// handler must never serve: a file beside the renderer directory.
  await writeFile(join(scratchDir, 'package.json'), '{"secret": true}');
});

afterAll(async () => {
  if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
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

describe('the main bundle', () => {
  it('imports only electron, Node builtins and package.json dependencies', async () => {
    const specifiers = moduleSpecifiers(await readFile(mainFile, 'utf8'));
    expect(specifiers).toContain('electron');
    expect(specifiers).toContain('libp2p');
    const offending = specifiers.filter(
      (s) =>
        s !== 'electron' &&
        !(s.startsWith('node:') && builtinModules.includes(s.slice('node:'.length))) &&
        !Object.hasOwn(packageJson.dependencies, packageNameOf(s)),
    );
    expect(offending, 'relative chunks, bare builtins, devDependencies or undeclared packages').toEqual([]);
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
      PBFT_LAB_STUB_USER_DATA: userDataDir,
      // No mDNS from a test: it would multicast on the machine's real network interface.
      PBFT_LAB_NO_MDNS: '1',
    };
    delete env['ELECTRON_RENDERER_URL'];
    delete env['PBFT_LAB_CLUSTER'];
    delete env['PBFT_LAB_SIZE'];
    const child = spawn(
      process.execPath,
      ['--import', join(import.meta.dirname, 'test-support', 'register-electron-stub.ts'), mainFile, ...args],
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

  it('quits at once when another instance holds the lock', async () => {
    const { report } = await runMain('second-instance', userDataDir, []);
    expect(report.calls).toEqual(['app.requestSingleInstanceLock', 'app.quit']);
    expect(report.exitCode).toBe(0);
  });

  it('hosts a replica, answers the dashboard over IPC, and stops the replica before quitting', () => {
    const { report, log } = run;
    expect(report.exitCode, log).toBe(0);
    expect(report.errorBoxes).toEqual([]);
    expect(report.calls).toEqual(
      expect.arrayContaining(['ipcMain.handle lab:snapshot', 'ipcMain.handle lab:setBehaviour', 'new BrowserWindow']),
    );
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

    it('denies every permission the page checks or requests, and every device, even to the app itself', () => {
      const permissions = report.hardening['permissionCheck'] as Record<string, unknown>;
      expect(Object.keys(permissions).length).toBeGreaterThan(5);
      expect(new Set(Object.values(permissions))).toEqual(new Set([false]));
      expect(report.hardening['permissionRequest']).toEqual(permissions);
      expect(report.hardening['devicePermission']).toBe(false);
    });
  });

  it('shows an error box and exits 1 when the data directory belongs to another cluster', async () => {
    const otherUserData = await mkdtemp(join(scratchDir, 'user-data-'));
    const other = await openDataDir({ dir: join(otherUserData, 'replica'), cluster: 'evening', size: 7 });
    await other.close();
    const { report } = await runMain('start-failure', otherUserData, []);
    expect(report.errorBoxes).toEqual([
      {
        title: 'PBFT Lab cannot use its data directory',
        content: expect.stringContaining('belongs to cluster "evening" of size 7, not cluster "pbft-lab" of size 4'),
      },
    ]);
    expect(report.calls).not.toContain('new BrowserWindow');
    expect(report.calls.at(-1)).toBe('app.exit 1');
    expect(report.exitCode).toBe(1);
  });
});
