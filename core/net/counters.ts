/**
 * What the network layer counts and how it reports: every frame that is not delivered is counted under
 * one named reason (never silently lost), and noteworthy events go to an injected log sink, which is
 * silent by default so tests and the CLI print nothing unless asked.
 */

/** Why a frame was not sent or not delivered. */
export type DropReason =
  /** send(): the peer was never added (addPeer) or was removed. */
  | 'unknown-peer'
  /** send(): the frame is addressed to this node itself. */
  | 'self'
  /** send(): the frame is larger than maxFrameBytes. */
  | 'frame-too-large'
  /** send(): the peer's queue was full, the oldest queued frame was evicted. */
  | 'queue-full'
  /** Frames still queued when the peer was removed or the transport stopped. */
  | 'link-closed'
  /** A batch handed to a stream that failed while accepting it. */
  | 'send-failed'
  /** Inbound: a length prefix above maxFrameBytes; the stream is reset. */
  | 'inbound-frame-too-large'
  /** Inbound: a length prefix that is not a varint of ≤ 5 bytes; the stream is reset. */
  | 'inbound-malformed-length'
  /** Inbound: the stream ended in the middle of a frame. */
  | 'inbound-truncated'
  /** Inbound: a frame stayed incomplete past its deadline (partial-frames.ts); the stream is reset. */
  | 'inbound-partial-timeout'
  /** Inbound: partial frames held for the peer, or for all non-members, passed their cap; the stream is reset. */
  | 'inbound-partial-cap'
  /** Inbound: acceptFrom(peer) said no. */
  | 'inbound-not-accepted'
  /** Inbound: a frame handler threw (the frame reached the handlers before it). */
  | 'handler-threw'
  /** Bytes arriving on one of our outbound streams, where the remote must not write. */
  | 'unexpected-inbound-on-outbound';

export const DROP_REASONS: readonly DropReason[] = [
  'unknown-peer',
  'self',
  'frame-too-large',
  'queue-full',
  'link-closed',
  'send-failed',
  'inbound-frame-too-large',
  'inbound-malformed-length',
  'inbound-truncated',
  'inbound-partial-timeout',
  'inbound-partial-cap',
  'inbound-not-accepted',
  'handler-threw',
  'unexpected-inbound-on-outbound',
];

export interface NetLogEntry {
  readonly level: 'debug' | 'info' | 'warn';
  /** Short machine-readable event name, e.g. 'inbound-stream-reset', 'link-open'. */
  readonly event: string;
  readonly peer?: string;
  readonly reason?: string;
  readonly detail?: string;
}

export type NetLog = (entry: NetLogEntry) => void;

export const silentNetLog: NetLog = () => {};

/** Transport-wide counters, shared by the inbound path and every peer link. */
export class TransportCounters {
  framesIn = 0;
  bytesIn = 0;
  framesOut = 0;
  bytesOut = 0;
  /** Outbound streams opened after an earlier one to the same peer had failed or closed. */
  reconnects = 0;
  /** Failed attempts to open an outbound stream (dial or protocol negotiation). */
  dialFailures = 0;
  inboundStreamsOpened = 0;
  readonly dropped: Record<DropReason, number> = Object.fromEntries(
    DROP_REASONS.map((reason) => [reason, 0]),
  ) as Record<DropReason, number>;

  drop(reason: DropReason, frames = 1): void {
    this.dropped[reason] += frames;
  }
}
