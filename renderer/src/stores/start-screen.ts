/**
 * The start screen's pure parts: the LAN list's rows, and the checks a form makes before asking main
 * (main checks everything again; these only say early what is wrong).
 */
import { CLUSTER_NAME_PATTERN, type ClusterSettings, type LanCluster } from '../../../electron/shared/app-setup.ts';

/** A join code: 56 letters and digits in groups of four (core/net/cluster-key.ts). */
const JOIN_CODE_SYMBOLS = 56;

export interface LanRow {
  readonly key: string;
  readonly cluster: string;
  readonly size: number;
  readonly f: number;
  readonly fingerprint: string;
  /** "2 of 4 so far", or "formed: 4 of 4". */
  readonly members: string;
  readonly formed: boolean;
  /** Where its machines listen: what a join dials first (mDNS finds the rest). */
  readonly addresses: readonly string[];
}

export function lanRows(clusters: readonly LanCluster[]): LanRow[] {
  return clusters.map((c) => ({
    key: `${c.fingerprint}/${c.cluster}/${c.size}`,
    cluster: c.cluster,
    size: c.size,
    f: (c.size - 1) / 3,
    fingerprint: c.fingerprint,
    members: c.formed ? `formed: ${c.members} of ${c.size}` : `${c.members} of ${c.size} so far`,
    formed: c.formed,
    addresses: [...new Set(c.machines.flatMap((m) => m.addresses))].slice(0, 16),
  }));
}

/** Why a cluster name will be refused, or null. */
export function clusterNameProblem(name: string): string | null {
  if (name.trim() === '') return 'give the cluster a name';
  return CLUSTER_NAME_PATTERN.test(name.trim())
    ? null
    : "letters, digits, '.', '_' and '-' only (up to 64, not starting with '-')";
}

/** Why a typed join code cannot be one, or null (its checksum is main's to check). */
export function joinCodeProblem(code: string): string | null {
  const symbols = code.replace(/[\s-]/g, '');
  if (symbols === '') return 'paste or type the join code the first machine shows';
  if (/[^0-9a-z]/i.test(symbols)) return 'a join code has letters and digits only';
  if (symbols.length !== JOIN_CODE_SYMBOLS)
    return `a join code has ${JOIN_CODE_SYMBOLS} letters and digits, this one ${symbols.length}`;
  return null;
}

/** One line about a cluster: `"room-101" of 4 (this computer only)`. */
export function describeCluster(settings: ClusterSettings): string {
  return `"${settings.cluster}" of ${settings.size}${settings.local ? ' (this computer only)' : ''}`;
}
