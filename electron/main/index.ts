/**
 * The Electron main process: a thin host for one ReplicaHost. Decisions live in plain functions
 * (lab-host.ts, lab-events.ts, ipc.ts, window.ts, app-protocol.ts, web-contents-guard.ts,
 * session-policy.ts, csp.ts) that are tested under Node; this file only wires them to Electron.
 */
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron';
import { ReplicaHost } from '../../core/host/replica-host.ts';
import { labEventsChannel } from '../shared/ipc.ts';
import { APP_SCHEME, appScheme, createAppProtocolHandler } from './app-protocol.ts';
import { labHandlersFor, registerLabEventControl, registerLabHandlers } from './ipc.ts';
import { LabEventForwarder } from './lab-events.ts';
import { createQuitGuard, startLabHost } from './lab-host.ts';
import type { LabHost } from './lab-host.ts';
import { applySessionPolicy } from './session-policy.ts';
import { guardWebContents } from './web-contents-guard.ts';
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

  // No navigation away, no new windows, no webviews: guardWebContents, on 'web-contents-created'.
  const contents = window.webContents;
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

  // The dev server's page, or the built one on app:// (never file://).
  void window.loadURL(rendererEntry.url);
  return window;
}

/** After `ready`: the app:// files, the session's CSP header and permissions. */
function hardenSession(): void {
  if (rendererEntry.kind === 'app') {
    protocol.handle(APP_SCHEME, createAppProtocolHandler(rendererEntry.rendererDir));
  }
  applySessionPolicy(session.defaultSession, rendererEntry.kind === 'url' ? 'development' : 'production');
}

function focusMainWindow(): void {
  if (mainWindow === null) return;
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.focus();
}

async function start(): Promise<void> {
  // Only possible before `ready`: app:// gets an origin of its own, like https.
  protocol.registerSchemesAsPrivileged([appScheme]);
  // Every web contents shows the dashboard and nothing else, whoever creates it.
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, isTrustedSender, log));
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
