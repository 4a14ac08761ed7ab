/**
 * Which addresses of a remote peer we may dial. An mDNS answer, and identify, list a peer's loopback
 * addresses too; on a LAN dialling another machine's 127.0.0.1 reaches ourselves (or a local replica)
 * instead, so remote loopback addresses are filtered out everywhere except the one-machine demo.
 */
import type { Multiaddr } from '@multiformats/multiaddr';

/** True for /ip4/127.x.x.x, /ip6/::1, IPv4-mapped loopback and /dns*\/localhost. */
export function isLoopbackMultiaddr(addr: Multiaddr): boolean {
  const first = addr.getComponents()[0];
  const value = first?.value?.toLowerCase();
  if (first == null || value == null) {
    return false;
  }
  switch (first.name) {
    case 'ip4':
      return value.startsWith('127.');
    case 'ip6':
      return value === '::1' || value === '0:0:0:0:0:0:0:1' || value.startsWith('::ffff:127.');
    case 'dns':
    case 'dns4':
    case 'dns6':
      return value === 'localhost' || value.endsWith('.localhost');
    default:
      return false;
  }
}

/** The addresses of a remote peer that are worth dialling under the loopback policy. */
export function dialableRemoteAddrs(addrs: readonly Multiaddr[], allowLoopback: boolean): Multiaddr[] {
  return allowLoopback ? [...addrs] : addrs.filter((addr) => !isLoopbackMultiaddr(addr));
}

/** The peer id in a multiaddr's last `/p2p/…` component, if it has one. */
export function peerIdOfMultiaddr(addr: Multiaddr): string | null {
  const p2p = addr.getComponents().filter((c) => c.name === 'p2p');
  return p2p.at(-1)?.value ?? null;
}
