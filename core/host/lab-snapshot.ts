/**
 * The LabApi snapshot of a replica host, put together from its parts: who it is, the roster, the
 * replica's view, log and checkpoints, the peers and their links, the metrics, the faults, and who
 * has been Byzantine so far.
 */
import type { FrameTransportStats } from '../net/frame-transport.ts';
import type { Replica } from '../pbft/replica.ts';
import type { FaultySoFar, LabFaults, LabMetrics, LabSnapshot, PeerInfo } from './lab-api.ts';
import type { KnownPeer } from './membership.ts';
import type { ReplicaCounters } from './replica-activity.ts';

export interface SnapshotParts {
  readonly peerId: string;
  readonly cluster: string;
  readonly size: number;
  readonly listenAddresses: readonly string[];
  /** The agreed roster, or null while forming. */
  readonly roster: readonly string[] | null;
  /** While forming, what would be adopted. */
  readonly proposedRoster: readonly string[] | null;
  readonly clusterKey: { readonly fingerprint: string; readonly joinCode: string } | null;
  readonly replicaId: number | null;
  /** The replica, if this machine runs one. */
  readonly replica: Replica | null;
  readonly behaviour: string | null;
  /** The members' behaviour histories (behaviour-ledger.ts), null while forming. */
  readonly faultySoFar: FaultySoFar | null;
  /** Revoked client peers in this replica's state, or null (no replica here). */
  readonly revokedClients: readonly string[] | null;
  readonly peers: readonly KnownPeer[];
  readonly transport: FrameTransportStats;
  readonly counters: ReplicaCounters;
  readonly faults: LabFaults;
  readonly uptimeMs: number;
  /** performance.now() of the snapshot (for "last heard … ms ago"). */
  readonly now: number;
}

export function labSnapshot(parts: SnapshotParts): LabSnapshot {
  const { replica, transport: stats } = parts;
  const roster = parts.roster ?? [];
  const peers: PeerInfo[] = parts.peers.map((peer) => {
    const link = stats.peers[peer.peerId];
    return {
      peerId: peer.peerId,
      replicaId: peer.replicaId,
      addresses: peer.addresses.map(String),
      connected: link !== undefined && link.state === 'open',
      lastHeardMsAgo: peer.lastHeardAt === undefined ? null : Math.round(parts.now - peer.lastHeardAt),
      disconnected: parts.faults.disconnectedFrom.includes(peer.peerId),
    };
  });
  const metrics: LabMetrics = {
    uptimeMs: parts.uptimeMs,
    ...parts.counters,
    framesIn: stats.framesIn,
    framesOut: stats.framesOut,
    bytesIn: stats.bytesIn,
    bytesOut: stats.bytesOut,
    framesDropped: Object.values(stats.dropped).reduce((a, b) => a + b, 0),
    partialFrameBytes: stats.partialFrameBytes,
  };
  const stable = replica?.stableCheckpoint;
  return {
    self: {
      peerId: parts.peerId,
      cluster: parts.cluster,
      size: parts.size,
      f: (parts.size - 1) / 3,
      role: parts.roster ? (parts.replicaId === null ? 'observer' : 'replica') : 'forming',
      replicaId: parts.replicaId,
      addresses: parts.listenAddresses.map((a) => `${a}/p2p/${parts.peerId}`.replace(/\/p2p\/[^/]+\/p2p\//, '/p2p/')),
      clusterKey: parts.clusterKey,
    },
    roster: [...roster],
    proposedRoster: parts.roster ? null : parts.proposedRoster && [...parts.proposedRoster],
    view: replica ? { view: replica.view, primary: replica.primary, status: replica.status } : null,
    log: replica ? replica.logRows() : [],
    checkpoints:
      replica && stable
        ? {
            stableSeq: stable.seq,
            stableDigest: stable.stateDigest,
            proofFrom: stable.proof.map((cp) => cp.replica),
            lowWatermark: replica.lowWatermark,
            highWatermark: replica.highWatermark,
            lastExecuted: replica.lastExecuted,
          }
        : null,
    peers,
    metrics,
    faults: parts.faults,
    behaviour: parts.behaviour,
    faultySoFar: parts.faultySoFar,
    ...(parts.revokedClients ? { revokedClients: [...parts.revokedClients] } : {}),
  };
}
