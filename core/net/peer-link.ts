/**
 * One outbound link to one peer: a bounded frame queue and a single long-lived libp2p stream on the
 * replica protocol, kept open by a loop that dials, pumps frames while the stream lives, and redials
 * with capped exponential backoff when it fails.
 *
 * Backpressure, as libp2p 3 defines it: `stream.send()` always accepts the bytes into the stream's own
 * unbounded write buffer and returns false once the muxer cannot take more (yamux send window used up,
 * socket full). After a false we stop calling send until the stream's 'drain' event; frames meanwhile wait
 * in our bounded queue, which evicts its oldest frames when full. So the only unbounded buffer in the
 * path (the stream's) holds at most one batch.
 *
 * Delivery is best effort: frames accepted by a stream that then fails are lost without trace at this
 * layer (counted as sent). PBFT retransmits what matters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { multiaddr } from '@multiformats/multiaddr';
import { backoffDelayMs } from './backoff.ts';
import { BoundedFrameQueue } from './frame-queue.ts';
import { encodeFrames, REPLICA_PROTOCOL_ID } from './frames.ts';
import type { BackoffOptions } from './backoff.ts';
import type { NetLog, TransportCounters } from './counters.ts';
import type { FrameQueueLimits } from './frame-queue.ts';
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';

/** The remote closed its writing end of our outbound stream, which our protocol never does. */
export class RemoteClosedStreamError extends Error {
  override name = 'RemoteClosedStreamError';
  constructor() {
    super('remote closed its end of the outbound replica stream');
  }
}

/** The link was removed or the transport stopped. */
export class LinkClosedError extends Error {
  override name = 'LinkClosedError';
  constructor() {
    super('peer link closed');
  }
}

export type PeerLinkState =
  /** Opening a connection and negotiating the protocol. */
  | 'connecting'
  /** A stream is open; queued frames flow. */
  | 'open'
  /** Waiting out a backoff delay before the next attempt. */
  | 'backoff'
  /** Removed or stopped; terminal. */
  | 'closed';

export interface PeerLinkOptions {
  readonly queue: FrameQueueLimits;
  /** Frames are coalesced into one stream.send of about this many payload bytes. */
  readonly maxBatchBytes: number;
  readonly backoff: BackoffOptions;
  /** Limit for one dial + protocol negotiation. */
  readonly dialTimeoutMs: number;
  /** A stream that lived this long resets the backoff; one that died sooner keeps growing it. */
  readonly stableAfterMs: number;
  /** How long stop() waits for queued bytes to flush before resetting the stream. */
  readonly closeTimeoutMs: number;
}

export interface PeerLinkStats {
  readonly state: PeerLinkState;
  readonly queuedFrames: number;
  readonly queuedBytes: number;
  readonly framesOut: number;
  readonly bytesOut: number;
  /** Bytes accepted by the open stream but not yet taken by the muxer (at most about one batch). */
  readonly streamBufferedBytes: number;
  readonly consecutiveFailures: number;
  readonly streamsOpened: number;
  readonly lastError?: string;
}

export interface PeerLinkDeps {
  readonly node: Pick<Libp2p, 'dialProtocol'>;
  readonly remote: PeerId;
  readonly counters: TransportCounters;
  readonly log: NetLog;
  readonly options: PeerLinkOptions;
}

export class PeerLink {
  readonly remote: PeerId;
  readonly #peer: string;
  readonly #deps: PeerLinkDeps;
  readonly #queue: BoundedFrameQueue;
  readonly #abort = new AbortController();
  /** Aborted to cut the current backoff, or dial attempt, short (retryNow). */
  #retry = new AbortController();
  /** Set by retryNow: the next attempt goes without a backoff. */
  #retryRequested = false;
  /** Set when new addresses are given: the next attempt dials them (not the peer store's old ones). */
  #preferGivenAddrs = false;
  #addrs: Multiaddr[] = [];
  #state: PeerLinkState = 'connecting';
  #stream: Stream | undefined;
  #running: Promise<void> | undefined;
  /** Resolves the pump's wait for work; called on enqueue, stream close and stop. */
  #wake: (() => void) | undefined;
  #framesOut = 0;
  #bytesOut = 0;
  #consecutiveFailures = 0;
  #streamsOpened = 0;
  #lastError: string | undefined;
  /** True while the queue is evicting, so a full queue is logged once per episode, not per frame. */
  #evicting = false;

  constructor(deps: PeerLinkDeps) {
    this.#deps = deps;
    this.remote = deps.remote;
    this.#peer = deps.remote.toString();
    this.#queue = new BoundedFrameQueue(deps.options.queue);
  }

  /** Replaces the addresses to dial; empty means "whatever the peer store knows" (see #dial). */
  setAddrs(addrs: readonly Multiaddr[]): void {
    const known = new Set(this.#addrs.map(String));
    const changed = addrs.length !== this.#addrs.length || addrs.some((a) => !known.has(a.toString()));
    this.#addrs = [...addrs];
    // New addresses (a peer that came back elsewhere): no need to wait out a dial to the old ones.
    if (changed && addrs.length > 0) this.#preferGivenAddrs = true;
    if (changed && known.size > 0) this.retryNow();
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /**
   * Dial again now if the link is waiting out a backoff or stuck in a dial: the peer has just shown it
   * is up (it opened a stream to us), e.g. a replica that restarted, which would otherwise wait up to
   * the backoff's cap, or for a dial to an address it no longer has to time out. The new attempt
   * reuses the connection the peer opened.
   */
  retryNow(): void {
    if (this.#state !== 'backoff' && this.#state !== 'connecting') return;
    this.#retryRequested = true;
    this.#retry.abort();
  }

  enqueue(frame: Uint8Array): void {
    const evicted = this.#queue.push(frame);
    if (evicted > 0) {
      this.#deps.counters.drop('queue-full', evicted);
      if (!this.#evicting) {
        this.#evicting = true;
        this.#deps.log({
          level: 'warn',
          event: 'queue-full',
          peer: this.#peer,
          reason: 'dropping oldest queued frames',
          detail: `${this.#queue.length} frames / ${this.#queue.bytes} bytes queued`,
        });
      }
    }
    this.#wakeUp();
  }

  /** Stops the link for good: flushes briefly, closes the stream, drops what is still queued. */
  async stop(): Promise<void> {
    if (this.#state === 'closed') {
      return this.#running;
    }
    this.#state = 'closed';
    this.#abort.abort(new LinkClosedError());
    this.#wakeUp();
    const stream = this.#stream;
    if (stream != null) {
      try {
        await stream.close({ signal: AbortSignal.timeout(this.#deps.options.closeTimeoutMs) });
      } catch (err) {
        stream.abort(err instanceof Error ? err : new LinkClosedError());
      }
    }
    await this.#running;
    const discarded = this.#queue.clear();
    if (discarded > 0) {
      this.#deps.counters.drop('link-closed', discarded);
    }
  }

  stats(): PeerLinkStats {
    return {
      state: this.#state,
      queuedFrames: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      framesOut: this.#framesOut,
      bytesOut: this.#bytesOut,
      streamBufferedBytes: this.#stream?.writeBufferLength ?? 0,
      consecutiveFailures: this.#consecutiveFailures,
      streamsOpened: this.#streamsOpened,
      ...(this.#lastError == null ? {} : { lastError: this.#lastError }),
    };
  }

  get #closed(): boolean {
    return this.#state === 'closed';
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#consecutiveFailures > 0 && !this.#retryRequested) {
        this.#state = 'backoff';
        const delayMs = backoffDelayMs(this.#consecutiveFailures - 1, this.#deps.options.backoff);
        await sleep(delayMs, undefined, { signal: AbortSignal.any([this.#abort.signal, this.#retry.signal]) }).catch(
          () => {},
        );
        if (this.#closed) {
          return;
        }
      }
      this.#retryRequested = false;
      this.#retry = new AbortController();
      this.#state = 'connecting';
      let stream: Stream;
      try {
        stream = await this.#dial();
      } catch (err) {
        if (this.#closed) {
          return;
        }
        this.#consecutiveFailures++;
        this.#deps.counters.dialFailures++;
        this.#lastError = describe(err);
        this.#deps.log({
          level: 'debug',
          event: 'dial-failed',
          peer: this.#peer,
          reason: this.#lastError,
          detail: `attempt ${this.#consecutiveFailures}`,
        });
        continue;
      }
      if (this.#closed) {
        stream.abort(new LinkClosedError());
        return;
      }
      if (this.#streamsOpened > 0) {
        this.#deps.counters.reconnects++;
      }
      this.#streamsOpened++;
      const failuresBeforeOpen = this.#consecutiveFailures;
      this.#consecutiveFailures = 0;
      const openedAt = Date.now();
      this.#state = 'open';
      this.#deps.log({ level: 'info', event: 'link-open', peer: this.#peer, detail: `stream ${this.#streamsOpened}` });
      const reason = await this.#pump(stream);
      if (this.#closed) {
        return;
      }
      const livedMs = Date.now() - openedAt;
      // A stream that died young does not reset the backoff: a peer that accepts and drops at once
      // must not be redialled at full speed.
      this.#consecutiveFailures = livedMs >= this.#deps.options.stableAfterMs ? 1 : failuresBeforeOpen + 1;
      this.#lastError = reason;
      this.#deps.log({ level: 'info', event: 'link-lost', peer: this.#peer, reason, detail: `after ${livedMs} ms` });
    }
  }

  async #dial(): Promise<Stream> {
    const signal = AbortSignal.any([
      this.#abort.signal,
      this.#retry.signal,
      AbortSignal.timeout(this.#deps.options.dialTimeoutMs),
    ]);
    // Alternate between the addresses we were given and whatever the peer store has learnt since (mDNS,
    // identify), so a peer that came back on another address is still found. An existing connection
    // to the peer is reused either way.
    const useGivenAddrs = this.#addrs.length > 0 && (this.#preferGivenAddrs || this.#consecutiveFailures % 2 === 0);
    this.#preferGivenAddrs = false;
    const target = useGivenAddrs ? this.#addrs.map((addr) => withPeerId(addr, this.#peer)) : this.remote;
    return this.#deps.node.dialProtocol(target, REPLICA_PROTOCOL_ID, { signal });
  }

  /** Sends queued frames on `stream` until it fails or the link stops; returns why it ended. */
  async #pump(stream: Stream): Promise<string> {
    let endReason: string | undefined;
    const onClose = (evt: { error?: Error }): void => {
      endReason = evt.error == null ? 'stream closed' : describe(evt.error);
      this.#wakeUp();
    };
    const onRemoteCloseWrite = (): void => {
      stream.abort(new RemoteClosedStreamError());
    };
    let warnedUnexpected = false;
    const onMessage = (evt: { data: { byteLength: number } }): void => {
      // Our protocol is one-way per stream; anything arriving here is discarded, not buffered.
      this.#deps.counters.drop('unexpected-inbound-on-outbound');
      if (!warnedUnexpected) {
        warnedUnexpected = true;
        this.#deps.log({
          level: 'warn',
          event: 'unexpected-data',
          peer: this.#peer,
          detail: `${evt.data.byteLength} bytes on an outbound stream`,
        });
      }
    };
    stream.addEventListener('close', onClose);
    stream.addEventListener('remoteCloseWrite', onRemoteCloseWrite);
    stream.addEventListener('message', onMessage);
    this.#stream = stream;
    try {
      while (!this.#closed && endReason == null && stream.writeStatus === 'writable') {
        if (this.#queue.length === 0) {
          this.#evicting = false;
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          continue;
        }
        if (stream.writableNeedsDrain) {
          // Not stream.onDrain(): in @libp2p/utils 7.4 its promise is created once per stream and never
          // renewed, so after the first drain it resolves at once and a loop around it spins forever.
          await waitForDrain(stream, this.#abort.signal);
          continue;
        }
        const batch = this.#queue.takeBatch(this.#deps.options.maxBatchBytes);
        let batchBytes = 0;
        for (const frame of batch) {
          batchBytes += frame.byteLength;
        }
        try {
          stream.send(encodeFrames(batch));
        } catch (err) {
          this.#deps.counters.drop('send-failed', batch.length);
          endReason ??= describe(err);
          break;
        }
        this.#framesOut += batch.length;
        this.#bytesOut += batchBytes;
        this.#deps.counters.framesOut += batch.length;
        this.#deps.counters.bytesOut += batchBytes;
      }
    } finally {
      this.#stream = undefined;
      this.#wake = undefined;
      stream.removeEventListener('remoteCloseWrite', onRemoteCloseWrite);
      stream.removeEventListener('message', onMessage);
      stream.removeEventListener('close', onClose);
    }
    if (!this.#closed && stream.status === 'open') {
      // The write side closed under us (e.g. a reset being processed): make sure it is gone.
      stream.abort(new Error(endReason ?? 'outbound stream no longer writable'));
    }
    return endReason ?? `stream ${stream.status}`;
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Resolves on the stream's next 'drain' or 'close' event, or when `signal` aborts. */
function waitForDrain(stream: Stream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      stream.removeEventListener('drain', done);
      stream.removeEventListener('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    stream.addEventListener('drain', done);
    stream.addEventListener('close', done);
    signal.addEventListener('abort', done);
  });
}

function withPeerId(addr: Multiaddr, peer: string): Multiaddr {
  const hasPeerId = addr.getComponents().some((component) => component.name === 'p2p');
  return hasPeerId ? addr : addr.encapsulate(multiaddr(`/p2p/${peer}`));
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    return `${err.name}: ${err.message}`;
  }
  return String(err);
}
