/**
 * The network faults an instructor sets on one machine (LabApi `fault`): pause it, cut its link to a
 * peer (both directions), add a delay to everything it sends. Every frame out passes `send`, every
 * frame in asks `receives`, and the host does not tick while paused.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import type { FaultCommand, LabFaults } from './lab-api.ts';

/** Longest added delay. */
export const DELAY_MS_MAX = 60_000;

export class HostFaults {
  private readonly transmit: (peer: string, bytes: Uint8Array) => void;
  private paused = false;
  private readonly disconnectedFrom = new Set<string>();
  private delayMs = 0;

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
        break;
      case 'resume':
        this.paused = false;
        break;
      case 'disconnect':
        peerIdFromString(command.peerId);
        this.disconnectedFrom.add(command.peerId);
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
    if (this.paused || this.disconnectedFrom.has(peer)) return;
    if (this.delayMs > 0) setTimeout(() => this.transmit(peer, bytes), this.delayMs);
    else this.transmit(peer, bytes);
  }

  /** Whether a frame from `peer` is taken in now. */
  receives(peer: string): boolean {
    return !this.paused && !this.disconnectedFrom.has(peer);
  }

  current(): LabFaults {
    return { paused: this.paused, disconnectedFrom: [...this.disconnectedFrom], delayMs: this.delayMs };
  }
}
