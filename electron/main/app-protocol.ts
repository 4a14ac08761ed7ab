/**
 * The `app://` scheme the built dashboard is loaded from, instead of `file://` (Electron's security
 * checklist, item 18). A page on `file://` can load any local file the user can read; a page on
 * `app://pbft-lab/` gets only what the handler below serves: the files of the built renderer.
 *
 * Plain functions of their inputs, no `electron` at run time, so they are tested under Node
 * (app-protocol.test.ts); index.ts registers them with `protocol`.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { CustomScheme } from 'electron';
import { contentTypeFor, lookupStatic } from '../../core/host/api-server-static.ts';
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

/** What the handler needs from the file system: reading one file (a fake in tests). */
export type ReadAppFile = (path: string) => Promise<Uint8Array>;

/** Why a request was not served: its HTTP status, and the reason as the response body. */
type Refusal = { status: 400 | 404 | 405; reason: string };

/**
 * The `protocol.handle('app', …)` handler: GET and HEAD of files inside `rendererDir`, nothing
 * else. Which file a path names is decided by the headless host's static lookup
 * (core/host/api-server-static.ts), the same rules for both ways the dashboard is served: each
 * segment percent-decoded before it is checked, so `..` in any spelling is refused, as are hidden
 * names, separators and NUL inside a segment; symbolic links are resolved and must stay inside.
 * HTML carries the production CSP as a header, set here rather than left to the session's
 * webRequest hook (made for network responses), besides the `<meta>` tag built into index.html.
 */
export function createAppProtocolHandler(
  rendererDir: string,
  readAppFile: ReadAppFile = readFile,
): (request: Request) => Promise<Response> {
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return refuse({ status: 405, reason: `${request.method} is not served` });
    }
    const url = new URL(request.url);
    if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) {
      return refuse({ status: 404, reason: `not served: ${url.protocol}//${url.host}` });
    }
    const found = await lookupStatic(rendererDir, url.pathname);
    if (found.kind === 'refused') return refuse({ status: 400, reason: 'path outside the app' });
    if (found.kind !== 'file') return refuse({ status: 404, reason: 'not found' });
    const body = await readAppFile(found.file);
    const headers = new Headers({
      'Content-Type': contentTypeFor(found.file),
      'X-Content-Type-Options': 'nosniff',
    });
    if (extname(found.file) === '.html') {
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
