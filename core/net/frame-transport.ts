/**
 * FrameTransport: opaque frames between replicas over libp2p, and nothing about PBFT.
 *
 * - One protocol (REPLICA_PROTOCOL_ID). Each direction between two peers uses its own long-lived
 *   stream, opened by the sender (a PeerLink per added peer) and only read by the receiver.
 * - `send` never throws or blocks: it queues on the peer's bounded queue (oldest evicted when full) or
 *   drops with a counted reason (counters.ts lists them).
 * - Inbound frames carry the Noise-authenticated remote peer id as `from`, and pass `acceptFrom`.
 * - The transport does not own the libp2p node: start/stop register and remove the protocol handler
 *   and the links; the caller starts and stops the node.
 *
 * Who is a peer to send to is decided above (roster, clients): `send` to a peer that was never added
 * is dropped as 'unknown-peer' rather than silently dialled.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import { dialableRemoteAddrs } from './addresses.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';
import { DROP_REASONS, silentNetLog, TransportCounters } from './counters.ts';
import { checkMaxFrameBytes, DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES_LIMIT, REPLICA_PROTOCOL_ID } from './frames.ts';
import { readInboundStream } from './inbound-stream.ts';
import { PartialFrameBudget, type PartialFrameLimits } from './partial-frames.ts';
import { LinkClosedError, PeerLink } from './peer-link.ts';
import type { BackoffOptions } from './backoff.ts';
import type { DropReason, NetLog } from './counters.ts';
import type { InboundStreamHandle } from './inbound-stream.ts';
import type { PeerLinkOptions, PeerLinkStats } from './peer-link.ts';
import type { Connection, Libp2p, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

export type FrameHandler = (from: string, frame: Uint8Array) => void;

export interface FrameTransportOptions {
  /**
   * Largest frame payload sent, or accepted from a member (see isMember).
   * @default DEFAULT_MAX_FRAME_BYTES (4 MiB)
   */
  maxFrameBytes?: number;
  /**
   * Largest frame payload accepted from a peer that is not a member: clients, observers, strangers.
   * @default DEFAULT_NON_MEMBER_MAX_FRAME_BYTES (128 KiB: a client's largest frame, wire.ts)
   */
  maxNonMemberFrameBytes?: number;
  /**
   * Whether a peer is a member of the roster; consulted at each inbound frame's length prefix.
   * @default every peer is a member (the transport alone knows no roster)
   */
  isMember?: (peer: string) => boolean;
  /**
   * Caps and deadline for partial inbound frames (partial-frames.ts).
   * @default DEFAULT_PARTIAL_FRAME_LIMITS, scaled to the frame limits
   */
  partialFrames?: Partial<PartialFrameLimits>;
  /**
   * Per-peer outbound queue bound, in frames.
   * @default 4096
   */
  maxQueuedFrames?: number;
  /**
   * Per-peer outbound queue bound, in payload bytes; at least maxFrameBytes.
   * @default 16 MiB
   */
  maxQueuedBytes?: number;
  /**
   * Queued frames are coalesced into one stream write of up to this many payload bytes.
   * @default 64 KiB
   */
  maxBatchBytes?: number;
  /**
   * Reconnect backoff.
   * @default DEFAULT_BACKOFF (100 ms doubling to 10 s, 20 % jitter)
   */
  backoff?: Partial<BackoffOptions>;
  /**
   * Limit for one dial and protocol negotiation.
   * @default 5_000
   */
  dialTimeoutMs?: number;
  /**
   * An outbound stream that lived this long resets the backoff.
   * @default 10_000
   */
  stableAfterMs?: number;
  /**
   * How long stop/removePeer wait for queued bytes to flush before resetting a stream.
   * @default 1_000
   */
  closeTimeoutMs?: number;
  /**
   * Keep loopback addresses passed to addPeer (one-machine demo, loopback tests).
   * @default false
   */
  allowLoopback?: boolean;
  /**
   * Whose inbound frames are delivered; consulted per frame. Others are dropped as
   * 'inbound-not-accepted'.
   * @default accept every peer
   */
  acceptFrom?: (peer: string) => boolean;
  /**
   * Sink for noteworthy events (link up/down, resets, drops).
   * @default silent
   */
  log?: NetLog;
}

export interface FrameTransportStats {
  readonly framesIn: number;
  readonly bytesIn: number;
  /** Frames handed to a stream (not acknowledged by the peer). */
  readonly framesOut: number;
  readonly bytesOut: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly reconnects: number;
  readonly dialFailures: number;
  readonly inboundStreamsOpened: number;
  readonly inboundStreamsOpen: number;
  /** Bytes of inbound frames begun but not complete, held for members and for everyone else. */
  readonly partialFrameBytes: { readonly members: number; readonly nonMembers: number };
  readonly peers: Readonly<Record<string, PeerLinkStats>>;
}

export interface FrameTransport {
  /** This node's own peer id. */
  readonly peerId: string;
  /** Queue `frame` for `peer` (the caller must not modify it afterwards); never throws or blocks. */
  send(peer: string, frame: Uint8Array): void;
  /** Subscribe to inbound frames; `from` is the authenticated remote peer id. Returns unsubscribe. */
  onFrame(handler: FrameHandler): () => void;
  /** Keep an outbound stream to `peer`, redialling with backoff. Throws only for a malformed peer id. */
  addPeer(peer: string, addrs?: readonly Multiaddr[]): void;
  /** Close the link to `peer` and drop what is queued for it. */
  removePeer(peer: string): void;
  /** Replace the inbound admission predicate (e.g. once the roster is agreed). */
  setAcceptFrom(acceptFrom: (peer: string) => boolean): void;
  stats(): FrameTransportStats;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What the transport uses of a libp2p node. */
export type FrameTransportNode = Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol'>;

/** Clients' largest frame is a CLIENT-REQUEST of a 64 KiB operation (core/host/wire.ts), with room for its MACs. */
export const DEFAULT_NON_MEMBER_MAX_FRAME_BYTES = 128 * 1024;

/** How often open inbound streams are checked for partial frames past their deadline. */
const PARTIAL_FRAME_SWEEP_MS = 500;

/** An honest peer has one inbound stream per connection; a few more cover a reconnect overlapping. */
const MAX_INBOUND_STREAMS_PER_CONNECTION = 4;
const MAX_OUTBOUND_STREAMS_PER_CONNECTION = 4;

export function createFrameTransport(node: FrameTransportNode, options: FrameTransportOptions = {}): FrameTransport {
  return new Libp2pFrameTransport(node, options);
}

class Libp2pFrameTransport implements FrameTransport {
  readonly peerId: string;
  readonly #node: FrameTransportNode;
  readonly #maxFrameBytes: number;
  readonly #allowLoopback: boolean;
  readonly #linkOptions: PeerLinkOptions;
  readonly #log: NetLog;
  readonly #counters = new TransportCounters();
  readonly #links = new Map<string, PeerLink>();
  readonly #inbound = new Set<InboundStreamHandle>();
  readonly #handlers = new Set<FrameHandler>();
  readonly #maxNonMemberFrameBytes: number;
  readonly #isMember: (peer: string) => boolean;
  readonly #budget: PartialFrameBudget;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #acceptFrom: (peer: string) => boolean;
  #status: 'new' | 'started' | 'stopped' = 'new';

  constructor(node: FrameTransportNode, options: FrameTransportOptions) {
    this.#node = node;
    this.peerId = node.peerId.toString();
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (
      !Number.isInteger(this.#maxFrameBytes) ||
      this.#maxFrameBytes < 0 ||
      this.#maxFrameBytes > MAX_FRAME_BYTES_LIMIT
    ) {
      throw new RangeError(`maxFrameBytes must be an integer in 0..${MAX_FRAME_BYTES_LIMIT}`);
    }
    this.#maxNonMemberFrameBytes = Math.min(
      options.maxNonMemberFrameBytes ?? DEFAULT_NON_MEMBER_MAX_FRAME_BYTES,
      this.#maxFrameBytes,
    );
    checkMaxFrameBytes(this.#maxNonMemberFrameBytes);
    this.#isMember = options.isMember ?? (() => true);
    // Two frames' worth per peer (one being read, one more on a second stream while it reconnects), and
    // room for 128 strangers' frames at once among all non-members.
    this.#budget = new PartialFrameBudget({
      perMemberBytes: 2 * this.#maxFrameBytes,
      perNonMemberBytes: 2 * this.#maxNonMemberFrameBytes,
      nonMembersBytes: 128 * this.#maxNonMemberFrameBytes,
      timeoutMs: 5_000,
      minBytesPerSec: 1024 * 1024,
      ...options.partialFrames,
    });
    const maxQueuedBytes = options.maxQueuedBytes ?? Math.max(16 * 1024 * 1024, this.#maxFrameBytes);
    if (maxQueuedBytes < this.#maxFrameBytes) {
      throw new RangeError('maxQueuedBytes must be at least maxFrameBytes, or a legal frame could never be queued');
    }
    this.#allowLoopback = options.allowLoopback ?? false;
    this.#acceptFrom = options.acceptFrom ?? (() => true);
    this.#log = options.log ?? silentNetLog;
    this.#linkOptions = {
      queue: { maxFrames: options.maxQueuedFrames ?? 4096, maxBytes: maxQueuedBytes },
      maxBatchBytes: options.maxBatchBytes ?? 64 * 1024,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      dialTimeoutMs: options.dialTimeoutMs ?? 5_000,
      stableAfterMs: options.stableAfterMs ?? 10_000,
      closeTimeoutMs: options.closeTimeoutMs ?? 1_000,
    };
  }

  send(peer: string, frame: Uint8Array): void {
    if (this.#status === 'stopped') {
      this.#counters.drop('link-closed');
      return;
    }
    if (frame.byteLength > this.#maxFrameBytes) {
      this.#counters.drop('frame-too-large');
      return;
    }
    if (peer === this.peerId) {
      this.#counters.drop('self');
      return;
    }
    const link = this.#links.get(peer);
    if (link == null) {
      this.#counters.drop('unknown-peer');
      return;
    }
    link.enqueue(frame);
  }

  onFrame(handler: FrameHandler): () => void {
    // Wrapped so that subscribing the same function twice yields two independent subscriptions.
    const subscription: FrameHandler = (from, frame) => handler(from, frame);
    this.#handlers.add(subscription);
    return () => {
      this.#handlers.delete(subscription);
    };
  }

  addPeer(peer: string, addrs: readonly Multiaddr[] = []): void {
    const remote = peerIdFromString(peer);
    const key = remote.toString();
    if (key === this.peerId || this.#status === 'stopped') {
      return;
    }
    const existing = this.#links.get(key);
    const link =
      existing ??
      new PeerLink({ node: this.#node, remote, counters: this.#counters, log: this.#log, options: this.#linkOptions });
    if (addrs.length > 0) {
      const dialable = dialableRemoteAddrs(addrs, this.#allowLoopback);
      if (dialable.length === 0) {
        this.#log({
          level: 'warn',
          event: 'no-dialable-address',
          peer: key,
          reason: 'only loopback addresses given and allowLoopback is off',
        });
      }
      link.setAddrs(dialable);
    }
    if (existing == null) {
      // Registered after its addresses are set, so the first dial already uses them.
      this.#links.set(key, link);
      if (this.#status === 'started') {
        link.start();
      }
    }
  }

  removePeer(peer: string): void {
    const link = this.#links.get(peer);
    if (link == null) {
      return;
    }
    this.#links.delete(peer);
    link.stop().catch((err: unknown) => {
      this.#log({ level: 'warn', event: 'link-stop-failed', peer, detail: String(err) });
    });
  }

  setAcceptFrom(acceptFrom: (peer: string) => boolean): void {
    this.#acceptFrom = acceptFrom;
  }

  stats(): FrameTransportStats {
    const c = this.#counters;
    const peers: Record<string, PeerLinkStats> = {};
    for (const [peer, link] of this.#links) {
      peers[peer] = link.stats();
    }
    return {
      framesIn: c.framesIn,
      bytesIn: c.bytesIn,
      framesOut: c.framesOut,
      bytesOut: c.bytesOut,
      dropped: Object.fromEntries(DROP_REASONS.map((reason) => [reason, c.dropped[reason]])) as Record<
        DropReason,
        number
      >,
      reconnects: c.reconnects,
      dialFailures: c.dialFailures,
      inboundStreamsOpened: c.inboundStreamsOpened,
      inboundStreamsOpen: this.#inbound.size,
      partialFrameBytes: { members: this.#budget.memberBytes, nonMembers: this.#budget.nonMemberBytes },
      peers,
    };
  }

  async start(): Promise<void> {
    if (this.#status !== 'new') {
      throw new Error(`FrameTransport cannot start: it is ${this.#status}`);
    }
    await this.#node.handle(REPLICA_PROTOCOL_ID, (stream, connection) => this.#onInboundStream(stream, connection), {
      maxInboundStreams: MAX_INBOUND_STREAMS_PER_CONNECTION,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS_PER_CONNECTION,
    });
    this.#status = 'started';
    this.#sweep = setInterval(() => {
      const now = performance.now();
      for (const inbound of this.#inbound) inbound.checkDeadline(now);
    }, PARTIAL_FRAME_SWEEP_MS);
    this.#sweep.unref();
    for (const link of this.#links.values()) {
      link.start();
    }
  }

  async stop(): Promise<void> {
    if (this.#status === 'stopped') {
      return;
    }
    const wasStarted = this.#status === 'started';
    this.#status = 'stopped';
    clearInterval(this.#sweep);
    if (wasStarted) {
      await this.#node.unhandle(REPLICA_PROTOCOL_ID).catch(() => {});
    }
    const links = [...this.#links.values()];
    this.#links.clear();
    await Promise.all(links.map((link) => link.stop()));
    for (const inbound of this.#inbound) {
      inbound.abort(new LinkClosedError());
    }
    this.#inbound.clear();
  }

  #onInboundStream(stream: Stream, connection: Connection): void {
    if (this.#status !== 'started') {
      stream.abort(new LinkClosedError());
      return;
    }
    this.#counters.inboundStreamsOpened++;
    const from = connection.remotePeer.toString();
    const handle = readInboundStream(stream, connection, {
      maxFrameBytes: () => (this.#memberSafe(from) ? this.#maxFrameBytes : this.#maxNonMemberFrameBytes),
      isMember: () => this.#memberSafe(from),
      budget: this.#budget,
      now: () => performance.now(),
      counters: this.#counters,
      log: this.#log,
      acceptFrom: (peer) => this.#acceptFrom(peer),
      deliver: (from, frame) => this.#deliver(from, frame),
      onGone: () => this.#inbound.delete(handle),
    });
    this.#inbound.add(handle);
    // The peer is up and reaches us: if our link to it is backing off, dial it now.
    this.#links.get(from)?.retryNow();
  }

  /** The roster code's bug must not take the stream down: a predicate that throws says "not a member". */
  #memberSafe(peer: string): boolean {
    try {
      return this.#isMember(peer);
    } catch {
      return false;
    }
  }

  #deliver(from: string, frame: Uint8Array): void {
    for (const handler of this.#handlers) {
      try {
        handler(from, frame);
      } catch (err) {
        this.#counters.drop('handler-threw');
        this.#log({
          level: 'warn',
          event: 'handler-threw',
          peer: from,
          detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
        });
      }
    }
  }
}
