import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { RoomModel } from './room-model.ts';
import type { RoomQuery } from './room-types.ts';
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LabApiConnectionError, connectLabApi } from './api-client.ts';
import type { LabApiConnection } from './api-client.ts';
import { tokenCookieName } from './api-server-auth.ts';
import { EVENT_BACKLOG_LIMIT_BYTES } from './api-server-ws.ts';
import { MAX_REQUEST_BYTES, lanHosts, startApiServer } from './api-server.ts';
import type { ApiServer, ApiServerOptions } from './api-server.ts';
import { FaultBoundError } from './behaviour-ledger.ts';
import { EXCEED_F_MESSAGE } from './lab-api.ts';
import type {
  FaultCommand,
  LabApi,
  LabEvent,
  LabFaults,
  LabOp,
  LabSnapshot,
  RoomExerciseCommand,
  SetBehaviourOptions,
  SubmitOutcome,
} from './lab-api.ts';

// ---------------------------------------------------------------------------------------------
// A fake replica host: canned snapshot, recorded commands, events emitted by the test.

const SNAPSHOT: LabSnapshot = {
  self: {
    peerId: '12D3KooWfake',
    cluster: 'lab',
    size: 4,
    f: 1,
    role: 'replica',
    replicaId: 2,
    addresses: ['/ip4/10.0.0.2/tcp/4001'],
  },
  roster: ['a', 'b', '12D3KooWfake', 'd'],
  view: { view: 0, primary: 0, status: 'normal' },
  log: [{ seq: 1, view: 0, digest: 'ab12', batchSize: 3, prepares: 2, commits: 3, phase: 'executed' }],
  checkpoints: null,
  behaviour: null,
  faultySoFar: null,
  peers: [],
  metrics: {
    uptimeMs: 1234,
    executedRequests: 3,
    executedBatches: 1,
    viewChanges: 0,
    stateTransfers: 0,
    ignoredMessages: 0,
    framesIn: 10,
    framesOut: 12,
    bytesIn: 1000,
    bytesOut: 1200,
    framesDropped: 0,
  },
  faults: { paused: false, disconnectedFrom: [], delayMs: 0 },
};

class ReplicaBusyError extends Error {
  override readonly name = 'ReplicaBusyError';
}

interface FakeLabApi {
  readonly api: LabApi;
  readonly calls: { readonly call: string; readonly args: readonly unknown[] }[];
  emit(event: LabEvent): void;
  listenerCount(): number;
}

function fakeLabApi(): FakeLabApi {
  const calls: { call: string; args: unknown[] }[] = [];
  const listeners = new Set<(event: LabEvent) => void>();
  let faults: LabFaults = SNAPSHOT.faults;
  const api: LabApi = {
    async snapshot() {
      calls.push({ call: 'snapshot', args: [] });
      return SNAPSHOT;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async submit(op: LabOp): Promise<SubmitOutcome> {
      calls.push({ call: 'submit', args: [op] });
      if (op.kind === 'write' && op.path === '/busy') throw new ReplicaBusyError('primary is changing');
      return {
        timestamp: 7,
        result: { kind: 'deleted', path: op.kind === 'list' ? op.dir : op.path },
        matching: 2,
        latencyMs: 5,
      };
    },
    async fault(command: FaultCommand) {
      calls.push({ call: 'fault', args: [command] });
      if (command.kind === 'pause') faults = { ...faults, paused: true };
      return faults;
    },
    async revokeClient(clientId: string) {
      calls.push({ call: 'revokeClient', args: [clientId] });
    },
    async behaviours() {
      calls.push({ call: 'behaviours', args: [] });
      return [{ id: 'silent', name: 'Silent', description: 'says nothing', observe: 'a view change' }];
    },
    /** 'equivocate' stands for a switch beyond f: refused without exceedF, as the host refuses it. */
    async setBehaviour(id: string | null, options?: SetBehaviourOptions) {
      calls.push({ call: 'setBehaviour', args: options === undefined ? [id] : [id, options] });
      if (id === 'equivocate' && !options?.exceedF) throw new FaultBoundError('replica 0 has been Byzantine');
      return id;
    },
    async room(query?: RoomQuery) {
      calls.push({ call: 'room', args: query === undefined ? [] : [query] });
      return new RoomModel().state(query);
    },
  };
  return {
    api,
    calls,
    emit: (event) => listeners.forEach((listener) => listener(event)),
    listenerCount: () => listeners.size,
  };
}

const logEvent = (line: string): LabEvent => ({ kind: 'log', atMs: 1, line });

// ---------------------------------------------------------------------------------------------
// Raw HTTP and WebSocket helpers (node:http so that paths and Host headers go out unmodified).

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

function rawHttp(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers ?? {} },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });
}

function postJson(port: number, path: string, body: string, headers: Record<string, string> = {}) {
  return rawHttp(port, path, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** Try a WebSocket upgrade; resolves 'open' (then closes it) or the refusing HTTP status. */
function tryUpgrade(url: string, options: WebSocket.ClientOptions = {}): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.on('open', () => {
      socket.close();
      resolve('open');
    });
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      socket.terminate();
    });
    socket.on('error', reject);
  });
}

function openSocket(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collects a raw socket's parsed messages; `next()` waits for the next one. */
function messages(socket: WebSocket): { next(): Promise<Record<string, unknown>> } {
  const queue: Record<string, unknown>[] = [];
  const waiting: ((message: Record<string, unknown>) => void)[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  return {
    next: () => {
      const queued = queue.shift();
      return queued ? Promise.resolve(queued) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

function closeCode(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

// ---------------------------------------------------------------------------------------------

let fake: FakeLabApi;
let server: ApiServer;
let tempDir: string;
let staticDir: string;
let wsUrl: string;
let logLines: string[];
const clients: { close(): void }[] = [];

async function start(options: Partial<ApiServerOptions> = {}): Promise<ApiServer> {
  server = await startApiServer({ api: fake.api, port: 0, staticDir, log: (line) => logLines.push(line), ...options });
  wsUrl = `ws://127.0.0.1:${server.port}/api/ws`;
  return server;
}

async function connect(url = server.url, options = {}): Promise<LabApiConnection> {
  const client = await connectLabApi(url, options);
  clients.push(client);
  return client;
}

beforeEach(async () => {
  fake = fakeLabApi();
  logLines = [];
  tempDir = await mkdtemp(join(tmpdir(), 'pbft-lab-api-'));
  staticDir = join(tempDir, 'dashboard');
  await mkdir(join(staticDir, 'assets'), { recursive: true });
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>dashboard</title>');
  await writeFile(join(staticDir, 'assets', 'app.js'), 'console.log("dashboard")');
  await writeFile(join(tempDir, 'secret.txt'), 'TOP SECRET');
  await start();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
  await rm(tempDir, { recursive: true, force: true });
});

describe('startApiServer: the token guards everything', () => {
  it('prints a loopback URL carrying a fresh 32-byte base64url token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('answers 401 without a token, on HTTP and on upgrade, and the host sees no call', async () => {
    for (const path of ['/', '/index.html', '/api/snapshot', '/assets/app.js', '/api/ws']) {
      const response = await rawHttp(server.port, path);
      expect(response.status, path).toBe(401);
      expect(response.headers['set-cookie'], path).toBeUndefined();
      expect(response.body).not.toContain('dashboard');
    }
    expect((await postJson(server.port, '/api/submit', '{"kind":"read","path":"/a"}')).status).toBe(401);
    expect(await tryUpgrade(wsUrl)).toBe(401);
    expect(fake.calls).toEqual([]);
    expect(fake.listenerCount()).toBe(0);
  });

  it('answers 401 to a wrong token in the query, a bearer header or a cookie', async () => {
    const wrong = `${server.token.slice(0, -1)}x`;
    expect((await rawHttp(server.port, `/api/snapshot?token=${wrong}`)).status).toBe(401);
    expect((await rawHttp(server.port, `/api/snapshot?token=`)).status).toBe(401);
    expect(
      (await rawHttp(server.port, '/api/snapshot', { headers: { Authorization: `Bearer ${wrong}` } })).status,
    ).toBe(401);
    const cookie = `${tokenCookieName(server.port)}=${wrong}`;
    expect((await rawHttp(server.port, '/api/snapshot', { headers: { Cookie: cookie } })).status).toBe(401);
    expect(await tryUpgrade(`${wsUrl}?token=${wrong}`)).toBe(401);
    await expect(connectLabApi(`http://127.0.0.1:${server.port}/?token=${wrong}`)).rejects.toBeInstanceOf(
      LabApiConnectionError,
    );
    expect(fake.calls).toEqual([]);
  });

  it('accepts the query token and sets an HttpOnly SameSite=Strict cookie that works afterwards', async () => {
    const first = await rawHttp(server.port, `/?token=${server.token}`);
    expect(first.status).toBe(200);
    expect(first.body).toContain('<title>dashboard</title>');
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toContain(`${tokenCookieName(server.port)}=${server.token}`);
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; SameSite=Strict/);

    const cookie = setCookie.split(';')[0] ?? '';
    const asset = await rawHttp(server.port, '/assets/app.js', { headers: { Cookie: `theme=dark; ${cookie}` } });
    expect(asset.status).toBe(200);
    expect(asset.headers['set-cookie']).toBeUndefined();
    const snapshot = await rawHttp(server.port, '/api/snapshot', { headers: { Cookie: cookie } });
    expect(JSON.parse(snapshot.body)).toEqual(SNAPSHOT);
    expect(await tryUpgrade(wsUrl, { headers: { Cookie: cookie } })).toBe('open');
  });

  it('accepts a bearer token on HTTP and on upgrade', async () => {
    const headers = { Authorization: `Bearer ${server.token}` };
    const response = await rawHttp(server.port, '/api/snapshot', { headers });
    expect(response.status).toBe(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(await tryUpgrade(wsUrl, { headers })).toBe('open');
  });

  it('sends security headers, and no-store on API responses', async () => {
    const page = await rawHttp(server.port, `/?token=${server.token}`);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const api = await rawHttp(server.port, `/api/snapshot?token=${server.token}`);
    expect(api.headers['cache-control']).toBe('no-store');
    expect(api.headers['x-content-type-options']).toBe('nosniff');
  });

  it('refuses a foreign Host header (DNS rebinding), on HTTP and on upgrade', async () => {
    const auth = { Authorization: `Bearer ${server.token}` };
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`]) {
      const response = await rawHttp(server.port, '/api/snapshot', { headers: { ...auth, Host: host } });
      expect(response.status, host).toBe(403);
    }
    expect(await tryUpgrade(wsUrl, { headers: { ...auth, Host: 'evil.example' } })).toBe(403);
    expect(fake.calls).toEqual([]);
    for (const host of [`localhost:${server.port}`, `[::1]:${server.port}`, `LOCALHOST:${server.port}`]) {
      expect((await rawHttp(server.port, '/api/snapshot', { headers: { ...auth, Host: host } })).status, host).toBe(
        200,
      );
    }
  });

  it('refuses a cross-origin WebSocket upgrade and a cross-origin POST, even with the token', async () => {
    const tokenUrl = `${wsUrl}?token=${server.token}`;
    expect(await tryUpgrade(tokenUrl, { origin: 'http://evil.example' })).toBe(403);
    expect(await tryUpgrade(tokenUrl, { origin: `http://localhost:${server.port + 1}` })).toBe(403);
    const post = await postJson(server.port, `/api/fault?token=${server.token}`, '{"kind":"pause"}', {
      Origin: 'http://evil.example',
    });
    expect(post.status).toBe(403);
    expect(fake.calls).toEqual([]);
    expect(await tryUpgrade(tokenUrl, { origin: `http://127.0.0.1:${server.port}` })).toBe('open');
  });

  it('lets allowedOrigins open the WebSocket', async () => {
    await server.close();
    await start({ allowedOrigins: ['http://localhost:5173'] });
    expect(await tryUpgrade(`${wsUrl}?token=${server.token}`, { origin: 'http://localhost:5173' })).toBe('open');
  });

  it('uses a given token', async () => {
    await server.close();
    await start({ token: 'correct horse battery staple' });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=correct%20horse%20battery%20staple`);
    expect((await rawHttp(server.port, `/api/snapshot?token=correct%20horse%20battery%20staple`)).status).toBe(200);
    await expect((await connect()).snapshot()).resolves.toEqual(SNAPSHOT);
  });
});

describe('startApiServer: HTTP endpoints', () => {
  const auth = () => ({ Authorization: `Bearer ${server.token}` });

  it('GET /api/snapshot returns the snapshot', async () => {
    const response = await rawHttp(server.port, '/api/snapshot', { headers: auth() });
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(response.body)).toEqual(SNAPSHOT);
  });

  it('POST /api/submit, /api/fault and /api/revoke reach the host with the parsed bodies', async () => {
    const submit = await postJson(
      server.port,
      '/api/submit',
      '{"kind":"write","path":"/a","text":"hi","extra":1}',
      auth(),
    );
    expect(submit.status).toBe(200);
    expect(JSON.parse(submit.body)).toMatchObject({ matching: 2, result: { kind: 'deleted', path: '/a' } });
    const fault = await postJson(server.port, '/api/fault', '{"kind":"pause"}', auth());
    expect(JSON.parse(fault.body)).toEqual({ paused: true, disconnectedFrom: [], delayMs: 0 });
    const revoke = await postJson(server.port, '/api/revoke', '{"clientId":"client-9"}', auth());
    expect(revoke.status).toBe(204);
    expect(revoke.body).toBe('');
    expect(fake.calls).toEqual([
      // Unknown fields are dropped: the host gets exactly the LabOp shape.
      { call: 'submit', args: [{ kind: 'write', path: '/a', text: 'hi' }] },
      { call: 'fault', args: [{ kind: 'pause' }] },
      { call: 'revokeClient', args: ['client-9'] },
    ]);
  });

  it('answers 400 with a reason to malformed or invalid bodies, and the host sees nothing', async () => {
    const cases: [string, string, RegExp][] = [
      ['/api/submit', '{"kind":"write",', /malformed JSON/],
      ['/api/submit', '[]', /expected a JSON object/],
      ['/api/submit', '{"kind":"format","path":"/"}', /op\.kind/],
      ['/api/submit', '{"kind":"read","path":42}', /op\.path/],
      ['/api/submit', '{"kind":"write","path":"/a","text":"x","base64":"eA=="}', /not both/],
      ['/api/fault', '{"kind":"delay","ms":-5}', /fault\.ms/],
      ['/api/fault', '{"kind":"disconnect"}', /fault\.peerId/],
      ['/api/revoke', '{"clientId":""}', /clientId/],
    ];
    for (const [path, body, reason] of cases) {
      const response = await postJson(server.port, path, body, auth());
      expect(response.status, body).toBe(400);
      const error = (JSON.parse(response.body) as { error: { name: string; message: string } }).error;
      expect(error.name).toBe('BadRequestError');
      expect(error.message, body).toMatch(reason);
    }
    expect(fake.calls).toEqual([]);
  });

  it('refuses wrong methods, non-JSON content types, unknown endpoints and bodies over 1 MiB', async () => {
    expect((await rawHttp(server.port, '/api/submit', { headers: auth() })).status).toBe(405);
    expect((await rawHttp(server.port, '/api/snapshot', { method: 'POST', headers: auth() })).status).toBe(405);
    const form = await rawHttp(server.port, '/api/fault', {
      method: 'POST',
      body: '{"kind":"pause"}',
      headers: { ...auth(), 'Content-Type': 'text/plain' },
    });
    expect(form.status).toBe(415);
    expect((await rawHttp(server.port, '/api/nothing', { headers: auth() })).status).toBe(404);
    expect((await rawHttp(server.port, '/api/ws', { headers: auth() })).status).toBe(426);
    expect(await tryUpgrade(`ws://127.0.0.1:${server.port}/elsewhere`, { headers: auth() })).toBe(404);
    const huge = JSON.stringify({ kind: 'write', path: '/big', text: 'x'.repeat(MAX_REQUEST_BYTES) });
    expect((await postJson(server.port, '/api/submit', huge, auth())).status).toBe(413);
    expect(fake.calls).toEqual([]);
  });

  it('reports an error thrown by the host as 500 with its name and message', async () => {
    const response = await postJson(server.port, '/api/submit', '{"kind":"write","path":"/busy"}', auth());
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ error: { name: 'ReplicaBusyError', message: 'primary is changing' } });
  });

  it("GET /api/records lists the replica's recorded sessions and serves each, behind the token", async () => {
    const file = { name: 'record-2024-01-01T00-00-00-000Z-r2.jsonl', bytes: 12, modifiedMs: 1 };
    await server.close();
    await start({
      records: { list: async () => [file], read: async (name) => (name === file.name ? '{"k":"start"}\n' : null) },
    });
    expect((await rawHttp(server.port, '/api/records')).status).toBe(401);
    expect(JSON.parse((await rawHttp(server.port, '/api/records', { headers: auth() })).body)).toEqual([file]);
    const one = await rawHttp(server.port, `/api/records/${file.name}`, { headers: auth() });
    expect(one.headers['content-type']).toBe('application/x-ndjson');
    expect(one.body).toBe('{"k":"start"}\n');
    expect((await rawHttp(server.port, '/api/records/record-nope-r0.jsonl', { headers: auth() })).status).toBe(404);
  });
});

describe('startApiServer: static files', () => {
  const auth = () => ({ Authorization: `Bearer ${server.token}` });

  it('serves index.html for / and assets with their content types', async () => {
    const index = await rawHttp(server.port, '/', { headers: auth() });
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.body).toBe('<!doctype html><title>dashboard</title>');
    const script = await rawHttp(server.port, '/assets/app.js', { headers: auth() });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toBe('console.log("dashboard")');
    expect((await rawHttp(server.port, '/assets/missing.js', { headers: auth() })).status).toBe(404);
    expect((await rawHttp(server.port, '/assets', { headers: auth() })).status).toBe(404);
  });

  it('refuses every way out of the directory', async () => {
    await symlink(join(tempDir, 'secret.txt'), join(staticDir, 'link.txt'));
    const attempts = [
      '/../secret.txt',
      '/../package.json',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/link.txt',
      '/.hidden',
      '/%00',
      '/%E0%A4%A',
    ];
    for (const path of attempts) {
      const response = await rawHttp(server.port, path, { headers: auth() });
      expect(response.status, path).toBe(403);
      expect(response.body, path).not.toContain('SECRET');
    }
  });

  it('shows a placeholder page when the dashboard is not built', async () => {
    for (const missing of [null, join(tempDir, 'not-built')]) {
      await server.close();
      await start({ staticDir: missing });
      const page = await rawHttp(server.port, '/', { headers: auth() });
      expect(page.status).toBe(200);
      expect(page.body).toContain('dashboard is not built yet');
      expect((await rawHttp(server.port, '/assets/app.js', { headers: auth() })).status).toBe(404);
    }
  });
});

describe('startApiServer: WebSocket through connectLabApi', () => {
  it('round-trips every call', async () => {
    const client = await connect();
    expect(await client.snapshot()).toEqual(SNAPSHOT);
    const outcome = await client.submit({ kind: 'list', dir: '/docs' });
    expect(outcome).toEqual({ timestamp: 7, result: { kind: 'deleted', path: '/docs' }, matching: 2, latencyMs: 5 });
    expect(await client.fault({ kind: 'pause' })).toMatchObject({ paused: true });
    expect(await client.revokeClient('client-3')).toBeUndefined();
    expect(fake.calls.map((call) => call.call)).toEqual(['snapshot', 'submit', 'fault', 'revokeClient']);
  });

  it('passes a read-only read, stat or list (§5.1) through, and refuses a readOnly that is not a boolean', async () => {
    const client = await connect();
    await client.submit({ kind: 'list', dir: '/', readOnly: true });
    await client.submit({ kind: 'stat', path: '/a', readOnly: false });
    expect(fake.calls.map((call) => call.args[0])).toEqual([
      { kind: 'list', dir: '/', readOnly: true },
      { kind: 'stat', path: '/a' },
    ]);
    await expect(client.submit({ kind: 'read', path: '/a', readOnly: 'yes' } as unknown as LabOp)).rejects.toThrow(
      /op.readOnly: expected true or false/,
    );
  });

  it('runs concurrent calls and matches replies by id', async () => {
    const client = await connect();
    const outcomes = await Promise.all(['/1', '/2', '/3'].map((path) => client.submit({ kind: 'read', path })));
    expect(outcomes.map((outcome) => outcome.result)).toEqual([
      { kind: 'deleted', path: '/1' },
      { kind: 'deleted', path: '/2' },
      { kind: 'deleted', path: '/3' },
    ]);
  });

  it("rejects with the server's error name and message", async () => {
    const client = await connect();
    await expect(client.submit({ kind: 'write', path: '/busy' })).rejects.toMatchObject({
      name: 'ReplicaBusyError',
      message: 'primary is changing',
    });
    await expect(client.fault({ kind: 'delay', ms: Number.NaN })).rejects.toMatchObject({ name: 'BadRequestError' });
    await expect(client.submit({ kind: 'shred' } as unknown as LabOp)).rejects.toMatchObject({
      name: 'BadRequestError',
      message: expect.stringMatching(/op\.kind/) as unknown,
    });
    expect(fake.calls).toHaveLength(1);
  });

  it("carries the room's roomExercise call to a room, validated; a host that is no room refuses it by name", async () => {
    const client = await connect();
    await expect(client.roomExercise({ kind: 'status' })).rejects.toMatchObject({ name: 'NoRoomExercisesError' });
    await server.close();
    const commands: unknown[] = [];
    const room: LabApi = {
      ...fake.api,
      async roomExercise(command) {
        commands.push(command);
        return { commands: true, needs: null, members: [], running: command.kind === 'start', progress: null };
      },
    };
    await start({ api: room });
    const roomClient = await connect();
    expect(await roomClient.roomExercise({ kind: 'start', exerciseId: 'silent-primary' })).toMatchObject({
      running: true,
    });
    await roomClient.roomExercise({ kind: 'advance' });
    await expect(
      roomClient.roomExercise({ kind: 'start', exerciseId: '../etc' } as RoomExerciseCommand),
    ).rejects.toMatchObject({ name: 'BadRequestError', message: expect.stringMatching(/exerciseId/) as unknown });
    await expect(roomClient.roomExercise({ kind: 'judge' } as unknown as RoomExerciseCommand)).rejects.toMatchObject({
      name: 'BadRequestError',
    });
    expect(commands).toEqual([{ kind: 'start', exerciseId: 'silent-primary' }, { kind: 'advance' }]);
  });

  it('pushes events to every subscriber and stops after unsubscribe and close', async () => {
    const first = await connect();
    const second = await connect();
    const seenFirst: LabEvent[] = [];
    const seenSecond: LabEvent[] = [];
    const unsubscribeFirst = first.subscribe((event) => seenFirst.push(event));
    second.subscribe((event) => seenSecond.push(event));
    await waitFor(() => fake.listenerCount() === 2, 'both connections to subscribe');

    const message: LabEvent = {
      kind: 'message',
      atMs: 10,
      direction: 'out',
      peer: 1,
      type: 'PREPARE',
      view: 0,
      seq: 4,
      text: '2->1 PREPARE v0 n4',
    };
    fake.emit(message);
    await waitFor(() => seenFirst.length === 1 && seenSecond.length === 1, 'the event');
    expect(seenFirst).toEqual([message]);

    unsubscribeFirst();
    fake.emit(logEvent('second only'));
    await waitFor(() => seenSecond.length === 2, 'the second event');
    expect(seenFirst).toHaveLength(1);

    first.close();
    second.close();
    await waitFor(() => fake.listenerCount() === 0, 'the server to unsubscribe closed connections');
  });

  it('rejects pending calls when the connection closes', async () => {
    let release: () => void = () => {};
    fake.api.snapshot = () =>
      new Promise((resolve) => {
        release = () => resolve(SNAPSHOT);
      });
    const client = await connect();
    const pending = client.snapshot();
    client.close();
    await expect(pending).rejects.toBeInstanceOf(LabApiConnectionError);
    await expect(client.snapshot()).rejects.toBeInstanceOf(LabApiConnectionError);
    release();
  });
});

describe('startApiServer: WebSocket robustness', () => {
  const tokenUrl = () => `${wsUrl}?token=${server.token}`;

  it('answers a malformed frame with an error and keeps the connection usable', async () => {
    const socket = await openSocket(tokenUrl());
    const inbox = messages(socket);
    socket.send('{"id": 1, "call": ');
    expect(await inbox.next()).toEqual({ id: null, error: { name: 'BadRequestError', message: 'malformed JSON' } });
    socket.send(JSON.stringify({ call: 'snapshot', args: [] }));
    expect(await inbox.next()).toMatchObject({ id: null, error: { name: 'BadRequestError' } });
    socket.send(JSON.stringify({ id: 2, call: 'eval', args: ['process.exit()'] }));
    expect(await inbox.next()).toMatchObject({ id: 2, error: { name: 'BadRequestError' } });
    socket.send(JSON.stringify({ id: 3, call: 'submit', args: [] }));
    expect(await inbox.next()).toMatchObject({ id: 3, error: { message: 'submit: expected 1 argument(s), got 0' } });
    socket.send(Buffer.from('{"id":4,"call":"snapshot","args":[]}'), { binary: true });
    expect(await inbox.next()).toMatchObject({ id: null, error: { name: 'BadRequestError' } });
    socket.send(JSON.stringify({ id: 5, call: 'snapshot', args: [] }));
    expect(await inbox.next()).toEqual({ id: 5, result: SNAPSHOT });
    expect(fake.calls).toEqual([{ call: 'snapshot', args: [] }]);
    socket.close();
  });

  it('closes a socket that sends a frame over 1 MiB, and only that socket', async () => {
    const bystander = await connect();
    const offender = await openSocket(tokenUrl());
    const closed = closeCode(offender);
    offender.send(
      JSON.stringify({
        id: 1,
        call: 'submit',
        args: [{ kind: 'write', path: '/x', text: 'x'.repeat(MAX_REQUEST_BYTES) }],
      }),
    );
    expect(await closed).toBe(1009);
    expect(fake.calls).toEqual([]);
    expect(await bystander.snapshot()).toEqual(SNAPSHOT);
    expect(await (await connect()).snapshot()).toEqual(SNAPSHOT);
  });

  it('drops events for a client that does not read, then tells it how many', async () => {
    const slow = await openSocket(tokenUrl());
    await waitFor(() => fake.listenerCount() === 1, 'the subscription');
    const inbox = messages(slow);
    slow.pause();
    const bigEvent = logEvent('x'.repeat(64 * 1024));
    // Far more than the backlog limit plus what the kernel's socket buffers can hold.
    const emitted = Math.ceil((8 * EVENT_BACKLOG_LIMIT_BYTES) / (64 * 1024));
    for (let i = 0; i < emitted; i++) fake.emit(bigEvent);
    slow.resume();

    // The drop count goes out just before the first event that fits again: keep emitting small ones.
    const nudger = setInterval(() => fake.emit(logEvent('after')), 10);
    let delivered = 0;
    let message = await inbox.next();
    try {
      while ('event' in message) {
        expect(message).toEqual({ event: bigEvent });
        delivered++;
        message = await inbox.next();
      }
    } finally {
      clearInterval(nudger);
    }
    const dropped = message.dropped as number;
    expect(dropped).toBeGreaterThan(0);
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(emitted);
    // Every big event was delivered or counted (small ones emitted while still backed up count too).
    expect(delivered + dropped).toBeGreaterThanOrEqual(emitted);
    expect(await inbox.next()).toEqual({ event: logEvent('after') });
    expect(logLines.some((line) => line.includes('dropping events'))).toBe(true);
    slow.close();
  });
});

describe('startApiServer: close()', () => {
  it('closes connected clients with 1001, unsubscribes them, and refuses new connections', async () => {
    const closes: number[] = [];
    await connect(server.url, { onClose: ({ code }: { code: number }) => closes.push(code) });
    await waitFor(() => fake.listenerCount() === 1, 'the subscription');
    await server.close();
    await waitFor(() => closes.length === 1, 'the client to see the close');
    expect(closes).toEqual([1001]);
    expect(fake.listenerCount()).toBe(0);
    await expect(connectLabApi(server.url)).rejects.toBeInstanceOf(LabApiConnectionError);
    await expect(rawHttp(server.port, '/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await server.close(); // idempotent
  });
});

describe('the Byzantine switch over both transports', () => {
  it('lists the catalogue and switches a behaviour over HTTP and WebSocket, validating the id', async () => {
    const fake = fakeLabApi();
    const server = await startApiServer({ api: fake.api, port: 0, token: 'tok' });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const list = await fetch(`${base}/api/behaviours?token=tok`);
      expect(((await list.json()) as { id: string }[])[0]!.id).toBe('silent');
      const set = await fetch(`${base}/api/behaviour?token=tok`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'silent' }),
      });
      expect(await set.json()).toEqual({ behaviour: 'silent' });
      const bad = await fetch(`${base}/api/behaviour?token=tok`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'DROP TABLE' }),
      });
      expect(bad.status).toBe(400);
      const ws = await connectLabApi(server.url);
      expect(await ws.setBehaviour(null)).toBeNull();
      expect((await ws.behaviours()).length).toBe(1);
      ws.close();
      expect(fake.calls.filter((c) => c.call === 'setBehaviour').map((c) => c.args[0])).toEqual(['silent', null]);
    } finally {
      await server.close();
    }
  });
});

describe('a switch beyond f over both transports (issue 19)', () => {
  it('is refused (409, FaultBoundError) without exceedF and made with it; exceedF is validated', async () => {
    const fake = fakeLabApi();
    const server = await startApiServer({ api: fake.api, port: 0, token: 'tok' });
    try {
      const post = (body: unknown) =>
        fetch(`http://127.0.0.1:${server.port}/api/behaviour?token=tok`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const refused = await post({ id: 'equivocate' });
      expect(refused.status).toBe(409);
      const { error } = (await refused.json()) as { error: { name: string; message: string } };
      expect(error.name).toBe('FaultBoundError');
      expect(error.message).toContain(EXCEED_F_MESSAGE);
      expect(await (await post({ id: 'equivocate', exceedF: true })).json()).toEqual({ behaviour: 'equivocate' });
      expect((await post({ id: 'equivocate', exceedF: 'yes' })).status).toBe(400);

      const ws = await connectLabApi(server.url);
      await expect(ws.setBehaviour('equivocate')).rejects.toMatchObject({ name: 'FaultBoundError' });
      expect(await ws.setBehaviour('equivocate', { exceedF: true })).toBe('equivocate');
      await expect(ws.setBehaviour('silent', { exceedF: 1 } as never)).rejects.toMatchObject({
        name: 'BadRequestError',
        message: 'options.exceedF: expected true or false',
      });
      await expect(ws.setBehaviour('silent', 'yes' as never)).rejects.toMatchObject({
        message: 'options: expected a JSON object',
      });
      ws.close();
      // Only the declared field reaches the host, and exceedF: false is as good as absent.
      expect(fake.calls.filter((c) => c.call === 'setBehaviour').map((c) => c.args)).toEqual([
        ['equivocate', {}],
        ['equivocate', { exceedF: true }],
        ['equivocate', {}],
        ['equivocate', { exceedF: true }],
      ]);
    } finally {
      await server.close();
    }
  });
});

describe('the addresses printed for other machines (issue 15, point 9)', () => {
  const interfaces = {
    lo: [
      { address: '127.0.0.1', family: 'IPv4', internal: true },
      { address: '::1', family: 'IPv6', internal: true },
    ],
    eth0: [
      { address: '10.0.0.5', family: 'IPv4', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false },
      { address: '2001:db8::5', family: 'IPv6', internal: false },
    ],
  } as unknown as NodeJS.Dict<NetworkInterfaceInfo[]>;

  it('bound to every interface: each network address, never loopback or link-local', () => {
    expect(lanHosts('0.0.0.0', interfaces)).toEqual(['10.0.0.5']);
    expect(lanHosts('::', interfaces)).toEqual(['10.0.0.5', '[2001:db8::5]']);
  });

  it('bound to one address: that address is the URL already', async () => {
    expect(lanHosts('127.0.0.1', interfaces)).toEqual([]);
    expect(lanHosts('10.0.0.5', interfaces)).toEqual([]);
    const s = await start({ host: '0.0.0.0' });
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    expect(s.lanUrls).toEqual(lanHosts('0.0.0.0').map((host) => s.url.replace('127.0.0.1', host)));
  });
});
