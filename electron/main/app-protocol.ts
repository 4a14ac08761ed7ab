/**
 * The `app://` scheme the built dashboard is loaded from, instead of `file://` (Electron's security
 * checklist, item 18). A page on `file://` can load any local file the user can read; a page on
 * `app://pbft-lab/` gets only what the handler below serves: the files of the built renderer.
 *
 * Plain functions of their inputs, no `electron` at run time, so they are tested under Node
 * (app-protocol.test.ts); index.ts registers them with `protocol`.
 */
import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, join, relative } from 'node:path';
import type { CustomScheme } from 'electron';
import { contentSecurityPolicy } from './csp.ts';

export const APP_SCHEME = 'app';
/** The one host of the scheme: `app://pbft-lab/…`. Any other host is not found. */
export const APP_HOST = 'pbft-lab';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
/** The page the window loads. */
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/**
 * Registered before `ready` (protocol.registerSchemesAsPrivileged may be called only then).
 * - `standard`: parsed like http (a real origin, so CSP `'self'` and relative asset URLs work);
 * - `secure`: a secure context, as the page is local and as trusted as https;
 * - `supportFetchAPI`: the page may fetch() its own files.
 * Not `corsEnabled` (no other origin may read these files), not `bypassCSP`, no service workers,
 * no streaming, no extensions.
 */
export const appScheme: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true },
};

/**
 * The content types of what Vite emits into out/renderer (and a few a stylesheet may link).
 * Module scripts need a JavaScript type: Chromium refuses `<script type="module">` served otherwise.
 */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Why a request was not served, with its HTTP status; the reason is the response body. */
type Refusal = { status: 400 | 404 | 405; reason: string };

/**
 * The file a request names, inside `rendererDir`, or why not. The path is decoded first and then
 * checked segment by segment, so `..` smuggled as `%2e%2e` or `..%2f` is refused too; a backslash
 * (a separator on Windows) and a NUL never name a file here.
 */
export function resolveAppPath(url: string, rendererDir: string): { path: string } | Refusal {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { status: 400, reason: 'not a URL' };
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) {
    return { status: 404, reason: `not served: ${parsed.protocol}//${parsed.host}` };
  }
  let pathname: string;
  try {
    pathname = decodeURIComponent(parsed.pathname);
  } catch {
    return { status: 400, reason: 'bad percent-encoding' };
  }
  if (pathname === '/') pathname = '/index.html';
  const segments = pathname.split('/').slice(1);
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0'))) {
    return { status: 400, reason: 'path outside the app' };
  }
  const path = join(rendererDir, ...segments);
  // Belt and braces: whatever the segments were, the joined path must lie inside the directory.
  const inside = relative(rendererDir, path);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
    return { status: 400, reason: 'path outside the app' };
  }
  return { path };
}

/** What the handler needs from the file system: reading one file (a fake in tests). */
export type ReadAppFile = (path: string) => Promise<Uint8Array>;

/**
 * The `protocol.handle('app', …)` handler: GET and HEAD of files inside `rendererDir`, nothing
 * else. HTML carries the production CSP as a header (webRequest's header hook does not see
 * custom-protocol responses), besides the `<meta>` tag built into index.html.
 */
export function createAppProtocolHandler(
  rendererDir: string,
  readAppFile: ReadAppFile = readFile,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return refuse({ status: 405, reason: `${request.method} is not served` });
    }
    const target = resolveAppPath(request.url, rendererDir);
    if (!('path' in target)) return refuse(target);
    let body: Uint8Array;
    try {
      body = await readAppFile(target.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
        return refuse({ status: 404, reason: 'not found' });
      }
      throw error;
    }
    const headers = new Headers({
      'Content-Type': contentTypeFor(target.path),
      'X-Content-Type-Options': 'nosniff',
    });
    if (extname(target.path) === '.html') {
      headers.set('Content-Security-Policy', contentSecurityPolicy('production'));
    }
    return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers });
  };
}

function refuse({ status, reason }: Refusal): Response {
  return new Response(reason, {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' },
  });
}
