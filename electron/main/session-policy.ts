/**
 * The session's policy: the CSP header on every response its web requests see, and no permission
 * for anything.
 *
 * The dashboard shows a replica and sends commands over the preload bridge; it uses no camera,
 * microphone, notifications, geolocation, clipboard reading, fullscreen, HID/USB/serial device, … so
 * every permission is denied, to anything but the app's own page, and to it as well but one: when a page asks (the
 * request handler), when Chromium only checks whether a page has it (the check handler: used by
 * `navigator.permissions.query` and by the many APIs that check before they request; without a
 * handler Electron answers every check "granted"), and for devices (WebHID, WebUSB, Web Serial).
 * A feature that needs one grants it here, by name, to the app's origin only: the start screen's
 * "Copy" button writes the join code to the clipboard (`clipboard-sanitized-write`, what
 * `navigator.clipboard.writeText` asks for); reading the clipboard stays denied.
 *
 * Takes the Session as a parameter (types only from `electron`), so it is tested with a fake.
 */
import type { Session } from 'electron';
import type { CspMode } from './csp.ts';
import { contentSecurityPolicy } from './csp.ts';

export type PolicySession = Pick<
  Session,
  'webRequest' | 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'
>;

/** Permissions the app's own page is granted, and nothing else is. */
export const APP_PAGE_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

/**
 * @param isAppPage whether a requesting URL or origin is the app's page (window.ts `isAppUrl`, or its
 *   origin): the only one that may get APP_PAGE_PERMISSIONS.
 */
export function applySessionPolicy(
  session: PolicySession,
  cspMode: CspMode,
  isAppPage: (urlOrOrigin: string) => boolean = () => false,
): void {
  const policy = contentSecurityPolicy(cspMode);
  // Covers the dev server's responses; app:// responses carry the header from their handler.
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [policy] } });
  });
  session.setPermissionRequestHandler((_contents, permission, callback, details) =>
    callback(APP_PAGE_PERMISSIONS.has(permission) && isAppPage(details.requestingUrl)),
  );
  session.setPermissionCheckHandler(
    (_contents, permission, requestingOrigin) => APP_PAGE_PERMISSIONS.has(permission) && isAppPage(requestingOrigin),
  );
  session.setDevicePermissionHandler(() => false);
}
