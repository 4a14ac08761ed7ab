/**
 * What the app remembers between starts: the cluster it runs (so the next start goes straight to
 * it) and the one before a change from the menu. One small JSON file in Electron's userData; the
 * cluster key itself stays in the replica's data directory (mode 0600), never here.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CLUSTER_NAME_PATTERN, type ClusterSettings } from '../shared/app-setup.ts';

export const SETTINGS_FILE = 'pbft-lab-settings.json';

export interface RememberedSettings {
  /** The cluster to start with; null: show the start screen. */
  readonly cluster: ClusterSettings | null;
  /** The cluster before the last change, offered on the start screen. */
  readonly previous: ClusterSettings | null;
}

export const NOTHING_REMEMBERED: RememberedSettings = { cluster: null, previous: null };

/** A ClusterSettings read from JSON, or null if it is not one (hand-edited, older, damaged). */
export function parseClusterSettings(value: unknown): ClusterSettings | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v['cluster'] !== 'string' || !CLUSTER_NAME_PATTERN.test(v['cluster'])) return null;
  const size = v['size'];
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 4 || size > 100 || (size - 1) % 3 !== 0)
    return null;
  if (typeof v['dataDir'] !== 'string' || v['dataDir'] === '') return null;
  if (typeof v['local'] !== 'boolean' || typeof v['mdns'] !== 'boolean') return null;
  const joins = v['join'];
  if (!Array.isArray(joins) || !joins.every((j) => typeof j === 'string')) return null;
  return { cluster: v['cluster'], size, dataDir: v['dataDir'], local: v['local'], mdns: v['mdns'], join: [...joins] };
}

export class AppSettingsStore {
  readonly file: string;
  private readonly log: (line: string) => void;

  constructor(userDataDir: string, log: (line: string) => void) {
    this.file = join(userDataDir, SETTINGS_FILE);
    this.log = log;
  }

  /** What the file holds; nothing remembered if it is missing or unreadable (said in the log). */
  async load(): Promise<RememberedSettings> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return NOTHING_REMEMBERED;
    }
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      return { cluster: parseClusterSettings(parsed['cluster']), previous: parseClusterSettings(parsed['previous']) };
    } catch (error) {
      this.log(`${this.file} is not valid JSON (${(error as Error).message}): showing the start screen`);
      return NOTHING_REMEMBERED;
    }
  }

  /** Written whole, then renamed into place: a crash leaves the old file or the new one. */
  async save(settings: RememberedSettings): Promise<void> {
    const temp = `${this.file}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      await mkdir(join(this.file, '..'), { recursive: true });
      await writeFile(temp, JSON.stringify(settings, null, 2) + '\n', { mode: 0o600 });
      await rename(temp, this.file);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {});
      this.log(`could not remember the cluster in ${this.file}: ${(error as Error).message}`);
    }
  }
}
