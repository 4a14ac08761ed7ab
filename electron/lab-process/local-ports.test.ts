/** A local cluster's ports: the same for every instance of one key, apart for different keys, bounded. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ClusterKey } from '../../core/net/cluster-key.ts';
import {
  LOCAL_PORT_BASE,
  LOCAL_PORT_RANGES,
  LOCAL_PORT_STRIDE,
  isLoopbackPortFree,
  localJoinAddresses,
  localPorts,
} from './local-ports.ts';

describe('localPorts', () => {
  it('derives n + 3 consecutive ports from the key’s fingerprint, inside 20000–43999', () => {
    const key = ClusterKey.generate();
    const ports = localPorts(key.fingerprint, 4);
    expect(ports).toEqual(localPorts(key.fingerprint, 4));
    expect(ports).toHaveLength(7);
    expect(ports.every((p, i) => p === ports[0]! + i)).toBe(true);
    expect(localPorts('00000000', 10)).toEqual(Array.from({ length: 13 }, (_, i) => LOCAL_PORT_BASE + i));
    const last = localPorts((LOCAL_PORT_RANGES - 1).toString(16).padStart(8, '0'), 10);
    expect(last.at(-1)).toBeLessThan(LOCAL_PORT_BASE + LOCAL_PORT_RANGES * LOCAL_PORT_STRIDE);
    expect(() => localPorts('not-hex!', 4)).toThrow(RangeError);
  });

  it('an instance dials the first n ports but its own (spares dial, and are learnt from their connection)', () => {
    const [p0, p1, p2, p3, spare] = localPorts('0000000a', 4);
    const address = (p: number | undefined) => `/ip4/127.0.0.1/tcp/${p}`;
    expect(localJoinAddresses('0000000a', 4, p1!)).toEqual([p0, p2, p3].map(address));
    expect(localJoinAddresses('0000000a', 4, spare!)).toEqual([p0, p1, p2, p3].map(address));
  });
});

describe('isLoopbackPortFree', () => {
  it('is false while something listens on 127.0.0.1 there, true after', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    expect(await isLoopbackPortFree(port)).toBe(false);
    await new Promise((resolve) => server.close(resolve));
    expect(await isLoopbackPortFree(port)).toBe(true);
  });
});
