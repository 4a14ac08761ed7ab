/**
 * The node:crypto implementations of the core's crypto: the request authenticator is standard
 * HMAC-SHA256 (§5.2) even though it is computed without node's Hmac object, and the replica checks it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ed25519ReplicaCrypto, generateEd25519Keys, hmacClientCrypto, sha256Hasher } from './node.ts';

const bytes = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

describe('request authenticators (§5.2)', () => {
  it('are HMAC-SHA256, byte for byte, for short and long messages and keys', () => {
    for (const keyLength of [16, 32, 64, 65, 200]) {
      for (const length of [0, 1, 55, 56, 64, 110, 1023, 1024, 5000]) {
        const key = bytes(keyLength);
        const data = bytes(length);
        const [mac] = hmacClientCrypto([key]).authenticator(data);
        expect(Buffer.from(mac!).toString('hex'), `key ${keyLength} B, data ${length} B`).toBe(
          createHmac('sha256', key).update(data).digest('hex'),
        );
      }
    }
  });

  it('are checked by the replica holding the key, and fail for a changed byte, length or key', () => {
    const keys = [bytes(32), bytes(32), bytes(32), bytes(32)];
    const data = bytes(120);
    const auth = hmacClientCrypto(keys).authenticator(data);
    const [replica] = generateEd25519Keys(4).map((k, i) => ed25519ReplicaCrypto(k, () => keys[i]));
    expect(replica!.verifyRequestMac('c', data, auth[0]!)).toBe(true);
    expect(replica!.verifyRequestMac('c', data, auth[1]!)).toBe(false);
    const flipped = auth[0]!.slice();
    flipped[31] = flipped[31]! ^ 1;
    expect(replica!.verifyRequestMac('c', data, flipped)).toBe(false);
    expect(replica!.verifyRequestMac('c', data, auth[0]!.subarray(0, 16))).toBe(false);
    const other = data.slice();
    other[0] = other[0]! ^ 1;
    expect(replica!.verifyRequestMac('c', other, auth[0]!)).toBe(false);
    const noKey = ed25519ReplicaCrypto(generateEd25519Keys(4)[0]!, () => undefined);
    expect(noKey.verifyRequestMac('c', data, auth[0]!)).toBe(false);
  });

  it('SHA-256 digests are lowercase hex', () => {
    expect(sha256Hasher.digest(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});
