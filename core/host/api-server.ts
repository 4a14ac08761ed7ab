/**
 * The headless transport of the LabApi (DESIGN.md "The LabApi"): an HTTP server that serves the
 * built dashboard, a few JSON endpoints, and a WebSocket at /api/ws carrying every call and event.
 *
 * Everything is behind a secret token, as in Jupyter: the host prints `http://HOST:PORT/?token=…`,
 * and a request without a valid token is answered 401 before anything else happens. A server bound
 * to loopback also checks the Host header (DNS rebinding), and any browser Origin must be our own.
 */
import { STATUS_CODES, createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { LAB_WS_PATH } from './api-client.ts';
import {
  allowedHostHeaders,
  authenticate,
  credentialsOf,
  generateToken,
  hostAllowed,
  originAllowed,
  tokenCookie,
} from './api-server-auth.ts';
import { NO_DASHBOARD_PAGE, lookupStatic, sendFile } from './api-server-static.ts';
import {
  BadRequestError,
  parseFaultCommand,
  parseLabOp,
  parseRevokeBody,
  parseBehaviourBody,
} from './api-server-validate.ts';
import { errorInfo, serveLabApiSocket } from './api-server-ws.ts';
import { FaultBoundError } from './behaviour-ledger.ts';
import type { LabApi } from './lab-api.ts';
import type { RecordStore } from './recorder.ts';

/** Largest request body and largest WebSocket frame accepted from a client. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** How long close() lets WebSocket clients answer the close handshake before cutting them off. */
const CLOSE_GRACE_MS = 1000;

export interface ApiServerOptions {
  readonly api: LabApi;
  /** Address to listen on; anything but loopback exposes the dashboard to the network. @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks any free port. */
  readonly port: number;
  /** The secret every request must carry. @default 32 random bytes, base64url */
  readonly token?: string;
  /** A built dashboard to serve; null or a missing directory serves a placeholder page. @default null */
  readonly staticDir?: string | null;
  /** Browser origins besides our own that may open the WebSocket and POST (a Vite dev server, say). @default [] */
  readonly allowedOrigins?: readonly string[];
  /** Where to report refused requests and connection trouble. Never given the token. @default no logging */
  readonly log?: (line: string) => void;
  /** The replica's recorded sessions, served read-only at /api/records (`pbft-lab record collect --url`). @default none */
  readonly records?: RecordStore | null;
  /** More read-only JSON endpoints, by path (the replay server's `/api/replay/…`). @default none */
  readonly routes?: ReadonlyMap<string, (query: URLSearchParams) => Promise<unknown>>;
}

export interface ApiServer {
  /** `http://HOST:PORT/?token=…`: open it in a browser, or give it to connectLabApi. */
  readonly url: string;
  /**
   * When bound to every interface (`0.0.0.0`, `::`): the same URL at each of this machine's network
   * addresses, for a browser on another machine (`url` is the loopback one). Empty otherwise.
   */
  readonly lanUrls: readonly string[];
  readonly token: string;
  readonly port: number;
  /** Close every WebSocket (code 1001) and every HTTP connection, then stop listening. */
  close(): Promise<void>;
}

class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { api } = options;
  const bindHost = options.host ?? '127.0.0.1';
  const token = options.token ?? generateToken();
  if (token.length === 0) throw new TypeError('startApiServer: the token must not be empty');
  const staticDir = options.staticDir ?? null;
  const log = options.log ?? (() => {});
  const extraOrigins = new Set((options.allowedOrigins ?? []).map((origin) => origin.toLowerCase()));

  const server = createServer();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_BYTES, perMessageDeflate: false });
  let port = 0;
  let allowedHosts: ReadonlySet<string> | null = null;
  let connectionCount = 0;

  const describeRequest = (request: IncomingMessage, pathname: string): string =>
    `${request.method ?? '?'} ${pathname} from ${request.socket.remoteAddress ?? '?'}`;

  const handleRequest = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const target = splitRequestTarget(request.url);
    setSecurityHeaders(response, request.headers.host);
    if (target === null) return sendText(response, 400, 'Bad request target');
    if (!hostAllowed(request, allowedHosts)) {
      log(`refused ${describeRequest(request, target.pathname)}: Host ${request.headers.host ?? '(none)'}`);
      return sendText(response, 403, 'Forbidden: unexpected Host header');
    }
    const auth = authenticate(credentialsOf(request, target.query, port), token);
    if (!auth.ok) {
      log(`refused ${describeRequest(request, target.pathname)}: no valid token`);
      response.setHeader('WWW-Authenticate', 'Bearer realm="pbft-lab"');
      response.setHeader('Cache-Control', 'no-store');
      return sendText(response, 401, 'Unauthorized: open the URL this replica printed (it carries ?token=…)');
    }
    if (auth.viaQuery) response.setHeader('Set-Cookie', tokenCookie(port, token));
    const route = options.routes?.get(target.pathname);
    if (route) {
      response.setHeader('Cache-Control', 'no-store');
      if (request.method !== 'GET') return sendText(response, 405, 'Method Not Allowed');
      return sendJson(response, 200, await route(target.query));
    }
    if (target.pathname === '/api' || target.pathname.startsWith('/api/')) {
      return handleApiRequest(request, response, target.pathname);
    }
    return handleStaticRequest(request, response, target.pathname);
  };

  const handleApiRequest = async (request: IncomingMessage, response: ServerResponse, pathname: string) => {
    response.setHeader('Cache-Control', 'no-store');
    const method = request.method ?? '';
    const requireMethod = (allowed: string): boolean => {
      if (method === allowed) return true;
      response.setHeader('Allow', allowed);
      sendJson(response, 405, { error: { name: 'MethodNotAllowedError', message: `use ${allowed}` } });
      return false;
    };
    const readJson = async (): Promise<unknown> => {
      if (!originAllowed(request, extraOrigins)) throw new ForbiddenOriginError(request.headers.origin ?? '');
      if (!isJsonContentType(request.headers['content-type'])) {
        throw new UnsupportedMediaTypeError('Content-Type must be application/json');
      }
      const text = (await readBody(request, MAX_REQUEST_BYTES)).toString('utf8');
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new BadRequestError('malformed JSON body');
      }
    };
    try {
      switch (pathname) {
        case '/api/snapshot':
          if (requireMethod('GET')) sendJson(response, 200, await api.snapshot());
          return;
        case '/api/submit':
          if (requireMethod('POST')) sendJson(response, 200, await api.submit(parseLabOp(await readJson())));
          return;
        case '/api/fault':
          if (requireMethod('POST')) sendJson(response, 200, await api.fault(parseFaultCommand(await readJson())));
          return;
        case '/api/behaviours':
          if (requireMethod('GET')) sendJson(response, 200, await api.behaviours());
          return;
        case '/api/behaviour':
          if (requireMethod('POST')) {
            const { id, options } = parseBehaviourBody(await readJson());
            sendJson(response, 200, { behaviour: await api.setBehaviour(id, options) });
          }
          return;
        case '/api/revoke':
          if (requireMethod('POST')) {
            await api.revokeClient(parseRevokeBody(await readJson()));
            response.statusCode = 204;
            response.end();
          }
          return;
        case LAB_WS_PATH:
          return sendJson(response, 426, { error: { name: 'UpgradeRequiredError', message: 'open a WebSocket' } });
        case '/api/records':
          if (requireMethod('GET')) sendJson(response, 200, (await options.records?.list()) ?? []);
          return;
        default:
          if (pathname.startsWith('/api/records/')) {
            if (!requireMethod('GET')) return;
            const text = await options.records?.read(decodeURIComponent(pathname.slice('/api/records/'.length)));
            if (text !== undefined && text !== null) return sendBody(response, 200, 'application/x-ndjson', text);
          }
          return sendJson(response, 404, { error: { name: 'NotFoundError', message: `no endpoint ${pathname}` } });
      }
    } catch (error) {
      const status = statusForError(error);
      if (status === 500) log(`${describeRequest(request, pathname)} failed: ${errorInfo(error).message}`);
      // The rest of a too-large body is not worth reading: answer and close the connection.
      if (status === 413) response.setHeader('Connection', 'close');
      sendJson(response, status, { error: errorInfo(error) });
    }
  };

  const handleStaticRequest = async (request: IncomingMessage, response: ServerResponse, pathname: string) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      return sendText(response, 405, 'Method Not Allowed');
    }
    const found = await lookupStatic(staticDir, pathname);
    switch (found.kind) {
      case 'file':
        return sendFile(request, response, found.file, found.size);
      case 'refused':
        log(`refused ${describeRequest(request, pathname)}: path outside the dashboard`);
        return sendText(response, 403, 'Forbidden');
      case 'not-found':
        return sendText(response, 404, 'Not Found');
      case 'no-dashboard':
        if (pathname !== '/' && pathname !== '/index.html') return sendText(response, 404, 'Not Found');
        response.setHeader('Cache-Control', 'no-store');
        return sendBody(response, 200, 'text/html; charset=utf-8', NO_DASHBOARD_PAGE);
    }
  };

  const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Until ws takes the socket over, its errors (a client hanging up) are ours to absorb.
    const onSocketError = (error: Error): void => log(`upgrade socket error: ${error.message}`);
    socket.on('error', onSocketError);
    const target = splitRequestTarget(request.url);
    if (target === null) return rejectUpgrade(socket, 400, 'Bad request target');
    if (!hostAllowed(request, allowedHosts)) {
      log(`refused WebSocket ${describeRequest(request, target.pathname)}: Host ${request.headers.host ?? '(none)'}`);
      return rejectUpgrade(socket, 403, 'Forbidden: unexpected Host header');
    }
    if (!authenticate(credentialsOf(request, target.query, port), token).ok) {
      log(`refused WebSocket ${describeRequest(request, target.pathname)}: no valid token`);
      return rejectUpgrade(socket, 401, 'Unauthorized');
    }
    if (!originAllowed(request, extraOrigins)) {
      log(`refused WebSocket ${describeRequest(request, target.pathname)}: Origin ${request.headers.origin ?? ''}`);
      return rejectUpgrade(socket, 403, 'Forbidden: cross-origin WebSocket');
    }
    if (target.pathname !== LAB_WS_PATH) return rejectUpgrade(socket, 404, 'Not Found');
    sockets.handleUpgrade(request, socket, head, (webSocket: WebSocket) => {
      socket.off('error', onSocketError);
      const label = `ws#${++connectionCount} ${request.socket.remoteAddress ?? '?'}`;
      log(`${label}: connected`);
      serveLabApiSocket(webSocket, { api, log, label });
    });
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handleRequest(request, response).catch((error: unknown) => {
      log(`${request.method ?? '?'} request failed: ${errorInfo(error).message}`);
      if (!response.headersSent) sendText(response, 500, 'Internal Server Error');
      else response.destroy();
    });
  });
  server.on('upgrade', handleUpgrade);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log(`server error: ${error.message}`));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startApiServer: no TCP address');
  port = address.port;
  allowedHosts = allowedHostHeaders(bindHost, port);

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([...sockets.clients].map(closeGracefully));
      sockets.close();
      await stopped;
    })();
    return closing;
  };

  const urlAt = (host: string): string => `http://${host}:${port}/?token=${encodeURIComponent(token)}`;
  return { url: urlAt(urlHost(bindHost)), lanUrls: lanHosts(bindHost).map(urlAt), token, port, close };
}

class ForbiddenOriginError extends Error {
  override readonly name = 'ForbiddenOriginError';
  constructor(origin: string) {
    super(`requests from origin ${origin} are not allowed`);
  }
}

class UnsupportedMediaTypeError extends Error {
  override readonly name = 'UnsupportedMediaTypeError';
}

function statusForError(error: unknown): number {
  if (error instanceof BadRequestError) return 400;
  if (error instanceof ForbiddenOriginError) return 403;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof UnsupportedMediaTypeError) return 415;
  // A switch beyond f, not confirmed: the request is fine, the cluster's state refuses it.
  if (error instanceof FaultBoundError) return 409;
  return 500;
}

function closeGracefully(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState === socket.CLOSED) return resolve();
    const timer = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.close(1001, 'server shutting down');
  });
}

/** The path and query of an origin-form request target (`/path?query`); null for anything else. */
function splitRequestTarget(url: string | undefined): { pathname: string; query: URLSearchParams } | null {
  if (url === undefined || !url.startsWith('/')) return null;
  const question = url.indexOf('?');
  return question < 0
    ? { pathname: url, query: new URLSearchParams() }
    : { pathname: url.slice(0, question), query: new URLSearchParams(url.slice(question + 1)) };
}

/**
 * The addresses other machines can reach a server on, when it listens on every interface: each
 * interface's address that is not internal (loopback) nor link-local (fe80::, which needs a zone).
 */
export function lanHosts(
  bindHost: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string[] {
  if (bindHost !== '0.0.0.0' && bindHost !== '::') return [];
  const hosts: string[] = [];
  for (const addresses of Object.values(interfaces)) {
    for (const a of addresses ?? []) {
      if (a.internal || (a.family === 'IPv6' && (bindHost === '0.0.0.0' || /^fe80:/i.test(a.address)))) continue;
      hosts.push(a.family === 'IPv6' ? `[${a.address}]` : a.address);
    }
  }
  return hosts;
}

function urlHost(bindHost: string): string {
  if (bindHost === '0.0.0.0') return '127.0.0.1';
  if (bindHost === '::') return '[::1]';
  return isIP(bindHost) === 6 ? `[${bindHost}]` : bindHost;
}

function setSecurityHeaders(response: ServerResponse, host: string | undefined): void {
  // The dashboard's WebSocket goes to the host it was loaded from; name it when the Host header is
  // a plain host[:port], because older browsers do not let 'self' cover ws: URLs.
  const webSocketSource = host !== undefined && /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? ` ws://${host}` : '';
  response.setHeader(
    'Content-Security-Policy',
    [
      "default-src 'self'",
      "script-src 'self'",
      // Vue binds style attributes and chart libraries inject <style>; scripts stay locked down.
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data:",
      "font-src 'self' data:",
      `connect-src 'self'${webSocketSource}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
  );
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  response.setHeader('X-Frame-Options', 'DENY');
  response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function sendBody(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.statusCode = status;
  response.setHeader('Content-Type', contentType);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(body);
}

function sendText(response: ServerResponse, status: number, text: string): void {
  sendBody(response, status, 'text/plain; charset=utf-8', `${text}\n`);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  sendBody(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function isJsonContentType(header: string | undefined): boolean {
  return header?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** The request body, at most `limit` bytes; past that PayloadTooLargeError (the rest is discarded). */
function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const declared = Number(request.headers['content-length']);
    if (declared > limit) {
      request.resume();
      return settle(() => reject(new PayloadTooLargeError(`body over ${limit} bytes`)));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) return settle(() => reject(new PayloadTooLargeError(`body over ${limit} bytes`)));
      chunks.push(chunk);
    });
    request.on('end', () => settle(() => resolve(Buffer.concat(chunks))));
    request.on('error', (error) => settle(() => reject(error)));
    request.on('close', () => settle(() => reject(new Error('the request was aborted'))));
  });
}

/** Answer a refused upgrade with a plain HTTP response, then drop the socket. */
function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  if (status === 401) head.push('WWW-Authenticate: Bearer realm="pbft-lab"');
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}
