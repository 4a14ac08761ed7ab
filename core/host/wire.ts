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
 *
 * The sender of a frame is always the Noise-authenticated peer id the transport reports, never a field.
 */
import { decodeMessage, encodeMessageAfter } from '../pbft/codec.ts';
import type { Message, Reply, Request } from '../pbft/messages.ts';

export const FRAME = {
  replica: 0x00,
  hello: 0x01,
  clientKey: 0x02,
  clientRequest: 0x03,
  clientReply: 0x04,
  clientRefused: 0x05,
} as const;

export const CLIENT_KEY_BYTES = 32;

export type WireFrame =
  | { readonly kind: 'replica'; readonly message: Message }
  | { readonly kind: 'hello'; readonly json: string }
  | { readonly kind: 'client-key'; readonly key: Uint8Array }
  | { readonly kind: 'client-request'; readonly request: Request }
  | { readonly kind: 'client-reply'; readonly reply: Reply }
  | { readonly kind: 'client-refused'; readonly reason: string };

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
      return encodeMessageAfter(FRAME.replica, frame.message);
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
  }
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
    case FRAME.clientRefused: {
      const reason = body.length <= 1024 ? text() : null;
      return reason === null
        ? { ok: false, reason: 'malformed CLIENT-REFUSED' }
        : { ok: true, frame: { kind: 'client-refused', reason } };
    }
    default:
      return { ok: false, reason: `unknown frame tag 0x${bytes[0]!.toString(16).padStart(2, '0')}` };
  }
}
