/**
 * The Electron main process: a thin host. Decisions live in plain functions (window.ts, csp.ts,
 * ipc.ts) that are tested under Node; this file only wires them to Electron.
 */
import { app, BrowserWindow, ipcMain, session } from 'electron';
import { contentSecurityPolicy } from './csp.ts';
import { registerLabHandlers } from './ipc.ts';
import { createMainWindowOptions, isAppUrl, preloadScriptPath, resolveRendererEntry } from './window.ts';
import type { RendererEntry } from './window.ts';

const mainDir = import.meta.dirname;

const rendererEntry: RendererEntry = resolveRendererEntry({
  isPackaged: app.isPackaged,
  devServerUrl: process.env['ELECTRON_RENDERER_URL'],
  mainDir,
});

let mainWindow: BrowserWindow | null = null;

function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow(createMainWindowOptions(preloadScriptPath(mainDir)));
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    mainWindow = null;
  });

  // The window shows the dashboard and nothing else: no navigation away, no new windows.
  window.webContents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url, rendererEntry)) event.preventDefault();
  });
  window.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));

  if (rendererEntry.kind === 'url') {
    void window.loadURL(rendererEntry.url);
  } else {
    void window.loadFile(rendererEntry.path);
  }
  return window;
}

function hardenSession(): void {
  const policy = contentSecurityPolicy(rendererEntry.kind === 'url' ? 'development' : 'production');
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [policy] } });
  });
  // The dashboard needs no camera, notifications, geolocation, …
  session.defaultSession.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
}

function focusMainWindow(): void {
  if (mainWindow === null) return;
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.focus();
}

async function start(): Promise<void> {
  // A second launch hands over to this instance and exits: one replica per app instance.
  app.on('second-instance', focusMainWindow);

  await app.whenReady();
  hardenSession();
  const removeHandlers = registerLabHandlers(ipcMain, { 'lab:version': () => app.getVersion() }, (senderUrl) =>
    isAppUrl(senderUrl, rendererEntry),
  );

  mainWindow = createMainWindow();
  app.on('activate', () => {
    // macOS: clicking the dock icon with no window open reopens it.
    if (mainWindow === null) mainWindow = createMainWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => {
    // The replica host will be stopped here too, once main hosts one.
    removeHandlers();
  });
}

if (app.requestSingleInstanceLock()) {
  start().catch((error: unknown) => {
    console.error('PBFT Lab failed to start:', error);
    app.exit(1);
  });
} else {
  app.quit();
}
