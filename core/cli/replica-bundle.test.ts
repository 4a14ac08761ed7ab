/**
 * The prebuilt headless replica (vite.replica.config.ts → out/replica/main.mjs), built afresh into a
 * scratch directory inside the project: it is self-contained (Node built-ins are its only imports,
 * so a replica loads one file), its sources.json stamps every file it came from, and it runs a real
 * replica that starts, prints where to join it, and stops on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, parseAst } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staleBundleReason } from '../../bin/replica-runtime.mjs';
import { forEachLine } from '../process/lines.ts';

const projectDir = join(import.meta.dirname, '../..');
let outDir: string;

beforeAll(async () => {
  // Inside the project (.cache/ is git-ignored) and at the depth of out/replica, as the bundle
  // finds the dashboard at ../../out/renderer.
  await mkdir(join(projectDir, '.cache'), { recursive: true });
  outDir = await mkdtemp(join(projectDir, '.cache', 'replica-build-'));
  await build({ configFile: join(projectDir, 'vite.replica.config.ts'), logLevel: 'silent', build: { outDir } });
}, 120_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** Module specifiers of static and dynamic imports and of require() calls. */
function imports(code: string): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const n = node as Record<string, unknown> & { type?: string };
    const source = n.source as { value?: unknown } | null | undefined;
    if ((n.type === 'ImportDeclaration' || n.type === 'ImportExpression') && source)
      found.push(typeof source.value === 'string' ? source.value : '<computed>');
    if (n.type === 'CallExpression') {
      const callee = n.callee as { type?: string; name?: string };
      const [first] = n.arguments as { value?: unknown }[];
      if (callee.type === 'Identifier' && /^(__)?require$/.test(callee.name ?? ''))
        found.push(typeof first?.value === 'string' ? first.value : '<computed>');
    }
    for (const value of Object.values(n)) visit(value);
  };
  visit(parseAst(code));
  return found;
}

describe('the prebuilt replica', () => {
  it('imports nothing but Node built-ins: libp2p and every other dependency are inside', async () => {
    const specifiers = imports(await readFile(join(outDir, 'main.mjs'), 'utf8'));
    expect(specifiers).toContain('node:crypto');
    const builtin = (s: string): boolean => builtinModules.includes(s.replace(/^node:/, ''));
    expect(specifiers.filter((s) => !builtin(s))).toEqual([]);
  });

  it('stamps every source it was built from, ours and the dependencies', async () => {
    const manifestPath = join(outDir, 'sources.json');
    const { files } = JSON.parse(await readFile(manifestPath, 'utf8')) as { files: Record<string, unknown> };
    const paths = Object.keys(files);
    expect(paths).toContain('core/cli/replica-main.ts');
    expect(paths).toContain('core/pbft/replica.ts');
    expect(paths.some((p) => p.startsWith('node_modules/libp2p/'))).toBe(true);
    expect(paths.every((p) => !p.startsWith('/') && !p.includes('\\'))).toBe(true);
    expect(staleBundleReason(manifestPath, projectDir)).toBeNull();
  });

  it('runs a replica: a new cluster prints its join code, listens, prints its join address, stops on SIGTERM; a restart needs no code', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'pbft-lab-bundle-replica-'));
    const runOnce = async (keyArgs: string[]): Promise<string[]> => {
      const child = spawn(
        process.execPath,
        [
          join(outDir, 'main.mjs'),
          '--data-dir',
          dataDir,
          ...keyArgs,
          '--cluster',
          'bundle-test',
          '--listen',
          '/ip4/127.0.0.1/tcp/0',
          '--no-mdns',
          '--allow-loopback',
          '--api-port',
          '0',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const lines: string[] = [];
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no join address; output:\n${lines.join('\n')}`)), 30_000);
        for (const stream of [child.stdout, child.stderr])
          forEachLine(stream, (line) => {
            lines.push(line);
            if (line.startsWith('join with: --join /ip4/127.0.0.1/tcp/')) {
              clearTimeout(timer);
              resolve();
            }
          });
      });
      expect(lines.some((l) => /^dashboard and API: http:\/\/127\.0\.0\.1:\d+\/\?token=/.test(l))).toBe(true);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(lines).toContain('stopped');
      return lines;
    };
    const joinCode = (lines: string[]): string | undefined =>
      lines.map((l) => /^join code: (\S+)/.exec(l)?.[1]).find((c) => c !== undefined);
    const port = (lines: string[]): string | undefined =>
      lines.map((l) => /^join with: --join \/ip4\/127\.0\.0\.1\/tcp\/(\d+)/.exec(l)?.[1]).find((p) => p);
    try {
      const first = await runOnce(['--new-cluster']);
      const code = joinCode(first);
      expect(code).toMatch(/^([0-9A-Z]{4}-){13}[0-9A-Z]{4}$/);
      expect((await stat(join(dataDir, 'cluster.key'))).mode & 0o777).toBe(0o600);
      // The key and the port are in the data directory: the same code, the same address, no flag.
      const second = await runOnce([]);
      expect(joinCode(second)).toBe(code);
      expect(port(second)).toBe(port(first));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
