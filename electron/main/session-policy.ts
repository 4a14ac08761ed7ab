/**
 * The session's policy: the CSP header on every response its web requests see, and no permission
 * for anything.
 *
 * The dashboard shows a replica and sends commands over the preload bridge; it uses no camera,
 * microphone, notifications, geolocation, clipboard API, fullscreen, HID/USB/serial device, … so
 * every permission is denied, to the app's own page as to anything else: when a page asks (the
 * request handler), when Chromium only checks whether a page has it (the check handler: used by
 * `navigator.permissions.query` and by the many APIs that check before they request; without a
 * handler Electron answers every check "granted"), and for devices (WebHID, WebUSB, Web Serial).
 * A feature that needs one grants it here, by name, to the app's origin only.
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

export function applySessionPolicy(session: PolicySession, cspMode: CspMode): void {
  const policy = contentSecurityPolicy(cspMode);
  // Covers the dev server's responses; app:// responses carry the header from their handler.
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [policy] } });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}
