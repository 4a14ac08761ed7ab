/**
 * Issue 15, "a newcomer's first hour", on the one-machine path as the README tells it: `pbft-lab
 * demo`, then the client. The demo runs in a network namespace whose loopback carries mDNS (as in
 * loopback-cluster.test.ts), so the clusters a client sees are this test's only.
 *
 *  1. the demo's [K] labels, data directories and dashboard ports name replica K;
 *  2. one-shot clients find the demo from the addresses it left (no mDNS needed) and exit as soon
 *     as they have printed their result;
 *  3. a wrong cluster name: "searching…" at once, and the clusters it does see within seconds;
 *  6. `list` prints the entries;
 *  9. `--api-host 0.0.0.0` prints an address other machines can use;
 * 14. the demo removes the temporary data directory it made, and its cluster file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachLine } from '../core/process/lines.ts';
import { hintsFile } from '../core/cli/cluster-hints.ts';
import { canUseNetns, LoopbackNamespace } from './helpers/netns.ts';
import { eventually, fetchSnapshot } from './helpers/replica-process.ts';

const BIN = fileURLToPath(new URL('../bin/pbft-lab.mjs', import.meta.url));
const usable = canUseNetns();

interface Run {
  readonly child: ChildProcess;
  readonly lines: { at: number; stream: 'out' | 'err'; text: string }[];
  readonly exited: Promise<{ code: number | null; at: number }>;
}

describe.skipIf(!usable.ok)(`the first hour with the demo${usable.ok ? '' : ` (skipped: ${usable.reason})`}`, () => {
  const space = new LoopbackNamespace();
  const portBase = 21_000 + Math.floor(Math.random() * 400) * 10;
  let cache = '';
  let demo: Run;
  let cluster = '';
  let dataDir = '';
  let joinCode = '';

  const start = (args: string[]): Run => {
    const child = spawn(space.wrapper[0]!, [...space.wrapper.slice(1), process.execPath, BIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PBFT_LAB_CACHE_DIR: cache },
    });
    const lines: Run['lines'] = [];
    forEachLine(child.stdout!, (text) => lines.push({ at: performance.now(), stream: 'out', text }));
    forEachLine(child.stderr!, (text) => lines.push({ at: performance.now(), stream: 'err', text }));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.on('exit', (code) => resolve({ code, at: performance.now() })),
    );
    return { child, lines, exited };
  };
  const text = (run: Run, stream?: 'out' | 'err') =>
    run.lines
      .filter((l) => stream === undefined || l.stream === stream)
      .map((l) => l.text)
      .join('\n');

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pbft-lab-cache-'));
    space.create();
    demo = start(['demo', '--api-port-base', String(portBase), '--api-host', '0.0.0.0']);
    await eventually(() => (/formed in/.test(text(demo)) ? true : undefined), 90_000, 'the demo to form').catch(
      (error: Error) => {
        throw new Error(`${error.message}\n${text(demo)}`);
      },
    );
    const header = /cluster "([^"]+)", data in (\S+)/.exec(text(demo))!;
    [, cluster, dataDir] = header as unknown as [string, string, string];
    joinCode = /^join code: (\S+)/m.exec(text(demo))![1]!;
  }, 120_000);

  afterAll(async () => {
    if (demo && demo.child.exitCode === null) demo.child.kill('SIGKILL');
    space.destroy();
    if (cache) await rm(cache, { recursive: true, force: true });
  });

  it('labels, data directories and dashboard ports follow the replica ids, with one table of them', async () => {
    const out = text(demo, 'out');
    for (let k = 0; k < 4; k++) {
      expect(out).toMatch(new RegExp(`^\\[${k}\\] \\S+ replica ${k} started in view 0`, 'm'));
      expect(out).toMatch(new RegExp(`^  replica ${k}  http://\\S+:${portBase + k}/\\?token=`, 'm'));
      const url = new RegExp(`^\\[${k}\\] dashboard and API: (\\S+)`, 'm').exec(out)![1]!;
      const snapshot = await fetchSnapshot(url.replace('127.0.0.1', space.nsIp));
      expect(snapshot.self.replicaId).toBe(k);
      expect(new URL(url).port).toBe(String(portBase + k));
    }
    expect(existsSync(join(dataDir, 'replica-0'))).toBe(true);
  });

  it('--api-host 0.0.0.0 prints the address the other machines can open', () => {
    expect(text(demo, 'out')).toMatch(
      new RegExp(`^\\[0\\] from other machines: http://${space.nsIp.replace(/\./g, '\\.')}:${portBase}/\\?token=`, 'm'),
    );
  });

  it('one-shot clients reach the demo through the addresses it left, and exit once they have printed', async () => {
    expect(existsSync(hintsFile(cluster, 4, cache))).toBe(true);
    const write = start(['client', '--cluster', cluster, '--no-mdns', 'write', '/hello', 'world']);
    const written = await write.exited;
    expect(written.code, text(write)).toBe(0);
    expect(text(write, 'out')).toMatch(/^written \/hello 5B v1/);
    const printedAt = write.lines.find((l) => /matching replies/.test(l.text))!.at;
    expect(written.at - printedAt).toBeLessThan(600);

    const read = start(['client', '--cluster', cluster, '--no-mdns', 'read', '/hello']);
    expect((await read.exited).code, text(read)).toBe(0);
    expect(text(read, 'out').split('\n')[0]).toBe('world');
  });

  it('list prints the entries as ls -l would, and --json gives them to scripts', async () => {
    const list = start(['client', '--cluster', cluster, 'list']);
    expect((await list.exited).code, text(list)).toBe(0);
    expect(text(list, 'out')).toMatch(/^total 1 file, 5 bytes in \/\n5 {2}v1 {2}seq \d+ {2}\/hello$/m);
    const json = start(['client', '--cluster', cluster, '--json', 'list']);
    expect((await json.exited).code).toBe(0);
    expect(JSON.parse(text(json, 'out')).result.entries).toEqual([
      expect.objectContaining({ path: '/hello', size: 5, version: 1 }),
    ]);
  });

  it('a wrong cluster name: "searching…" at once, then the clusters it does see', async () => {
    // With the cluster's key (a wrong name alone finds no key to connect with).
    const wrong = start([
      'client',
      '--cluster-key',
      joinCode,
      '--cluster',
      'no-such-cluster',
      '--timeout',
      '8',
      'read',
      '/hello',
    ]);
    const startedAt = performance.now();
    const searching = await eventually(
      () => wrong.lines.find((l) => l.stream === 'err' && /searching for cluster "no-such-cluster"/.test(l.text)),
      10_000,
      'the searching line',
    );
    // The process itself takes a moment to start; then the line comes before any network answer.
    expect(searching.at - startedAt).toBeLessThan(3_000);
    const seen = await eventually(
      () => wrong.lines.find((l) => l.stream === 'err' && l.text.includes(`"${cluster}" of 4 (4 replicas, formed)`)),
      10_000,
      'the clusters seen',
    );
    expect(seen.at - searching.at).toBeLessThan(5_000);
    expect((await wrong.exited).code).toBe(1);
  });

  it('on Ctrl-C the demo stops its replicas and removes its temporary data directory and cluster file', async () => {
    demo.child.kill('SIGINT');
    expect((await demo.exited).code).toBe(0);
    expect(text(demo, 'out')).toContain(`removed ${dataDir}`);
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(hintsFile(cluster, 4, cache))).toBe(false);
  });
});
