/** What the app remembers between starts: written whole, read back, and ignored when damaged. */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClusterSettings } from '../shared/app-setup.ts';
import { AppSettingsStore, NOTHING_REMEMBERED, SETTINGS_FILE } from './app-settings.ts';

const cluster: ClusterSettings = {
  cluster: 'room-101',
  size: 4,
  dataDir: '/data/room-101',
  local: false,
  join: ['/ip4/10.0.0.5/tcp/4001'],
  mdns: true,
};

describe('AppSettingsStore', () => {
  let dir: string;
  const logged: string[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pbft-lab-settings-'));
    logged.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('remembers nothing at first, then what was saved (no key: that stays in the data directory)', async () => {
    const store = new AppSettingsStore(dir, (l) => logged.push(l));
    expect(await store.load()).toEqual(NOTHING_REMEMBERED);
    await store.save({ cluster, previous: { ...cluster, cluster: 'old', local: true, mdns: false } });
    expect(await new AppSettingsStore(dir, () => {}).load()).toEqual({
      cluster,
      previous: { ...cluster, cluster: 'old', local: true, mdns: false },
    });
    const text = await readFile(join(dir, SETTINGS_FILE), 'utf8');
    expect(text).not.toMatch(/joinCode|key/i);
    if (process.platform !== 'win32') expect((await stat(join(dir, SETTINGS_FILE))).mode & 0o777).toBe(0o600);
  });

  it('starts from the start screen when the file is damaged or holds something else', async () => {
    const store = new AppSettingsStore(dir, (l) => logged.push(l));
    await writeFile(join(dir, SETTINGS_FILE), '{ not json');
    expect(await store.load()).toEqual(NOTHING_REMEMBERED);
    expect(logged[0]).toContain('is not valid JSON');
    await writeFile(
      join(dir, SETTINGS_FILE),
      JSON.stringify({ cluster: { ...cluster, size: 5 }, previous: { ...cluster, cluster: '-x' } }),
    );
    expect(await store.load()).toEqual(NOTHING_REMEMBERED);
  });
});
