/**
 * Ties electron.vite.config.ts to what the main process expects at run time: the preload is a
 * CommonJS file where preloadScriptPath looks for it, and the renderer lands where
 * resolveRendererEntry loads it from.
 */
import { join } from 'node:path';
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
