/**
 * Which cluster key a machine runs with: the one its data directory holds, one given as a join code,
 * or a new one (the first machine of a cluster). The key is saved in the data directory, so a restart
 * needs no code.
 */
import { ClusterKey, ClusterKeyError } from '../net/cluster-key.ts';
import type { DataDir } from './storage.ts';

/**
 * - a ClusterKey: join that cluster (from `--cluster-key CODE`);
 * - 'new': create a cluster (`--new-cluster`); refused if the directory already holds a key;
 * - 'stored': the directory's key, refused if it holds none;
 * - 'stored-or-new': the directory's key, or a new one if it holds none;
 * - 'none': no key at all, any libp2p node may connect (only to measure what the key costs).
 */
export type ClusterKeyChoice = ClusterKey | 'new' | 'stored' | 'stored-or-new' | 'none';

export interface SettledClusterKey {
  readonly key: ClusterKey | null;
  /** Where it came from: for the line the host logs. */
  readonly origin: 'new' | 'given' | 'stored' | 'replaced' | 'none';
}

export async function settleClusterKey(data: DataDir, choice: ClusterKeyChoice): Promise<SettledClusterKey> {
  const stored = data.clusterKey;
  if (choice === 'none') return { key: null, origin: 'none' };
  if (choice === 'stored' || choice === 'stored-or-new') {
    if (stored) return { key: stored, origin: 'stored' };
    if (choice === 'stored')
      throw new ClusterKeyError(
        `${data.dir} holds no cluster key: start the first machine with --new-cluster, the others with --cluster-key CODE (the join code it prints)`,
      );
    choice = 'new';
  }
  if (choice === 'new') {
    if (stored)
      throw new ClusterKeyError(
        `${data.dir} already belongs to a cluster (key ${stored.fingerprint}): start without --new-cluster to rejoin it, or give a new cluster a data directory of its own`,
      );
    const key = ClusterKey.generate();
    await data.saveClusterKey(key);
    return { key, origin: 'new' };
  }
  if (stored?.equals(choice)) return { key: stored, origin: 'stored' };
  if (stored && data.roster)
    throw new ClusterKeyError(
      `${data.dir} belongs to another cluster (key ${stored.fingerprint}, roster agreed): this join code is for cluster key ${choice.fingerprint}; give that cluster a data directory of its own`,
    );
  // A machine that never formed a roster with its old key (a wrong code given before) takes the new one.
  await data.saveClusterKey(choice);
  return { key: choice, origin: stored ? 'replaced' : 'given' };
}

/** At most one line per remote address this often: a peer redialling without the key must not flood the log. */
const REFUSAL_NOTE_INTERVAL_MS = 10_000;
const REFUSAL_ADDRESSES_TRACKED = 256;

/** The log lines for connections refused by the cluster key, rate-limited per remote IP address. */
export class RefusalNotes {
  private readonly lastNoted = new Map<string, number>();
  private readonly note: (line: string) => void;
  private readonly now: () => number;

  constructor(note: (line: string) => void, now: () => number = () => performance.now()) {
    this.note = note;
    this.now = now;
  }

  refused(remoteAddr: string, direction: 'inbound' | 'outbound', reason: string): void {
    const ip = remoteAddr.split('/tcp/')[0] ?? remoteAddr;
    const now = this.now();
    const last = this.lastNoted.get(ip);
    if (last !== undefined && now - last < REFUSAL_NOTE_INTERVAL_MS) return;
    if (last === undefined && this.lastNoted.size >= REFUSAL_ADDRESSES_TRACKED) {
      for (const [addr, at] of this.lastNoted) if (now - at >= REFUSAL_NOTE_INTERVAL_MS) this.lastNoted.delete(addr);
      if (this.lastNoted.size >= REFUSAL_ADDRESSES_TRACKED) return;
    }
    this.lastNoted.set(ip, now);
    this.note(`${direction === 'inbound' ? 'connection from' : 'connection to'} ${remoteAddr} refused: ${reason}`);
  }
}
