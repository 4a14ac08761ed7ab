/** The lab node: a persistable identity, and the loopback dial guard that protects LAN deployments. */
import { afterEach, describe, expect, it } from 'vitest';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
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
