/**
 * The room beside the one-machine demo (issue 14), as the README tells it: `pbft-lab demo`, then
 * `pbft-lab room` with nothing but the cluster's name. The room takes the demo's addresses and join
 * code from the files the demo left (no key typed, no mDNS needed) and shows the whole cluster within
 * 10 s of its start. Both run in a network namespace of their own, with a cache directory of their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabApiConnection } from '../core/host/api-client.ts';
import { forEachLine } from '../core/process/lines.ts';
import { canUseNetns, LoopbackNamespace } from './helpers/netns.ts';
import { eventually } from './helpers/replica-process.ts';
import { RoomProcess } from './helpers/room-process.ts';

const BIN = fileURLToPath(new URL('../bin/pbft-lab.mjs', import.meta.url));
const usable = canUseNetns();

describe.skipIf(!usable.ok)(`the room beside the demo${usable.ok ? '' : ` (skipped: ${usable.reason})`}`, () => {
  const space = new LoopbackNamespace();
  const cluster = `demo-room-${randomBytes(3).toString('hex')}`;
  const portBase = 23_000 + Math.floor(Math.random() * 400) * 10;
  const demoLines: string[] = [];
  let cache = '';
  let demo: ChildProcess | null = null;
  let room: RoomProcess | null = null;
  let api: LabApiConnection | null = null;

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pbft-lab-cache-'));
    space.create();
    demo = spawn(
      space.wrapper[0]!,
      [
        ...space.wrapper.slice(1),
        process.execPath,
        BIN,
        'demo',
        '--cluster',
        cluster,
        '--api-port-base',
        String(portBase),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PBFT_LAB_CACHE_DIR: cache } },
    );
    for (const stream of [demo.stdout!, demo.stderr!]) forEachLine(stream, (line) => demoLines.push(line));
    await eventually(
      () => (demoLines.some((l) => /formed in/.test(l)) ? true : undefined),
      90_000,
      'the demo to form',
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${demoLines.join('\n')}`);
    });
  }, 120_000);

  afterAll(async () => {
    api?.close();
    await room?.stop();
    if (demo && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo!.once('exit', resolve));
      demo.kill('SIGINT');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (demo.exitCode === null) demo.kill('SIGKILL');
    }
    space.destroy();
    if (cache) await rm(cache, { recursive: true, force: true });
  }, 30_000);

  it('pbft-lab room --cluster NAME finds the demo from the files it left and shows every replica within 10 s', async () => {
    const started = Date.now();
    room = new RoomProcess(
      ['--cluster', cluster, '--no-mdns', '--host', space.nsIp],
      [...space.wrapper, 'env', `PBFT_LAB_CACHE_DIR=${cache}`],
    );
    api = await room.connect();
    await eventually(
      async () =>
        (await api!.room({})).replicas.filter((r) => r.connected && r.view !== null).length === 4 ? true : undefined,
      10_000,
      `the demo's four replicas in the room\n${room.output.join('\n')}`,
    );
    const shownAfterMs = Date.now() - started;
    console.log(`demo room: the whole cluster in the room ${shownAfterMs} ms after pbft-lab room started`);
    expect(shownAfterMs).toBeLessThan(10_000);
  }, 30_000);
});
