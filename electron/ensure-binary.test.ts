/** `npm start` without the Electron binary says what to do instead (issue 15, point 13). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./ensure-binary.mjs', import.meta.url));
const electronDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
const hasBinary = existsSync(join(electronDir, 'path.txt'));

describe.skipIf(hasBinary)(
  `npm start without Electron${hasBinary ? ' (skipped: the binary is installed)' : ''}`,
  () => {
    it('prints the headless command and how to use a mirror, and fails', () => {
      const cache = mkdtempSync(join(tmpdir(), 'pbft-lab-electron-cache-'));
      try {
        // A mirror on a closed loopback port and an empty cache: the download fails at once, nothing is written.
        const env = {
          ...process.env,
          ELECTRON_MIRROR: 'http://127.0.0.1:9/',
          ELECTRON_CUSTOM_DIR: 'none',
          electron_config_cache: cache,
          ELECTRON_CACHE: cache,
        };
        const out = spawnSync(process.execPath, [script], { encoding: 'utf8', env, timeout: 60_000 });
        expect(out.status).not.toBe(0);
        expect(out.stderr).toContain('npx pbft-lab demo');
        expect(out.stderr).toContain('ELECTRON_MIRROR=');
        expect(existsSync(join(electronDir, 'path.txt'))).toBe(false);
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    });
  },
);
