/**
 * A cluster seen on the LAN, as the start screen lists it (lan-clusters.ts finds them). Types only,
 * free of Node and DOM, so the renderer can import them.
 */

/** What a machine runs: the replica host's role (lab-api.ts `Role`). */
export type LanRole = 'forming' | 'replica' | 'observer';

/** One cluster seen on the LAN. */
export interface LanCluster {
  readonly cluster: string;
  readonly size: number;
  readonly fingerprint: string;
  /** Members so far: the most any of its machines reports, and at least the machines heard. */
  readonly members: number;
  /** Some machine of it runs a replica: the roster is agreed (a newcomer beyond n observes). */
  readonly formed: boolean;
  readonly machines: readonly LanMachine[];
}

export interface LanMachine {
  readonly peerId: string;
  readonly role: LanRole;
  readonly addresses: readonly string[];
  readonly lastHeardMsAgo: number;
}
