/**
 * Peers found by mDNS, surfaced as `onPeerDiscovered(peerId, multiaddrs)` with dialable addresses only.
 *
 * mDNS answers repeat every query interval; a peer is reported when first seen and again only when its
 * dialable address set changes. Remote loopback addresses are removed unless `allowLoopback` (the
 * one-machine demo); a peer left with no dialable address is not reported. Deciding whom to connect to
 * (cluster name, roster) is the caller's business: this only tells who answered.
 */
import { dialableRemoteAddrs } from './addresses.ts';
import { silentNetLog } from './counters.ts';
import type { NetLog } from './counters.ts';
import type { Libp2p, PeerInfo } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

export type PeerDiscoveredHandler = (peerId: string, multiaddrs: Multiaddr[]) => void;

export interface PeerDiscoveryOptions {
  /**
   * Report loopback addresses of discovered peers (one-machine demo only).
   * @default false
   */
  allowLoopback?: boolean;
  /** @default silent */
  log?: NetLog;
}

export interface LabDiscovery {
  /** Subscribe; returns unsubscribe. */
  onPeerDiscovered(handler: PeerDiscoveredHandler): () => void;
  /** Peers reported so far, with their last reported addresses. */
  knownPeers(): ReadonlyMap<string, readonly Multiaddr[]>;
  /** Stop listening to the node's discovery events. */
  stop(): void;
}

/** What discovery uses of a libp2p node. */
export type DiscoveryNode = Pick<Libp2p, 'peerId' | 'addEventListener' | 'removeEventListener'>;

export function watchPeerDiscovery(node: DiscoveryNode, options: PeerDiscoveryOptions = {}): LabDiscovery {
  const allowLoopback = options.allowLoopback ?? false;
  const log = options.log ?? silentNetLog;
  const self = node.peerId.toString();
  const known = new Map<string, readonly Multiaddr[]>();
  const handlers = new Set<PeerDiscoveredHandler>();

  const onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    const peer = evt.detail.id.toString();
    if (peer === self) {
      return;
    }
    const addrs = dialableRemoteAddrs(evt.detail.multiaddrs, allowLoopback);
    if (addrs.length === 0) {
      log({
        level: 'debug',
        event: 'discovered-without-dialable-address',
        peer,
        detail: evt.detail.multiaddrs.map(String).join(' '),
      });
      return;
    }
    const previous = known.get(peer);
    if (previous != null && sameAddrs(previous, addrs)) {
      return;
    }
    known.set(peer, addrs);
    log({ level: 'info', event: 'peer-discovered', peer, detail: addrs.map(String).join(' ') });
    for (const handler of handlers) {
      try {
        handler(peer, [...addrs]);
      } catch (err) {
        log({ level: 'warn', event: 'discovery-handler-threw', peer, detail: String(err) });
      }
    }
  };

  node.addEventListener('peer:discovery', onDiscovery);

  return {
    onPeerDiscovered(handler) {
      const subscription: PeerDiscoveredHandler = (peer, addrs) => handler(peer, addrs);
      handlers.add(subscription);
      return () => {
        handlers.delete(subscription);
      };
    },
    knownPeers: () => new Map(known),
    stop() {
      node.removeEventListener('peer:discovery', onDiscovery);
      handlers.clear();
    },
  };
}

function sameAddrs(a: readonly Multiaddr[], b: readonly Multiaddr[]): boolean {
  if (a.length !== b.length) {
    return false;
  }
  const seen = new Set(a.map(String));
  return b.every((addr) => seen.has(addr.toString()));
}
