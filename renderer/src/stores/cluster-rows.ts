/**
 * The Cluster panel's view of a snapshot: the roster by replica id (who is primary, who is this
 * machine, how each link is doing) and the peers outside the roster.
 */
import type { LabSnapshot, PeerInfo } from '../../../core/host/lab-api.ts';

/** A peer we heard from within this long counts as live even if its stream is being re-opened. */
const RECENTLY_HEARD_MS = 3_000;

export type LinkState =
  /** This machine. */
  | 'self'
  | 'connected'
  /** Cut off by a fault toggle on this machine. */
  | 'cut'
  /** Known but no open stream (not yet dialled, or gone). */
  | 'unreachable';

export interface RosterRow {
  readonly replicaId: number;
  readonly peerId: string;
  readonly peerShort: string;
  readonly isSelf: boolean;
  readonly isPrimary: boolean;
  readonly link: LinkState;
  readonly lastHeardMsAgo: number | null;
}

export interface OtherPeerRow {
  readonly peerId: string;
  readonly peerShort: string;
  readonly link: LinkState;
  /** Revoked by the replicated state: every replica refuses its requests. */
  readonly revoked: boolean;
}

/** Peer ids are long and share their prefix; the tail is what differs (as the host's log prints them). */
export function shortPeerId(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId;
}

export function linkState(peer: PeerInfo | undefined): LinkState {
  if (peer === undefined) return 'unreachable';
  if (peer.disconnected) return 'cut';
  if (peer.connected) return 'connected';
  if (peer.lastHeardMsAgo !== null && peer.lastHeardMsAgo < RECENTLY_HEARD_MS) return 'connected';
  return 'unreachable';
}

export function rosterRows(snapshot: LabSnapshot): RosterRow[] {
  const peers = new Map(snapshot.peers.map((peer) => [peer.peerId, peer]));
  const primary = snapshot.view?.primary ?? null;
  return snapshot.roster.map((peerId, replicaId) => {
    const isSelf = peerId === snapshot.self.peerId;
    const peer = peers.get(peerId);
    return {
      replicaId,
      peerId,
      peerShort: shortPeerId(peerId),
      isSelf,
      isPrimary: replicaId === primary,
      link: isSelf ? 'self' : linkState(peer),
      lastHeardMsAgo: isSelf ? null : (peer?.lastHeardMsAgo ?? null),
    };
  });
}

/** Peers outside the roster: observers (machines beyond n), clients, or machines still forming. */
export function otherPeerRows(snapshot: LabSnapshot): OtherPeerRow[] {
  const members = new Set(snapshot.roster);
  const revoked = new Set(snapshot.revokedClients ?? []);
  return snapshot.peers
    .filter((peer) => !members.has(peer.peerId))
    .map((peer) => ({
      peerId: peer.peerId,
      peerShort: shortPeerId(peer.peerId),
      link: linkState(peer),
      revoked: revoked.has(peer.peerId),
    }));
}

/**
 * The addresses to give another machine for `--join`, most useful first: a LAN address before a
 * loopback one (which only works on this machine).
 */
export function joinAddresses(snapshot: LabSnapshot): string[] {
  const loopback = (address: string): boolean => /^\/ip4\/127\.|^\/ip6\/::1\//.test(address);
  return [...snapshot.self.addresses].sort((a, b) => Number(loopback(a)) - Number(loopback(b)));
}
