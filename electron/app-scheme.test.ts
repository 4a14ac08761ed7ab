/**
 * The built dashboard, served by the app:// handler (main/app-protocol.ts), loads and runs.
 *
 * The renderer is built afresh with electron.vite.config.ts into a scratch directory. Then:
 * - without a browser: every URL in the built index.html is relative, and each resolves under
 *   `app://pbft-lab/index.html` to a file the handler serves with a type the browser will run;
 * - in Debian's Chromium (playwright-core; skipped without /usr/bin/chromium): Electron cannot be
 *   downloaded here, so a small HTTP server stands in for the scheme, answering every request with
 *   the app:// handler's own response for the same path. The page runs on a fake `window.pbftLab`
 *   bridge (what the preload would expose), loads every asset without an error or a CSP report,
 *   shows the dashboard, refuses inline script (the CSP works), and gets 400 for a path out.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { resolveConfig } from 'electron-vite';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { build as viteBuild } from 'vite';
import type { InlineConfig } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_BEHAVIOURS, fakeSnapshot } from '../renderer/src/test-support/fake-lab-api.ts';
import { APP_ENTRY_URL, APP_ORIGIN, createAppProtocolHandler } from './main/app-protocol.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const projectDir = join(import.meta.dirname, '..');

let scratchDir: string;
let rendererDir: string;
let handle: (request: Request) => Promise<Response>;

beforeAll(async () => {
  await mkdir(join(projectDir, '.cache'), { recursive: true });
  scratchDir = await mkdtemp(join(projectDir, '.cache', 'renderer-build-'));
  rendererDir = join(scratchDir, 'renderer');
  const { config } = await resolveConfig({ root: projectDir, logLevel: 'silent' }, 'build', 'production');
  const rendererConfig = config?.renderer as InlineConfig | undefined;
  if (!rendererConfig?.build) throw new Error('electron.vite.config.ts has no renderer build');
  rendererConfig.build.outDir = rendererDir;
  await viteBuild(rendererConfig);
  handle = createAppProtocolHandler(rendererDir);
});

afterAll(async () => {
  if (scratchDir) await rm(scratchDir, { recursive: true, force: true });
});

/** Every src and href in an HTML document. */
function linkedUrls(html: string): string[] {
  return [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((match) => match[1]!);
}

describe('the built index.html on app://', () => {
  it('links its assets by relative URLs, which the handler serves with runnable types', async () => {
    const html = await readFile(join(rendererDir, 'index.html'), 'utf8');
    const assets = linkedUrls(html).filter((url) => !url.startsWith('data:'));
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const url of assets) {
      expect(url, 'relative, so it resolves under app:// as under the headless host').toMatch(/^\.\//);
      const response = await handle(new Request(new URL(url, APP_ENTRY_URL)));
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-type'), url).toMatch(/^text\/(javascript|css);/);
    }
  });

  it('carries the production CSP as a <meta> tag as well as the handler’s header', async () => {
    const html = await readFile(join(rendererDir, 'index.html'), 'utf8');
    expect(html).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;/);
    const response = await handle(new Request(APP_ENTRY_URL));
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
  });
});

/** Serves each request with the app:// handler's response for the same path: the scheme, over HTTP. */
function schemeMimic(): Promise<Server> {
  const server = createServer((request, response) => {
    const appUrl = `${APP_ORIGIN}${request.url ?? '/'}`;
    void handle(new Request(appUrl, { method: request.method }))
      .then(async (answer) => {
        response.writeHead(answer.status, Object.fromEntries(answer.headers));
        response.end(Buffer.from(await answer.arrayBuffer()));
      })
      .catch(() => response.writeHead(500).end());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** What the preload exposes, faked: answers from a fixed snapshot (an init script, before the page's own). */
function fakeBridgeScript(): string {
  const snapshot = JSON.stringify(fakeSnapshot({ selfId: 2 }));
  const behaviours = JSON.stringify(FAKE_BEHAVIOURS);
  return `window.pbftLab = {
    version: async () => '0.0.0-scheme-test',
    snapshot: async () => (${snapshot}),
    subscribeBatches: () => () => {},
    submit: async () => { throw new Error('not in this test'); },
    fault: async () => { throw new Error('not in this test'); },
    revokeClient: async () => {},
    behaviours: async () => (${behaviours}),
    setBehaviour: async (id) => id,
    room: async () => { throw new Error('not in this test'); },
  };`;
}

/** What the preload exposes for the start screen, faked: no cluster yet, two seen on the LAN. */
function fakeAppBridgeScript(): string {
  const machine = (peer: string, ip: string) => ({
    peerId: peer,
    role: 'forming',
    addresses: [`/ip4/${ip}/tcp/4001/p2p/${peer}`],
    lastHeardMsAgo: 300,
  });
  const state = {
    phase: 'choose',
    cluster: null,
    joinCode: null,
    fingerprint: null,
    error: null,
    previous: null,
    lan: {
      clusters: [
        {
          cluster: 'room-101',
          size: 4,
          fingerprint: '099b930e',
          members: 2,
          formed: false,
          machines: [
            machine('12D3KooWA1nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8A', '10.0.0.5'),
            machine('12D3KooWB2nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8B', '10.0.0.6'),
          ],
        },
        { cluster: 'evening', size: 7, fingerprint: 'ffff0000', members: 7, formed: true, machines: [] },
      ],
      error: null,
    },
    dataDirRoot: '/home/student/.config/PBFT Lab/clusters',
  };
  return `window.pbftLabApp = {
    state: async () => (${JSON.stringify(state)}),
    createCluster: async () => { throw new Error('not in this test'); },
    joinCluster: async () => { throw new Error('not in this test'); },
    rejoin: async () => { throw new Error('not in this test'); },
    changeCluster: async () => { throw new Error('not in this test'); },
    chooseDataDir: async () => null,
  };`;
}

const skipped = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install chromium)`;

describe.skipIf(skipped !== null)(
  `the built dashboard in Chromium, served as app:// serves it${skipped === null ? '' : ` (skipped: ${skipped})`}`,
  () => {
    let server: Server;
    let browser: Browser;
    let base: string;

    beforeAll(async () => {
      server = await schemeMimic();
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((resolve) => server?.close(resolve));
    });

    it('loads every asset, shows the dashboard on the bridge, and keeps the CSP', async () => {
      const page = await browser.newPage();
      const problems: string[] = [];
      const loaded: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
      page.on('response', (response) => {
        loaded.push(new URL(response.url()).pathname);
        if (response.status() >= 400) problems.push(`HTTP ${response.status()} for ${response.url()}`);
      });
      await page.addInitScript({ content: fakeBridgeScript() });

      const response = await page.goto(`${base}/index.html`);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
      await expect
        .poll(() => page.getByTestId('connection-status').getAttribute('data-status'), { timeout: 15_000 })
        .toBe('connected');
      expect(await page.getByTestId('dashboard-title').textContent()).toBe('PBFT Lab — replica 2');
      expect(await page.getByTestId('connection-status').textContent()).toContain('Electron');
      expect(loaded.some((path) => path.endsWith('.js'))).toBe(true);
      expect(loaded.some((path) => path.endsWith('.css'))).toBe(true);
      expect(problems).toEqual([]);

      // The CSP is live: an inline script is refused (and reported), a script of its own is not.
      await page.addScriptTag({ content: 'document.body.dataset.inline = "ran";' }).catch(() => {});
      expect(await page.locator('body').getAttribute('data-inline')).toBeNull();
      expect(problems.join('\n')).toMatch(/Content Security Policy/);

      // A path out of the renderer directory is refused by the handler, as the page sees it.
      const status = await page.evaluate(`fetch('/..%2F..%2Fpackage.json').then((r) => r.status)`);
      expect(status).toBe(400);
      await page.close();
    });

    it('shows the start screen on the app bridge: the LAN list, the forms, no error and no CSP report', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      await page.addInitScript({ content: fakeBridgeScript() });
      await page.addInitScript({ content: fakeAppBridgeScript() });
      await page.goto(`${base}/index.html`);
      await page.getByTestId('start-screen').waitFor({ timeout: 15_000 });
      expect(await page.getByTestId('lan-cluster').count()).toBe(2);
      expect(await page.getByTestId('lan-cluster').first().textContent()).toContain('2 of 4 so far');
      await page.getByTestId('lan-pick').first().click();
      await page.getByTestId('join-code').fill('D4E6-85K1-ZKF9-8VSJ-TNFC-FX2X-XVRD-SNJB-6AKQ-YYDE-C4EQ-EJX6-A7TW-DJZZ');
      await mkdir(join(projectDir, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(projectDir, 'test-results', 'start-screen.png') });
      // No dashboard behind it: the page made no LabApi call while no cluster runs.
      expect(await page.getByTestId('dashboard-title').count()).toBe(0);
      expect(problems).toEqual([]);
      await page.close();
    });
  },
);
