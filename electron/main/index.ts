/**
 * The Electron main process: windows, menus and IPC, nothing heavier. This machine's replica runs
 * in the lab process, a utility process (electron/lab-process) that main forks and talks to over its
 * MessagePort; the window's LabApi calls are forwarded there and its events come back in batches.
 * Decisions live in plain functions and classes tested under Node (lab-host.ts, cluster-setup.ts,
 * lab-process-client.ts, lab-events.ts, ipc.ts, window.ts, app-protocol.ts, web-contents-guard.ts,
 * session-policy.ts, csp.ts, app-menu.ts, user-data.ts); this file only wires them to Electron.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell, utilityProcess } from 'electron';
import { ClusterKey } from '../../core/net/cluster-key.ts';
import { labEventsChannel } from '../shared/ipc.ts';
import type { SetupState } from '../shared/app-setup.ts';
import type { LabChild } from './lab-process-client.ts';
import { LabProcessClient } from './lab-process-client.ts';
import { appMenuTemplate } from './app-menu.ts';
import { AppSettingsStore } from './app-settings.ts';
import { APP_SCHEME, appScheme, createAppProtocolHandler } from './app-protocol.ts';
import { ClusterSetup } from './cluster-setup.ts';
import { labHandlersFor, registerAppHandlers, registerLabEventControl, registerLabHandlers } from './ipc.ts';
import { LabEventForwarder } from './lab-events.ts';
import { createQuitGuard, describeStartFailure, LabSettingsError, planLaunch } from './lab-host.ts';
import type { LaunchPlan } from './lab-host.ts';
import { applySessionPolicy } from './session-policy.ts';
import { secondInstanceMessage, userDataDirFor } from './user-data.ts';
import { guardWebContents } from './web-contents-guard.ts';
import { createMainWindowOptions, isAppOrigin, isAppUrl, preloadScriptPath, resolveRendererEntry } from './window.ts';
import type { RendererEntry } from './window.ts';

const mainDir = import.meta.dirname;
/** The lab process's entry, built beside this file (electron.vite.config.ts). */
const labProcessPath = join(mainDir, 'lab-process.js');

const rendererEntry: RendererEntry = resolveRendererEntry({
  isPackaged: app.isPackaged,
  devServerUrl: process.env['ELECTRON_RENDERER_URL'],
  mainDir,
});

const isTrustedSender = (senderUrl: string): boolean => isAppUrl(senderUrl, rendererEntry);

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 23)} ${line}`);
}

// Before the lock and before `ready`: the lock, the settings and Chromium's profile are per userData.
const userDataDir = userDataDirFor({
  argv: process.argv,
  isPackaged: app.isPackaged,
  appDataDir: app.getPath('appData'),
});
if (userDataDir !== null) app.setPath('userData', userDataDir);

let mainWindow: BrowserWindow | null = null;
/** Event forwarders by `webContents.id`: one per window, listening once its page has asked. */
const forwarders = new Map<number, LabEventForwarder>();

function createMainWindow(lab: LabProcessClient): BrowserWindow {
  const window = new BrowserWindow(createMainWindowOptions(preloadScriptPath(mainDir)));
  window.once('ready-to-show', () => window.show());
  window.on('closed', () => {
    mainWindow = null;
  });

  // No navigation away, no new windows, no webviews: guardWebContents, on 'web-contents-created'.
  const contents = window.webContents;
  const contentsId = contents.id;
  const forwarder = new LabEventForwarder({
    subscribe: (listener) => lab.subscribe(listener),
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
  applySessionPolicy(
    session.defaultSession,
    rendererEntry.kind === 'url' ? 'development' : 'production',
    (urlOrOrigin) => isAppOrigin(urlOrOrigin, rendererEntry),
  );
}

function focusMainWindow(): void {
  if (mainWindow === null) return;
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.focus();
}

/** A folder for the replica's data, from the system's dialog. */
async function chooseDataDir(defaultPath: string): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: 'Data directory for this machine’s replica',
    buttonLabel: 'Use this folder',
    defaultPath,
    properties: ['openDirectory', 'createDirectory', 'promptToCreate'],
  };
  const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

/** Missing or empty: a new cluster may take it. */
async function isFreshDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

function setMenu(setup: ClusterSetup): void {
  const state = setup.state();
  const template = appMenuTemplate(
    {
      changeCluster: () => void setup.change().catch((error: unknown) => log(`change cluster: ${String(error)}`)),
      showDataDir: () => {
        const dir = setup.state().cluster?.dataDir;
        if (dir) void shell.openPath(dir);
      },
    },
    { running: state.phase === 'running' || state.phase === 'failed', platform: process.platform },
  );
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
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

  const settingsStore = new AppSettingsStore(app.getPath('userData'), log);
  const remembered = await settingsStore.load();
  let plan: LaunchPlan;
  try {
    plan = planLaunch({ argv: process.argv, env: process.env, userDataDir: app.getPath('userData') }, remembered);
  } catch (error) {
    // A mistyped switch is a script's mistake: say so and exit, as a command would.
    if (!(error instanceof LabSettingsError)) throw error;
    const { title, content } = describeStartFailure(error, null);
    log(`${title}: ${error.message}`);
    dialog.showErrorBox(title, content);
    app.exit(1);
    return;
  }

  const lab = new LabProcessClient({
    fork: () =>
      utilityProcess.fork(labProcessPath, [], {
        serviceName: 'PBFT Lab replica',
        // The replica's log lines go where main's go (a terminal, the smoke test's log).
        stdio: 'inherit',
      }) as unknown as LabChild,
    log,
  });
  const setup = new ClusterSetup({
    lab,
    settings: settingsStore,
    userDataDir: app.getPath('userData'),
    newJoinCode: () => ClusterKey.generate().joinCode,
    readJoinCode: (code) => {
      const key = ClusterKey.fromJoinCode(code);
      return { joinCode: key.joinCode, fingerprint: key.fingerprint };
    },
    isFreshDir,
    log,
    onChange: (state: SetupState, before: SetupState) => {
      if (state.phase !== before.phase) setMenu(setup);
      // The replica stopped (a change from the menu, a crash): the window starts over at the start screen.
      if (before.phase === 'running' && state.phase !== 'running') {
        for (const forwarder of forwarders.values()) forwarder.unlisten();
        mainWindow?.webContents.reload();
      }
    },
  });

  // Quitting (the menu, closing the last window, …) first stops the replica and its process.
  app.on('before-quit', createQuitGuard({ stopHost: () => lab.close(), quit: () => app.quit(), log }));

  const removeLabHandlers = registerLabHandlers(
    ipcMain,
    labHandlersFor(lab, () => app.getVersion()),
    isTrustedSender,
  );
  const removeAppHandlers = registerAppHandlers(
    ipcMain,
    {
      'app:state': () => setup.state(),
      'app:createCluster': (request) => setup.create(request),
      'app:joinCluster': (request) => setup.join(request),
      'app:rejoin': () => setup.rejoin(),
      'app:changeCluster': () => setup.change(),
      'app:chooseDataDir': () => chooseDataDir(setup.state().dataDirRoot),
    },
    isTrustedSender,
  );
  const removeEventControl = registerLabEventControl(
    ipcMain,
    isTrustedSender,
    (contentsId) => forwarders.get(contentsId)?.listen(),
    log,
  );

  setMenu(setup);
  mainWindow = createMainWindow(lab);
  app.on('activate', () => {
    // macOS: clicking the dock icon with no window open reopens it.
    if (mainWindow === null) mainWindow = createMainWindow(lab);
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('will-quit', () => {
    // The replica has stopped by now (before-quit waited for it).
    for (const forwarder of forwarders.values()) forwarder.unlisten();
    removeEventControl();
    removeAppHandlers();
    removeLabHandlers();
  });

  await setup.launch(plan, remembered);
}

if (app.requestSingleInstanceLock()) {
  start().catch((error: unknown) => {
    console.error('PBFT Lab failed to start:', error);
    app.exit(1);
  });
} else {
  console.log(secondInstanceMessage(app.getPath('userData')));
  app.quit();
}
