/**
 * Serving the built dashboard (renderer output) from a directory, without ever leaving it.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, isAbsolute, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
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
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The relative file path a raw URL path names, or null if it tries to leave the directory or
 * names a hidden file. Segments are percent-decoded one by one, so `%2e%2e` and `..%2f` are seen
 * for what they are; a decoded segment may not contain a separator or NUL.
 */
export function staticRelativePath(rawPathname: string): string | null {
  if (!rawPathname.startsWith('/')) return null;
  const segments: string[] = [];
  for (const raw of rawPathname.slice(1).split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment.startsWith('.') || /[/\\\0]/.test(segment)) return null;
    segments.push(segment);
  }
  if (segments.length === 0 || rawPathname.endsWith('/')) segments.push('index.html');
  return segments.join('/');
}

/** Is `file` inside `root` (both absolute, resolved)? */
function isInside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

export type StaticLookup =
  | { readonly kind: 'file'; readonly file: string; readonly size: number }
  | { readonly kind: 'refused' }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'no-dashboard' };

/** Find the file for a request path; symlinks are resolved and must stay inside the directory too. */
export async function lookupStatic(staticDir: string | null, rawPathname: string): Promise<StaticLookup> {
  if (staticDir === null) return { kind: 'no-dashboard' };
  let root: string;
  try {
    root = await realpath(staticDir);
    if (!(await stat(join(root, 'index.html'))).isFile()) return { kind: 'no-dashboard' };
  } catch {
    return { kind: 'no-dashboard' };
  }
  const relativePath = staticRelativePath(rawPathname);
  if (relativePath === null) return { kind: 'refused' };
  const candidate = join(root, relativePath);
  if (!isInside(root, candidate)) return { kind: 'refused' };
  try {
    const file = await realpath(candidate);
    if (!isInside(root, file)) return { kind: 'refused' };
    const info = await stat(file);
    return info.isFile() ? { kind: 'file', file, size: info.size } : { kind: 'not-found' };
  } catch {
    return { kind: 'not-found' };
  }
}

export async function sendFile(request: IncomingMessage, response: ServerResponse, file: string, size: number) {
  response.statusCode = 200;
  response.setHeader('Content-Type', contentTypeFor(file));
  response.setHeader('Content-Length', size);
  // Revalidate each time: a rebuilt dashboard shows up on reload.
  response.setHeader('Cache-Control', 'no-cache');
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  await pipeline(createReadStream(file), response);
}

/** Shown at `/` until the dashboard is built (`npm run build`), or when it was not shipped. */
export const NO_DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>PBFT Lab</title>
</head>
<body>
<h1>PBFT Lab</h1>
<p>This replica is running, but the dashboard is not built yet.</p>
<p>Build it with <code>npm run build</code> and reload this page, or use the LabApi directly:
<code>GET /api/snapshot</code>, <code>POST /api/submit</code>, <code>POST /api/fault</code>, and the
WebSocket at <code>/api/ws</code>.</p>
</body>
</html>
`;
