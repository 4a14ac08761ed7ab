/**
 * Who may talk to the headless host: a secret token (as Jupyter does), plus Host and Origin checks.
 *
 * The token is accepted as `?token=`, as `Authorization: Bearer`, or as an HttpOnly SameSite=Strict
 * cookie set when a request with a valid `?token=` arrives, so a browser that opened the printed URL
 * can load the page's assets and open the WebSocket without the token in every URL.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Cookies are scoped by host name, not by port: with one fixed name, the four replicas of the
 * one-machine demo would overwrite each other's cookie on 127.0.0.1. So the port is in the name.
 */
export function tokenCookieName(port: number): string {
  return `pbft_lab_token_${port}`;
}

export function tokenCookie(port: number, token: string): string {
  return `${tokenCookieName(port)}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

/** Constant-time comparison; hashing first gives equal-length buffers whatever the candidate. */
export function tokenMatches(candidate: string, token: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(candidate), digest(token));
}

export interface Credentials {
  readonly queryToken: string | null;
  readonly bearerToken: string | null;
  readonly cookieTokens: readonly string[];
}

export function credentialsOf(request: IncomingMessage, query: URLSearchParams, port: number): Credentials {
  const authorization = request.headers.authorization;
  const bearer = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return {
    queryToken: query.get('token'),
    bearerToken: bearer?.[1] ?? null,
    cookieTokens: cookieValues(request.headers.cookie, tokenCookieName(port)),
  };
}

export interface Authentication {
  readonly ok: boolean;
  /** The request carried a valid `?token=`: the response should set the cookie. */
  readonly viaQuery: boolean;
}

/** Every presented credential is checked (no short cut), and any valid one admits the request. */
export function authenticate(credentials: Credentials, token: string): Authentication {
  const viaQuery = credentials.queryToken !== null && tokenMatches(credentials.queryToken, token);
  const viaBearer = credentials.bearerToken !== null && tokenMatches(credentials.bearerToken, token);
  let viaCookie = false;
  for (const value of credentials.cookieTokens) viaCookie = tokenMatches(value, token) || viaCookie;
  return { ok: viaQuery || viaBearer || viaCookie, viaQuery };
}

function cookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals < 0 || part.slice(0, equals).trim() !== name) continue;
    try {
      values.push(decodeURIComponent(part.slice(equals + 1).trim()));
    } catch {
      // A malformed value cannot be the token.
    }
  }
  return values;
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * The `Host` header values a loopback-bound server accepts. Checking them defeats DNS rebinding
 * (a page on evil.example whose name now resolves to 127.0.0.1 sends `Host: evil.example`).
 * Null means "any": a server bound to a LAN address is reached under names we cannot know, and
 * the token still guards it.
 */
export function allowedHostHeaders(bindHost: string, port: number): ReadonlySet<string> | null {
  if (!isLoopbackHost(bindHost)) return null;
  const names = new Set(['localhost', '127.0.0.1', '[::1]']);
  if (isIP(bindHost) === 4) names.add(bindHost);
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(`${name}:${port}`);
    if (port === 80) hosts.add(name);
  }
  return hosts;
}

export function hostAllowed(request: IncomingMessage, allowed: ReadonlySet<string> | null): boolean {
  if (allowed === null) return true;
  const host = request.headers.host;
  return host !== undefined && allowed.has(host.toLowerCase());
}

/**
 * Browsers always send `Origin` on a WebSocket upgrade and on a cross-site POST; other clients
 * (Node, curl) usually send none, which is allowed. A present Origin must be the server's own
 * (scheme http, the Host the request was sent to) or one listed in extraOrigins.
 */
export function originAllowed(request: IncomingMessage, extraOrigins: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const normalized = origin.toLowerCase();
  if (extraOrigins.has(normalized)) return true;
  const host = request.headers.host;
  return host !== undefined && normalized === `http://${host.toLowerCase()}`;
}
