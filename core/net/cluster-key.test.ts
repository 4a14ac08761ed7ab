/** The cluster secret as a join code a person reads out, and as libp2p's swarm key file. */
import { describe, expect, it } from 'vitest';
import { ClusterKey } from './cluster-key.ts';

describe('ClusterKey', () => {
  it('round-trips through its join code, whatever case, spaces or dashes the reader uses', () => {
    const key = ClusterKey.generate();
    const code = key.joinCode;
    expect(code).toMatch(/^([0-9A-HJKMNP-TV-Z]{4}-){13}[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(ClusterKey.fromJoinCode(code).equals(key)).toBe(true);
    expect(ClusterKey.fromJoinCode(code.toLowerCase().replace(/-/g, ' ')).equals(key)).toBe(true);
    // Crockford's base32: O read as 0, I and L as 1.
    const ambiguous = code.replace(/0/g, 'O').replace(/1/g, 'l');
    expect(ClusterKey.fromJoinCode(ambiguous).equals(key)).toBe(true);
  });

  it('refuses a mistyped code instead of making another key of it', () => {
    const code = ClusterKey.generate().joinCode;
    const i = code.indexOf('-') + 1;
    const typo = code.slice(0, i) + (code[i] === 'A' ? 'B' : 'A') + code.slice(i + 1);
    expect(() => ClusterKey.fromJoinCode(typo)).toThrow(/mistyped/);
    expect(() => ClusterKey.fromJoinCode(code.slice(0, -2))).toThrow(/has 56 letters/);
    expect(() => ClusterKey.fromJoinCode(code.replace(/.$/, 'U'))).toThrow(/"U" is not a join code character/);
  });

  it('is stored in the swarm key format @libp2p/pnet reads, and read back from it', () => {
    const key = ClusterKey.generate();
    const file = new TextDecoder().decode(key.pskFile);
    expect(file).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/);
    expect(ClusterKey.fromPskFile(key.pskFile).equals(key)).toBe(true);
    expect(() => ClusterKey.fromPskFile(new TextEncoder().encode('hello'))).toThrow(/not a libp2p swarm key/);
  });

  it('has a fingerprint that names it without revealing it', () => {
    const key = ClusterKey.generate();
    expect(key.fingerprint).toMatch(/^[0-9a-f]{8}$/);
    expect(ClusterKey.fromJoinCode(key.joinCode).fingerprint).toBe(key.fingerprint);
    expect(ClusterKey.generate().fingerprint).not.toBe(key.fingerprint);
  });
});
