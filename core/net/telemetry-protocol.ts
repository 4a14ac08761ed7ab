/**
 * The telemetry protocol (DESIGN.md "Telemetry and the room"): a replica's events to observers, on a
 * libp2p protocol of its own so it never shares a stream, a queue or a frame limit with replica traffic.
 *
 * The observer opens a stream and only reads; the publisher only writes length-prefixed frames
 * (frames.ts) of UTF-8 JSON. Nothing here knows PBFT: the host decides what the frames say
 * (core/host/telemetry-feed.ts). Only nodes holding the cluster key connect at all (the connection
 * protector, node.ts), so only they can subscribe.
 *
 * Backpressure: `send` returns false once the stream's buffer is full; the publisher then waits for
 * `onDrain` and meanwhile keeps its own bounded queue (a slow observer loses the oldest events).
 */
import { encodeFrames, FrameDecoder } from './frames.ts';
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

export const TELEMETRY_PROTOCOL_ID = '/pbft-lab/telemetry/1.0.0';
/** Largest telemetry frame an observer accepts (a snapshot of a long log is the largest). */
export const TELEMETRY_FRAME_BYTES_MAX = 4 * 1024 * 1024;
/** Observers one publisher serves at once (each costs a queue and JSON encoding). */
export const TELEMETRY_SUBSCRIBERS_MAX = 16;

/** One observer's stream, as the publisher sees it. */
export interface TelemetryFeed {
  /** The observer's (Noise-authenticated) peer id. */
  readonly peer: string;
  /** Queue a frame; false: the stream is full, wait for onDrain before the next. Never throws. */
  send(frame: Uint8Array): boolean;
  /** Once, when the stream can take more. */
  onDrain(callback: () => void): void;
  onClose(callback: () => void): void;
  readonly closed: boolean;
  close(): void;
}

export type TelemetryNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>;

/** Serve the protocol: each observer's stream becomes a feed. Returns the function that stops serving. */
export async function serveTelemetry(
  node: TelemetryNode,
  onFeed: (feed: TelemetryFeed) => void,
): Promise<() => Promise<void>> {
  await node.handle(
    TELEMETRY_PROTOCOL_ID,
    (stream, connection) => onFeed(feedOf(stream, connection.remotePeer.toString())),
    {
      maxInboundStreams: 4,
    },
  );
  return () => node.unhandle(TELEMETRY_PROTOCOL_ID).catch(() => {});
}

function feedOf(stream: Stream, peer: string): TelemetryFeed {
  let closed = false;
  const closeCallbacks: (() => void)[] = [];
  stream.addEventListener('close', () => {
    closed = true;
    for (const callback of closeCallbacks.splice(0)) callback();
  });
  // The observer writes nothing; whatever it does write is read and dropped (never buffered).
  stream.addEventListener('message', () => {});
  return {
    peer,
    get closed() {
      return closed || stream.writeStatus !== 'writable';
    },
    send(frame) {
      if (this.closed) return false;
      try {
        return stream.send(encodeFrames([frame])) && !stream.writableNeedsDrain;
      } catch {
        stream.abort(new Error('telemetry send failed'));
        return false;
      }
    },
    onDrain(callback) {
      const done = (): void => {
        stream.removeEventListener('drain', done);
        stream.removeEventListener('close', done);
        callback();
      };
      stream.addEventListener('drain', done);
      stream.addEventListener('close', done);
    },
    onClose(callback) {
      if (closed) callback();
      else closeCallbacks.push(callback);
    },
    close() {
      if (!closed) stream.close().catch(() => stream.abort(new Error('telemetry feed closed')));
    },
  };
}

export interface TelemetrySubscription {
  close(): void;
}

/**
 * Subscribe to one publisher: every frame it sends goes to `onFrame` (in order) until the stream
 * closes, then `onClose` once with why. Rejects if the dial or the protocol negotiation fails.
 */
export async function subscribeTelemetry(
  node: TelemetryNode,
  target: PeerId | Multiaddr | Multiaddr[],
  handlers: { onFrame: (frame: Uint8Array) => void; onClose: (reason: string) => void },
  options: { signal?: AbortSignal } = {},
): Promise<TelemetrySubscription> {
  const stream = await node.dialProtocol(target, TELEMETRY_PROTOCOL_ID, {
    signal: options.signal ?? AbortSignal.timeout(5_000),
  });
  const decoder = new FrameDecoder(TELEMETRY_FRAME_BYTES_MAX);
  let ended = false;
  const end = (reason: string): void => {
    if (ended) return;
    ended = true;
    handlers.onClose(reason);
  };
  stream.addEventListener('message', (evt) => {
    if (ended) return;
    try {
      decoder.push(evt.data, handlers.onFrame);
    } catch (error) {
      stream.abort(error instanceof Error ? error : new Error(String(error)));
      end(`bad telemetry frame: ${(error as Error).message}`);
    }
  });
  stream.addEventListener('close', (evt) => end(evt.error ? evt.error.message : 'stream closed'));
  return {
    close() {
      ended = true;
      stream.close().catch(() => stream.abort(new Error('unsubscribed')));
    },
  };
}
