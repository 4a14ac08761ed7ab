/**
 * A partial Electron download or extraction is caught before `npm start` runs it: missing files,
 * empty or cut-short ones, another version's leftovers; an incomplete dist is removed and fetched
 * again, and a download that still leaves it incomplete is reported.
 */
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  electronDistState,
  ensureElectronDist,
  mainBinary,
  platformPath,
  requiredDistFiles,
} from './electron-dist.mjs';

const VERSION = '45.4.1';

/** A dist as install.js leaves it after a complete extraction (small stand-ins for the real files). */
function writeCompleteDist(electronDir: string, platform: NodeJS.Platform): void {
  const dist = join(electronDir, 'dist');
  for (const file of requiredDistFiles(platform)) {
    mkdirSync(dirname(join(dist, file)), { recursive: true });
    writeFileSync(join(dist, file), file === 'version' ? `v${VERSION}` : 'x');
  }
  const executable = join(dist, platformPath(platform));
  mkdirSync(dirname(executable), { recursive: true });
  // macOS's executable is a launcher of a few hundred kilobytes; the framework holds the code.
  writeFileSync(executable, Buffer.alloc(platform === 'darwin' ? 100_000 : 2_000_000, 1));
  writeFileSync(join(dist, mainBinary(platform)), Buffer.alloc(2_000_000, 1));
  writeFileSync(join(electronDir, 'path.txt'), platformPath(platform));
}

describe.each(['linux', 'win32', 'darwin'] as const)('electronDistState on %s', (platform) => {
  let dir: string;
  const state = () => electronDistState(dir, { version: VERSION, platform });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pbft-lab-electron-dist-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is missing before anything was downloaded, complete after a whole extraction', () => {
    expect(state()).toEqual({ state: 'missing' });
    writeCompleteDist(dir, platform);
    expect(state()).toEqual({ state: 'complete' });
  });

  it('is incomplete when an extraction stopped halfway: files missing, empty, or the main binary cut short', () => {
    writeCompleteDist(dir, platform);
    rmSync(join(dir, 'dist', 'LICENSES.chromium.html'));
    expect(state()).toEqual({ state: 'incomplete', reason: 'dist/LICENSES.chromium.html is missing' });
    writeCompleteDist(dir, platform);
    const last = requiredDistFiles(platform).at(-1)!;
    writeFileSync(join(dir, 'dist', last), '');
    expect(state()).toEqual({ state: 'incomplete', reason: `dist/${last} is empty` });
    writeCompleteDist(dir, platform);
    writeFileSync(join(dir, 'dist', platformPath(platform)), '');
    expect(state()).toEqual({ state: 'incomplete', reason: `dist/${platformPath(platform)} is empty` });
    writeCompleteDist(dir, platform);
    truncateSync(join(dir, 'dist', mainBinary(platform)), 4096);
    expect(state()).toMatchObject({ state: 'incomplete', reason: expect.stringContaining('has only 4096 bytes') });
  });

  it('is incomplete with another version’s leftovers, or a dist without path.txt', () => {
    writeCompleteDist(dir, platform);
    writeFileSync(join(dir, 'dist', 'version'), 'v44.0.0');
    expect(state()).toEqual({ state: 'incomplete', reason: `dist/version is 44.0.0, not ${VERSION}` });
    writeCompleteDist(dir, platform);
    rmSync(join(dir, 'path.txt'));
    expect(state()).toMatchObject({ state: 'incomplete', reason: expect.stringContaining('without path.txt') });
  });
});

describe('ensureElectronDist', () => {
  let dir: string;
  const logged: string[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pbft-lab-electron-dist-'));
    logged.length = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const ensure = (runInstall: () => number | null) =>
    ensureElectronDist({
      electronDir: dir,
      version: VERSION,
      platform: 'linux',
      runInstall,
      log: (l) => logged.push(l),
    });

  it('does nothing when the binary is whole', () => {
    writeCompleteDist(dir, 'linux');
    expect(ensure(() => 1)).toEqual({ ok: true });
    expect(logged).toEqual([]);
  });

  it('removes an incomplete dist before downloading again, so the download extracts it afresh', () => {
    writeCompleteDist(dir, 'linux');
    rmSync(join(dir, 'dist', 'resources.pak'));
    const seenBeforeInstall: boolean[] = [];
    const result = ensure(() => {
      // install.js skips the download when dist/version, path.txt and the executable are there.
      seenBeforeInstall.push(existsSync(join(dir, 'path.txt')), existsSync(join(dir, 'dist')));
      writeCompleteDist(dir, 'linux');
      return 0;
    });
    expect(result).toEqual({ ok: true });
    expect(seenBeforeInstall).toEqual([false, false]);
    expect(logged[0]).toContain('is incomplete (dist/resources.pak is missing): downloading it again');
  });

  it('reports a download that fails, or that still leaves the binary incomplete', () => {
    expect(ensure(() => 1)).toEqual({ ok: false, reason: 'the download failed (exit code 1)' });
    expect(logged).toEqual(['Downloading the Electron binary (first start only)…']);
    const stillPartial = ensure(() => {
      writeCompleteDist(dir, 'linux');
      rmSync(join(dir, 'dist', 'icudtl.dat'));
      return 0;
    });
    expect(stillPartial).toEqual({ ok: false, reason: 'dist/icudtl.dat is missing' });
  });
});
