/**
 * The renderer's Content-Security-Policy, in one place.
 *
 * It is delivered twice: as a `<meta>` tag injected into index.html at build time (so the built
 * page carries it wherever it is served from: Electron's `app://`, the headless replica's HTTP
 * server) and as a response header: the `app://` handler sets it on the built page
 * (app-protocol.ts), and the session sets it on every web response (the dev server). Both enforce
 * the same directives; `'self'` is `app://pbft-lab` in the app.
 *
 * The dashboard talks to its replica only through the preload bridge, so it needs no network
 * beyond its own origin, no eval, no plugins and no inline script.
 */
export type CspMode = 'production' | 'development';

export function contentSecurityPolicyDirectives(mode: CspMode): Record<string, readonly string[]> {
  const development = mode === 'development';
  return {
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    // Vite's dev server injects the CSS of each module as a <style> element; the built app links
    // stylesheets from files instead, so only development needs inline styles.
    'style-src': development ? ["'self'", "'unsafe-inline'"] : ["'self'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    // Hot module replacement talks to the dev server over a WebSocket.
    'connect-src': development ? ["'self'", 'ws://localhost:*', 'ws://127.0.0.1:*'] : ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
  };
}

export function contentSecurityPolicy(mode: CspMode): string {
  return Object.entries(contentSecurityPolicyDirectives(mode))
    .map(([directive, sources]) => `${directive} ${sources.join(' ')}`)
    .join('; ');
}
