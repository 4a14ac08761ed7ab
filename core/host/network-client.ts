/**
 * A PBFT client node on the LAN (used by `pbft-lab client`, the benchmark and the tests): its own
 * libp2p node and identity; it finds the cluster by mDNS or `--join`, learns the roster from f+1
 * members that vouch for the same one, hands each replica a MAC key, and runs one ClientSession per
 * logical client over that one node (client-id.ts): requests of many clients, and the replies to
 * them, share its connections, so the frame transport coalesces them into few stream writes.
 */
import { randomBytes } from 'node:crypto';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { FileOp } from '../app/file-ops.ts';
import { peerIdOfMultiaddr } from '../net/addresses.ts';
import { watchPeerDiscovery, type LabDiscovery } from '../net/discovery.ts';
import { createFrameTransport, type FrameTransport } from '../net/frame-transport.ts';
import { createLabNode, type LabNode } from '../net/node.ts';
import { describeDialError, NOT_A_MEMBER } from '../net/cluster-protector.ts';
import type { ClusterKey } from '../net/cluster-key.ts';
import { parseHello } from '../net/roster.ts';
import type { ReplicaId, Request } from '../pbft/messages.ts';
import { logicalClientId } from './client-id.ts';
import { ClientSession, type SessionResult, type SubmitOptions } from './client-session.ts';
import { CLIENT_KEY_BYTES, encodeFrame, encodeGroupedFrames, parseFrame, type WireFrame } from './wire.ts';

/**
 * One timer for every logical client. Coarser than a replica's 10 ms tick: with thousands of
 * clients the tick is a cost of its own, and a client only needs it for its 500 ms retransmission
 * and its caller's timeout.
 */
const TICK_MS = 50;
const RETRANSMIT_TICKS = 500 / TICK_MS;
const HELLO_EVERY_TICKS = 500 / TICK_MS;
/** Once the roster is known, HELLOs still go to the members now and then: their answers say where each member listens now. */
const MEMBER_HELLO_EVERY_TICKS = 2_000 / TICK_MS;
/**
 * A client redials a replica it lost at least this often: a restarted replica needs our MAC key
 * before it can accept a pre-prepare carrying our requests, and with another replica down the
 * cluster needs it to order anything (issue 13, finding 6).
 */
const MEMBER_REDIAL_MAX_MS = 1_000;
const KEYS_EVERY_TICKS = 1_000 / TICK_MS;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface NetworkClientOptions {
  readonly cluster: string;
  /** The cluster secret (null: a cluster started with --open-cluster, for measurements only). */
  readonly clusterKey: ClusterKey | null;
  readonly size: number;
  readonly join?: readonly Multiaddr[];
  /** @default true */
  readonly mdns?: boolean;
  /** Replicas of the one-machine demo listen on loopback. @default true */
  readonly allowLoopback?: boolean;
  readonly log?: (line: string) => void;
  /**
   * Logical PBFT clients over this one node, each with its own timestamps and one request at a time:
   * ids `${peerId}/0` … `${peerId}/${clients - 1}`. With 1, the client's id is the peer id itself.
   * @default 1
   */
  readonly clients?: number;
  /** Its clients run this Byzantine client behaviour (core/byzantine/client-behaviours.ts). @default honest */
  readonly clientBehaviour?: string;
}

export interface NetworkSubmitOptions extends SubmitOptions {
  /** Which logical client submits: 0 … clients − 1. @default 0 */
  readonly client?: number;
  /** Reject with NetworkClientError / SubmitTimeoutError after this long (roster wait included). @default 10_000 */
  readonly timeoutMs?: number;
}

export class NetworkClientError extends Error {
  override readonly name = 'NetworkClientError';
}

/** A cluster other than ours whose members greeted us: what to suggest when the name is wrong. */
export interface SeenCluster {
  readonly cluster: string;
  readonly size: number;
  /** Members that said hello. */
  readonly members: number;
  /** True once one of them has adopted a roster. */
  readonly formed: boolean;
}

/** E.g. `"demo-3fa2c1" of 4 (4 replicas, formed)`. */
export function describeSeenCluster(seen: SeenCluster): string {
  return `"${seen.cluster}" of ${seen.size} (${seen.members} replica${seen.members === 1 ? '' : 's'}, ${seen.formed ? 'formed' : 'forming'})`;
}

export class NetworkClient {
  private readonly options: NetworkClientOptions;
  private readonly clientCount: number;
  private node!: LabNode;
  private transport!: FrameTransport;
  private discovery: LabDiscovery | null = null;
  private readonly peers = new Set<string>();
  /** Adopted rosters announced by members, by roster → the members vouching for it. */
  private readonly vouches = new Map<string, Set<string>>();
  private readonly memberAddrs = new Map<string, string[]>();
  private roster: readonly string[] | null = null;
  /** Members of other clusters (or sizes) that greeted us, by `${cluster}\0${size}` → peers. */
  private readonly otherClusters = new Map<
    string,
    { cluster: string; size: number; members: Set<string>; formed: boolean }
  >();
  /** Replica id by member peer id, once the roster is known. */
  private readonly replicaOf = new Map<string, ReplicaId>();
  /** keys[i]: the MAC key all our logical clients share with replica i. */
  private keys: readonly Uint8Array[] = [];
  /** By logical client index; empty until the roster is known. */
  private sessions: ClientSession[] = [];
  private readonly sessionById = new Map<string, ClientSession>();
  /** Requests to send at the end of this turn of the event loop, by replica peer id (sendRequest). */
  private readonly pendingRequests = new Map<string, Request[]>();
  private flushScheduled = false;
  /** Called with no argument once the roster is known, or with the error that ends the wait. */
  private rosterWaiters: ((error?: Error) => void)[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: NetworkClientOptions) {
    const clients = options.clients ?? 1;
    if (!Number.isInteger(clients) || clients < 1) throw new RangeError(`clients must be ≥ 1, got ${clients}`);
    this.options = options;
    this.clientCount = clients;
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  /** The ids replicas see: the peer id for a single client, `${peerId}/${j}` for logical client j. */
  get clientIds(): readonly string[] {
    const peer = this.peerId;
    if (this.clientCount === 1) return [peer];
    return Array.from({ length: this.clientCount }, (_, j) => logicalClientId(peer, j));
  }

  async start(): Promise<void> {
    const allowLoopback = this.options.allowLoopback ?? true;
    this.node = await createLabNode({
      listen: ['/ip4/0.0.0.0/tcp/0'],
      clusterKey: this.options.clusterKey ?? undefined,
      onNotClusterMember: ({ remoteAddr, direction }) =>
        this.options.log?.(
          `${direction === 'inbound' ? 'connection from' : 'connection to'} ${remoteAddr}: ${NOT_A_MEMBER}`,
        ),
      mdns: this.options.mdns === false ? false : { intervalMs: 1_000 },
      allowLoopback,
    });
    this.transport = createFrameTransport(this.node, {
      allowLoopback,
      isMember: (peer) => this.replicaOf.has(peer),
      backoff: { maxMs: MEMBER_REDIAL_MAX_MS },
    });
    this.transport.onFrame((from, frame) => this.onFrame(from, frame));
    await this.transport.start();
    if (this.options.mdns !== false) {
      this.discovery = watchPeerDiscovery(this.node, { allowLoopback });
      this.discovery.onPeerDiscovered((peer, addrs) => this.meet(peer, addrs));
    }
    for (const address of this.options.join ?? []) void this.join(address);
    let ticks = 0;
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const session of this.sessions) session.tick(now);
      ticks++;
      // Ask for the roster again every half second until f+1 members have vouched for one.
      if (!this.roster && ticks % HELLO_EVERY_TICKS === 0) for (const peer of this.peers) this.hello(peer);
      if (this.roster && ticks % MEMBER_HELLO_EVERY_TICKS === 0) for (const member of this.roster) this.hello(member);
      // Keys again every second: a replica that restarted has forgotten them.
      if (this.roster && ticks % KEYS_EVERY_TICKS === 0) this.sendKeys();
    }, TICK_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const waiter of this.rosterWaiters.splice(0)) waiter(new NetworkClientError('client stopped'));
    for (const session of this.sessions) session.close('client stopped');
    this.discovery?.stop();
    await this.transport?.stop();
    await this.node?.stop();
  }

  /**
   * Submit one operation as logical client `options.client`; resolves with f+1 matching replies
   * (2f+1 for read-only). Rejects after `timeoutMs`, waiting for the roster included.
   */
  submit(op: FileOp, options: NetworkSubmitOptions = {}): Promise<SessionResult> {
    const index = options.client ?? 0;
    if (!Number.isInteger(index) || index < 0 || index >= this.clientCount)
      return Promise.reject(new RangeError(`no logical client ${index} (this node runs ${this.clientCount})`));
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const readOnly = options.readOnly ?? false;
    const session = this.sessions[index];
    if (session) return session.submit(op, { readOnly, timeoutMs });
    const startedAt = performance.now();
    return this.rosterKnown(timeoutMs).then(() =>
      this.sessions[index]!.submit(op, { readOnly, timeoutMs: timeoutMs - (performance.now() - startedAt) }),
    );
  }

  /** Resolves once f+1 members vouched for a roster; rejects with NetworkClientError after `timeoutMs`. */
  ready(timeoutMs: number = DEFAULT_TIMEOUT_MS): Promise<void> {
    return this.rosterKnown(timeoutMs);
  }

  /** The agreed roster, once known. */
  get members(): readonly string[] | null {
    return this.roster;
  }

  /** Where the roster's members listen, as full multiaddrs (`…/p2p/PEER`), for the next call. */
  memberAddresses(): string[] {
    return (this.roster ?? []).flatMap((member) =>
      this.addrsOf(member).map((a) => (peerIdOfMultiaddr(a) ? a.toString() : `${a.toString()}/p2p/${member}`)),
    );
  }

  /** Clusters other than ours (another name, or another size) whose members greeted us. */
  seenClusters(): SeenCluster[] {
    return [...this.otherClusters.values()].map(({ cluster, size, members, formed }) => ({
      cluster,
      size,
      members: members.size,
      formed,
    }));
  }

  /** Why there is no roster yet, in one line. */
  whyNoRoster(): string {
    const { cluster, size } = this.options;
    const seen = this.seenClusters();
    const others = seen.length > 0 ? `; seen on this network: ${seen.map(describeSeenCluster).join(', ')}` : '';
    if (this.vouches.size > 0 || (this.peers.size > 0 && seen.length === 0))
      return `no roster from f+1 replicas of cluster "${cluster}" of ${size} (is the cluster formed?)${others}`;
    return `no replica of cluster "${cluster}" of ${size} found${others || ' (no PBFT Lab replica answered: mDNS blocked? try --join MULTIADDR)'}`;
  }

  private rosterKnown(timeoutMs: number): Promise<void> {
    if (this.roster) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.rosterWaiters = this.rosterWaiters.filter((w) => w !== waiter);
        reject(new NetworkClientError(this.whyNoRoster()));
      }, timeoutMs);
      const waiter = (error?: Error): void => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      this.rosterWaiters.push(waiter);
    });
  }

  private async join(address: Multiaddr): Promise<void> {
    const peer = peerIdOfMultiaddr(address);
    if (peer) return this.meet(peer, [address]);
    try {
      const connection = await this.node.dial(address);
      this.meet(connection.remotePeer.toString(), [address]);
    } catch (error) {
      this.options.log?.(`--join ${address.toString()}: ${describeDialError(error, this.options.clusterKey !== null)}`);
    }
  }

  private meet(peer: string, addrs: readonly Multiaddr[]): void {
    if (this.peers.has(peer)) return;
    this.peers.add(peer);
    this.transport.addPeer(peer, addrs);
    this.hello(peer);
  }

  private hello(peer: string): void {
    this.send(peer, {
      kind: 'hello',
      json: JSON.stringify({
        cluster: this.options.cluster,
        size: this.options.size,
        candidate: null,
        adopted: null,
        role: 'client',
      }),
    });
  }

  private send(peer: string, frame: WireFrame): void {
    this.transport.send(peer, encodeFrame(frame));
  }

  /**
   * Requests wait for the end of this turn of the event loop (setImmediate), then go to each replica
   * as one frame: the logical clients that a frame of replies completed submit their next requests
   * together, and the primary gets them together (wire.ts, CLIENT-REQUESTS).
   */
  private sendRequest(to: ReplicaId | 'all', request: Request): void {
    const roster = this.roster!;
    for (const member of to === 'all' ? roster : [roster[to]!]) {
      const queued = this.pendingRequests.get(member);
      if (queued) queued.push(request);
      else this.pendingRequests.set(member, [request]);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushRequests());
    }
  }

  private flushRequests(): void {
    this.flushScheduled = false;
    for (const [member, requests] of this.pendingRequests) {
      for (const frame of encodeGroupedFrames('requests', requests)) this.transport.send(member, frame);
    }
    this.pendingRequests.clear();
  }

  private onFrame(from: string, bytes: Uint8Array): void {
    const parsed = parseFrame(bytes);
    if (!parsed.ok) return;
    const frame = parsed.frame;
    if (frame.kind === 'hello') return this.onHello(from, frame.json);
    const replica = this.replicaOf.get(from);
    if (replica === undefined) return;
    if (frame.kind === 'client-reply') this.sessionById.get(frame.reply.client)?.onReply(replica, frame.reply);
    else if (frame.kind === 'client-replies')
      for (const reply of frame.replies) this.sessionById.get(reply.client)?.onReply(replica, reply);
    // Revocation is per peer (client-id.ts): every logical client of ours is refused.
    else if (frame.kind === 'client-refused')
      for (const session of this.sessions) session.refused(frame.reason, replica);
  }

  private onHello(from: string, json: string): void {
    const hello = parseHello(json);
    if (
      hello &&
      hello.role === 'member' &&
      (hello.cluster !== this.options.cluster || hello.size !== this.options.size)
    )
      this.noteOtherCluster(from, hello.cluster, hello.size, hello.adopted !== null);
    if (!hello || hello.cluster !== this.options.cluster || hello.size !== this.options.size || !hello.adopted) return;
    if (!hello.adopted.includes(from)) return;
    if (this.roster) {
      // Where the members listen now (one may have restarted elsewhere): only from a member of our roster.
      const replica = this.replicaOf.get(from);
      if (replica === undefined || !sameRoster(hello.adopted, this.roster)) return;
      this.learnAddresses(json, true);
      // A member's HELLO may be its question for our key (it restarted and has none): the answer is cheap.
      this.send(from, { kind: 'client-key', key: this.keys[replica]! });
      return;
    }
    this.learnAddresses(json, false);
    // Ask the other members too (we may know only the one we joined): f+1 of them must vouch.
    for (const member of hello.adopted) {
      if (this.peers.has(member)) continue;
      const addrs = this.addrsOf(member);
      if (addrs.length > 0) this.meet(member, addrs);
    }
    const key = hello.adopted.join(',');
    const vouching = this.vouches.get(key) ?? new Set<string>();
    vouching.add(from);
    this.vouches.set(key, vouching);
    const f = (this.options.size - 1) / 3;
    if (vouching.size >= f + 1) this.useRoster(hello.adopted);
  }

  private noteOtherCluster(from: string, cluster: string, size: number, formed: boolean): void {
    const key = `${cluster}\0${size}`;
    let entry = this.otherClusters.get(key);
    if (!entry) {
      // Bounded: a crowded network (or a liar) cannot make a client keep more than a screenful.
      if (this.otherClusters.size >= 16) return;
      this.otherClusters.set(key, (entry = { cluster, size, members: new Set(), formed: false }));
    }
    if (entry.members.size < 256) entry.members.add(from);
    entry.formed ||= formed;
  }

  /**
   * The member addresses a HELLO lists. Once the roster is known, a member whose addresses changed is
   * redialled at the new ones (a replica that restarted on another port).
   */
  private learnAddresses(json: string, redial: boolean): void {
    const addrs = (JSON.parse(json) as { addrs?: Record<string, unknown> }).addrs ?? {};
    for (const [member, list] of Object.entries(addrs)) {
      if (!Array.isArray(list) || (this.roster && !this.replicaOf.has(member))) continue;
      // A member lists its own addresses with its peer id, the others without (identify): compare them bare.
      const strings = [
        ...new Set(list.filter((a): a is string => typeof a === 'string').map((a) => a.replace(/\/p2p\/[^/]+$/, ''))),
      ]
        .sort()
        .slice(0, 16);
      if (strings.length === 0) continue;
      const known = this.memberAddrs.get(member) ?? [];
      const changed = strings.length !== known.length || strings.some((a, i) => a !== known[i]);
      this.memberAddrs.set(member, strings);
      if (redial && changed) {
        this.options.log?.(`replica ${this.replicaOf.get(member)} listens at ${strings.join(' ')}`);
        this.transport.addPeer(member, this.addrsOf(member));
      }
    }
  }

  private addrsOf(member: string): Multiaddr[] {
    const addrs: Multiaddr[] = [];
    for (const a of this.memberAddrs.get(member) ?? []) {
      try {
        addrs.push(multiaddr(a));
      } catch {
        // an address we cannot parse is simply not used
      }
    }
    return addrs;
  }

  private sendKeys(): void {
    this.roster?.forEach((member, i) => this.send(member, { kind: 'client-key', key: this.keys[i]! }));
  }

  private useRoster(roster: readonly string[]): void {
    this.roster = roster;
    const n = roster.length;
    this.keys = Array.from({ length: n }, () => new Uint8Array(randomBytes(CLIENT_KEY_BYTES)));
    roster.forEach((member, i) => {
      this.replicaOf.set(member, i);
      this.peers.add(member);
      this.transport.addPeer(member, this.addrsOf(member));
    });
    const send = (to: ReplicaId | 'all', request: Request): void => this.sendRequest(to, request);
    for (const id of this.clientIds) {
      const session = new ClientSession({
        id,
        n,
        send,
        keys: this.keys,
        retransmitTicks: RETRANSMIT_TICKS,
        behaviour: this.options.clientBehaviour,
      });
      this.sessions.push(session);
      this.sessionById.set(id, session);
    }
    this.sendKeys();
    for (const resolve of this.rosterWaiters.splice(0)) resolve();
  }
}

function sameRoster(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
