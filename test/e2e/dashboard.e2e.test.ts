/**
 * The dashboard end to end, in a real browser: four headless replicas (separate processes, real
 * libp2p) each serve the built dashboard; Debian's Chromium, driven by playwright-core, opens all
 * four. Through the dashboards' own panels: the cluster forms, an operation submitted in one Client
 * panel is executed in every Log panel, the primary turned Byzantine (silent) is replaced by a view
 * change, every dashboard counts it as faulty so far (and another switch asks first, beyond f), and a
 * checkpoint becomes stable and collects the log. Screenshots of each step go to
 * test-results/e2e/ and are checked to be real pictures.
 *
 * The replicas run in a network namespace of their own whose loopback carries the mDNS multicast
 * (LoopbackNamespace), so nothing is multicast on this machine's real interfaces; the browser
 * reaches their dashboards over the namespace's veth leg. Needs root and /usr/bin/chromium; skips,
 * saying which is missing, without them.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterKey } from '../../core/net/cluster-key.ts';
import { REPLICA_USAGE } from '../../core/cli/replica-command.ts';
import type { LabOp, SubmitOutcome } from '../../core/host/lab-api.ts';
import { canUseNetns, LoopbackNamespace } from '../helpers/netns.ts';
import { eventually, fetchSnapshot, ReplicaProcess } from '../helpers/replica-process.ts';
import { decodePng, distinctColours, pixelAt } from './png.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'test-results', 'e2e');
const BUILT_DASHBOARD = join(ROOT, 'out', 'renderer', 'index.html');
const N = 4;
/** A short checkpoint interval when `pbft-lab replica` takes one; otherwise the default K = 128. */
const CHECKPOINT_INTERVAL = REPLICA_USAGE.includes('--checkpoint-interval') ? 8 : null;
/** The dashboard header's background (#0f172a): a known pixel to check the screenshot decoder against. */
const HEADER_RGB = [0x0f, 0x17, 0x2a];

function skipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  const netns = canUseNetns();
  return netns.ok ? null : netns.reason;
}
const skipped = skipReason();

/** POST /api/submit, for the load that fills a checkpoint interval (the dashboards watch). */
async function submitOverHttp(apiUrl: string, op: LabOp): Promise<SubmitOutcome> {
  const url = new URL(apiUrl);
  const response = await fetch(`${url.origin}/api/submit?token=${url.searchParams.get('token')}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(op),
    signal: AbortSignal.timeout(20_000),
  });
  if (!response.ok) throw new Error(`submit: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as SubmitOutcome;
}

describe.skipIf(skipped !== null)(
  `the dashboard in Chromium against four replicas${skipped === null ? '' : ` (skipped: ${skipped})`}`,
  () => {
    const space = new LoopbackNamespace();
    const cluster = `e2e-${randomBytes(4).toString('hex')}`;
    const clusterKey = ClusterKey.generate();
    const replicas: ReplicaProcess[] = [];
    const urls: string[] = [];
    /** The dashboards, indexed by the replica id each one shows (known once the roster is agreed). */
    const pages = new Map<number, Page>();
    const problems: string[] = [];
    let opened: Page[] = [];
    let browser: Browser | null = null;
    let base = '';
    let oldPrimary = -1;
    let faultyReplica = -1;
    /** The primary was made Byzantine (not paused, for want of the silent behaviour). */
    let madeByzantine = false;
    const started = Date.now();

    const page = (replicaId: number): Page => pages.get(replicaId)!;
    const text = async (p: Page, testid: string): Promise<string> =>
      ((await p.getByTestId(testid).first().textContent()) ?? '').trim();
    const dump = (): string =>
      replicas.map((r, i) => `--- replica process ${i}\n${r.output.slice(-25).join('\n')}`).join('\n');

    /** A screenshot of one dashboard, checked to be a real picture of it. */
    async function shoot(p: Page, name: string): Promise<void> {
      const path = join(RESULTS, `${name}.png`);
      await p.screenshot({ path });
      const bytes = await readFile(path);
      expect(bytes.length, `${name}.png size`).toBeGreaterThan(20_000);
      const png = decodePng(bytes);
      expect([png.width, png.height]).toEqual([1280, 800]);
      expect(distinctColours(png), `${name}.png is not one flat colour`).toBeGreaterThan(50);
      expect(pixelAt(png, 3, 3), `${name}.png shows the dashboard header`).toEqual(HEADER_RGB);
    }

    beforeAll(async () => {
      if (!existsSync(BUILT_DASHBOARD)) {
        throw new Error(`${BUILT_DASHBOARD} is missing: build the dashboard first (npm run build)`);
      }
      await mkdir(RESULTS, { recursive: true });
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-e2e-'));
      space.create();
      const extraArgs = ['--allow-loopback', '--api-host', space.nsIp];
      if (CHECKPOINT_INTERVAL !== null) extraArgs.push('--checkpoint-interval', String(CHECKPOINT_INTERVAL));
      for (let i = 0; i < N; i++) {
        const replica = new ReplicaProcess({
          dataDir: join(base, `r${i}`),
          cluster,
          clusterKey,
          size: N,
          extraArgs,
          wrapper: space.wrapper,
        });
        replica.start();
        replicas.push(replica);
      }
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      urls.push(...(await Promise.all(replicas.map((r) => r.url()))));
      opened = await Promise.all(urls.map(() => context.newPage()));
      opened.forEach((p, i) => {
        p.on('pageerror', (error) => problems.push(`dashboard ${i}: ${error.message}`));
        p.on('console', (message) => {
          // Over plain http Chromium ignores the host's Cross-Origin-Opener-Policy header, and says so.
          if (message.type() === 'error' && !message.text().includes('Cross-Origin-Opener-Policy')) {
            problems.push(`dashboard ${i} console: ${message.text()}`);
          }
        });
        p.on('response', (response) => {
          if (response.status() >= 400) {
            problems.push(`dashboard ${i}: HTTP ${response.status()} for ${new URL(response.url()).pathname}`);
          }
        });
      });
      await Promise.all(opened.map((p, i) => p.goto(urls[i]!)));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await Promise.all(replicas.map((r) => r.kill()));
      space.destroy();
      if (base) await rm(base, { recursive: true, force: true });
      console.log(`dashboard e2e: ${Date.now() - started} ms in all`);
    });

    it('the cluster forms on all four dashboards: roster, replica ids, the primary', async () => {
      await eventually(
        async () => {
          for (const p of opened) {
            if ((await text(p, 'cluster-role')) !== 'replica') return undefined;
            if ((await p.getByTestId('roster-row').count()) !== N) return undefined;
          }
          return true;
        },
        40_000,
        `all four dashboards to show an agreed roster\n${dump()}`,
      );
      for (const p of opened) pages.set(Number(await text(p, 'self-replica-id')), p);
      expect([...pages.keys()].sort()).toEqual([0, 1, 2, 3]);
      for (const [id, p] of pages) {
        const primary = Number(await text(p, 'view-primary'));
        // Exactly one primary badge, on the row of the replica the View panel names.
        expect(await p.getByTestId('primary-badge').count()).toBe(1);
        expect(
          await p.locator(`[data-testid=roster-row][data-replica-id="${primary}"] [data-testid=primary-badge]`).count(),
        ).toBe(1);
        expect(await p.locator('[data-testid=roster-row].self').getAttribute('data-replica-id')).toBe(String(id));
        expect(await p.getByTestId('connection-status').getAttribute('data-status')).toBe('connected');
        // The token is gone from the address bar once connected (the cookie keeps the page working).
        expect(new URL(p.url()).searchParams.has('token')).toBe(false);
        expect(await p.getByTestId('join-address').first().inputValue()).toContain('/p2p/');
      }
      await shoot(page(0), '01-cluster-formed');
    }, 60_000);

    it('an operation submitted in one Client panel is executed in every Log panel', async () => {
      const client = page(1);
      await client.getByTestId('client-op-kind').selectOption('write');
      await client.getByTestId('client-path').fill('/e2e/hello.txt');
      await client.getByTestId('client-text').fill('written from a browser');
      await client.getByTestId('client-submit').click();
      const result = client.locator('[data-testid=client-result][data-result-kind=written]');
      await result.waitFor({ timeout: 20_000 });
      const seq = Number(await result.getAttribute('data-executed-seq'));
      expect(seq).toBeGreaterThan(0);
      expect(Number(await client.getByTestId('client-matching').getAttribute('data-matching'))).toBeGreaterThanOrEqual(
        2,
      );
      for (const p of pages.values()) {
        await p.locator(`[data-testid=log-row][data-seq="${seq}"][data-phase=executed]`).waitFor({ timeout: 15_000 });
      }
      // The file browser lists / again after a write.
      await client.locator('[data-testid=file-entry][data-path="/e2e/hello.txt"]').waitFor({ timeout: 15_000 });
      // A message is a vertical stub on this replica's lane (its far end is not known here): a line with
      // an empty bounding box, which Playwright calls hidden; attached, with a length, is drawn.
      const stub = page(0).locator('[data-testid=diagram-arrow]').first();
      await stub.waitFor({ state: 'attached', timeout: 5_000 });
      expect(Number(await stub.getAttribute('y1'))).not.toBe(Number(await stub.getAttribute('y2')));
      await shoot(client, '02-operation-executed');
    }, 60_000);

    it('the primary turned Byzantine (silent) is replaced: a view change, a new primary on the other dashboards', async () => {
      oldPrimary = Number(await text(page(0), 'view-primary'));
      faultyReplica = oldPrimary;
      const faulty = page(oldPrimary);
      // The catalogue is there (or known to be missing) once the Byzantine panel has loaded it.
      const catalogue = faulty.locator('[data-testid=behaviour-option], [data-testid=behaviour-catalogue-missing]');
      await catalogue.first().waitFor({ state: 'attached', timeout: 10_000 });
      const haveSilent = (await faulty.locator('[data-testid=behaviour-option][value=silent]').count()) === 1;
      if (haveSilent) {
        await faulty.getByTestId('behaviour-select').selectOption('silent');
        await faulty.getByTestId('behaviour-apply').click();
        await faulty.getByTestId('byzantine-banner').waitFor({ timeout: 10_000 });
        expect(await text(faulty, 'byzantine-banner')).toContain('This replica is Byzantine');
        madeByzantine = true;
      } else {
        console.warn('dashboard e2e: no "silent" behaviour in the catalogue; pausing the primary instead');
        await faulty.getByTestId('fault-pause').click();
        await faulty.getByTestId('paused-banner').waitFor({ timeout: 10_000 });
      }

      // A request the primary does not order starts the backups' view-change timers (§4.4).
      const backupId = [...pages.keys()].find((id) => id !== oldPrimary)!;
      const backup = page(backupId);
      await backup.getByTestId('client-op-kind').selectOption('write');
      await backup.getByTestId('client-path').fill('/e2e/after-view-change.txt');
      await backup.getByTestId('client-text').fill('ordered by the new primary');
      await backup.getByTestId('client-submit').click();
      await backup
        .locator('[data-testid=client-result][data-result-kind=written]')
        .filter({ hasText: 'after-view-change' })
        .waitFor({ timeout: 40_000 });

      for (const [id, p] of pages) {
        if (id === oldPrimary) continue;
        await eventually(
          async () => {
            const view = Number(await text(p, 'view-number'));
            const primary = Number(await text(p, 'view-primary'));
            const status = await p.getByTestId('view-status').getAttribute('data-status');
            return view >= 1 && primary !== oldPrimary && status === 'normal' ? true : undefined;
          },
          20_000,
          `replica ${id}'s dashboard to show a new view with a new primary\n${dump()}`,
        );
      }
      await shoot(backup, '03-view-change');
      await shoot(faulty, '03-byzantine-primary');
    }, 90_000);

    it('every dashboard counts the Byzantine primary as faulty so far; a second switch asks first (issue 19)', async () => {
      if (!madeByzantine) return console.warn('dashboard e2e: nobody was made Byzantine; no count to check');
      for (const [id, p] of pages) {
        await eventually(
          async () => ((await text(p, 'faulty-so-far')) === 'faulty so far: 1 of f = 1' ? true : undefined),
          15_000,
          `replica ${id}'s dashboard to count replica ${faultyReplica} as faulty so far`,
        );
      }
      const other = page([...pages.keys()].find((id) => id !== faultyReplica)!);
      expect(await other.locator(`[data-testid=faulty-so-far-row][data-replica-id="${faultyReplica}"]`).count()).toBe(
        1,
      );
      await other.getByTestId('behaviour-select').selectOption('corrupt-reply');
      await other.getByTestId('behaviour-apply').click();
      await other.getByTestId('exceed-f-dialog').waitFor({ timeout: 5_000 });
      expect(await text(other, 'exceed-f-dialog')).toContain(
        "this breaks PBFT's assumption (at most f faulty replicas)",
      );
      // The dialog alone: its backdrop dims the whole page, header included (what shoot checks).
      const dialogPng = join(RESULTS, '03-exceed-f-dialog.png');
      await other.getByTestId('exceed-f-dialog').screenshot({ path: dialogPng });
      expect(distinctColours(decodePng(await readFile(dialogPng))), 'the dialog’s picture').toBeGreaterThan(20);
      await other.getByTestId('exceed-f-cancel').click();
      await other.getByTestId('exceed-f-dialog').waitFor({ state: 'detached', timeout: 5_000 });
      expect(await text(other, 'byzantine-state')).toBe('honest');
      expect(await text(other, 'faulty-so-far')).toBe('faulty so far: 1 of f = 1');
    }, 60_000);

    it('a checkpoint becomes stable and the log below it is collected', async () => {
      const honest = [...pages.keys()].filter((id) => id !== faultyReplica);
      const honestUrls = honest.map((id) => urls[opened.indexOf(page(id))]!);
      // Fill one checkpoint interval (K executed sequence numbers) with writes from three clients at once.
      let stableSeq = 0;
      let submitted = 0;
      const deadline = Date.now() + 60_000;
      await Promise.all(
        honestUrls.map(async (url, client) => {
          for (let i = 0; stableSeq === 0 && Date.now() < deadline; i++) {
            await submitOverHttp(url, { kind: 'write', path: `/e2e/load-${client}-${i % 16}`, text: String(i) });
            submitted++;
            if (i % 8 === 7) stableSeq = Math.max(stableSeq, (await fetchSnapshot(url)).checkpoints?.stableSeq ?? 0);
          }
        }),
      );
      console.log(`dashboard e2e: ${submitted} operations until a stable checkpoint at n=${stableSeq}`);
      expect(stableSeq, dump()).toBeGreaterThan(0);

      for (const id of honest) {
        const p = page(id);
        await eventually(
          async () => (Number(await text(p, 'stable-seq')) >= stableSeq ? true : undefined),
          15_000,
          `replica ${id}'s dashboard to show the stable checkpoint n=${stableSeq}`,
        );
        const shown = Number(await text(p, 'stable-seq'));
        expect(Number(await text(p, 'low-watermark'))).toBe(shown);
        // Its proof: 2f+1 = 3 replicas' CHECKPOINT messages.
        expect(await p.locator('[data-testid=checkpoint-proof] .pill').count()).toBeGreaterThanOrEqual(3);
        // Garbage collection (§4.3): no log row at or below the stable checkpoint. The rows are read in one
        // evaluation (the list re-renders as events arrive, so row locators taken one by one can go stale).
        const collected = async (): Promise<number[]> =>
          (
            await p
              .getByTestId('log-row')
              .evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-seq'))))
          ).filter((seq) => seq <= shown);
        await eventually(
          async () => ((await collected()).length === 0 ? true : undefined),
          15_000,
          `replica ${id}'s log to drop its rows at or below n=${shown}`,
        );
        expect(await collected()).toEqual([]);
      }
      await shoot(page(honest[0]!), '04-checkpoint-stable');
    }, 90_000);

    it('no dashboard hit a script error, a Content-Security-Policy violation or a failed request', () => {
      expect(problems).toEqual([]);
    });
  },
);
