/**
 * How telemetry events travel (telemetry-feed.ts → room-observer.ts): each event as a short JSON array
 * instead of the TelemetryEvent object, since a busy replica logs tens of thousands a second and the
 * JSON is most of what an event costs it. The observer expands them back (expandWireEvents); what
 * everyone else sees is TelemetryEvent (telemetry-events.ts).
 *
 *   send     [index, vc, wallMs, 0, to, 0, ...fields]        its id: a REPLY's `rep:${replica}:${request}`,
 *                                                             others' `${replica}.${incarnation}.${index}`
 *   receive  [index, vc, wallMs, 1, from, msgId | 0, ...fields]   0: a REQUEST's, `req:${request}`
 *   replies  [index, vc, wallMs, 4, node, view, [rest…]]   REPLYs to one client node in one frame: each
 *            `rest` is a client id's part after the node's peer id and `:timestamp` (or `=client:timestamp`);
 *            id `rep:${replica}.${incarnation}.${index}`
 *   state    [index, vc, wallMs, 2, TelemetryState]
 *   other    [index, vc, wallMs, 3, TelemetryBehaviour | TelemetryFault]
 *   fields = [type (index in MESSAGE_TYPES), view, seq, digest (first DIGEST_CHARS), requests | 0, text | 0]
 *
 * A message's one-line text travels only for the rarer types whose description says more than the
 * fields (VIEW-CHANGE's C/P/Q, NEW-VIEW's O…); the others' text is rebuilt from the fields.
 */
import {
  replicaMessageId,
  type TelemetryBody,
  type TelemetryEvent,
  type TelemetryMessage,
} from './telemetry-events.ts';

export const MESSAGE_TYPES = [
  'request',
  'pre-prepare',
  'prepare',
  'commit',
  'reply',
  'checkpoint',
  'view-change',
  'new-view',
  'fetch-batch',
  'batch',
  'fetch-state',
  'state-chunk',
  'status',
] as const;

/** Message digests travel as their first 16 hex digits (64 bits: enough to tell batches apart). */
export const DIGEST_CHARS = 16;

export type WireFields = [
  type: number,
  view: number | null,
  seq: number | null,
  digest: string | null,
  requests: readonly string[] | 0,
  text: string | 0,
];

const TYPE_INDEX = new Map<string, number>(MESSAGE_TYPES.map((t, i) => [t, i]));

export function typeIndex(type: string): number {
  return TYPE_INDEX.get(type) ?? -1;
}

/** The one-line text of a message from its fields (as core/pbft/codec.ts `describe` would start it). */
export function describeFields(
  type: string,
  view: number | null,
  seq: number | null,
  digest: string | null,
  requests?: readonly string[],
): string {
  const parts = [type.toUpperCase()];
  if (type === 'request' || type === 'reply') {
    const request = requests?.[0];
    if (request) {
      const at = request.lastIndexOf(':');
      parts.push(`c=${request.slice(0, at)}`, `t=${request.slice(at + 1)}`);
    }
  }
  if (view !== null) parts.push(`v=${view}`);
  if (seq !== null) parts.push(`n=${seq}`);
  if (digest !== null) parts.push(`d=${digest.slice(0, 6)}`);
  if (type === 'pre-prepare' && requests) parts.push(`batch=${requests.length}`);
  return parts.join(' ');
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isNullableCount(x: unknown): x is number | null {
  return x === null || isCount(x);
}

function facts(fields: readonly unknown[]): TelemetryMessage | null {
  const [t, view, seq, digest, requests, text] = fields;
  const type = typeof t === 'number' ? MESSAGE_TYPES[t] : undefined;
  if (type === undefined || !isNullableCount(view) || !isNullableCount(seq)) return null;
  if (digest !== null && typeof digest !== 'string') return null;
  if (requests !== 0 && !(Array.isArray(requests) && requests.every((r) => typeof r === 'string'))) return null;
  if (text !== 0 && typeof text !== 'string') return null;
  const named = requests === 0 ? undefined : (requests as string[]);
  return {
    type,
    view,
    seq,
    digest,
    ...(named ? { requests: named } : {}),
    text: text === 0 ? describeFields(type, view, seq, digest, named) : text,
  };
}

/** The events of one publisher's frame, as TelemetryEvents; malformed entries are skipped. */
export function expandWireEvents(replica: number, incarnation: string, wire: readonly unknown[]): TelemetryEvent[] {
  const events: TelemetryEvent[] = [];
  for (const entry of wire) {
    if (!Array.isArray(entry) || entry.length < 5) continue;
    const [index, vc, wallMs, code] = entry;
    if (!isCount(index) || !Array.isArray(vc) || !vc.every(isCount) || typeof wallMs !== 'number') continue;
    let body: TelemetryBody | null = null;
    if (code === 0 || code === 1) {
      const peer = entry[4];
      const msgId = entry[5];
      const message = facts(entry.slice(6));
      if (!message) continue;
      if (code === 0) {
        const to =
          typeof peer === 'string' ? peer : Array.isArray(peer) && peer.every(isCount) ? (peer as number[]) : null;
        if (to === null) continue;
        const request = message.type === 'reply' ? message.requests?.[0] : undefined;
        if (message.type === 'reply' && request === undefined) continue;
        const id = request !== undefined ? `rep:${replica}:${request}` : replicaMessageId(replica, incarnation, index);
        body = { kind: 'send', msgId: id, to, ...message };
      } else {
        if (!(typeof peer === 'string' || isCount(peer))) continue;
        const request = message.type === 'request' ? message.requests?.[0] : undefined;
        const id = msgId === 0 && request !== undefined ? `req:${request}` : typeof msgId === 'string' ? msgId : null;
        if (id === null) continue;
        body = { kind: 'receive', msgId: id, from: peer, ...message };
      }
    } else if (code === 4) {
      const [node, view, rest] = entry.slice(4);
      if (
        typeof node !== 'string' ||
        !isCount(view) ||
        !Array.isArray(rest) ||
        !rest.every((r) => typeof r === 'string')
      )
        continue;
      const requests = (rest as string[]).map((r) => (r.startsWith('=') ? r.slice(1) : `${node}${r}`));
      body = {
        kind: 'send',
        msgId: `rep:${replicaMessageId(replica, incarnation, index)}`,
        to: node,
        type: 'reply',
        view,
        seq: null,
        digest: null,
        requests,
        text:
          requests.length === 1
            ? describeFields('reply', view, null, null, requests)
            : `REPLY ×${requests.length} v=${view}`,
      };
    } else if (code === 2 || code === 3) {
      const value = entry[4] as TelemetryBody | null;
      if (typeof value !== 'object' || value === null || typeof value.kind !== 'string') continue;
      if (code === 2 && value.kind !== 'state') continue;
      if (code === 3 && value.kind !== 'behaviour' && value.kind !== 'fault') continue;
      body = value;
    }
    if (body) events.push({ replica, incarnation, index, vc: vc as number[], wallMs, body });
  }
  return events;
}
