/** The lab node: a persistable identity, and the loopback dial guard that protects LAN deployments. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { ClusterKey } from './cluster-key.ts';
import type { RefusedConnection } from './cluster-protector.ts';
import { generateIdentityKey, identityKeyFromBytes, identityKeyToBytes } from './node.ts';
import { TestNet } from './test-helpers.ts';

const net = new TestNet();
afterEach(() => net.stopAll());

describe('createLabNode', () => {
  it('runs under a persisted Ed25519 identity: same key bytes, same peer id', async () => {
    const key = await generateIdentityKey();
    const restored = identityKeyFromBytes(identityKeyToBytes(key));
    expect(restored.type).toBe('Ed25519');
    const node = await net.node({ privateKey: restored });
    expect(node.peerId.toString()).toBe(peerIdFromPrivateKey(key).toString());
    expect(() => identityKeyFromBytes(Uint8Array.of(1, 2, 3))).toThrow();
  });

  it('refuses to dial a remote peer’s loopback address unless allowLoopback is set', async () => {
    const target = await net.node();
    const lanNode = await net.node({ allowLoopback: false });
    const demoNode = await net.node({ allowLoopback: true });

    await expect(lanNode.dial(target.getMultiaddrs())).rejects.toMatchObject({ name: 'DialDeniedError' });
    expect(lanNode.getConnections(target.peerId)).toHaveLength(0);
    const connection = await demoNode.dial(target.getMultiaddrs());
    expect(connection.remotePeer.toString()).toBe(target.peerId.toString());
  });
});

describe('the cluster key (connection protection)', () => {
  it('nodes holding the same key connect; another key or none is refused at once, saying why', async () => {
    const key = ClusterKey.generate();
    const refusals: RefusedConnection[] = [];
    const onNotClusterMember = (r: RefusedConnection): number => refusals.push(r);
    const member = await net.node({ clusterKey: key, onNotClusterMember });
    const other = await net.node({ clusterKey: key });
    expect((await other.dial(member.getMultiaddrs())).remotePeer.toString()).toBe(member.peerId.toString());
    expect(refusals).toEqual([]);

    const otherCluster = await net.node({ clusterKey: ClusterKey.generate() });
    const started = Date.now();
    await expect(otherCluster.dial(member.getMultiaddrs(), { signal: AbortSignal.timeout(4_000) })).rejects.toThrow();
    // Refused on the first bytes, not at a dial timeout.
    expect(Date.now() - started).toBeLessThan(2_000);
    await vi.waitFor(() => expect(refusals).toHaveLength(1));
    expect(refusals[0]!.direction).toBe('inbound');

    const keyless = await net.node();
    await expect(keyless.dial(member.getMultiaddrs(), { signal: AbortSignal.timeout(4_000) })).rejects.toThrow();
    await vi.waitFor(() => expect(refusals).toHaveLength(2));
    expect(member.getConnections().map((c) => c.remotePeer.toString())).toEqual([other.peerId.toString()]);

    // Dialling out to another cluster fails just as fast; whichever side reads the other's noise first
    // refuses (so the dialler often sees only the reset).
    const beforeDial = Date.now();
    await expect(member.dial(otherCluster.getMultiaddrs(), { signal: AbortSignal.timeout(4_000) })).rejects.toThrow();
    expect(Date.now() - beforeDial).toBeLessThan(2_000);
    expect(member.getConnections(otherCluster.peerId)).toHaveLength(0);
  });
});
