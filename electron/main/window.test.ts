import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createMainWindowOptions, isAppUrl, preloadScriptPath, resolveRendererEntry } from './window.ts';
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

  it('loads the built index.html when there is no dev server', () => {
    expect(resolveRendererEntry({ isPackaged: false, devServerUrl: undefined, mainDir })).toEqual({
      kind: 'file',
      path: join('/opt', 'pbft-lab', 'out', 'renderer', 'index.html'),
    });
  });

  it('ignores a dev server URL in a packaged app', () => {
    expect(resolveRendererEntry({ isPackaged: true, devServerUrl: 'http://evil.example/', mainDir }).kind).toBe('file');
  });
});

describe('isAppUrl', () => {
  const fileEntry: RendererEntry = { kind: 'file', path: join(mainDir, '..', 'renderer', 'index.html') };
  const pageUrl = pathToFileURL(fileEntry.path).href;
  const devEntry: RendererEntry = { kind: 'url', url: 'http://localhost:5173/' };

  it('accepts the built page, with a route in the hash', () => {
    expect(isAppUrl(pageUrl, fileEntry)).toBe(true);
    expect(isAppUrl(`${pageUrl}#/log`, fileEntry)).toBe(true);
  });

  it('rejects other files, remote file hosts and web pages', () => {
    expect(isAppUrl(pathToFileURL('/etc/passwd').href, fileEntry)).toBe(false);
    expect(isAppUrl('file://evil.example/opt/pbft-lab/out/renderer/index.html', fileEntry)).toBe(false);
    expect(isAppUrl('https://example.com/', fileEntry)).toBe(false);
    expect(isAppUrl('not a url', fileEntry)).toBe(false);
  });

  it('accepts only the dev server origin during development', () => {
    expect(isAppUrl('http://localhost:5173/src/App.vue', devEntry)).toBe(true);
    expect(isAppUrl('http://localhost:5174/', devEntry)).toBe(false);
    expect(isAppUrl('https://localhost:5173/', devEntry)).toBe(false);
  });
});
