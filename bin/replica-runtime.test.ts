/**
 * How `pbft-lab replica` starts: with the replica's V8 flags unless the user chose their own, and
 * from the prebuilt bundle only while every file it was built from is unchanged.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPLICA_NODE_FLAGS, fileStamp, missingReplicaFlags, staleBundleReason } from './replica-runtime.mjs';

describe('the V8 flags of a replica process', () => {
  it('are added when neither the command line nor NODE_OPTIONS sets them', () => {
    expect(REPLICA_NODE_FLAGS.length).toBeGreaterThan(0);
    expect(missingReplicaFlags({}, [])).toEqual(REPLICA_NODE_FLAGS);
    expect(missingReplicaFlags({}, [...REPLICA_NODE_FLAGS])).toEqual([]);
  });

  it('leave alone a flag the user set, in either spelling, and add the others', () => {
    expect(REPLICA_NODE_FLAGS).toEqual(['--max-semi-space-size=8', '--max-old-space-size=512']);
    expect(missingReplicaFlags({ NODE_OPTIONS: '--max-semi-space-size=16' }, [])).toEqual(['--max-old-space-size=512']);
    expect(missingReplicaFlags({}, ['--max_old_space_size=2048'])).toEqual(['--max-semi-space-size=8']);
    expect(missingReplicaFlags({ NODE_OPTIONS: '--max-old-space-size=64' }, ['--max-semi-space-size=1'])).toEqual([]);
    expect(missingReplicaFlags({ NODE_OPTIONS: '--enable-source-maps' }, ['--inspect'])).toEqual(REPLICA_NODE_FLAGS);
  });

  it('are replaced by PBFT_LAB_NODE_FLAGS, and none when it is empty', () => {
    expect(missingReplicaFlags({ PBFT_LAB_NODE_FLAGS: '' }, [])).toEqual([]);
    expect(missingReplicaFlags({ PBFT_LAB_NODE_FLAGS: ' --max-old-space-size=256  --optimize-for-size ' }, [])).toEqual(
      ['--max-old-space-size=256', '--optimize-for-size'],
    );
  });
});

describe('the prebuilt replica bundle', () => {
  let root: string;
  const manifest = (): string => join(root, 'out/replica/sources.json');
  const writeManifest = (files: string[]): void =>
    writeFileSync(
      manifest(),
      JSON.stringify({ files: Object.fromEntries(files.map((f) => [f, fileStamp(join(root, f))])) }),
    );

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pbft-lab-bundle-'));
    mkdirSync(join(root, 'core/cli'), { recursive: true });
    mkdirSync(join(root, 'node_modules/libp2p'), { recursive: true });
    mkdirSync(join(root, 'out/replica'), { recursive: true });
    writeFileSync(join(root, 'core/cli/replica-main.ts'), 'export {};\n');
    writeFileSync(join(root, 'node_modules/libp2p/index.js'), 'export {};\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('stands in for the sources while every file it was built from is unchanged', () => {
    writeManifest(['core/cli/replica-main.ts', 'node_modules/libp2p/index.js']);
    expect(staleBundleReason(manifest(), root)).toBeNull();
  });

  it('is stale once a source is edited, or only touched', () => {
    writeManifest(['core/cli/replica-main.ts', 'node_modules/libp2p/index.js']);
    writeFileSync(join(root, 'core/cli/replica-main.ts'), 'export { };\n');
    expect(staleBundleReason(manifest(), root)).toBe('core/cli/replica-main.ts changed since the replica was built');
    writeManifest(['core/cli/replica-main.ts', 'node_modules/libp2p/index.js']);
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(root, 'node_modules/libp2p/index.js'), later, later);
    expect(staleBundleReason(manifest(), root)).toBe(
      'node_modules/libp2p/index.js changed since the replica was built',
    );
  });

  it('is stale when a file it was built from is gone, or when it was never built', () => {
    writeManifest(['core/cli/replica-main.ts', 'node_modules/libp2p/index.js']);
    rmSync(join(root, 'node_modules/libp2p/index.js'));
    expect(staleBundleReason(manifest(), root)).toMatch(/node_modules\/libp2p\/index.js is gone/);
    rmSync(manifest());
    expect(staleBundleReason(manifest(), root)).toMatch(/no prebuilt replica/);
  });
});

const bin = fileURLToPath(new URL('./pbft-lab.mjs', import.meta.url));

describe.skipIf(typeof process.execve !== 'function')('pbft-lab replica', () => {
  it('re-executes itself in the same process with the replica flags before loading anything', () => {
    // Printed by every Node image the process runs: before and after the execve.
    const probe = 'data:text/javascript,console.log("image", process.pid, JSON.stringify(process.execArgv))';
    const result = spawnSync(process.execPath, [`--import=${probe}`, bin, 'replica'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', PBFT_LAB_NODE_FLAGS: undefined },
      timeout: 30_000,
    });
    const images = [...result.stdout.matchAll(/^image (\d+) (.*)$/gm)].map((m) => ({
      pid: Number(m[1]),
      execArgv: JSON.parse(m[2]!) as string[],
    }));
    expect(images).toHaveLength(2);
    expect(images[1]!.pid).toBe(images[0]!.pid);
    expect(images[0]!.execArgv).not.toContain(REPLICA_NODE_FLAGS[0]);
    expect(images[1]!.execArgv).toEqual([...REPLICA_NODE_FLAGS, `--import=${probe}`]);
    // And then the replica command itself ran: no --data-dir is a usage error.
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--data-dir DIR is required');
  });
});
