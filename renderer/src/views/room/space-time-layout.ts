/**
 * The room's space-time diagram, laid out from every replica's telemetry (core/host/telemetry-events.ts):
 * one vertical lane per replica, then one per client; time runs downwards in **causal order**, not by
 * any machine's clock. An event's row is the rank of the sum of its vector clock: if a happened
 * before b, a's clock is below b's in every entry and above in none, so its sum is smaller and a is
 * drawn higher. Events on one lane keep their own order (their own entry rises).
 *
 * Arrows are drawn only between a send and a receive paired by message id, so there are no guessed
 * ends. Clients publish no telemetry: a client's REQUEST is drawn from just above its first receive,
 * and a REPLY ends just below its send, on the client's lane (marked as reconstructed).
 */
import type { RoomEvent } from '../../../../core/host/room-types.ts';
import { messageColour } from '../../stores/diagram-layout.ts';

export { messageColour };

export interface DiagramFilter {
  /** Only messages and states at this sequence number (requests and replies of its batch too). */
  readonly seq?: number | null;
  /** Only these message types (empty or absent: all). */
  readonly types?: readonly string[];
  /** Only this client's requests, their batches' messages and its replies. */
  readonly client?: string | null;
}

export interface Lane {
  readonly key: string;
  readonly label: string;
  readonly kind: 'replica' | 'client';
  readonly x: number;
}

export interface DiagramNode {
  readonly key: string;
  readonly lane: number;
  /** Causal row (clients' reconstructed ends sit half a row off). */
  readonly row: number;
  readonly event: RoomEvent | null;
  readonly kind: 'send' | 'receive' | 'state' | 'behaviour' | 'fault' | 'client-send' | 'client-receive';
  readonly type: string;
  readonly label: string;
  /** Requests this event carries (`client:timestamp`). */
  readonly requests: readonly string[];
  readonly seq: number | null;
  readonly view: number | null;
  /** A send that no receive in the window pairs with (lost, in flight, or its receiver not subscribed). */
  readonly unpaired?: boolean;
}

export interface DiagramEdge {
  readonly key: string;
  readonly from: DiagramNode;
  readonly to: DiagramNode;
  readonly type: string;
  readonly colour: string;
  readonly label: string;
  readonly requests: readonly string[];
  readonly seq: number | null;
}

export interface SpaceTime {
  readonly lanes: readonly Lane[];
  readonly nodes: readonly DiagramNode[];
  readonly edges: readonly DiagramEdge[];
  /** The highest row. */
  readonly rows: number;
  /** Messages shown whose send and receive are both in the window (all arrows). */
  readonly paired: number;
  /** Receives whose send is not in the window (shown as dots with where they came from, no arrow). */
  readonly receivesWithoutSend: number;
}

export const LANE_WIDTH = 105;
export const LANE_MARGIN = 60;
/** Client lanes drawn at most (the rest share the last, "other clients"). */
export const CLIENT_LANES_MAX = 4;

/** A client's node: logical clients `peer/j` share their node's lane (and its reply frames). */
export function clientNode(client: string): string {
  const slash = client.indexOf('/');
  return slash < 0 ? client : client.slice(0, slash);
}

/** Whether request `client:timestamp` is one of `node`'s logical clients'. */
function ofNode(request: string, node: string): boolean {
  return request.startsWith(node) && (request[node.length] === ':' || request[node.length] === '/');
}

export function shortClient(client: string): string {
  const [peer, logical] = client.split('/');
  const tail = peer!.length > 10 ? `…${peer!.slice(-6)}` : peer!;
  return logical === undefined ? tail : `${tail}/${logical}`;
}

function vcSum(vc: readonly number[]): number {
  let sum = 0;
  for (const v of vc) sum += v;
  return sum;
}

/** Lay out `events` (in the room's arrival order) as lanes, nodes and paired arrows. */
export function layoutSpaceTime(events: readonly RoomEvent[], n: number, filter: DiagramFilter = {}): SpaceTime {
  // Causal rows: dense rank of the vector-clock sums.
  const sums = [...new Set(events.map((e) => vcSum(e.vc)))].sort((a, b) => a - b);
  const rankOf = new Map(sums.map((s, i) => [s, i + 1]));

  const clients: string[] = [];
  const seeClient = (c: string): void => {
    const node = clientNode(c);
    if (!clients.includes(node)) clients.push(node);
  };
  for (const e of events) {
    if (e.body.kind === 'receive' && typeof e.body.from === 'string') seeClient(e.body.from);
    if (e.body.kind === 'send' && typeof e.body.to === 'string') seeClient(e.body.to);
  }
  const clientLane = (client: string): number =>
    n + Math.min(clients.indexOf(clientNode(client)), CLIENT_LANES_MAX - 1);
  const lanes: Lane[] = [];
  for (let r = 0; r < n; r++)
    lanes.push({ key: `r${r}`, label: `r${r}`, kind: 'replica', x: LANE_MARGIN + r * LANE_WIDTH });
  clients.slice(0, CLIENT_LANES_MAX).forEach((c, i) =>
    lanes.push({
      key: `c:${c}`,
      label:
        i === CLIENT_LANES_MAX - 1 && clients.length > CLIENT_LANES_MAX
          ? `${clients.length - i} clients`
          : `c ${shortClient(c)}`,
      kind: 'client',
      x: LANE_MARGIN + (n + i) * LANE_WIDTH,
    }),
  );

  // The batch (seq) of each request, for the client filter and a request's life.
  const seqOfRequest = new Map<string, number>();
  for (const e of events)
    if ((e.body.kind === 'send' || e.body.kind === 'receive') && e.body.type === 'pre-prepare' && e.body.seq !== null)
      for (const r of e.body.requests ?? []) seqOfRequest.set(r, e.body.seq);
  const visible = (type: string, seq: number | null, requests: readonly string[] | undefined): boolean => {
    if (filter.types && filter.types.length > 0 && !filter.types.includes(type)) return false;
    if (filter.seq !== undefined && filter.seq !== null) {
      const inBatch = (requests ?? []).some((r) => seqOfRequest.get(r) === filter.seq);
      if (seq !== filter.seq && !inBatch) return false;
    }
    if (filter.client) {
      const node = clientNode(filter.client);
      const mine = (requests ?? []).some((r) => ofNode(r, node));
      const seqs = new Set([...seqOfRequest].filter(([r]) => ofNode(r, node)).map(([, s]) => s));
      if (!mine && !(seq !== null && seqs.has(seq))) return false;
    }
    return true;
  };

  const nodes: DiagramNode[] = [];
  const sends = new Map<string, DiagramNode>();
  const receivesOf = new Map<string, DiagramNode[]>();
  for (const e of events) {
    if (e.replica < 0 || e.replica >= n) continue;
    const row = rankOf.get(vcSum(e.vc))!;
    const body = e.body;
    const base = { key: `${e.replica}.${e.incarnation}.${e.index}`, lane: e.replica, row, event: e };
    switch (body.kind) {
      case 'send':
      case 'receive': {
        if (!visible(body.type, body.seq, body.requests)) continue;
        const node: DiagramNode = {
          ...base,
          kind: body.kind,
          type: body.type,
          label: body.text,
          requests: body.requests ?? [],
          seq: body.seq,
          view: body.view,
        };
        nodes.push(node);
        if (body.kind === 'send') sends.set(body.msgId, node);
        else receivesOf.set(body.msgId, [...(receivesOf.get(body.msgId) ?? []), node]);
        break;
      }
      case 'state':
        if (!visible(body.type, body.seq, body.requests)) continue;
        if (filter.types && filter.types.length > 0) continue;
        nodes.push({
          ...base,
          kind: 'state',
          type: body.type,
          label: body.text,
          requests: body.requests ?? [],
          seq: body.seq,
          view: body.view,
        });
        break;
      case 'behaviour':
      case 'fault':
        nodes.push({
          ...base,
          kind: body.kind,
          type: body.kind,
          label: body.text,
          requests: [],
          seq: null,
          view: null,
        });
        break;
    }
  }

  const edges: DiagramEdge[] = [];
  let receivesWithoutSend = 0;
  let paired = 0;
  // An edge's key is unique: the diagram's v-for is keyed by it, and a duplicate leaves a stale arrow
  // behind when the filter changes (a client's retransmitted REQUEST reaches the same replica twice).
  const edge = (from: DiagramNode, to: DiagramNode, key: string): void => {
    edges.push({
      key,
      from,
      to,
      type: from.type,
      colour: messageColour(from.type),
      label: from.label,
      requests: from.requests,
      seq: from.seq,
    });
  };
  for (const [msgId, receives] of receivesOf) {
    const send = sends.get(msgId);
    if (send) {
      paired++;
      for (const receive of receives) edge(send, receive, `${msgId}>${receive.key}`);
      continue;
    }
    if (msgId.startsWith('req:')) {
      // A client's REQUEST: its send is drawn on the client's lane, just above its first receive.
      const client = msgId.slice(4, msgId.lastIndexOf(':'));
      const first = Math.min(...receives.map((r) => r.row));
      const from: DiagramNode = {
        key: `send:${msgId}`,
        lane: clientLane(client),
        row: first - 0.5,
        event: null,
        kind: 'client-send',
        type: 'request',
        label: receives[0]!.label,
        requests: receives[0]!.requests,
        seq: null,
        view: null,
      };
      nodes.push(from);
      paired++;
      for (const receive of receives) edge(from, receive, `${msgId}>${receive.key}`);
    } else receivesWithoutSend += receives.length;
  }
  for (const [msgId, send] of sends) {
    if (receivesOf.has(msgId)) continue;
    const event = send.event!;
    const body = event.body;
    if (body.kind === 'send' && typeof body.to === 'string') {
      // A REPLY: its receive is drawn on the client's lane, just below its send.
      const to: DiagramNode = {
        key: `receive:${msgId}`,
        lane: clientLane(body.to),
        row: send.row + 0.5,
        event: null,
        kind: 'client-receive',
        type: 'reply',
        label: send.label,
        requests: send.requests,
        seq: null,
        view: null,
      };
      nodes.push(to);
      paired++;
      edge(send, to, `${msgId}>client`);
    } else {
      const index = nodes.indexOf(send);
      nodes[index] = { ...send, unpaired: true };
    }
  }
  const rows = nodes.reduce((max, node) => Math.max(max, node.row), 0);
  return { lanes, nodes, edges, rows, paired, receivesWithoutSend };
}

export interface RequestLife {
  readonly request: string;
  readonly seq: number | null;
  /** Node keys on its path: its REQUEST, the batch's PRE-PREPARE, PREPAREs, COMMITs, executions and REPLYs. */
  readonly nodeKeys: ReadonlySet<string>;
  /** Quorum moments: where a replica prepared (2f PREPAREs + the PRE-PREPARE), committed (2f+1 COMMITs), and the client's f+1-th reply. */
  readonly moments: readonly { readonly nodeKey: string; readonly text: string }[];
}

/** The whole life of one request (`client:timestamp`) in a layout, with its quorum moments marked. */
export function requestLife(layout: SpaceTime, request: string, f: number): RequestLife {
  const seqs = new Set<number>();
  for (const node of layout.nodes)
    if (node.type === 'pre-prepare' && node.requests.includes(request) && node.seq !== null) seqs.add(node.seq);
  const seq = seqs.size > 0 ? Math.max(...seqs) : null;
  const keys = new Set<string>();
  const moments: { nodeKey: string; text: string }[] = [];
  for (const node of layout.nodes) {
    const inBatch =
      seq !== null &&
      node.seq === seq &&
      ['pre-prepare', 'prepare', 'commit', 'prepared', 'committed-local', 'executed'].includes(node.type);
    if (node.requests.includes(request) || inBatch) keys.add(node.key);
    if (inBatch && node.type === 'prepared')
      moments.push({ nodeKey: node.key, text: `prepared: PRE-PREPARE + ${2 * f} PREPAREs` });
    if (inBatch && node.type === 'committed-local')
      moments.push({ nodeKey: node.key, text: `committed: ${2 * f + 1} COMMITs` });
  }
  const replies = layout.nodes
    .filter((node) => node.kind === 'client-receive' && node.requests.includes(request))
    .sort((a, b) => a.row - b.row);
  if (replies.length >= f + 1)
    moments.push({ nodeKey: replies[f]!.key, text: `f+1 = ${f + 1} matching replies: the client accepts` });
  return { request, seq, nodeKeys: keys, moments };
}
