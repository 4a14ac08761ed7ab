/**
 * The README's first-hour instructions say what the commands print and do (issue 15): a test reads
 * the README beside the code it describes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_OP_BYTES } from '../core/pbft/codec.ts';
import { FILE_BYTES_MAX } from '../core/app/file-ops.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const readme = read('README.md');

describe('README, the first hour', () => {
  it('shows the demo with a small checkpoint interval and the client commands the demo prints', () => {
    const demo = read('core/cli/demo-command.ts');
    expect(readme).toContain('npx pbft-lab demo --checkpoint-interval 4');
    for (const label of ['write and read:  ', 'or a shell:      ']) {
      expect(demo).toContain(label);
      expect(readme).toContain(label);
    }
    expect(readme).toMatch(/formed in [\d.]+ s; replica 0 is the primary of view 0\. Dashboards:/);
    expect(read('core/cli/demo-watch.ts')).toContain('; replica 0 is the primary of view 0. Dashboards:');
  });

  it('states the operation and file size limits the code enforces', () => {
    expect(MAX_OP_BYTES).toBe(64 * 1024);
    expect(readme).toContain('an operation is at most 64 KiB (65,536 bytes)');
    expect(FILE_BYTES_MAX).toBe(1024 * 1024);
    expect(readme).toContain('a file at most\n1 MiB');
  });

  it("says how to open a lab machine's dashboard from another machine, and what the token protects", () => {
    expect(read('core/cli/replica-command.ts')).toContain('from other machines: ${url}');
    expect(readme).toContain('--api-host\n0.0.0.0');
    expect(readme).toContain('from other machines: http://');
    expect(readme).toMatch(/The token is the only thing between the network and the\s+replica's controls/);
  });

  it('says plainly what the EBADENGINE warnings of npm install on Node 20 mean', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    const needNewer = Object.entries(lock.packages).filter(
      ([, p]) => /(>=\s*2[2-9]|\^2[2-9])/.test(p.engines?.node ?? '') && !/\b20\b/.test(p.engines?.node ?? ''),
    );
    expect(needNewer.length).toBeGreaterThan(0);
    expect(readme).toContain('npm warn EBADENGINE Unsupported engine');
    expect(readme).toContain("runs on the project's own Node 24");
    expect(readme).not.toContain('Node ≥ 18');
  });
});
