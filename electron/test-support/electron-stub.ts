/**
 * A stand-in for the `electron` module, so the BUILT main process (out/main/index.js) can run under
 * plain Node: these machines cannot download the Electron binary. It implements just what
 * electron/main/index.ts touches, records what main does, and drives one scenario, chosen by
 * PBFT_LAB_STUB_SCENARIO, through main's real IPC handlers and quit path. At exit it prints one
 * line, `STUB-REPORT {json}`, for build-output.test.ts to read.
 *
 * Loaded in place of `electron` by register-electron-stub.ts (a module resolve hook).
 */
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';

type Scenario = 'second-instance' | 'run' | 'start-failure';
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

class StubWebContents extends EventEmitter {
  readonly id = 1;
  sent: [string, unknown][] = [];
  isDestroyed(): boolean {
    return false;
  }
  send(channel: string, payload: unknown): void {
    this.sent.push([channel, payload]);
  }
  setWindowOpenHandler(): void {}
}

export class BrowserWindow extends EventEmitter {
  readonly webContents = new StubWebContents();
  loadedFile: string | null = null;

  constructor(options: unknown) {
    super();
    report.calls.push('new BrowserWindow');
    report.windowOptions = options;
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
    this.loadedFile = path;
  }
  async loadURL(): Promise<void> {
    throw new Error('the stub run has no dev server');
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
  getPath(name: string): string {
    if (name !== 'userData') throw new Error(`the stub has no path ${name}`);
    const dir = process.env['PBFT_LAB_STUB_USER_DATA'];
    if (!dir) throw new Error('PBFT_LAB_STUB_USER_DATA is not set');
    return dir;
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
};

export const session = {
  defaultSession: {
    webRequest: { onHeadersReceived: () => report.calls.push('session.onHeadersReceived') },
    setPermissionRequestHandler: () => report.calls.push('session.setPermissionRequestHandler'),
  },
};

/** Calls the app's IPC like its preload would, from the page main loaded, then quits. */
async function drive(window: BrowserWindow): Promise<void> {
  try {
    await new Promise((resolve) => setImmediate(resolve));
    if (window.loadedFile === null) throw new Error('main loaded no file into the window');
    const pageUrl = pathToFileURL(window.loadedFile).href;
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
    const snapshot = (await invoke('lab:snapshot', pageUrl)) as { ok: boolean; value?: { self: unknown } };
    report.replies['snapshot.self'] = snapshot.ok ? snapshot.value?.self : snapshot;
    report.replies['behaviours.ok'] = ((await invoke('lab:behaviours', pageUrl)) as { ok: boolean }).ok;
    report.replies['badSubmit'] = await invoke('lab:submit', pageUrl, { kind: 'format', path: '/' });
    report.replies['untrusted'] = await invoke('lab:snapshot', 'https://example.com/');

    ipcMain.emit('lab:listen', { senderFrame: { url: pageUrl }, sender: { id: window.webContents.id } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const batches = window.webContents.sent.filter(([channel]) => channel === 'lab:events');
    report.eventBatches = batches.length;
    report.eventKinds = [
      ...new Set(batches.flatMap(([, events]) => (events as { kind: string }[]).map((e) => e.kind))),
    ];

    app.quit();
  } catch (error) {
    report.calls.push(`driver failed: ${error instanceof Error ? error.stack : String(error)}`);
    exitWithReport(70);
  }
}
