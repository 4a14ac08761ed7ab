/** The loopback policy for remote peers' addresses. */
import { describe, expect, it } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import { dialableRemoteAddrs, isLoopbackMultiaddr } from './addresses.ts';

describe('loopback filtering', () => {
  it('recognises loopback addresses of every form', () => {
    for (const addr of ['/ip4/127.0.0.1/tcp/1', '/ip4/127.8.9.10/tcp/1', '/ip6/::1/tcp/1', '/dns4/localhost/tcp/1']) {
      expect(isLoopbackMultiaddr(multiaddr(addr)), addr).toBe(true);
    }
    for (const addr of [
      '/ip4/10.0.0.7/tcp/1',
      '/ip4/192.168.1.2/tcp/1',
      '/ip6/fe80::1/tcp/1',
      '/dns4/lab.local/tcp/1',
    ]) {
      expect(isLoopbackMultiaddr(multiaddr(addr)), addr).toBe(false);
    }
  });

  it('keeps a remote peer’s LAN addresses and drops its loopback ones unless allowed', () => {
    const addrs = [multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr('/ip4/10.1.2.3/tcp/4001')];
    expect(dialableRemoteAddrs(addrs, false).map(String)).toEqual(['/ip4/10.1.2.3/tcp/4001']);
    expect(dialableRemoteAddrs(addrs, true)).toHaveLength(2);
  });
});
