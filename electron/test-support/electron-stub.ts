/**
 * A stand-in for the `electron` module, so the BUILT main process (out/main/index.js) can run under
 * plain Node: these machines cannot download the Electron binary. It implements just what
 * electron/main/index.ts touches, records what main does, and drives one scenario, chosen by
 * PBFT_LAB_STUB_SCENARIO:
 *
 * - `run`: through main's real hardening (navigation, window, permission and app:// handlers), IPC
 *   handlers and quit path, by itself;
 * - `remote`: whatever a test asks, one JSON line per request on stdin (`{id, op, …}`), one
 *   `STUB-REPLY {json}` line per answer on stdout: IPC calls as the window's page makes them, the
 *   events the window received, main's event-loop delay, the menu (stub-remote.ts);
 * - `second-instance`, `bad-switch`: the lock held elsewhere; a mistyped switch.
 *
 * `utilityProcess.fork` runs the module in a Node child process with a `process.parentPort`
 * (utility-process-bootstrap.ts), as Electron runs it in a utility process. At exit the stub prints
 * one line, `STUB-REPORT {json}`, for the tests to read.
 *
 * Loaded in place of `electron` by register-electron-stub.ts (a module resolve hook).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { serialize } from 'node:v8';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRemoteDriver } from './stub-remote.ts';

type Scenario = 'second-instance' | 'run' | 'bad-switch' | 'remote';
const scenario = (process.env['PBFT_LAB_STUB_SCENARIO'] ?? 'second-instance') as Scenario;

export interface StubReport {
  scenario: Scenario;
  calls: string[];
  errorBoxes: { title: string; content: string }[];
  windowOptions: unknown;
  replies: Record<string, unknown>;
  eventBatches: number;
  eventKinds: string[];
  beforeQuitPrevented: boolean[];
  handlersAfterQuit: number;
  exitCode: number | null;
  /** What main registered with `protocol.registerSchemesAsPrivileged`. */
  privilegedSchemes: unknown;
  /** The URL main loaded into the window. */
  loadedUrl: string | null;
  /** How main's hardening answered what the driver tried (see `probeHardening`). */
  hardening: Record<string, unknown>;
  /** What main set as userData (before the lock). */
  userData: string | null;
  /** Utility processes forked: their module paths and exit codes. */
  utilityProcesses: { modulePath: string; exitCode: number | null }[];
  /** Labels of the application menu's top-level items, as last set. */
  menu: string[];
  /** How often main reloaded a window (the replica stopped running). */
  reloads: number;
}

const report: StubReport = {
  scenario,
  calls: [],
  errorBoxes: [],
  windowOptions: null,
  replies: {},
  eventBatches: 0,
  eventKinds: [],
  beforeQuitPrevented: [],
  handlersAfterQuit: -1,
  exitCode: null,
  privilegedSchemes: null,
  loadedUrl: null,
  hardening: {},
  userData: null,
  utilityProcesses: [],
  menu: [],
  reloads: 0,
};

let reported = false;
function exitWithReport(code: number): never {
  report.exitCode = code;
  if (!reported) {
    reported = true;
    process.stdout.write(`STUB-REPORT ${JSON.stringify(report)}\n`);
  }
  process.exit(code);
}
process.on('exit', (code) => {
  if (!reported) {
    reported = true;
    report.exitCode = code;
    process.stdout.write(`STUB-REPORT ${JSON.stringify(report)}\n`);
  }
});

type Handler = (event: unknown, ...args: unknown[]) => unknown;

class StubIpcMain extends EventEmitter {
  readonly handlers = new Map<string, Handler>();
  handle(channel: string, handler: Handler): void {
    report.calls.push(`ipcMain.handle ${channel}`);
    this.handlers.set(channel, handler);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
}
export const ipcMain = new StubIpcMain();

type WindowOpenHandler = (details: { url: string }) => { action: string };

export interface SentSummary {
  readonly bytes: number;
  readonly events: number;
  readonly kinds: readonly string[];
  readonly logLines: readonly string[];
}

class StubWebContents extends EventEmitter {
  readonly id = 1;
  /**
   * What main sent the page, as a summary per message: Electron serializes each message and keeps
   * none of it, so neither does the stub (a flood's hundreds of thousands of events would otherwise
   * pile up here and cost main garbage collections the real one does not pay).
   */
  sent: [string, SentSummary][] = [];
  windowOpenHandler: WindowOpenHandler | null = null;
  isDestroyed(): boolean {
    return false;
  }
  send(channel: string, payload: unknown): void {
    // The copy Electron's IPC makes of every message, so main pays for it here too.
    const bytes = serialize(payload).length;
    const events = Array.isArray(payload) ? (payload as { kind?: string; line?: string }[]) : [];
    this.sent.push([
      channel,
      {
        bytes,
        events: events.length,
        kinds: [...new Set(events.map((e) => e.kind ?? '?'))],
        logLines: events.flatMap((e) => (e.kind === 'log' ? [e.line ?? ''] : [])).slice(-50),
      },
    ]);
  }
  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler;
  }
  reload(): void {
    report.reloads++;
  }
}

/** The windows main made, newest last. */
export const windows: BrowserWindow[] = [];

export class BrowserWindow extends EventEmitter {
  readonly webContents = new StubWebContents();

  constructor(options: unknown) {
    super();
    report.calls.push('new BrowserWindow');
    report.windowOptions = options;
    // As Electron does, for the contents of every new window.
    app.emit('web-contents-created', {}, this.webContents);
    windows.push(this);
    setImmediate(() => {
      this.emit('ready-to-show');
      if (scenario === 'run') void drive(this);
    });
  }
  show(): void {
    report.calls.push('window.show');
    this.emit('show');
  }
  isMinimized(): boolean {
    return false;
  }
  isVisible(): boolean {
    return true;
  }
  isDestroyed(): boolean {
    return false;
  }
  restore(): void {}
  focus(): void {}
  async loadFile(path: string): Promise<void> {
    report.calls.push(`window.loadFile ${path}`);
  }
  async loadURL(url: string): Promise<void> {
    report.calls.push('window.loadURL');
    report.loadedUrl = url;
  }
}

class StubApp extends EventEmitter {
  readonly isPackaged = false;
  requestSingleInstanceLock(): boolean {
    report.calls.push('app.requestSingleInstanceLock');
    return scenario !== 'second-instance';
  }
  async whenReady(): Promise<void> {
    report.calls.push('app.whenReady');
  }
  private readonly paths = new Map<string, string>([
    ['appData', process.env['PBFT_LAB_STUB_APP_DATA'] ?? join(tmpdir(), 'pbft-lab-stub-app-data')],
  ]);
  getPath(name: string): string {
    const path = this.paths.get(name) ?? (name === 'userData' ? join(this.getPath('appData'), 'pbft-lab') : undefined);
    if (path === undefined) throw new Error(`the stub has no path ${name}`);
    return path;
  }
  setPath(name: string, path: string): void {
    report.calls.push(`app.setPath ${name}`);
    if (name === 'userData') report.userData = path;
    this.paths.set(name, path);
  }
  getVersion(): string {
    return '0.0.0-stub';
  }
  quit(): void {
    report.calls.push('app.quit');
    let prevented = false;
    this.emit('before-quit', {
      preventDefault: () => {
        prevented = true;
      },
    });
    report.beforeQuitPrevented.push(prevented);
    if (prevented) return;
    this.emit('will-quit', { preventDefault: () => {} });
    report.handlersAfterQuit = ipcMain.handlers.size + ipcMain.listenerCount('lab:listen');
    exitWithReport(0);
  }
  exit(code = 0): void {
    report.calls.push(`app.exit ${code}`);
    exitWithReport(code);
  }
}
export const app = new StubApp();

export const dialog = {
  showErrorBox(title: string, content: string): void {
    report.errorBoxes.push({ title, content });
  },
  /** Picks PBFT_LAB_STUB_PICK_DIR, or cancels without it. */
  async showOpenDialog(..._args: unknown[]): Promise<{ canceled: boolean; filePaths: string[] }> {
    const dir = process.env['PBFT_LAB_STUB_PICK_DIR'];
    return dir ? { canceled: false, filePaths: [dir] } : { canceled: true, filePaths: [] };
  },
};

type MenuItem = {
  id?: string;
  label?: string;
  role?: string;
  enabled?: boolean;
  click?: () => void;
  submenu?: MenuItem[];
};

/** The application menu main set last: its template. */
export let applicationMenu: MenuItem[] = [];

export const Menu = {
  buildFromTemplate(template: MenuItem[]): { template: MenuItem[] } {
    return { template };
  },
  setApplicationMenu(menu: { template: MenuItem[] } | null): void {
    applicationMenu = menu?.template ?? [];
    report.menu = applicationMenu.map((item) => item.label ?? item.role ?? '?');
  },
};

export const shell = {
  async openPath(path: string): Promise<string> {
    report.calls.push(`shell.openPath ${path}`);
    return '';
  },
};

const bootstrap = fileURLToPath(new URL('./utility-process-bootstrap.ts', import.meta.url));

/** Electron's UtilityProcess, as a Node child process with a parent port (utility-process-bootstrap.ts). */
class StubUtilityProcess extends EventEmitter {
  private readonly child: ChildProcess;
  pid: number | undefined;

  constructor(modulePath: string, args: string[]) {
    super();
    const record: { modulePath: string; exitCode: number | null } = { modulePath, exitCode: null };
    report.utilityProcesses.push(record);
    this.child = fork(bootstrap, [modulePath, ...args], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [],
    });
    this.pid = this.child.pid;
    this.child.on('spawn', () => this.emit('spawn'));
    this.child.on('message', (message) => this.emit('message', message));
    this.child.on('exit', (code, signal) => {
      record.exitCode = code ?? (signal ? 128 : 0);
      this.pid = undefined;
      this.emit('exit', record.exitCode);
    });
  }

  postMessage(message: unknown): void {
    if (this.child.connected) this.child.send(message as never);
  }

  kill(): boolean {
    return this.child.kill('SIGTERM');
  }
}

export const utilityProcess = {
  fork(modulePath: string, args: string[] = []): StubUtilityProcess {
    report.calls.push('utilityProcess.fork');
    return new StubUtilityProcess(modulePath, args);
  },
};

type PermissionRequestHandler = (
  contents: unknown,
  permission: string,
  callback: (granted: boolean) => void,
  details: unknown,
) => void;
type PermissionCheckHandler = (contents: unknown, permission: string, origin: string, details: unknown) => boolean;
type DevicePermissionHandler = (details: unknown) => boolean;
type ProtocolHandler = (request: Request) => Response | Promise<Response>;

const sessionHandlers: {
  request?: PermissionRequestHandler;
  check?: PermissionCheckHandler;
  device?: DevicePermissionHandler;
} = {};

export const session = {
  defaultSession: {
    webRequest: { onHeadersReceived: () => report.calls.push('session.onHeadersReceived') },
    setPermissionRequestHandler: (handler: PermissionRequestHandler) => {
      report.calls.push('session.setPermissionRequestHandler');
      sessionHandlers.request = handler;
    },
    setPermissionCheckHandler: (handler: PermissionCheckHandler) => {
      report.calls.push('session.setPermissionCheckHandler');
      sessionHandlers.check = handler;
    },
    setDevicePermissionHandler: (handler: DevicePermissionHandler) => {
      report.calls.push('session.setDevicePermissionHandler');
      sessionHandlers.device = handler;
    },
  },
};

const protocolHandlers = new Map<string, ProtocolHandler>();

export const protocol = {
  registerSchemesAsPrivileged(schemes: unknown): void {
    report.calls.push('protocol.registerSchemesAsPrivileged');
    report.privilegedSchemes = schemes;
  },
  handle(scheme: string, handler: ProtocolHandler): void {
    report.calls.push(`protocol.handle ${scheme}`);
    protocolHandlers.set(scheme, handler);
  },
};

/** Permissions a page could ask for; the app's page needs one (clipboard-sanitized-write, the start screen's Copy). */
const PROBED_PERMISSIONS = [
  'media',
  'notifications',
  'geolocation',
  'clipboard-read',
  'clipboard-sanitized-write',
  'fullscreen',
  'hid',
  'openExternal',
];

/** Off-app URLs a page could try to reach, and the app's own page. */
const PROBED_URLS = {
  web: 'https://example.com/',
  file: 'file:///etc/passwd',
  otherAppHost: 'app://evil.example/index.html',
};

/**
 * Tries what a compromised page (or a redirecting server) could, through the handlers main
 * installed, and records the answers: navigation and redirects away, a new window, a webview,
 * permissions, and files on app:// inside and outside the renderer directory.
 */
async function probeHardening(window: BrowserWindow, pageUrl: string): Promise<void> {
  const hardening = report.hardening;
  const contents = window.webContents;
  const prevented = (event: string, details: Record<string, unknown>): boolean => {
    let wasPrevented = false;
    contents.emit(event, {
      ...details,
      preventDefault: () => {
        wasPrevented = true;
      },
    });
    return wasPrevented;
  };
  for (const event of ['will-navigate', 'will-redirect', 'will-frame-navigate'] as const) {
    const isMainFrame = event !== 'will-frame-navigate';
    const answers: Record<string, boolean> = {};
    for (const [name, url] of Object.entries({ ...PROBED_URLS, app: `${pageUrl}#/log` })) {
      answers[name] = prevented(event, { url, isMainFrame });
    }
    hardening[event] = answers;
  }
  hardening['windowOpen'] = contents.windowOpenHandler?.({ url: PROBED_URLS.web }) ?? 'no handler';
  hardening['webviewPrevented'] = prevented('will-attach-webview', {});

  const appOrigin = new URL(pageUrl).protocol + '//' + new URL(pageUrl).host;
  for (const [who, origin, url] of [
    ['', appOrigin, pageUrl],
    ['Foreign', 'https://example.com', 'https://example.com/page'],
  ] as const) {
    const checks: Record<string, boolean | string> = {};
    const requests: Record<string, boolean | string> = {};
    for (const permission of PROBED_PERMISSIONS) {
      checks[permission] = sessionHandlers.check?.(null, permission, origin, {}) ?? 'no handler';
      requests[permission] = await new Promise<boolean | string>((resolve) => {
        if (!sessionHandlers.request) return resolve('no handler');
        sessionHandlers.request(null, permission, resolve, { requestingUrl: url });
      });
    }
    hardening[`permissionCheck${who}`] = checks;
    hardening[`permissionRequest${who}`] = requests;
  }
  hardening['devicePermission'] = sessionHandlers.device?.({ deviceType: 'hid', origin: appOrigin }) ?? 'no handler';

  const handler = protocolHandlers.get('app');
  const fetchApp = async (url: string): Promise<Record<string, unknown>> => {
    if (!handler) return { error: 'no app: handler' };
    const response = await handler(new Request(url));
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      csp: response.headers.get('content-security-policy'),
      body: response.status === 200 ? (await response.text()).slice(0, 200) : null,
    };
  };
  hardening['appIndex'] = await fetchApp(pageUrl);
  hardening['appScript'] = await fetchApp(new URL('assets/app.js', pageUrl).href);
  hardening['appTraversal'] = await fetchApp(new URL('..%2F..%2Fpackage.json', pageUrl).href);
  hardening['appMissing'] = await fetchApp(new URL('nothing-here.js', pageUrl).href);
}

/** Calls the app's IPC like its preload would, from the page main loaded, then quits. */
async function drive(window: BrowserWindow): Promise<void> {
  try {
    await new Promise((resolve) => setImmediate(resolve));
    const pageUrl = report.loadedUrl;
    if (pageUrl === null) throw new Error('main loaded no URL into the window');
    await probeHardening(window, pageUrl);
    const invoke = async (channel: string, senderUrl: string, ...args: unknown[]): Promise<unknown> => {
      const handler = ipcMain.handlers.get(channel);
      if (!handler) return `no handler for ${channel}`;
      try {
        return await handler({ senderFrame: { url: senderUrl } }, ...args);
      } catch (error) {
        return { threw: error instanceof Error ? error.name : String(error) };
      }
    };
    report.replies['version'] = await invoke('lab:version', pageUrl);
    // As the page does: wait until the replica runs (the switches chose the cluster), then use it.
    const deadline = Date.now() + 20_000;
    type StateReply = { ok: boolean; value?: { phase: string; error: string | null } };
    let state: StateReply | null = null;
    while (Date.now() < deadline) {
      state = (await invoke('app:state', pageUrl)) as StateReply;
      const phase = state.value?.phase;
      if (phase === 'running' || phase === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    report.replies['state'] = state;
    const snapshot = (await invoke('lab:snapshot', pageUrl)) as { ok: boolean; value?: { self: unknown } };
    report.replies['snapshot.self'] = snapshot.ok ? snapshot.value?.self : snapshot;
    report.replies['behaviours.ok'] = ((await invoke('lab:behaviours', pageUrl)) as { ok: boolean }).ok;
    report.replies['badSubmit'] = await invoke('lab:submit', pageUrl, { kind: 'format', path: '/' });
    report.replies['untrusted'] = await invoke('lab:snapshot', 'https://example.com/');

    ipcMain.emit('lab:listen', { senderFrame: { url: pageUrl }, sender: { id: window.webContents.id } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const batches = window.webContents.sent.filter(([channel]) => channel === 'lab:events');
    report.eventBatches = batches.length;
    report.eventKinds = [...new Set(batches.flatMap(([, summary]) => summary.kinds))];

    app.quit();
  } catch (error) {
    report.calls.push(`driver failed: ${error instanceof Error ? error.stack : String(error)}`);
    exitWithReport(70);
  }
}

if (scenario === 'remote') {
  startRemoteDriver({
    handlers: ipcMain.handlers,
    emitListen: (senderUrl) => {
      const window = windows.at(-1);
      if (window)
        ipcMain.emit('lab:listen', { senderFrame: { url: senderUrl }, sender: { id: window.webContents.id } });
    },
    pageUrl: () => report.loadedUrl,
    sentBatches: () =>
      (windows.at(-1)?.webContents.sent ?? [])
        .filter(([channel]) => channel === 'lab:events')
        .map(([, batch]) => batch),
    menu: () => applicationMenu,
    reloads: () => report.reloads,
    quit: () => app.quit(),
  });
  // A test that ends its stubbed app with a signal gets the same clean quit as the menu's.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => app.quit());
}
