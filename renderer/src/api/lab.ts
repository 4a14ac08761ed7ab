/**
 * Which transport the dashboard talks to its replica through (DESIGN.md "The LabApi": one contract,
 * two transports). In Electron the preload exposes the LabApi as `window.pbftLab`; served headless
 * by `pbft-lab replica --api-port P`, the page connects back over the WebSocket of the host that
 * served it, with the token from its own URL. The rest of the dashboard sees only a LabApi.
 */
import { connectLabApi, type ConnectLabApiOptions, type LabApiConnection } from '../../../core/host/api-client.ts';
import type { LabApi, LabEvent } from '../../../core/host/lab-api.ts';
import type { PbftLabBridge } from '../../../electron/shared/ipc.ts';

/** What the Electron preload exposes as `window.pbftLab` (the LabApi's calls, `version`, events in batches). */
export type { PbftLabBridge };
/** What it exposes as `window.pbftLabApp`: the start screen's calls. */
export type { PbftLabAppBridge } from '../../../electron/shared/app-setup.ts';

/**
 * A LabApi on the Electron bridge: its calls as they are, and one batch subscription across the
 * contextBridge for the whole page, fanned out here to the page's listeners event by event.
 */
export function labApiFromBridge(bridge: PbftLabBridge): LabApi {
  const listeners = new Set<(event: LabEvent) => void>();
  let subscribed = false;
  const deliver = (events: readonly LabEvent[]): void => {
    for (const event of events) {
      for (const listener of [...listeners]) {
        // One listener's error must not cost the others (or the rest of the batch) their events.
        try {
          listener(event);
        } catch (error) {
          console.error('PBFT Lab: a LabEvent listener threw:', error);
        }
      }
    }
  };
  return {
    snapshot: () => bridge.snapshot(),
    submit: (op) => bridge.submit(op),
    fault: (command) => bridge.fault(command),
    revokeClient: (clientId) => bridge.revokeClient(clientId),
    behaviours: () => bridge.behaviours(),
    setBehaviour: (id, options) => (options === undefined ? bridge.setBehaviour(id) : bridge.setBehaviour(id, options)),
    room: (query) => (query === undefined ? bridge.room() : bridge.room(query)),
    subscribe(listener) {
      // Wrapped, so the same function subscribed twice is two subscriptions, as on the WebSocket.
      const subscription = (event: LabEvent): void => listener(event);
      listeners.add(subscription);
      if (!subscribed) {
        subscribed = true;
        bridge.subscribeBatches(deliver);
      }
      return () => {
        listeners.delete(subscription);
      };
    },
  };
}

export type Transport = 'electron' | 'websocket';

export interface LabConnection {
  readonly api: LabApi;
  readonly transport: Transport;
  /** The application version (Electron only; the headless host does not report one). */
  readonly version: string | null;
  /** Close the WebSocket; nothing to do for the bridge. */
  close(): void;
}

/** What connecting needs from the page; the browser's by default, a fake one in tests. */
export interface LabEnvironment {
  readonly bridge: PbftLabBridge | undefined;
  readonly href: string;
  /** Replace the address bar's URL without navigating. */
  replaceUrl(url: string): void;
  readonly connect: (url: string, options: ConnectLabApiOptions) => Promise<LabApiConnection>;
}

export interface ConnectionHooks {
  /** The WebSocket closed after it had opened (the replica stopped, say). */
  readonly onClose?: (info: { readonly code: number; readonly reason: string }) => void;
  /** The host dropped events because this page read them too slowly. */
  readonly onEventsDropped?: (count: number) => void;
}

export function browserEnvironment(): LabEnvironment {
  return {
    bridge: window.pbftLab,
    href: window.location.href,
    replaceUrl: (url) => window.history.replaceState(window.history.state, '', url),
    connect: connectLabApi,
  };
}

export async function connectLab(env: LabEnvironment, hooks: ConnectionHooks = {}): Promise<LabConnection> {
  const bridge = env.bridge;
  if (bridge !== undefined) {
    // The bridge is there as soon as the page is; an old preload without `version` is no reason to fail.
    const version = await bridge.version().catch(() => null);
    return { api: labApiFromBridge(bridge), transport: 'electron', version, close: () => {} };
  }
  const connection = await env.connect(env.href, {
    onClose: hooks.onClose,
    onEventsDropped: hooks.onEventsDropped,
  });
  // The host has set its token cookie by now (it answered the page with ?token=); the token need not
  // stay in the address bar, history or a screenshot. Only after connecting: a failed page keeps it to reload.
  const clean = withoutToken(env.href);
  if (clean !== null) env.replaceUrl(clean);
  return { api: connection, transport: 'websocket', version: null, close: () => connection.close() };
}

/** The URL without its `token` parameter, or null when it has none. */
export function withoutToken(href: string): string | null {
  const url = new URL(href);
  if (!url.searchParams.has('token')) return null;
  url.searchParams.delete('token');
  return url.href;
}
