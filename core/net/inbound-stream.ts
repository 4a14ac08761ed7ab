/**
 * The receiving end of a peer's replica stream. Frames are decoded synchronously inside the stream's
 * 'message' listener, so a busy replica slows the socket down instead of piling bytes up, and the
 * sender is always `connection.remotePeer`: the peer id Noise authenticated for the connection, never
 * anything a frame says about itself.
 *
 * A framing violation (oversized or malformed length prefix) resets the stream at once, without
 * buffering the announced payload; a stream that ends mid-frame drops the partial frame. A frame that
 * stays incomplete past its deadline, or whose bytes pass the caps on what a peer (or all non-members)
 * may make us hold, resets the stream too (partial-frames.ts). All are counted and logged. The
 * connection itself stays up: the peer may open a fresh stream.
 */
import { FrameDecoder, FrameTooLargeError, MalformedFrameLengthError } from './frames.ts';
import type { DropReason, NetLog, TransportCounters } from './counters.ts';
import type { PartialAccount, PartialFrameBudget } from './partial-frames.ts';
import type { Connection, Stream } from '@libp2p/interface';

export interface InboundStreamDeps {
  /** Asked at each frame's length prefix: a member of the roster may send larger frames than others. */
  readonly maxFrameBytes: () => number;
  /** Whether the sender is a member of the roster now (which caps its partial frames count against). */
  readonly isMember: () => boolean;
  readonly budget: PartialFrameBudget;
  readonly now: () => number;
  readonly counters: TransportCounters;
  readonly log: NetLog;
  /** Consulted for every frame, so a roster change takes effect on open streams. */
  readonly acceptFrom: (peer: string) => boolean;
  /** Hands a frame to the transport's handlers; must not throw. */
  readonly deliver: (from: string, frame: Uint8Array) => void;
  /** Called once when the stream is gone. */
  readonly onGone: (stream: Stream) => void;
}

export interface InboundStreamHandle {
  readonly stream: Stream;
  readonly from: string;
  /** Resets the stream on our own initiative (stop, peer removal); a partial frame is not counted. */
  abort(err: Error): void;
  /** Resets the stream if its incomplete frame is past its deadline (checked by the transport's sweep). */
  checkDeadline(now: number): void;
}

export function readInboundStream(
  stream: Stream,
  connection: Connection,
  deps: InboundStreamDeps,
): InboundStreamHandle {
  const from = connection.remotePeer.toString();
  const decoder = new FrameDecoder(deps.maxFrameBytes);
  const account: PartialAccount = { peer: from, held: 0, member: deps.isMember() };
  /** When the frame being read began (its first byte arrived), or null between frames. */
  let partialSince: number | null = null;
  let failed = false;
  let truncationChecked = false;
  let warnedNotAccepted = false;
  let abortedLocally = false;

  const deliverOrDrop = (frame: Uint8Array): void => {
    if (!accepts(deps.acceptFrom, from)) {
      deps.counters.drop('inbound-not-accepted');
      if (!warnedNotAccepted) {
        warnedNotAccepted = true;
        deps.log({
          level: 'warn',
          event: 'inbound-not-accepted',
          peer: from,
          reason: 'acceptFrom rejected the peer; dropping its frames',
        });
      }
      return;
    }
    deps.counters.framesIn++;
    deps.counters.bytesIn += frame.byteLength;
    deps.deliver(from, frame);
  };

  const release = (): void => {
    deps.budget.update(account, 0, account.member);
    partialSince = null;
  };

  const resetFor = (reason: DropReason, err: Error): void => {
    failed = true;
    release();
    deps.counters.drop(reason);
    deps.log({ level: 'warn', event: 'inbound-stream-reset', peer: from, reason, detail: err.message });
    stream.abort(err);
  };

  const checkTruncation = (): void => {
    if (truncationChecked || failed) {
      return;
    }
    truncationChecked = true;
    if (decoder.midFrame) {
      deps.counters.drop('inbound-truncated');
      deps.log({
        level: 'warn',
        event: 'inbound-truncated',
        peer: from,
        reason: 'inbound-truncated',
        detail: `stream ended inside a frame (${decoder.bufferedBytes} bytes of it held)`,
      });
    }
  };

  stream.addEventListener('message', (evt) => {
    if (failed) {
      return;
    }
    try {
      decoder.push(evt.data, deliverOrDrop);
      const held = decoder.bufferedBytes;
      if (held === 0) partialSince = null;
      else partialSince ??= deps.now();
      const verdict = deps.budget.update(account, held, deps.isMember());
      if (verdict !== 'ok')
        resetFor(
          'inbound-partial-cap',
          new Error(
            verdict === 'peer'
              ? `partial frames of this peer hold ${deps.budget.heldBy(from)} bytes, over its cap`
              : `partial frames of peers outside the roster hold ${deps.budget.nonMemberBytes} bytes, over their cap`,
          ),
        );
    } catch (err) {
      if (err instanceof FrameTooLargeError) {
        resetFor('inbound-frame-too-large', err);
      } else if (err instanceof MalformedFrameLengthError) {
        resetFor('inbound-malformed-length', err);
      } else {
        // Not a framing error: a bug on this side. Reset rather than throw out of an event listener.
        failed = true;
        release();
        deps.log({
          level: 'warn',
          event: 'inbound-stream-reset',
          peer: from,
          reason: 'internal-error',
          detail: String(err),
        });
        stream.abort(err instanceof Error ? err : new Error(String(err)));
      }
    }
  });

  // 'end': the remote finished writing and every byte was delivered. Checked a microtask later because
  // a muxer may process a FIN flag just before the data that travelled with it.
  stream.addEventListener('end', () => {
    queueMicrotask(() => {
      checkTruncation();
      if (stream.writeStatus === 'writable') {
        stream.close().catch((err: unknown) => stream.abort(err instanceof Error ? err : new Error(String(err))));
      }
    });
  });

  stream.addEventListener('close', () => {
    if (!failed) release();
    if (!abortedLocally) {
      // A reset or a dead connection mid-frame truncates it; our own abort (stop) does not count.
      checkTruncation();
    }
    deps.onGone(stream);
  });

  return {
    stream,
    from,
    abort(err: Error): void {
      abortedLocally = true;
      stream.abort(err);
    },
    checkDeadline(now: number): void {
      if (failed || partialSince === null) return;
      const deadline = deps.budget.deadline(partialSince, decoder.announcedBytes);
      if (now > deadline)
        resetFor(
          'inbound-partial-timeout',
          new Error(
            `a frame of ${decoder.announcedBytes} bytes still incomplete after ${Math.round(now - partialSince)} ms (${decoder.bufferedBytes} bytes of it held)`,
          ),
        );
    },
  };
}

/** A predicate that throws rejects: the roster code's bug must not take the stream down. */
function accepts(acceptFrom: (peer: string) => boolean, peer: string): boolean {
  try {
    return acceptFrom(peer);
  } catch {
    return false;
  }
}
