/**
 * libp2p's connection protection with the cluster key (@libp2p/pnet), and a clear verdict when the
 * other side does not hold it.
 *
 * pnet XORs every byte of a connection with an XSalsa20 stream keyed by the pre-shared key, before
 * Noise. It authenticates nothing itself: a peer with another key (or none) just produces bytes that
 * decrypt to noise, and the upgrade then fails somewhere in multistream-select or Noise with whatever
 * error that noise provokes — often only at the 5 s dial timeout, waiting for a "length" it read from
 * noise. Both sides of every libp2p connection begin with the same 20 bytes, multistream-select's
 * header (a varint 19, then "/multistream/1.0.0\n"), so the first 20 decrypted bytes tell at once
 * whether the remote holds our key. If they are anything else the connection is aborted with
 * NotClusterMemberError and `onRefused` says who it was; nothing the remote sent gets further.
 */
import { preSharedKey } from '@libp2p/pnet';
import type { ClusterKey } from './cluster-key.ts';
import type { AbortOptions, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface';
import type { Uint8ArrayList } from 'uint8arraylist';

/** What every libp2p connection starts with, in each direction (multistream-select 1.0.0). */
const MULTISTREAM_HEADER = new TextEncoder().encode('\x13/multistream/1.0.0\n');

export const NOT_A_MEMBER = 'not a member of this cluster: different or missing cluster key';

/** The remote's bytes do not decrypt under our cluster key. */
export class NotClusterMemberError extends Error {
  override name = 'NotClusterMemberError';
  constructor(remoteAddr: string) {
    super(`${remoteAddr}: ${NOT_A_MEMBER}`);
  }
}

export interface RefusedConnection {
  /** The remote's multiaddr (its address and port; no peer id: Noise never ran). */
  readonly remoteAddr: string;
  /** 'inbound': it dialled us; 'outbound': we dialled it. */
  readonly direction: 'inbound' | 'outbound';
}

/**
 * The stream pnet returns is an AbstractMessageStream: decrypted bytes enter through its public
 * `onData` and wait in its `readBuffer` until the upgrader listens. Bytes that arrived with the
 * nonce are already there when protect() resolves.
 */
interface BoxedStream {
  onData(data: Uint8Array | Uint8ArrayList): void;
  readonly readBuffer: Uint8ArrayList;
}

export function clusterProtector(
  key: ClusterKey,
  onRefused: (refused: RefusedConnection) => void,
): () => ConnectionProtector {
  const pnet = preSharedKey({ psk: key.pskFile });
  return () => {
    const inner = pnet();
    return {
      async protect(connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
        const boxed = await inner.protect(connection, options);
        checkFirstBytes(boxed, connection, onRefused);
        return boxed;
      },
    };
  };
}

/** Passes decrypted bytes on only while they match the header; the first mismatch aborts. */
function checkFirstBytes(
  boxed: MessageStream,
  connection: MessageStream,
  onRefused: (refused: RefusedConnection) => void,
): void {
  const stream = boxed as unknown as BoxedStream;
  const deliver = stream.onData.bind(boxed);
  let checked = 0;
  /** False once a byte differs from the header. */
  const matches = (data: Uint8Array | Uint8ArrayList): boolean => {
    const end = Math.min(data.byteLength, MULTISTREAM_HEADER.length - checked);
    for (let i = 0; i < end; i++) {
      const byte = data instanceof Uint8Array ? data[i] : data.get(i);
      if (byte !== MULTISTREAM_HEADER[checked + i]) return false;
    }
    checked += end;
    return true;
  };
  const refuse = (): void => {
    stream.onData = () => {};
    // The upgrader protects the transport's MultiaddrConnection, which knows where the remote is.
    const remoteAddr = (connection as Partial<MultiaddrConnection>).remoteAddr?.toString() ?? 'an unknown address';
    onRefused({ remoteAddr, direction: connection.direction });
    boxed.abort(new NotClusterMemberError(remoteAddr));
  };
  if (!matches(stream.readBuffer)) return refuse();
  if (checked === MULTISTREAM_HEADER.length) return;
  stream.onData = (data) => {
    if (!matches(data)) return refuse();
    if (checked === MULTISTREAM_HEADER.length) stream.onData = deliver;
    deliver(data);
  };
}

/**
 * A dial's error as a person should read it. When the remote does not hold our key, it usually
 * notices first (it reads our noise) and resets the connection, so the dialler sees only a reset or
 * a failed encryption handshake; with a cluster key, that is the likely reason and is said so.
 */
export function describeDialError(error: unknown, keyed: boolean): string {
  const raw = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (error instanceof NotClusterMemberError) return error.message;
  const duringHandshake =
    error instanceof Error &&
    (error.name === 'EncryptionFailedError' || /ECONNRESET|EOF|reset|closed while reading/i.test(error.message));
  return keyed && duringHandshake ? `${NOT_A_MEMBER}? the handshake failed (${raw})` : raw;
}
