/**
 * The room observer: subscribes to the telemetry of every replica it is told about (mDNS discovery in
 * `pbft-lab room`, the roster in a replica's own Room tab) and feeds a RoomModel. A subscription that
 * breaks is tried again every RESUBSCRIBE_MS while the peer is watched. Peers of another cluster name
 * (their hello says so) are dropped.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import type { Multiaddr } from '@multiformats/multiaddr';
import { sha256Hasher } from '../crypto/node.ts';
import { batchBytes } from '../pbft/codec.ts';
import {
  subscribeTelemetry,
  type TelemetryFeed,
  type TelemetryNode,
  type TelemetrySubscription,
} from '../net/telemetry-protocol.ts';
import { RoomModel } from './room-model.ts';
import { decodeEventsFrame, EVENTS_FRAME_TAG } from './telemetry-binary.ts';
import type { RoomQuery, RoomState } from './room-types.ts';
import type { TelemetryFrame } from './telemetry-events.ts';

export const RESUBSCRIBE_MS = 2_000;

export interface RoomObserverOptions {
  readonly node: TelemetryNode;
  /** Only replicas of this cluster name. @default any (the cluster key already keeps others out) */
  readonly cluster?: string;
  readonly note?: (line: string) => void;
}

interface Watched {
  readonly peerId: string;
  addrs: Multiaddr[];
  subscription: TelemetrySubscription | null;
  dialling: boolean;
  /** Of another cluster: not dialled again. */
  foreign: boolean;
  /** Why the last attempt failed (logged once per reason). */
  lastFailure: string | null;
  /** Attempts that failed since the last success; a peer never reached is forgotten after FAILURES_MAX. */
  failures: number;
  everSubscribed: boolean;
}

/** A peer that never answered this many attempts is forgotten (discovery brings it back). */
const FAILURES_MAX = 5;

const utf8 = new TextDecoder();

/** The digest of the null request (an empty batch, §4.4), as replicas compute it. */
export const NULL_REQUEST_DIGEST = sha256Hasher.digest(batchBytes([]));

export class RoomObserver {
  readonly model: RoomModel;
  private readonly options: RoomObserverOptions;
  private readonly watched = new Map<string, Watched>();
  private readonly timer: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(options: RoomObserverOptions) {
    this.options = options;
    this.model = new RoomModel({ nullDigest: NULL_REQUEST_DIGEST });
    this.timer = setInterval(() => this.retry(), RESUBSCRIBE_MS);
    this.timer.unref?.();
  }

  /** Subscribe to `peerId` (now, and again whenever the subscription breaks). */
  watch(peerId: string, addrs: readonly Multiaddr[] = []): void {
    const known = this.watched.get(peerId);
    if (known) {
      if (addrs.length > 0) known.addrs = [...addrs];
      if (!known.subscription && !known.dialling && !known.foreign) void this.subscribe(known);
      return;
    }
    try {
      peerIdFromString(peerId);
    } catch {
      return;
    }
    const watched: Watched = {
      peerId,
      addrs: [...addrs],
      subscription: null,
      dialling: false,
      foreign: false,
      lastFailure: null,
      failures: 0,
      everSubscribed: false,
    };
    this.watched.set(peerId, watched);
    void this.subscribe(watched);
  }

  /** A feed for this machine's own publisher (its replica cannot dial itself): frames go straight in. */
  localFeed(peerId: string): TelemetryFeed {
    let closed = false;
    const onClose: (() => void)[] = [];
    const stopped = (): boolean => this.stopped;
    return {
      peer: peerId,
      get closed() {
        return closed || stopped();
      },
      send: (frame) => {
        this.onFrame(peerId, frame);
        return true;
      },
      onDrain: () => {},
      onClose: (callback) => onClose.push(callback),
      close: () => {
        closed = true;
        for (const callback of onClose.splice(0)) callback();
      },
    };
  }

  room(query: RoomQuery = {}): RoomState {
    return this.model.state(query);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const watched of this.watched.values()) watched.subscription?.close();
  }

  private retry(): void {
    for (const watched of this.watched.values())
      if (!watched.subscription && !watched.dialling && !watched.foreign) void this.subscribe(watched);
  }

  private async subscribe(watched: Watched): Promise<void> {
    if (this.stopped) return;
    watched.dialling = true;
    try {
      const target = watched.addrs.length > 0 ? watched.addrs : peerIdFromString(watched.peerId);
      const subscription = await subscribeTelemetry(this.options.node, target, {
        onFrame: (frame) => this.onFrame(watched.peerId, frame, watched),
        onClose: (reason) => {
          watched.subscription = null;
          this.model.disconnected(watched.peerId);
          if (!this.stopped) this.note(`room: telemetry of ${short(watched.peerId)} ended: ${reason}`);
        },
      });
      if (this.stopped || watched.foreign) subscription.close();
      else {
        watched.subscription = subscription;
        watched.lastFailure = null;
        watched.failures = 0;
        watched.everSubscribed = true;
        this.note(`room: subscribed to ${short(watched.peerId)}`);
      }
    } catch (error) {
      const why = (error as Error).message;
      watched.failures++;
      // A client (mDNS finds those too) publishes no telemetry: forget it quietly.
      if (
        /could not negotiate|protocol selection/i.test(why) ||
        (!watched.everSubscribed && watched.failures >= FAILURES_MAX)
      ) {
        this.watched.delete(watched.peerId);
        return;
      }
      if (why !== watched.lastFailure) this.note(`room: cannot subscribe to ${short(watched.peerId)}: ${why}`);
      watched.lastFailure = why;
    } finally {
      watched.dialling = false;
    }
  }

  private onFrame(peerId: string, bytes: Uint8Array, watched?: Watched): void {
    if (bytes[0] === EVENTS_FRAME_TAG) {
      if (watched?.foreign) return;
      const decoded = decodeEventsFrame(bytes);
      if (!decoded) return this.note(`room: a malformed events frame from ${short(peerId)}; ignored`);
      return this.model.ingest(peerId, decoded.lost, decoded.events);
    }
    let frame: TelemetryFrame;
    try {
      frame = JSON.parse(utf8.decode(bytes)) as TelemetryFrame;
    } catch {
      return this.note(`room: a telemetry frame from ${short(peerId)} is not JSON; ignored`);
    }
    switch (frame.t) {
      case 'hello':
        if (this.options.cluster !== undefined && frame.hello.cluster !== this.options.cluster) {
          if (watched) {
            watched.foreign = true;
            watched.subscription?.close();
          }
          return this.note(
            `room: ${short(peerId)} is of cluster "${frame.hello.cluster}", not "${this.options.cluster}"`,
          );
        }
        return this.model.hello(peerId, frame.hello);
      case 'snapshot':
        if (watched?.foreign) return;
        return this.model.snapshot(peerId, frame.snapshot);
    }
  }

  private note(line: string): void {
    this.options.note?.(line);
  }
}

function short(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId;
}
