/**
 * The Electron main process: a thin host for one ReplicaHost. Decisions live in plain functions
 * (lab-host.ts, lab-events.ts, ipc.ts, window.ts, csp.ts) that are tested under Node; this file
 * only wires them to Electron.
 */
import { app, BrowserWindow, dialog, ipcMain, session } from 'electron';
import { ReplicaHost } from '../../core/host/replica-host.ts';
import { labEventsChannel } from '../shared/ipc.ts';
import { contentSecurityPolicy } from './csp.ts';
import { labHandlersFor, registerLabEventControl, registerLabHandlers } from './ipc.ts';
import { LabEventForwarder } from './lab-events.ts';
import { createQuitGuard, startLabHost } from './lab-host.ts';
import type { LabHost } from './lab-host.ts';
import { createMainWindowOptions, isAppUrl, preloadScriptPath, resolveRendererEntry } from './window.ts';
import type { RendererEntry } from './window.ts';

const mainDir = import.meta.dirname;

const rendererEntry: RendererEntry = resolveRendererEntry({
  isPackaged: app.isPackaged,
  devServerUrl: process.env['ELECTRON_RENDERER_URL'],
  mainDir,
});

const isTrustedSender = (senderUrl: string): boolean => isAppUrl(senderUrl, rendererEntry);

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 23)} ${line}`);
}

let mainWindow: BrowserWindow | null = null;
/** Event forwarders by `webContents.id`: one per window, listening once its page has asked. */
const forwarders = new Map<number, LabEventForwarder>();

function createMainWindow(host: LabHost): BrowserWindow {
  const window = new BrowserWindow(createMainWindowOptions(preloadScriptPath(mainDir)));
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    mainWindow = null;
  });

  // The window shows the dashboard and nothing else: no navigation away, no new windows.
  const contents = window.webContents;
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url, rendererEntry)) event.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));

  const contentsId = contents.id;
  const forwarder = new LabEventForwarder({
    subscribe: (listener) => host.subscribe(listener),
    send: (events) => {
      if (!contents.isDestroyed()) contents.send(labEventsChannel, events);
    },
    log,
  });
  forwarders.set(contentsId, forwarder);
  const updateHidden = (): void => {
    if (!window.isDestroyed()) forwarder.setHidden(window.isMinimized() || !window.isVisible());
  };
  window.on('minimize', updateHidden);
  window.on('restore', updateHidden);
  window.on('hide', updateHidden);
  window.on('show', updateHidden);
  // A crashed page gets no more events; a reloaded page asks again (listen() re-subscribes).
  contents.on('render-process-gone', () => forwarder.unlisten());
  contents.on('destroyed', () => {
    forwarder.unlisten();
    forwarders.delete(contentsId);
  });

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

  const host = await startLabHost(
    { argv: process.argv, env: process.env, userDataDir: app.getPath('userData') },
    {
      createHost: (options) => new ReplicaHost(options),
      showErrorBox: (title, content) => dialog.showErrorBox(title, content),
      log,
    },
  );
  if (host === null) {
    // startLabHost has shown why and released what the host had opened.
    app.exit(1);
    return;
  }
  // Quitting (the menu, closing the last window, …) first stops the replica.
  app.on('before-quit', createQuitGuard({ stopHost: () => host.stop(), quit: () => app.quit(), log }));

  const removeHandlers = registerLabHandlers(
    ipcMain,
    labHandlersFor(host, () => app.getVersion()),
    isTrustedSender,
  );
  const removeEventControl = registerLabEventControl(
    ipcMain,
    isTrustedSender,
    (contentsId) => forwarders.get(contentsId)?.listen(),
    log,
  );

  mainWindow = createMainWindow(host);
  app.on('activate', () => {
    // macOS: clicking the dock icon with no window open reopens it.
    if (mainWindow === null) mainWindow = createMainWindow(host);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => {
    // The host has stopped by now (before-quit waited for it).
    for (const forwarder of forwarders.values()) forwarder.unlisten();
    removeEventControl();
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
