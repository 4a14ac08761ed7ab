/**
 * The demo's data directories, made before any replica starts so that each one's replica id is known
 * in advance: the roster is the members' peer ids sorted (core/net/roster.ts), and the demo creates
 * every member's identity. So `replica-K`, the `[K]` before its lines and dashboard port base+K all
 * name replica K from the first line on, instead of following the order in which processes started.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { openDataDir } from '../host/storage.ts';

export interface DemoMember {
  /** The replica id this member will have in the roster. */
  readonly replicaId: number;
  readonly peerId: string;
  readonly dataDir: string;
}

export const demoDataDir = (base: string, index: number): string => join(base, `replica-${index}`);

/**
 * Opens (creating where missing) `replica-0` … `replica-{n-1}` under `base` and renames them so that
 * `replica-K` holds the K-th smallest peer id. A directory that already holds a roster (a demo run
 * again with `--data-dir`) keeps its order, which is the same sort.
 */
export async function prepareDemoMembers(base: string, cluster: string, n: number): Promise<DemoMember[]> {
  const found: { peerId: string; dir: string }[] = [];
  for (let i = 0; i < n; i++) {
    const dir = demoDataDir(base, i);
    const data = await openDataDir({ dir, cluster, size: n });
    found.push({ peerId: data.peerId, dir });
    await data.close();
  }
  const byId = [...found].sort((a, b) => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0));
  if (byId.some((m, k) => m.dir !== demoDataDir(base, k))) {
    // Two steps, so that no rename lands on a directory still to be moved.
    const parked = byId.map((m, k) => ({ ...m, parked: join(base, `.replica-${k}-moving`) }));
    for (const m of parked) await rename(m.dir, m.parked);
    for (const [k, m] of parked.entries()) await rename(m.parked, demoDataDir(base, k));
  }
  return byId.map((m, replicaId) => ({ replicaId, peerId: m.peerId, dataDir: demoDataDir(base, replicaId) }));
}
