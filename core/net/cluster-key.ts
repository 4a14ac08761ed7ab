/**
 * The cluster secret: 32 random bytes that every machine of one classroom cluster holds. libp2p's
 * connection protection (@libp2p/pnet) uses it as the pre-shared key, so a node without it cannot
 * complete a connection with any member at all (cluster-protector.ts). People carry it from machine
 * to machine as a join code.
 *
 * The join code is the key and a 3-byte checksum in Crockford's base32 (no I, L, O or U; read
 * case-insensitively, with I and L taken for 1 and O for 0), in groups of four:
 * 35 bytes = 280 bits = 56 characters = 14 groups. A mistyped character fails the checksum (one
 * chance in 16.7 million of slipping through) instead of silently making a cluster of its own.
 *
 * On disk it is libp2p's swarm key file format (the same bytes pnet reads):
 *   /key/swarm/psk/1.0.0/\n/base16/\n<64 hex digits>
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const CLUSTER_KEY_BYTES = 32;
const CHECKSUM_BYTES = 3;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const GROUP = 4;
const PSK_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';

/** A join code or key file that cannot be read; the message says what is wrong with it. */
export class ClusterKeyError extends Error {
  override name = 'ClusterKeyError';
}

export class ClusterKey {
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** A fresh random key (the first machine of a new cluster). */
  static generate(): ClusterKey {
    return new ClusterKey(new Uint8Array(randomBytes(CLUSTER_KEY_BYTES)));
  }

  static fromBytes(bytes: Uint8Array): ClusterKey {
    if (bytes.length !== CLUSTER_KEY_BYTES)
      throw new ClusterKeyError(`a cluster key has ${CLUSTER_KEY_BYTES} bytes, not ${bytes.length}`);
    return new ClusterKey(Uint8Array.from(bytes));
  }

  /** Reads a join code as a person typed it: any case, any spaces or dashes. */
  static fromJoinCode(code: string): ClusterKey {
    const symbols = code.toUpperCase().replace(/[\s-]/g, '');
    const expected = Math.ceil(((CLUSTER_KEY_BYTES + CHECKSUM_BYTES) * 8) / 5);
    if (symbols.length !== expected)
      throw new ClusterKeyError(
        `a join code has ${expected} letters and digits (${expected / GROUP} groups of ${GROUP}), this one has ${symbols.length}`,
      );
    const bytes = decodeBase32(symbols);
    const key = bytes.subarray(0, CLUSTER_KEY_BYTES);
    if (!timingSafeEqual(bytes.subarray(CLUSTER_KEY_BYTES), checksum(key)))
      throw new ClusterKeyError('the join code does not check out: a character is mistyped');
    return new ClusterKey(Uint8Array.from(key));
  }

  /** Reads the swarm key file format (cluster.key in a data directory). */
  static fromPskFile(bytes: Uint8Array): ClusterKey {
    const text = new TextDecoder().decode(bytes);
    if (!text.startsWith(PSK_HEADER)) throw new ClusterKeyError('not a libp2p swarm key (/key/swarm/psk/1.0.0/)');
    const hex = text.slice(PSK_HEADER.length).trim();
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new ClusterKeyError('the swarm key is not 64 hexadecimal digits');
    return new ClusterKey(new Uint8Array(Buffer.from(hex, 'hex')));
  }

  /** The code to read out or copy to the other machines. */
  get joinCode(): string {
    const symbols = encodeBase32(concat(this.#bytes, checksum(this.#bytes)));
    return symbols.match(new RegExp(`.{1,${GROUP}}`, 'g'))!.join('-');
  }

  /** The key in the format @libp2p/pnet's preSharedKey reads, and the data directory keeps. */
  get pskFile(): Uint8Array {
    return new TextEncoder().encode(PSK_HEADER + Buffer.from(this.#bytes).toString('hex'));
  }

  /**
   * A short public name for the key (8 hex digits of a hash of it), for logs and the dashboard:
   * two machines showing the same fingerprint hold the same key; it reveals nothing of the key.
   */
  get fingerprint(): string {
    return createHash('sha256')
      .update('pbft-lab cluster key fingerprint\n')
      .update(this.#bytes)
      .digest('hex')
      .slice(0, 8);
  }

  equals(other: ClusterKey): boolean {
    return timingSafeEqual(this.#bytes, other.#bytes);
  }
}

function checksum(key: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update('pbft-lab join code\n').update(key).digest()).subarray(
    0,
    CHECKSUM_BYTES,
  );
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Crockford base32 of `bytes` whose bit length is a multiple of 5 (35 bytes here). */
function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(buffer >> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function decodeBase32(symbols: string): Uint8Array {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const symbol of symbols) {
    const value = CROCKFORD.indexOf(symbol === 'I' || symbol === 'L' ? '1' : symbol === 'O' ? '0' : symbol);
    if (value < 0) throw new ClusterKeyError(`"${symbol}" is not a join code character`);
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
    buffer &= (1 << bits) - 1;
  }
  return Uint8Array.from(out);
}
