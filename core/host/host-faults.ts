/**
 * The network faults an instructor sets on one machine (LabApi `fault`), meaning what they say
 * (issue 19):
 *
 * - **pause**: a frozen machine — no tick (the host asks `isPaused`), no send, no receive, and no
 *   delivery inside it either (its own client and its own replica, `deliverLocally`);
 * - **cut link** to a peer: an unplugged cable — nothing either way;
 * - **delay**: every frame out waits this long.
 *
 * What was in the air when a fault starts is lost, as a frozen or unplugged machine would lose it:
 * frames the delay was holding are dropped by a pause (all) or a cut (those for that peer), and a
 * delayed frame checks the faults again before it leaves.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import type { FaultCommand, LabFaults } from './lab-api.ts';

/** Longest added delay. */
export const DELAY_MS_MAX = 60_000;

/** A frame the added delay holds. */
interface DelayedFrame {
  readonly peer: string;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class HostFaults {
  private readonly transmit: (peer: string, bytes: Uint8Array) => void;
  private paused = false;
  private readonly disconnectedFrom = new Set<string>();
  private delayMs = 0;
  private readonly delayed = new Set<DelayedFrame>();

  /** @param transmit hands a frame to the network (the frame transport's `send`) */
  constructor(transmit: (peer: string, bytes: Uint8Array) => void) {
    this.transmit = transmit;
  }

  /** A paused machine neither ticks, nor sends, nor receives. */
  get isPaused(): boolean {
    return this.paused;
  }

  isCutFrom(peer: string): boolean {
    return this.disconnectedFrom.has(peer);
  }

  /** Apply a command; throws for an invalid peer id or delay, changing nothing. */
  apply(command: FaultCommand): LabFaults {
    switch (command.kind) {
      case 'pause':
        this.paused = true;
        this.dropDelayed(() => true);
        break;
      case 'resume':
        this.paused = false;
        break;
      case 'disconnect':
        peerIdFromString(command.peerId);
        this.disconnectedFrom.add(command.peerId);
        this.dropDelayed((peer) => peer === command.peerId);
        break;
      case 'reconnect':
        this.disconnectedFrom.delete(command.peerId);
        break;
      case 'delay':
        if (!Number.isFinite(command.ms) || command.ms < 0 || command.ms > DELAY_MS_MAX)
          throw new RangeError(`delay must be 0..${DELAY_MS_MAX} ms`);
        this.delayMs = command.ms;
        break;
    }
    return this.current();
  }

  /** A frame out to `peer`: dropped while paused or cut from it, delayed if a delay is set. */
  send(peer: string, bytes: Uint8Array): void {
    if (!this.passes(peer)) return;
    if (this.delayMs === 0) return this.transmit(peer, bytes);
    const frame: DelayedFrame = {
      peer,
      timer: setTimeout(() => {
        this.delayed.delete(frame);
        if (this.passes(peer)) this.transmit(peer, bytes);
      }, this.delayMs),
    };
    this.delayed.add(frame);
  }

  /** Whether a frame from `peer` is taken in now. */
  receives(peer: string): boolean {
    return this.passes(peer);
  }

  /**
   * A delivery inside this machine, between its own client and its own replica: later (never inside
   * the caller's drain), and not while the machine is paused, now or then.
   */
  deliverLocally(deliver: () => void): void {
    if (this.paused) return;
    queueMicrotask(() => {
      if (!this.paused) deliver();
    });
  }

  /** The host stops: frames still delayed are dropped. */
  stop(): void {
    this.dropDelayed(() => true);
  }

  current(): LabFaults {
    return { paused: this.paused, disconnectedFrom: [...this.disconnectedFrom], delayMs: this.delayMs };
  }

  private passes(peer: string): boolean {
    return !this.paused && !this.disconnectedFrom.has(peer);
  }

  private dropDelayed(which: (peer: string) => boolean): void {
    for (const frame of this.delayed) {
      if (!which(frame.peer)) continue;
      clearTimeout(frame.timer);
      this.delayed.delete(frame);
    }
  }
}
