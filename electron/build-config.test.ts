/**
 * Ties electron.vite.config.ts to what the main process expects at run time: the preload is a
 * CommonJS file where preloadScriptPath looks for it, and the renderer lands where
 * resolveRendererEntry loads it from.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { cac as cacType } from 'cac';
import { describe, expect, it } from 'vitest';
import config from '../electron.vite.config.ts';
import { preloadScriptPath, resolveRendererEntry } from './main/window.ts';

const projectDir = join(import.meta.dirname, '..');

function singleOutput<Output extends object>(output: Output | Output[] | undefined): Output {
  if (output === undefined || Array.isArray(output)) throw new Error('expected exactly one output');
  return output;
}

describe('electron.vite.config.ts', () => {
  const mainBuild = config.main?.build;
  const preloadBuild = config.preload?.build;

  it('builds main as an ES module at package.json "main"', () => {
    const output = singleOutput(mainBuild?.rolldownOptions?.output);
    expect(output.format).toBe('es');
    expect(join(mainBuild!.outDir!, 'index.js')).toBe(join(projectDir, 'out/main/index.js'));
  });

  it('builds the preload as one self-contained CommonJS file (sandboxed preloads cannot load ESM)', () => {
    const output = singleOutput(preloadBuild?.rolldownOptions?.output);
    expect(output.format).toBe('cjs');
    expect(output.entryFileNames).toBe('[name].cjs');
    expect(preloadBuild?.externalizeDeps).toBe(false);
  });

  it('puts the preload and the renderer where the main process looks for them', () => {
    const mainDir = mainBuild!.outDir!;
    expect(preloadScriptPath(mainDir)).toBe(join(preloadBuild!.outDir!, 'index.cjs'));
    expect(resolveRendererEntry({ isPackaged: true, devServerUrl: undefined, mainDir })).toMatchObject({
      kind: 'app',
      rendererDir: config.renderer!.build!.outDir!,
    });
  });
});

describe('npm start', () => {
  it('passes what follows `npm start --` to the app (issue 17, finding 2: `npm start -- --cluster X`)', async () => {
    const pkg = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8')) as { scripts: { start: string } };
    // npm appends the arguments after its own `--` to the script's last command.
    const command = `${pkg.scripts.start} --cluster room-101 --size 7`.split(' && ').at(-1)!;
    const argv = command.split(' ');
    expect(argv.slice(0, 3)).toEqual(['electron-vite', 'dev', '--']);
    // electron-vite's own parser (cac) hands what follows `--` to Electron (ELECTRON_CLI_ARGS).
    const requireFromElectronVite = createRequire(join(projectDir, 'node_modules', 'electron-vite', 'package.json'));
    const { cac } = (await import(pathToFileURL(requireFromElectronVite.resolve('cac')).href)) as {
      cac: typeof cacType;
    };
    const cli = cac('electron-vite');
    let electronArgs: unknown;
    cli
      .command('[root]', 'start the dev server and Electron')
      .alias('dev')
      .action((_root: unknown, options: Record<string, unknown>) => {
        electronArgs = options['--'];
      });
    cli.parse(['node', ...argv], { run: true });
    expect(electronArgs).toEqual(['--cluster', 'room-101', '--size', '7']);
  });
});
