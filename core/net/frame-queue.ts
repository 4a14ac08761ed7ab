/**
 * The bounded per-peer outbound queue. Frames wait here while the peer's stream is connecting, backed
 * off, or applying backpressure; the queue is bounded in frames and in bytes, and when a new frame does
 * not fit the OLDEST frames are evicted. PBFT recovers lost messages by retransmission (client retries,
 * view-change and checkpoint messages re-sent on timeouts), and after a stall the newest messages are the
 * ones that still matter: a backlog of stale PREPAREs for a peer that was away only delays its catch-up.
 */

export interface FrameQueueLimits {
  /** Most frames held. */
  readonly maxFrames: number;
  /** Most payload bytes held; must be at least the largest frame that will be pushed. */
  readonly maxBytes: number;
}

export class BoundedFrameQueue {
  readonly limits: FrameQueueLimits;
  /** Live frames are `#items[#head..]`; the dead prefix is compacted away in amortised O(1). */
  #items: Uint8Array[] = [];
  #head = 0;
  #bytes = 0;

  constructor(limits: FrameQueueLimits) {
    if (limits.maxFrames < 1 || limits.maxBytes < 0) {
      throw new RangeError('a frame queue needs room for at least one frame');
    }
    this.limits = limits;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends `frame`, evicting the oldest frames until it fits. Returns how many were evicted; a frame
   * larger than `maxBytes` is not queued at all and counts as its own eviction (the caller should have
   * rejected it before).
   */
  push(frame: Uint8Array): number {
    if (frame.byteLength > this.limits.maxBytes) {
      return 1;
    }
    let evicted = 0;
    while (this.length >= this.limits.maxFrames || this.#bytes + frame.byteLength > this.limits.maxBytes) {
      this.#shift();
      evicted++;
    }
    this.#items.push(frame);
    this.#bytes += frame.byteLength;
    return evicted;
  }

  /**
   * Removes and returns frames from the front while their payload total stays within `maxBatchBytes`;
   * always at least one frame when the queue is not empty (a big frame goes alone).
   */
  takeBatch(maxBatchBytes: number): Uint8Array[] {
    const batch: Uint8Array[] = [];
    let batchBytes = 0;
    while (this.length > 0) {
      const next = this.#items[this.#head]!;
      if (batch.length > 0 && batchBytes + next.byteLength > maxBatchBytes) {
        break;
      }
      batch.push(this.#shift());
      batchBytes += next.byteLength;
    }
    return batch;
  }

  /** Empties the queue; returns how many frames were discarded. */
  clear(): number {
    const discarded = this.length;
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    return discarded;
  }

  #shift(): Uint8Array {
    const frame = this.#items[this.#head]!;
    this.#items[this.#head] = EMPTY;
    this.#head++;
    this.#bytes -= frame.byteLength;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return frame;
  }
}

const EMPTY = new Uint8Array(0);
