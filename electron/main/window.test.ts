import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMainWindowOptions, isAppOrigin, isAppUrl, preloadScriptPath, resolveRendererEntry } from './window.ts';
import type { RendererEntry } from './window.ts';

const mainDir = join('/opt', 'pbft-lab', 'out', 'main');

describe('createMainWindowOptions', () => {
  const options = createMainWindowOptions('/opt/pbft-lab/out/preload/index.cjs');

  it('isolates the renderer: context isolation and sandbox on, Node integration off', () => {
    expect(options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
    });
  });

  it('keeps web security on and webviews off', () => {
    expect(options.webPreferences).toMatchObject({
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('loads the given preload script', () => {
    expect(options.webPreferences?.preload).toBe('/opt/pbft-lab/out/preload/index.cjs');
  });

  it('waits for the first paint before showing the window', () => {
    expect(options.show).toBe(false);
  });
});

describe('preloadScriptPath', () => {
  it('points at the CommonJS preload that electron-vite emits beside main', () => {
    expect(preloadScriptPath(mainDir)).toBe(join('/opt', 'pbft-lab', 'out', 'preload', 'index.cjs'));
  });
});

describe('resolveRendererEntry', () => {
  const devServerUrl = 'http://localhost:5173/';

  it('uses the dev server during development', () => {
    expect(resolveRendererEntry({ isPackaged: false, devServerUrl, mainDir })).toEqual({
      kind: 'url',
      url: devServerUrl,
    });
  });

  it('loads the built renderer from app:// when there is no dev server', () => {
    expect(resolveRendererEntry({ isPackaged: false, devServerUrl: undefined, mainDir })).toEqual({
      kind: 'app',
      url: 'app://pbft-lab/index.html',
      rendererDir: join('/opt', 'pbft-lab', 'out', 'renderer'),
    });
  });

  it('ignores a dev server URL in a packaged app', () => {
    expect(resolveRendererEntry({ isPackaged: true, devServerUrl: 'http://evil.example/', mainDir }).kind).toBe('app');
  });
});

describe('isAppUrl', () => {
  const appEntry = resolveRendererEntry({ isPackaged: true, devServerUrl: undefined, mainDir });
  const pageUrl = 'app://pbft-lab/index.html';
  const devEntry: RendererEntry = { kind: 'url', url: 'http://localhost:5173/' };

  it('accepts the built page on app://, with a route in the hash or a query', () => {
    expect(isAppUrl(pageUrl, appEntry)).toBe(true);
    expect(isAppUrl(`${pageUrl}#/log`, appEntry)).toBe(true);
    expect(isAppUrl(`${pageUrl}?view=2`, appEntry)).toBe(true);
    // Dot segments are resolved before the comparison.
    expect(isAppUrl('app://pbft-lab/assets/../index.html', appEntry)).toBe(true);
  });

  it('rejects the same page on file://, other app:// hosts and paths, and credentials', () => {
    expect(isAppUrl(pathToFileURL(join(mainDir, '..', 'renderer', 'index.html')).href, appEntry)).toBe(false);
    expect(isAppUrl('app://evil.example/index.html', appEntry)).toBe(false);
    expect(isAppUrl('app://pbft-lab:8080/index.html', appEntry)).toBe(false);
    expect(isAppUrl('app://pbft-lab/assets/index.js', appEntry)).toBe(false);
    expect(isAppUrl('app://user:secret@pbft-lab/index.html', appEntry)).toBe(false);
  });

  it('rejects files, web pages and non-URLs', () => {
    expect(isAppUrl(pathToFileURL('/etc/passwd').href, appEntry)).toBe(false);
    expect(isAppUrl('https://example.com/', appEntry)).toBe(false);
    expect(isAppUrl('https://pbft-lab/index.html', appEntry)).toBe(false);
    expect(isAppUrl('not a url', appEntry)).toBe(false);
  });

  it('accepts only the dev server origin during development', () => {
    expect(isAppUrl('http://localhost:5173/src/App.vue', devEntry)).toBe(true);
    expect(isAppUrl('http://localhost:5174/', devEntry)).toBe(false);
    expect(isAppUrl('https://localhost:5173/', devEntry)).toBe(false);
  });

  it('compares the page’s path without case on Windows and macOS (case-insensitive file systems), exactly elsewhere', () => {
    for (const platform of ['win32', 'darwin'] as const) {
      expect(isAppUrl('app://pbft-lab/INDEX.html', appEntry, platform), platform).toBe(true);
      expect(isAppUrl('app://pbft-lab/Index.HTML#/log', appEntry, platform), platform).toBe(true);
      expect(isAppUrl('app://pbft-lab/assets/index.js', appEntry, platform), platform).toBe(false);
      expect(isAppUrl('app://evil.example/index.html', appEntry, platform), platform).toBe(false);
    }
    expect(isAppUrl('app://pbft-lab/INDEX.html', appEntry, 'linux')).toBe(false);
    // The host is case-insensitive everywhere (URL parsing lowers it).
    expect(isAppUrl('app://PBFT-LAB/index.html', appEntry, 'linux')).toBe(false);
  });
});

describe('isAppOrigin', () => {
  const appEntry = resolveRendererEntry({ isPackaged: true, devServerUrl: undefined, mainDir });
  const devEntry: RendererEntry = { kind: 'url', url: 'http://localhost:5173/' };

  it('accepts the app page’s origin (as a permission check sees it) and its URLs, nothing else', () => {
    expect(isAppOrigin('app://pbft-lab', appEntry)).toBe(true);
    expect(isAppOrigin('app://pbft-lab/index.html', appEntry)).toBe(true);
    expect(isAppOrigin('app://evil.example', appEntry)).toBe(false);
    expect(isAppOrigin('https://pbft-lab', appEntry)).toBe(false);
    expect(isAppOrigin('file:///', appEntry)).toBe(false);
    expect(isAppOrigin('null', appEntry)).toBe(false);
    expect(isAppOrigin('http://localhost:5173', devEntry)).toBe(true);
    expect(isAppOrigin('http://localhost:5174', devEntry)).toBe(false);
  });
});
