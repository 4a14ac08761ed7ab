/**
 * The room end to end (issue 14), in Debian's Chromium driven by playwright-core: four replica
 * processes and a `pbft-lab room` observer process in a network namespace of their own (mDNS on its
 * loopback, nothing multicast on this machine's interfaces). The room finds the cluster by mDNS with
 * the cluster key and shows it live within 10 s of its start: four lanes with paired arrows; a silent
 * primary → the explainer names it and the new view while the checker stays quiet (one faulty); then
 * `pbft-lab room --simulate equivocation-coalition` (f+1 colluding, which a LAN run allows only after
 * an explicit confirmation) → the checker names the violation and the coalition. Screenshots go to
 * docs/screenshots (room-*.png), checked to be real pictures. Needs root and /usr/bin/chromium.
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
import { canUseNetns, LoopbackNamespace } from '../helpers/netns.ts';
import { eventually, fetchSnapshot, ReplicaProcess, submitVia } from '../helpers/replica-process.ts';
import { RoomProcess } from '../helpers/room-process.ts';
import { decodePng, distinctColours } from './png.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');
const BUILT_DASHBOARD = join(ROOT, 'out', 'renderer', 'index.html');
const N = 4;

function skipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`;
  const netns = canUseNetns();
  return netns.ok ? null : netns.reason;
}
const skipped = skipReason();

describe.skipIf(skipped !== null)(
  `the room in Chromium against four replica processes${skipped === null ? '' : ` (skipped: ${skipped})`}`,
  () => {
    const space = new LoopbackNamespace();
    const cluster = `room-${randomBytes(4).toString('hex')}`;
    const clusterKey = ClusterKey.generate();
    const replicas: ReplicaProcess[] = [];
    const problems: string[] = [];
    let room: RoomProcess | null = null;
    let simulated: RoomProcess | null = null;
    let browser: Browser | null = null;
    let page: Page;
    let base = '';
    let roomStartedAt = 0;
    const dump = (): string =>
      [
        ...replicas.map((r, i) => `--- replica ${i}\n${r.output.slice(-15).join('\n')}`),
        `--- room\n${room?.output.slice(-20).join('\n')}`,
      ].join('\n');

    async function shoot(p: Page, name: string): Promise<void> {
      const path = join(SCREENSHOTS, `${name}.png`);
      await p.screenshot({ path, fullPage: true });
      const png = decodePng(await readFile(path));
      expect(png.width).toBe(1400);
      expect(distinctColours(png), `${name}.png is not one flat colour`).toBeGreaterThan(50);
    }

    async function checkStatus(p: Page, id: string): Promise<string | null> {
      return p.getByTestId(`room-check-${id}`).getAttribute('data-status');
    }

    beforeAll(async () => {
      if (!existsSync(BUILT_DASHBOARD)) throw new Error(`${BUILT_DASHBOARD} is missing: npm run build first`);
      await mkdir(SCREENSHOTS, { recursive: true });
      base = await mkdtemp(join(tmpdir(), 'pbft-lab-room-e2e-'));
      space.create();
      for (let i = 0; i < N; i++) {
        const replica = new ReplicaProcess({
          dataDir: join(base, `r${i}`),
          cluster,
          clusterKey,
          size: N,
          extraArgs: ['--allow-loopback', '--api-host', space.nsIp, '--checkpoint-interval', '4'],
          wrapper: space.wrapper,
        });
        replica.start();
        replicas.push(replica);
      }
      // The cluster forms first; the room's 10 s count from its own start.
      const urls = await Promise.all(replicas.map((r) => r.url()));
      await eventually(
        async () =>
          (await Promise.all(urls.map(fetchSnapshot))).every((s) => s.self.role === 'replica') ? true : undefined,
        40_000,
        'the cluster to form',
      );
      roomStartedAt = Date.now();
      room = new RoomProcess(
        [
          '--cluster',
          cluster,
          '--cluster-key',
          clusterKey.joinCode,
          '--allow-loopback',
          '--no-cache',
          '--host',
          space.nsIp,
        ],
        space.wrapper,
      );
      browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`room page: ${error.message}`));
      await page.goto(await room.pageUrl());
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await room?.stop();
      await simulated?.stop();
      await Promise.all(replicas.map((r) => r.kill()));
      space.destroy();
      if (base) await rm(base, { recursive: true, force: true });
    });

    it('shows the whole cluster within 10 s of its start: four replicas, four lanes, paired arrows', async () => {
      await eventually(
        async () => {
          for (let r = 0; r < N; r++) {
            const view =
              (await page.getByTestId(`room-replica-${r}`).getByTestId('room-replica-view').textContent()) ?? '';
            if (!/^\s*\d+/.test(view)) return undefined;
          }
          return true;
        },
        30_000,
        `four replicas in the room\n${dump()}`,
      );
      const shownAfterMs = Date.now() - roomStartedAt;
      console.log(`room e2e: the whole cluster shown in the browser ${shownAfterMs} ms after pbft-lab room started`);
      expect(shownAfterMs).toBeLessThan(10_000);
      const urls = await Promise.all(replicas.map((r) => r.url()));
      for (let i = 0; i < 6; i++) await submitVia(urls[i % N]!, { kind: 'write', path: `/room/${i}`, text: String(i) });
      for (let r = 0; r < N; r++) await page.getByTestId(`room-lane-r${r}`).waitFor({ timeout: 5_000 });
      await eventually(
        async () => ((await page.getByTestId('room-arrow').count()) > 20 ? true : undefined),
        10_000,
        'arrows',
      );
      const counts = (await page.getByTestId('room-diagram-counts').textContent()) ?? '';
      expect(counts).toMatch(/\d+ messages paired/);
      expect(await checkStatus(page, 'agreement')).toBe('ok');
      await shoot(page, 'room-four-lanes');
    }, 60_000);

    it('a silent primary: the explainer names it and the new view; the checker stays quiet', async () => {
      const urls = await Promise.all(replicas.map((r) => r.url()));
      const snapshots = await Promise.all(urls.map(fetchSnapshot));
      const primary = snapshots[0]!.view!.primary;
      const primaryUrl = urls[snapshots.findIndex((s) => s.self.replicaId === primary)]!;
      const url = new URL(primaryUrl);
      const switched = await fetch(`${url.origin}/api/behaviour?token=${url.searchParams.get('token')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'silent' }),
      });
      expect(switched.ok).toBe(true);
      const other = urls.find((u) => u !== primaryUrl)!;
      await submitVia(other, { kind: 'write', path: '/room/after-silence', text: 'x' }, 60_000);
      const headline = page.getByTestId('room-view-change-headline');
      await eventually(
        async () => {
          const text = (await headline.textContent().catch(() => null)) ?? '';
          return text.includes(`suspected primary r${primary}`) && text.includes(`new primary is r${(primary + 1) % N}`)
            ? text
            : undefined;
        },
        30_000,
        `the explainer to name r${primary}\n${dump()}`,
      );
      await page.getByTestId('room-new-view').waitFor({ timeout: 15_000 });
      // Each replica's feed flushes every 100 ms on its own: the new primary's steps may reach the room
      // a flush after the backups' installs. Wait for the whole story.
      const newPrimary = (primary + 1) % N;
      const steps = await eventually(
        async () => {
          const text = (await page.getByTestId('room-view-change-steps').textContent()) ?? '';
          return /holds 2f\+1 = 3 VIEW-CHANGEs/.test(text) &&
            text.includes(`r${newPrimary}, the new primary, sends NEW-VIEW`) &&
            text.includes(`r${newPrimary} installs view`)
            ? text
            : undefined;
        },
        10_000,
        `every step of the view change in the explainer\n${dump()}`,
      );
      expect(steps).toMatch(/NEW-VIEW: min-s = \d+/);
      expect(
        (await page.getByTestId(`room-replica-${primary}`).getByTestId('room-replica-behaviour').textContent()) ?? '',
      ).toContain('silent');
      for (const id of ['agreement', 'checkpoints', 'views'])
        expect(await checkStatus(page, id), id).not.toBe('violated');
      expect(await checkStatus(page, 'assumption')).toBe('ok');
      // The diagram filtered to VIEW-CHANGE: the backups' votes, each a paired arrow, and nothing else.
      await page.getByTestId('room-filter-type').selectOption('view-change');
      await eventually(
        async () => ((await page.getByTestId('room-arrow').count()) >= 6 ? true : undefined),
        10_000,
        'VIEW-CHANGE arrows in the diagram',
      );
      const strokes = await page
        .getByTestId('room-arrow')
        .evaluateAll((paths) => paths.map((p) => p.getAttribute('stroke')));
      expect(new Set(strokes)).toEqual(new Set(['#dc2626']));
      await shoot(page, 'room-view-change');
      await page.getByTestId('room-filter-type').selectOption('');
    }, 90_000);

    it('f+1 colluding equivocators (simulated): the checker names the violation and the coalition', async () => {
      simulated = new RoomProcess(['--simulate', 'equivocation-coalition']);
      const p = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
      p.on('pageerror', (error) => problems.push(`simulated room page: ${error.message}`));
      await p.goto(await simulated.pageUrl());
      await eventually(
        async () => ((await checkStatus(p, 'agreement')) === 'violated' ? true : undefined),
        30_000,
        'the agreement violation',
      );
      const check = (await p.getByTestId('room-check-agreement').textContent()) ?? '';
      expect(check).toMatch(/correct replicas disagree at n=\d+/);
      expect(check).toMatch(/names r0, r1/);
      expect(await checkStatus(p, 'assumption')).toBe('warning');
      expect(await p.getByTestId('room-log-differs').count()).toBeGreaterThan(0);
      await shoot(p, 'room-checker-violation');
      expect(problems).toEqual([]);
    }, 60_000);
  },
);
