/**
 * Frames of the lab's one libp2p protocol. The first byte says what follows:
 *
 *   0x00 REPLICA         a PBFT message between roster members (codec bytes)
 *   0x01 HELLO           cluster formation (UTF-8 JSON, see core/net/roster.ts)
 *   0x02 CLIENT-KEY      32 bytes: the MAC key this client node (all its logical clients) uses with the
 *                        receiving replica (§5.2)
 *   0x03 CLIENT-REQUEST  a REQUEST from a client (codec bytes); it names the sender's peer id or one of its
 *                        logical clients `peer/j` (client-id.ts)
 *   0x04 CLIENT-REPLY    a REPLY to a client (codec bytes)
 *   0x05 CLIENT-REFUSED  UTF-8 reason: this replica refuses the client's requests (revoked)
 *   0x06 CLIENT-REPLIES  several REPLYs to logical clients of the receiving node, each framed as the
 *                        stream frames are (core/net/frames.ts: varint byte length, then its codec bytes): a replica that executes a batch sends the replies for one
 *                        client node in one frame (at most GROUPED_PER_FRAME of them, GROUPED_FRAME_BYTES)
 *   0x07 CLIENT-REQUESTS several REQUESTs, laid out as in CLIENT-REPLIES: a client node sends the requests
 *                        its logical clients submitted in one turn of the event loop to a replica in one frame
 *   0x08 BEHAVIOUR-HISTORY  a member's signed behaviour history (behaviour-history.ts: 64-byte Ed25519
 *                        signature, then UTF-8 JSON), at most SIGNED_HISTORY_BYTES_MAX bytes; the
 *                        receiver checks it against the sender's peer id (behaviour-ledger.ts)
 *   0x09 TRACED-REPLICA  a REPLICA frame with the sender's causal trace first (telemetry-trace.ts: its
 *                        incarnation, its own clock entry at the send, its vector clock), so the
 *                        receiver's telemetry pairs the receive with the send and merges the clock
 *
 * The sender of a frame is always the Noise-authenticated peer id the transport reports, never a field.
 */
import { lengthPrefixBytes, writeLengthPrefix } from '../net/frames.ts';
import { decodeMessage, encodeMessage, encodeMessageAfter } from '../pbft/codec.ts';
import type { Message, Reply, Request } from '../pbft/messages.ts';
import { SIGNATURE_BYTES, SIGNED_HISTORY_BYTES_MAX } from './behaviour-history.ts';
import { decodeTraceHeader, encodeTraced, type TraceHeader } from './telemetry-trace.ts';

export const FRAME = {
  replica: 0x00,
  hello: 0x01,
  clientKey: 0x02,
  clientRequest: 0x03,
  clientReply: 0x04,
  clientRefused: 0x05,
  clientReplies: 0x06,
  clientRequests: 0x07,
  behaviourHistory: 0x08,
  tracedReplica: 0x09,
} as const;

/** A CLIENT-REQUESTS or CLIENT-REPLIES frame carries at most this many messages… */
export const GROUPED_PER_FRAME = 1024;
/** …and, unless one message alone is larger, at most this many bytes of replies… */
export const GROUPED_FRAME_BYTES = 1024 * 1024;
/**
 * …or of requests: a client is not a member of the roster, and replicas take frames of at most
 * 128 KiB from non-members (core/net/frame-transport.ts); one request alone (a 64 KiB operation and
 * its MACs) fits that too.
 */
export const GROUPED_REQUESTS_FRAME_BYTES = 64 * 1024;

export const CLIENT_KEY_BYTES = 32;

export type WireFrame =
  | { readonly kind: 'replica'; readonly message: Message; readonly trace?: TraceHeader }
  | { readonly kind: 'hello'; readonly json: string }
  | { readonly kind: 'client-key'; readonly key: Uint8Array }
  | { readonly kind: 'client-request'; readonly request: Request }
  | { readonly kind: 'client-reply'; readonly reply: Reply }
  | { readonly kind: 'client-requests'; readonly requests: readonly Request[] }
  | { readonly kind: 'client-replies'; readonly replies: readonly Reply[] }
  | { readonly kind: 'client-refused'; readonly reason: string }
  | { readonly kind: 'behaviour-history'; readonly signed: Uint8Array };

export type ParsedFrame =
  { readonly ok: true; readonly frame: WireFrame } | { readonly ok: false; readonly reason: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function tagged(tag: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(body.length + 1);
  frame[0] = tag;
  frame.set(body, 1);
  return frame;
}

export function encodeFrame(frame: WireFrame): Uint8Array {
  switch (frame.kind) {
    case 'replica':
      return frame.trace
        ? encodeTraced(FRAME.tracedReplica, frame.trace, frame.message)
        : encodeMessageAfter(FRAME.replica, frame.message);
    case 'hello':
      return tagged(FRAME.hello, utf8Encoder.encode(frame.json));
    case 'client-key':
      return tagged(FRAME.clientKey, frame.key);
    case 'client-request':
      return encodeMessageAfter(FRAME.clientRequest, frame.request);
    case 'client-reply':
      return encodeMessageAfter(FRAME.clientReply, frame.reply);
    case 'client-refused':
      return tagged(FRAME.clientRefused, utf8Encoder.encode(frame.reason));
    case 'client-requests':
      return encodeGroup(FRAME.clientRequest, FRAME.clientRequests, frame.requests.map(encodeMessage));
    case 'client-replies':
      return encodeGroup(FRAME.clientReply, FRAME.clientReplies, frame.replies.map(encodeMessage));
    case 'behaviour-history':
      return tagged(FRAME.behaviourHistory, frame.signed);
  }
}

/**
 * Several requests (for one replica) or replies (for one client node) as few frames as the limits
 * allow: one alone as CLIENT-REQUEST / CLIENT-REPLY, several as CLIENT-REQUESTS / CLIENT-REPLIES.
 */
export function encodeGroupedFrames(
  kind: 'requests' | 'replies',
  messages: readonly (Request | Reply)[],
): Uint8Array[] {
  const [single, grouped] =
    kind === 'requests' ? [FRAME.clientRequest, FRAME.clientRequests] : [FRAME.clientReply, FRAME.clientReplies];
  const maxBytes = kind === 'requests' ? GROUPED_REQUESTS_FRAME_BYTES : GROUPED_FRAME_BYTES;
  if (messages.length === 1) return [encodeMessageAfter(single, messages[0]!)];
  const frames: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let bytes = 0;
  for (const message of messages) {
    const encoded = encodeMessage(message);
    if (group.length > 0 && (group.length === GROUPED_PER_FRAME || bytes + encoded.length > maxBytes)) {
      frames.push(encodeGroup(single, grouped, group));
      group = [];
      bytes = 0;
    }
    group.push(encoded);
    bytes += encoded.length;
  }
  if (group.length > 0) frames.push(encodeGroup(single, grouped, group));
  return frames;
}

function encodeGroup(single: number, grouped: number, encoded: readonly Uint8Array[]): Uint8Array {
  if (encoded.length === 1) return tagged(single, encoded[0]!);
  let size = 1;
  for (const e of encoded) size += lengthPrefixBytes(e.length) + e.length;
  const frame = new Uint8Array(size);
  frame[0] = grouped;
  let pos = 1;
  for (const e of encoded) {
    pos = writeLengthPrefix(e.length, frame, pos);
    frame.set(e, pos);
    pos += e.length;
  }
  return frame;
}

/** The messages of a CLIENT-REQUESTS / CLIENT-REPLIES body, or why it is malformed (then none of them counts). */
function parseGroup(body: Uint8Array, expected: 'request' | 'reply'): Message[] | string {
  const [name, plural] = expected === 'request' ? ['CLIENT-REQUESTS', 'requests'] : ['CLIENT-REPLIES', 'replies'];
  const messages: Message[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (messages.length === GROUPED_PER_FRAME) return `${name} with more than ${GROUPED_PER_FRAME} ${plural}`;
    let length = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (pos >= body.length) return `${name} cut short in a length prefix at byte ${pos + 1}`;
      if (i === 4) return `${name} length prefix too long at byte ${pos + 1}`;
      const b = body[pos++]!;
      length += (b & 0x7f) * scale;
      scale *= 0x80;
      if (b < 0x80) break;
    }
    if (length === 0 || pos + length > body.length)
      return `${name} ${expected} ${messages.length} of ${length} bytes does not fit the frame`;
    const decoded = decodeMessage(body.subarray(pos, pos + length));
    if (!decoded.ok) return `${name} ${expected} ${messages.length}: ${decoded.reason}`;
    if (decoded.message.type !== expected)
      return `${name} ${expected} ${messages.length}: expected ${expected}, got ${decoded.message.type}`;
    messages.push(decoded.message);
    pos += length;
  }
  if (messages.length < 2) return `${name} with fewer than 2 ${plural}`;
  return messages;
}

/** Never throws: a bad frame comes back with the reason to log. */
export function parseFrame(bytes: Uint8Array): ParsedFrame {
  if (bytes.length === 0) return { ok: false, reason: 'empty frame' };
  const body = bytes.subarray(1);
  const message = (expected: Message['type']): ParsedFrame | Message => {
    const decoded = decodeMessage(body);
    if (!decoded.ok) return { ok: false, reason: decoded.reason };
    if (decoded.message.type !== expected)
      return { ok: false, reason: `expected ${expected}, got ${decoded.message.type}` };
    return decoded.message;
  };
  const text = (): string | null => {
    try {
      return utf8.decode(body);
    } catch {
      return null;
    }
  };
  switch (bytes[0]) {
    case FRAME.replica: {
      const decoded = decodeMessage(body);
      return decoded.ok
        ? { ok: true, frame: { kind: 'replica', message: decoded.message } }
        : { ok: false, reason: decoded.reason };
    }
    case FRAME.tracedReplica: {
      const trace = decodeTraceHeader(body);
      if (typeof trace === 'string') return { ok: false, reason: `TRACED-REPLICA: ${trace}` };
      const decoded = decodeMessage(body.subarray(trace.bytes));
      return decoded.ok
        ? { ok: true, frame: { kind: 'replica', message: decoded.message, trace: trace.header } }
        : { ok: false, reason: decoded.reason };
    }
    case FRAME.hello: {
      const json = body.length <= 64 * 1024 ? text() : null;
      return json === null
        ? { ok: false, reason: 'HELLO is not UTF-8 text of at most 64 KiB' }
        : { ok: true, frame: { kind: 'hello', json } };
    }
    case FRAME.clientKey:
      return body.length === CLIENT_KEY_BYTES
        ? { ok: true, frame: { kind: 'client-key', key: body.slice() } }
        : { ok: false, reason: `client key of ${body.length} bytes, expected ${CLIENT_KEY_BYTES}` };
    case FRAME.clientRequest: {
      const m = message('request');
      return 'ok' in m ? m : { ok: true, frame: { kind: 'client-request', request: m as Request } };
    }
    case FRAME.clientReply: {
      const m = message('reply');
      return 'ok' in m ? m : { ok: true, frame: { kind: 'client-reply', reply: m as Reply } };
    }
    case FRAME.clientRequests: {
      const requests = parseGroup(body, 'request');
      return typeof requests === 'string'
        ? { ok: false, reason: requests }
        : { ok: true, frame: { kind: 'client-requests', requests: requests as Request[] } };
    }
    case FRAME.clientReplies: {
      const replies = parseGroup(body, 'reply');
      return typeof replies === 'string'
        ? { ok: false, reason: replies }
        : { ok: true, frame: { kind: 'client-replies', replies: replies as Reply[] } };
    }
    case FRAME.clientRefused: {
      const reason = body.length <= 1024 ? text() : null;
      return reason === null
        ? { ok: false, reason: 'malformed CLIENT-REFUSED' }
        : { ok: true, frame: { kind: 'client-refused', reason } };
    }
    case FRAME.behaviourHistory:
      return body.length > SIGNATURE_BYTES && body.length <= SIGNED_HISTORY_BYTES_MAX
        ? { ok: true, frame: { kind: 'behaviour-history', signed: body.slice() } }
        : {
            ok: false,
            reason: `BEHAVIOUR-HISTORY of ${body.length} bytes, expected ${SIGNATURE_BYTES + 1}…${SIGNED_HISTORY_BYTES_MAX}`,
          };
    default:
      return { ok: false, reason: `unknown frame tag 0x${bytes[0]!.toString(16).padStart(2, '0')}` };
  }
}
