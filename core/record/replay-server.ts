/**
 * The scrubbing view's server (`pbft-lab replay RUN --serve`): the built dashboard, opened in its
 * replay mode, and three read-only endpoints fed by the replay (scrub.ts). It is the dashboard's API
 * server (core/host/api-server.ts) — the same token, Host checks and headers — with routes of its own
 * and no live replica behind it.
 */
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../host/api-server.ts';
import type { LabApi } from '../host/lab-api.ts';
import { sha256Hasher } from '../crypto/node.ts';
import type { RunFile, Verdict } from './run-file.ts';
import { ScrubModel } from './scrub.ts';

const DASHBOARD_DIR = fileURLToPath(new URL('../../out/renderer', import.meta.url));

export class NoLiveReplicaError extends Error {
  override readonly name = 'NoLiveReplicaError';
}

/** The LabApi of a replay: nothing live to look at or command. */
const NO_REPLICA: LabApi = {
  snapshot: () => Promise.reject(new NoLiveReplicaError('this is a replay: no live replica')),
  subscribe: () => () => {},
  submit: () => Promise.reject(new NoLiveReplicaError('this is a replay: no live replica')),
  fault: () => Promise.reject(new NoLiveReplicaError('this is a replay: no live replica')),
  revokeClient: () => Promise.reject(new NoLiveReplicaError('this is a replay: no live replica')),
  behaviours: () => Promise.resolve([]),
  setBehaviour: () => Promise.reject(new NoLiveReplicaError('this is a replay: no live replica')),
  room: () => Promise.reject(new NoLiveReplicaError('this is a replay: no live room')),
};

export interface ReplayServerOptions {
  readonly port: number;
  readonly host?: string;
  readonly name: string;
  readonly verdicts?: readonly Verdict[];
  /** @default the built dashboard (out/renderer) */
  readonly staticDir?: string;
}

export async function serveReplay(run: RunFile, options: ReplayServerOptions) {
  const model = new ScrubModel(run, sha256Hasher, { name: options.name, verdicts: options.verdicts });
  const number = (query: URLSearchParams, name: string, fallback: number): number => {
    const value = Number(query.get(name) ?? fallback);
    return Number.isFinite(value) ? Math.floor(value) : fallback;
  };
  const routes = new Map<string, (query: URLSearchParams) => Promise<unknown>>([
    ['/api/replay/summary', async () => model.summary()],
    ['/api/replay/events', async (q) => model.eventsBetween(number(q, 'from', 0), number(q, 'to', 0))],
    ['/api/replay/state', async (q) => model.stateAt(number(q, 'index', 0))],
  ]);
  const server = await startApiServer({
    api: NO_REPLICA,
    host: options.host ?? '127.0.0.1',
    port: options.port,
    staticDir: options.staticDir ?? DASHBOARD_DIR,
    routes,
  });
  const url = new URL(server.url);
  url.searchParams.set('replay', '1');
  return { url: url.href, close: () => server.close(), model };
}
