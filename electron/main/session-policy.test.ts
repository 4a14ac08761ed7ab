import type { Session } from 'electron';
import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from './csp.ts';
import { applySessionPolicy } from './session-policy.ts';
import { isAppOrigin, resolveRendererEntry } from './window.ts';
import type { PolicySession } from './session-policy.ts';

type HeadersListener = Parameters<Session['webRequest']['onHeadersReceived']>[0];
type RequestHandler = Parameters<Session['setPermissionRequestHandler']>[0];
type CheckHandler = Parameters<Session['setPermissionCheckHandler']>[0];
type DeviceHandler = Parameters<Session['setDevicePermissionHandler']>[0];

/** A session that keeps the handlers the policy installs. */
function policySession(mode: 'production' | 'development', isAppPage?: (urlOrOrigin: string) => boolean) {
  const installed: {
    headers?: HeadersListener;
    request?: RequestHandler;
    check?: CheckHandler;
    device?: DeviceHandler;
  } = {};
  const session = {
    webRequest: {
      onHeadersReceived: (listener: HeadersListener) => {
        installed.headers = listener;
      },
    },
    setPermissionRequestHandler: (handler: RequestHandler) => (installed.request = handler),
    setPermissionCheckHandler: (handler: CheckHandler) => (installed.check = handler),
    setDevicePermissionHandler: (handler: DeviceHandler) => (installed.device = handler),
  };
  applySessionPolicy(session as unknown as PolicySession, mode, isAppPage);
  return installed;
}

const permissions = [
  'media',
  'notifications',
  'geolocation',
  'clipboard-read',
  'clipboard-sanitized-write',
  'fullscreen',
  'pointerLock',
  'hid',
  'serial',
  'usb',
  'openExternal',
  'unknown',
] as const;

const origins = ['app://pbft-lab', 'https://example.com', 'file://', 'null'];

describe('applySessionPolicy', () => {
  it('answers every permission check "no", for the app itself as for any other origin', () => {
    const { check } = policySession('production');
    for (const permission of permissions) {
      for (const origin of origins) {
        expect(check?.(null, permission, origin, { isMainFrame: true } as never), `${permission} ${origin}`).toBe(
          false,
        );
      }
    }
  });

  it('answers every permission request "no"', async () => {
    const { request } = policySession('production');
    for (const permission of permissions) {
      const granted = await new Promise<boolean>((resolve) =>
        request?.(null as never, permission as never, resolve, { requestingUrl: 'app://pbft-lab/index.html' } as never),
      );
      expect(granted, permission).toBe(false);
    }
  });

  it('grants no device (WebHID, WebUSB, Web Serial)', () => {
    const { device } = policySession('production');
    expect(device?.({ deviceType: 'hid', origin: 'app://pbft-lab' } as never)).toBe(false);
    expect(device?.({ deviceType: 'usb', origin: 'app://pbft-lab' } as never)).toBe(false);
  });

  it('sets the mode’s CSP on every response the session sees, replacing none of its other headers', () => {
    for (const mode of ['production', 'development'] as const) {
      const { headers } = policySession(mode);
      let answer: unknown;
      headers?.({ responseHeaders: { 'X-Other': ['kept'] } } as never, (response) => (answer = response));
      expect(answer).toEqual({
        responseHeaders: { 'X-Other': ['kept'], 'Content-Security-Policy': [contentSecurityPolicy(mode)] },
      });
    }
  });

  describe('with the app page known (as main installs it)', () => {
    const entry = resolveRendererEntry({
      isPackaged: true,
      devServerUrl: undefined,
      mainDir: '/opt/pbft-lab/out/main',
    });
    const isAppPage = (urlOrOrigin: string): boolean => isAppOrigin(urlOrOrigin, entry);

    it('grants the app page the clipboard write its Copy button needs, and nothing else', async () => {
      const { check, request } = policySession('production', isAppPage);
      for (const permission of permissions) {
        const expected = permission === 'clipboard-sanitized-write';
        expect(check?.(null, permission, 'app://pbft-lab', {} as never), permission).toBe(expected);
        const granted = await new Promise<boolean>((resolve) =>
          request?.(null as never, permission as never, resolve, {
            requestingUrl: 'app://pbft-lab/index.html',
          } as never),
        );
        expect(granted, permission).toBe(expected);
      }
    });

    it('still denies the clipboard (and everything) to any other origin, and clipboard reads to all', async () => {
      const { check, request } = policySession('production', isAppPage);
      for (const origin of ['https://example.com', 'file://', 'app://evil.example', 'app://pbft-lab.evil']) {
        expect(check?.(null, 'clipboard-sanitized-write', origin, {} as never), origin).toBe(false);
        const granted = await new Promise<boolean>((resolve) =>
          request?.(null as never, 'clipboard-sanitized-write', resolve, { requestingUrl: `${origin}/x` } as never),
        );
        expect(granted, origin).toBe(false);
      }
      expect(check?.(null, 'clipboard-read', 'app://pbft-lab', {} as never)).toBe(false);
    });
  });
});
