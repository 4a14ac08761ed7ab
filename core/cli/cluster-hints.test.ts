/** Addresses last seen for a cluster, so that a client does not search on every call (issue 15, point 2). */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  hintsFile,
  readClusterHints,
  readHintedDashboards,
  readHintedJoinCode,
  removeClusterHints,
  writeClusterHints,
} from './cluster-hints.ts';

const address = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGfn9DXt1F8BfRkd6nuZzfUaDsWUwQA1tNaEq864Gr8Xd';
let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'pbft-lab-hints-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('cluster hints', () => {
  it('round-trips the addresses of one cluster name and size, and removes them', async () => {
    expect(await writeClusterHints('demo-1', 4, [address, address], dir)).toBe(true);
    expect(await readClusterHints('demo-1', 4, dir)).toEqual([address]);
    expect(await readClusterHints('demo-1', 7, dir)).toEqual([]);
    expect(await readClusterHints('demo-2', 4, dir)).toEqual([]);
    await removeClusterHints('demo-1', 4, dir);
    expect(await readClusterHints('demo-1', 4, dir)).toEqual([]);
  });

  it('ignores a damaged, stale or foreign file, and addresses without a peer id', async () => {
    const file = hintsFile('demo-1', 4, dir);
    await writeClusterHints('demo-1', 4, [address], dir);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...saved, savedAt: '2020-01-01T00:00:00Z' }));
    expect(await readClusterHints('demo-1', 4, dir)).toEqual([]);
    await writeFile(file, JSON.stringify({ ...saved, cluster: 'other' }));
    expect(await readClusterHints('demo-1', 4, dir)).toEqual([]);
    await writeFile(file, '{ not json');
    expect(await readClusterHints('demo-1', 4, dir)).toEqual([]);
    await writeFile(file, JSON.stringify({ ...saved, addresses: ['/ip4/127.0.0.1/tcp/1', 7, address] }));
    expect(await readClusterHints('demo-1', 4, dir)).toEqual([address]);
  });

  it("keeps the demo's join code and dashboards (for pbft-lab room) when a client rewrites the file; only all of them", async () => {
    const dashboards = [0, 1, 2, 3].map((k) => `http://127.0.0.1:${7400 + k}/?token=t${k}`);
    await writeClusterHints('demo-1', 4, [address], dir, { joinCode: 'CODE', dashboards });
    expect((await stat(hintsFile('demo-1', 4, dir))).mode & 0o777).toBe(0o600);
    await writeClusterHints('demo-1', 4, [address], dir);
    expect(await readHintedDashboards('demo-1', 4, dir)).toEqual(dashboards);
    expect(await readHintedJoinCode('demo-1', 4, dir)).toBe('CODE');
    const file = hintsFile('demo-1', 4, dir);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...saved, dashboards: dashboards.slice(1) }));
    expect(await readHintedDashboards('demo-1', 4, dir)).toEqual([]);
    await writeFile(file, JSON.stringify({ ...saved, dashboards: [...dashboards.slice(1), 'file:///etc/passwd'] }));
    expect(await readHintedDashboards('demo-1', 4, dir)).toEqual([]);
  });

  it('never builds a path from a name that is not a cluster name', () => {
    expect(() => hintsFile('../../etc/passwd', 4, dir)).toThrow(RangeError);
  });
});
