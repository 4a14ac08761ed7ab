/**
 * Which transport the dashboard talks to its replica through (DESIGN.md "The LabApi": one contract,
 * two transports). In Electron the preload exposes the LabApi as `window.pbftLab`; served headless
 * by `pbft-lab replica --api-port P`, the page connects back over the WebSocket of the host that
 * served it, with the token from its own URL. The rest of the dashboard sees only a LabApi.
 */
import { connectLabApi, type ConnectLabApiOptions, type LabApiConnection } from '../../../core/host/api-client.ts';
import type { LabApi } from '../../../core/host/lab-api.ts';
import type { PbftLabBridge } from '../../../electron/shared/ipc.ts';

/** What the Electron preload exposes as `window.pbftLab` (the LabApi plus `version`), typed where the preload is. */
export type { PbftLabBridge };

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
    return { api: bridge, transport: 'electron', version, close: () => {} };
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
