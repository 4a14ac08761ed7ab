/**
 * Discovery: the loopback filter and de-duplication on a real node's 'peer:discovery' events, and real
 * mDNS among four nodes. mDNS multicasts, and in the host network namespace the default route would
 * carry it off the machine; so the mDNS test runs its nodes in a child process inside a fresh network
 * namespace whose only interface is loopback (needs `unshare`, i.e. root or user namespaces).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { multiaddr } from '@multiformats/multiaddr';
import { watchPeerDiscovery } from './discovery.ts';
import { generateIdentityKey } from './node.ts';
import { TestNet } from './test-helpers.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { LabNode } from './node.ts';
import type { PeerInfo } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

const net = new TestNet();
afterEach(() => net.stopAll());

function announce(node: LabNode, detail: PeerInfo): void {
  node.safeDispatchEvent('peer:discovery', { detail });
}

describe('watchPeerDiscovery', () => {
  it('reports LAN addresses only, unless loopback is allowed', async () => {
    const node = await net.node();
    const remote = peerIdFromPrivateKey(await generateIdentityKey());
    const lan = watchPeerDiscovery(node);
    const demo = watchPeerDiscovery(node, { allowLoopback: true });
    const seenLan: Array<[string, string[]]> = [];
    const seenDemo: Array<[string, string[]]> = [];
    lan.onPeerDiscovered((peer, addrs) => seenLan.push([peer, addrs.map(String)]));
    demo.onPeerDiscovered((peer, addrs) => seenDemo.push([peer, addrs.map(String)]));

    const addrs = ['/ip4/127.0.0.1/tcp/4001', '/ip4/10.9.8.7/tcp/4001'].map((a) => multiaddr(a));
    announce(node, { id: remote, multiaddrs: addrs });

    expect(seenLan).toEqual([[remote.toString(), ['/ip4/10.9.8.7/tcp/4001']]]);
    expect(seenDemo).toEqual([[remote.toString(), addrs.map(String)]]);
    lan.stop();
    demo.stop();
  });

  it('ignores itself, repeats, and loopback-only peers; re-reports a peer whose addresses change', async () => {
    const node = await net.node();
    const remote = peerIdFromPrivateKey(await generateIdentityKey());
    const discovery = watchPeerDiscovery(node);
    const seen: Array<[string, Multiaddr[]]> = [];
    discovery.onPeerDiscovered((peer, addrs) => seen.push([peer, addrs]));

    announce(node, { id: node.peerId, multiaddrs: [multiaddr('/ip4/10.0.0.1/tcp/1')] });
    announce(node, { id: remote, multiaddrs: [multiaddr('/ip4/127.0.0.1/tcp/1')] });
    expect(seen).toEqual([]);

    announce(node, { id: remote, multiaddrs: [multiaddr('/ip4/10.0.0.2/tcp/1')] });
    announce(node, { id: remote, multiaddrs: [multiaddr('/ip4/10.0.0.2/tcp/1')] });
    announce(node, { id: remote, multiaddrs: [multiaddr('/ip4/10.0.0.2/tcp/2')] });
    expect(seen.map(([peer, addrs]) => `${peer === remote.toString()} ${addrs.join(' ')}`)).toEqual([
      'true /ip4/10.0.0.2/tcp/1',
      'true /ip4/10.0.0.2/tcp/2',
    ]);
    expect([...discovery.knownPeers().keys()]).toEqual([remote.toString()]);

    discovery.stop();
    announce(node, { id: remote, multiaddrs: [multiaddr('/ip4/10.0.0.3/tcp/1')] });
    expect(seen).toHaveLength(2);
  });
});

const canUnshare = process.platform === 'linux' && spawnSync('unshare', ['--net', 'true']).status === 0;

describe('mDNS discovery', () => {
  it.skipIf(!canUnshare)(
    'four nodes on loopback find each other and exchange frames using only discovered addresses',
    async () => {
      const fixture = fileURLToPath(new URL('./fixtures/mdns-cluster.ts', import.meta.url));
      const setup = 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$@"';
      const child = spawn('unshare', ['--net', '--', 'sh', '-c', setup, 'sh', process.execPath, fixture], {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 18_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));

      const lastLine = stdout.trim().split('\n').at(-1) ?? '';
      expect(exitCode, `fixture failed: ${stdout} ${stderr}`).toBe(0);
      const result = JSON.parse(lastLine) as { ok: boolean; discoveryMs: number; discoveredCorrectly: boolean };
      expect(result.ok).toBe(true);
      expect(result.discoveredCorrectly).toBe(true);
      expect(result.discoveryMs).toBeLessThan(5_000);
    },
    20_000,
  );
});
