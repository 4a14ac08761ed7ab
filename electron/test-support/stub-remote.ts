/**
 * The electron stub's `remote` scenario: a test drives the stubbed main process as the window's page
 * (and its user) would, one JSON request per line on stdin, one `STUB-REPLY {json}` line per answer
 * on stdout. Requests (`id` is echoed back):
 *
 *   {op:'invoke', channel, args?, sender?: 'page'|'foreign'}  an IPC call from the page (or another origin)
 *   {op:'listen'}                                            the page's `lab:listen`
 *   {op:'events', since?}                                    the event batches the window got (counts, kinds, log lines)
 *   {op:'loop-delay', reset?}                                main's event-loop delay (ms: p50, p99, max), its loop's
 *                                                            utilization and CPU time since the last reset
 *   {op:'menu'} / {op:'menu-click', itemId}                  the application menu
 *   {op:'reloads'}                                           how often main reloaded the window
 *   {op:'quit'}                                              the user quits
 *
 * An invoke's reply carries `ms`: the handler's time inside main, from the call to its resolved
 * reply (for a LabApi call: main → the lab process → main, as a window's round trip is).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

type Handler = (event: unknown, ...args: unknown[]) => unknown;

interface MenuItem {
  id?: string;
  label?: string;
  role?: string;
  enabled?: boolean;
  click?: () => void;
  submenu?: MenuItem[];
}

export interface RemoteDriverDeps {
  readonly handlers: Map<string, Handler>;
  readonly emitListen: (senderUrl: string) => void;
  /** The URL main loaded into the window (the page), once it has. */
  readonly pageUrl: () => string | null;
  /** What the window's web contents were sent on `lab:events`, in order. */
  readonly sentBatches: () => readonly {
    events: number;
    bytes: number;
    kinds: readonly string[];
    logLines: readonly string[];
  }[];
  readonly menu: () => readonly MenuItem[];
  /** How often main reloaded the window. */
  readonly reloads: () => number;
  readonly quit: () => void;
}

type Request = { id: number; op: string; [key: string]: unknown };

const FOREIGN_URL = 'https://example.com/';

export function startRemoteDriver(deps: RemoteDriverDeps): void {
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  let since = { elu: performance.eventLoopUtilization(), cpu: process.cpuUsage(), at: performance.now() };
  const reply = (id: number, body: Record<string, unknown>): void => {
    process.stdout.write(`STUB-REPLY ${JSON.stringify({ id, ...body })}\n`);
  };

  const handle = async (request: Request): Promise<Record<string, unknown>> => {
    switch (request.op) {
      case 'invoke': {
        const channel = String(request['channel']);
        // The page exists once main has loaded it, after registering its handlers: a test may ask earlier.
        for (let waited = 0; (!deps.handlers.has(channel) || deps.pageUrl() === null) && waited < 15_000; waited += 50)
          await new Promise((resolve) => setTimeout(resolve, 50));
        const handler = deps.handlers.get(channel);
        if (!handler) return { error: `no handler for ${channel}` };
        const senderUrl = request['sender'] === 'foreign' ? FOREIGN_URL : deps.pageUrl();
        const args = Array.isArray(request['args']) ? (request['args'] as unknown[]) : [];
        const started = performance.now();
        try {
          const result = await handler({ senderFrame: senderUrl === null ? null : { url: senderUrl } }, ...args);
          return { result, ms: performance.now() - started };
        } catch (error) {
          return { threw: error instanceof Error ? error.name : String(error), ms: performance.now() - started };
        }
      }
      case 'listen': {
        const url = deps.pageUrl();
        if (url === null) return { error: 'no page loaded' };
        deps.emitListen(url);
        return {};
      }
      case 'events': {
        const since = typeof request['since'] === 'number' ? request['since'] : 0;
        const batches = deps.sentBatches().slice(since);
        return {
          batches: batches.length,
          total: since + batches.length,
          events: batches.reduce((sum, b) => sum + b.events, 0),
          bytes: batches.reduce((sum, b) => sum + b.bytes, 0),
          kinds: [...new Set(batches.flatMap((b) => b.kinds))],
          logLines: batches.flatMap((b) => b.logLines).slice(-200),
          largestBatch: Math.max(0, ...batches.map((b) => b.events)),
        };
      }
      case 'loop-delay': {
        const ms = (ns: number): number => ns / 1e6;
        const cpu = process.cpuUsage(since.cpu);
        const stats = {
          p50: ms(loopDelay.percentile(50)),
          p99: ms(loopDelay.percentile(99)),
          max: ms(loopDelay.max),
          mean: ms(loopDelay.mean),
          // The share of the time main's loop was busy, and its CPU time per second of wall time.
          utilization: performance.eventLoopUtilization(since.elu).utilization,
          cpuMsPerSecond: ((cpu.user + cpu.system) / 1000 / (performance.now() - since.at)) * 1000,
        };
        if (request['reset'] === true) {
          loopDelay.reset();
          since = { elu: performance.eventLoopUtilization(), cpu: process.cpuUsage(), at: performance.now() };
        }
        return stats;
      }
      case 'menu':
        return { menu: describeMenu(deps.menu()) };
      case 'reloads':
        return { reloads: deps.reloads() };
      case 'menu-click': {
        const item = findItem(deps.menu(), String(request['itemId']));
        if (!item?.click) return { error: `no menu item ${String(request['itemId'])}` };
        if (item.enabled === false) return { error: `menu item ${item.id} is disabled` };
        item.click();
        return {};
      }
      case 'quit':
        setImmediate(() => deps.quit());
        return {};
      default:
        return { error: `unknown op ${request.op}` };
    }
  };

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    let request: Request;
    try {
      request = JSON.parse(line) as Request;
    } catch {
      return;
    }
    handle(request).then(
      (body) => reply(request.id, body),
      (error: unknown) => reply(request.id, { error: String(error) }),
    );
  });
}

function describeMenu(items: readonly MenuItem[]): unknown[] {
  return items.map((item) => ({
    id: item.id,
    label: item.label ?? item.role,
    enabled: item.enabled ?? true,
    ...(item.submenu ? { submenu: describeMenu(item.submenu) } : {}),
  }));
}

function findItem(items: readonly MenuItem[], id: string): MenuItem | undefined {
  for (const item of items) {
    if (item.id === id) return item;
    const found = item.submenu ? findItem(item.submenu, id) : undefined;
    if (found) return found;
  }
  return undefined;
}
