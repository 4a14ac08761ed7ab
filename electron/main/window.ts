/**
 * Decisions about the main window, as plain functions of their inputs: no `electron` at runtime,
 * so they are tested under Node (window.test.ts). index.ts applies them.
 */
import { join } from 'node:path';
import type { BrowserWindowConstructorOptions } from 'electron';
import { APP_ENTRY_URL, APP_HOST, APP_SCHEME } from './app-protocol.ts';

/**
 * Where the renderer comes from: the dev server (electron-vite dev), or the built renderer
 * directory served on `app://` (app-protocol.ts), whose page is `url`.
 */
export type RendererEntry = { kind: 'url'; url: string } | { kind: 'app'; url: string; rendererDir: string };

export function createMainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    title: 'PBFT Lab',
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 560,
    // Shown on 'ready-to-show', so the window never flashes an empty frame.
    show: false,
    backgroundColor: '#ffffff',
    webPreferences: {
      preload: preloadPath,
      // The renderer is untrusted: it reaches the replica only through the preload bridge.
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** The built preload script, next to the built main script (`out/main` → `out/preload`). */
export function preloadScriptPath(mainDir: string): string {
  return join(mainDir, '..', 'preload', 'index.cjs');
}

/**
 * The dev server URL is honoured only when the app is not packaged: an installed app always loads
 * its own files, whatever the environment says.
 */
export function resolveRendererEntry(options: {
  isPackaged: boolean;
  devServerUrl: string | undefined;
  mainDir: string;
}): RendererEntry {
  if (!options.isPackaged && options.devServerUrl) {
    return { kind: 'url', url: options.devServerUrl };
  }
  return { kind: 'app', url: APP_ENTRY_URL, rendererDir: join(options.mainDir, '..', 'renderer') };
}

/**
 * Whether `url` is the app's own page: the window may navigate only there (hash and query may
 * change, for client-side routing), and IPC answers only frames showing it.
 *
 * On Windows and macOS the path is compared without regard to case: their file systems are
 * case-insensitive, so the app:// handler serves `/INDEX.html` as the page itself, and a frame showing
 * it must not see every IPC call refused as an untrusted sender.
 */
export function isAppUrl(url: string, entry: RendererEntry, platform: NodeJS.Platform = process.platform): boolean {
  try {
    const parsed = new URL(url);
    if (entry.kind === 'url') {
      return parsed.origin === new URL(entry.url).origin;
    }
    // Compared by parts: Node's URL gives a scheme it does not know the origin 'null'.
    return (
      parsed.protocol === `${APP_SCHEME}:` &&
      parsed.host === APP_HOST &&
      parsed.username === '' &&
      parsed.password === '' &&
      samePath(parsed.pathname, new URL(entry.url).pathname, platform)
    );
  } catch {
    // Unparsable: not ours.
    return false;
  }
}

/** Whether `origin` (`app://pbft-lab`, or the dev server's) is the app page's: for permission checks, which see an origin. */
export function isAppOrigin(origin: string, entry: RendererEntry): boolean {
  try {
    const parsed = new URL(origin);
    const page = new URL(entry.url);
    if (entry.kind === 'url') return parsed.origin === page.origin;
    return (
      parsed.protocol === page.protocol && parsed.host === page.host && parsed.username === '' && parsed.password === ''
    );
  } catch {
    return false;
  }
}

function samePath(a: string, b: string, platform: NodeJS.Platform): boolean {
  if (platform === 'win32' || platform === 'darwin') return a.toLowerCase() === b.toLowerCase();
  return a === b;
}
