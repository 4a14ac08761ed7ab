/**
 * The ReplicaHost: one PBFT replica on a real machine. It wires the sans-IO replica to a libp2p
 * node (core/net), a data directory (storage.ts) and a real clock (a tick every 10 ms), keeps the
 * observability state, and implements the LabApi that the dashboards use.
 *
 * Life of a host: open the data directory (identity key, roster, persisted checkpoint) → start the
 * libp2p node → find peers (mDNS, or `join` addresses) and exchange HELLOs → agree on the roster
 * (core/net/roster.ts) → start the replica with its id in the roster. Machines beyond n observe.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { decodeResult } from '../app/file-ops.ts';
import { FileStore } from '../app/file-store.ts';
import { signingKeyFromLibp2p, publicKeyFromPeerId } from '../crypto/libp2p-keys.ts';
import { ed25519ReplicaCrypto } from '../crypto/node.ts';
import { describe as describeMessage } from '../pbft/codec.ts';
import { defaultProtocolConfig, quorums, type ProtocolConfig } from '../pbft/config.ts';
import type { Message, Reply, ReplicaId, Request } from '../pbft/messages.ts';
import type { Output, ReplicaEvent } from '../pbft/outputs.ts';
import { Replica } from '../pbft/replica.ts';
import { CATALOGUE } from '../byzantine/catalogue.ts';
import { FaultyReplica } from '../byzantine/faulty-replica.ts';
import { dialableRemoteAddrs, peerIdOfMultiaddr } from '../net/addresses.ts';
import { watchPeerDiscovery, type LabDiscovery } from '../net/discovery.ts';
import { createFrameTransport, type FrameTransport } from '../net/frame-transport.ts';
import { createLabNode, type LabNode } from '../net/node.ts';
import { parseHello, RosterFormation, type Hello } from '../net/roster.ts';
import { isClientOf, peerOfClient } from './client-id.ts';
import { ClientSession } from './client-session.ts';
import type {
  BehaviourInfo,
  FaultCommand,
  LabApi,
  LabEvent,
  LabFaults,
  LabMetrics,
  LabOp,
  LabSnapshot,
  PeerInfo,
  SubmitOutcome,
} from './lab-api.ts';
import { fileOpFromLab, labResultFromFile } from './lab-ops.ts';
import { openDataDir, type DataDir } from './storage.ts';
import { encodeFrame, encodeGroupedFrames, parseFrame, type WireFrame } from './wire.ts';

export const TICK_MS = 10;
const HELLO_INTERVAL_MS = 1_000;
/** A peer outside the roster silent this long is forgotten (its link is no longer redialled). */
const PEER_IDLE_MS = 30_000;
/** Most peers (members, observers, clients, strangers) tracked at once. */
const MAX_TRACKED_PEERS = 256;
/** Recent events kept for a dashboard that connects late. */
const EVENT_HISTORY = 500;

export interface ReplicaHostOptions {
  readonly dataDir: string;
  readonly cluster: string;
  readonly size: number;
  /** Listen multiaddrs. @default ['/ip4/0.0.0.0/tcp/0'] */
  readonly listen?: string[];
  /** Peers to dial directly (networks that block multicast). */
  readonly join?: string[];
  /** mDNS discovery. @default true */
  readonly mdns?: boolean;
  readonly mdnsIntervalMs?: number;
  /** One-machine demo and loopback tests only. @default false */
  readonly allowLoopback?: boolean;
  /** A peer outside the roster silent this long is forgotten. @default 30_000 */
  readonly peerIdleMs?: number;
  /** Protocol parameters (checkpoint interval, timeouts…). */
  readonly protocol?: Partial<ProtocolConfig>;
  /** One line per notable event, for an instructor to read. @default console */
  readonly log?: (line: string) => void;
}

export class ReplicaHost implements LabApi {
  readonly options: ReplicaHostOptions;
  private readonly log: (line: string) => void;
  private data!: DataDir;
  private node!: LabNode;
  private transport!: FrameTransport;
  private discovery: LabDiscovery | null = null;
  private roster!: RosterFormation;
  private replica: Replica | null = null;
  /** The replica behind its Byzantine switch: every input and output goes through it. */
  private faulty: FaultyReplica | null = null;
  private session: ClientSession | null = null;
  /** MAC keys by client peer: one per peer, for all its logical clients (client-id.ts). */
  private readonly clientKeys = new Map<string, Uint8Array>();
  /** Client peers (not cluster members) we keep a link to for replies. */
  private readonly clients = new Set<string>();
  /** Refusal reasons by revoked client peer. */
  private readonly revoked = new Map<string, string>();
  private readonly lastHeard = new Map<string, number>();
  /** When a peer outside the roster last said something acceptable (a HELLO of our cluster, a client frame). */
  private readonly lastAccepted = new Map<string, number>();
  private readonly addresses = new Map<string, Multiaddr[]>();
  private readonly listeners = new Set<(e: LabEvent) => void>();
  private readonly history: LabEvent[] = [];
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private readonly startedAt = performance.now();
  private faults: { paused: boolean; disconnectedFrom: Set<string>; delayMs: number } = {
    paused: false,
    disconnectedFrom: new Set(),
    delayMs: 0,
  };
  private readonly counters = {
    executedRequests: 0,
    executedBatches: 0,
    viewChanges: 0,
    stateTransfers: 0,
    ignoredMessages: 0,
  };
  private stopped = false;
  /** Replies to other nodes' clients from the outputs being drained, by client node (flushReplies). */
  private readonly pendingReplies = new Map<string, Reply[]>();

  constructor(options: ReplicaHostOptions) {
    this.options = options;
    this.log = options.log ?? ((line) => console.log(line));
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  get replicaId(): ReplicaId | null {
    return this.roster?.replicaId ?? null;
  }

  /** Multiaddrs another machine can `--join`. */
  get listenAddresses(): string[] {
    return this.node.getMultiaddrs().map(String);
  }

  async start(): Promise<void> {
    const { cluster, size } = this.options;
    quorums(size);
    this.data = await openDataDir({ dir: this.options.dataDir, cluster, size });
    this.node = await createLabNode({
      privateKey: this.data.privateKey,
      listen: this.options.listen,
      mdns: this.options.mdns === false ? false : { intervalMs: this.options.mdnsIntervalMs ?? 2_000 },
      allowLoopback: this.options.allowLoopback,
      inboundConnectionsPerHostPerSecond: this.options.allowLoopback ? 100 : undefined,
    });
    this.transport = createFrameTransport(this.node, {
      allowLoopback: this.options.allowLoopback,
      log: (entry) => {
        if (entry.level !== 'debug')
          this.note(
            `net ${entry.event}${entry.peer ? ` ${short(entry.peer)}` : ''}${entry.detail ? `: ${entry.detail}` : ''}`,
          );
      },
    });
    this.transport.onFrame((from, frame) => this.onFrame(from, frame));
    await this.transport.start();
    this.roster = new RosterFormation({ self: this.peerId, cluster, size, adopted: this.data.roster });
    this.note(`peer ${this.peerId} listening on ${this.listenAddresses.join(' ')}; cluster "${cluster}" of ${size}`);
    if (this.data.roster) this.note(`roster from the data directory: ${this.data.roster.map(short).join(', ')}`);

    this.discovery =
      this.options.mdns === false ? null : watchPeerDiscovery(this.node, { allowLoopback: this.options.allowLoopback });
    this.discovery?.onPeerDiscovered((peer, addrs) => this.meet(peer, addrs));
    for (const address of this.options.join ?? []) void this.joinAddress(address);

    if (this.data.roster) this.startReplica();
    this.timers.push(setInterval(() => this.tick(), TICK_MS));
    this.timers.push(setInterval(() => this.announce(), HELLO_INTERVAL_MS));
    this.announce();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.session?.close('replica host stopped');
    this.discovery?.stop();
    await this.transport?.stop();
    await this.node?.stop();
    await this.data?.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Peers and the roster

  private meet(peer: string, addrs: readonly Multiaddr[]): void {
    if (peer === this.peerId || !this.admits(peer)) return;
    // A discovered peer gets PEER_IDLE_MS to answer with a HELLO of our cluster before it is forgotten.
    if (!this.lastAccepted.has(peer)) this.lastAccepted.set(peer, performance.now());
    if (!this.addresses.has(peer)) this.note(`discovered ${short(peer)} at ${addrs.map(String).join(' ')}`);
    this.addresses.set(peer, [...addrs]);
    this.transport.addPeer(peer, addrs);
    this.sendHello(peer);
  }

  private async joinAddress(address: string): Promise<void> {
    let ma: Multiaddr;
    try {
      ma = multiaddr(address);
    } catch (error) {
      this.note(`--join ${address}: not a multiaddr (${(error as Error).message})`);
      return;
    }
    const peer = peerIdOfMultiaddr(ma);
    if (peer) return this.meet(peer, [ma]);
    try {
      const connection = await this.node.dial(ma);
      this.meet(connection.remotePeer.toString(), [ma]);
    } catch (error) {
      this.note(`--join ${address}: ${(error as Error).message}; retrying in 2 s`);
      if (!this.stopped) setTimeout(() => void this.joinAddress(address), 2_000).unref();
    }
  }

  private announce(): void {
    // Re-send our client's MAC keys too: a replica that restarted has forgotten them, and without them
    // it cannot accept a pre-prepare carrying our requests (the paper refreshes keys periodically, §5.2).
    if (this.session) for (let r = 0; r < this.session.keys.length; r++) this.sendClientKey(r);
    void this.refreshMemberAddresses();
    const now = performance.now();
    for (const peer of this.addresses.keys()) {
      const member = this.roster.adopted?.includes(peer) ?? false;
      if (!member && now - (this.lastAccepted.get(peer) ?? 0) > (this.options.peerIdleMs ?? PEER_IDLE_MS))
        this.forgetPeer(peer);
      else if (!this.clients.has(peer)) this.sendHello(peer);
    }
  }

  /**
   * Members that joined us (rather than being discovered) are known by peer id only; identify has
   * told libp2p's peer store where they listen. Those addresses go into our HELLOs, so a client that
   * joined one replica can reach them all.
   */
  private async refreshMemberAddresses(): Promise<void> {
    for (const member of this.roster.adopted ?? []) {
      if (member === this.peerId || (this.addresses.get(member)?.length ?? 0) > 0) continue;
      try {
        const peer = await this.node.peerStore.get(peerIdFromString(member));
        const addrs = dialableRemoteAddrs(
          peer.addresses.map((a) => a.multiaddr),
          this.options.allowLoopback ?? false,
        );
        if (addrs.length > 0) this.addresses.set(member, addrs);
      } catch {
        // not in the peer store yet
      }
    }
  }

  /**
   * A peer outside the roster that has said nothing acceptable for a while (a client that left, a
   * machine of another cluster, a stranger) is forgotten: no more redialling, no state kept for it.
   */
  private forgetPeer(peer: string): void {
    this.clients.delete(peer);
    this.addresses.delete(peer);
    this.lastHeard.delete(peer);
    this.lastAccepted.delete(peer);
    this.clientKeys.delete(peer);
    this.roster.forget(peer);
    this.transport.removePeer(peer);
  }

  /** Room for one more peer outside the roster? (Bounded: strangers cannot make us keep state without end.) */
  private admits(peer: string): boolean {
    if (this.addresses.has(peer) || this.roster.adopted?.includes(peer)) return true;
    if (this.addresses.size < MAX_TRACKED_PEERS) return true;
    this.note(`peer ${short(peer)} ignored: already tracking ${MAX_TRACKED_PEERS} peers`);
    return false;
  }

  private rememberClient(peer: string): void {
    this.lastAccepted.set(peer, performance.now());
    if (this.roster.adopted?.includes(peer) || this.clients.has(peer) || !this.admits(peer)) return;
    this.clients.add(peer);
    if (!this.addresses.has(peer)) this.addresses.set(peer, []);
    this.transport.addPeer(peer);
  }

  private sendHello(peer: string): void {
    const hello: Hello & { addrs?: Record<string, string[]> } = { ...this.roster.hello() };
    // Tell clients where the members are, so `pbft-lab client --join ONE` reaches them all.
    if (this.roster.adopted) {
      hello.addrs = {};
      for (const member of this.roster.adopted) {
        const addrs = member === this.peerId ? this.listenAddresses : (this.addresses.get(member) ?? []).map(String);
        hello.addrs[member] = addrs;
      }
    }
    this.sendFrame(peer, { kind: 'hello', json: JSON.stringify(hello) });
  }

  private onHello(from: string, json: string): void {
    const hello = parseHello(json);
    if (!hello) return this.note(`HELLO from ${short(from)} ignored: malformed`);
    if (hello.cluster !== this.options.cluster || hello.size !== this.options.size) {
      return this.note(
        `HELLO from ${short(from)} ignored: cluster "${hello.cluster}" of ${hello.size}, not "${this.options.cluster}" of ${this.options.size}`,
      );
    }
    if (hello.role === 'client') {
      this.rememberClient(from);
      return this.sendHello(from);
    }
    if (!this.admits(from)) return;
    const verdict = this.roster.onHello(from, hello);
    if (!verdict.ok) return this.note(`HELLO from ${short(from)} ignored: ${verdict.reason}`);
    this.lastAccepted.set(from, performance.now());
    if (!this.addresses.has(from)) {
      this.addresses.set(from, []);
      this.transport.addPeer(from);
      this.sendHello(from);
    }
    const adopted = this.roster.tryAdopt();
    if (adopted) {
      this.note(
        `roster agreed: ${adopted.map((p, i) => `${i}=${short(p)}`).join(' ')}${this.roster.replicaId === null ? ' (this machine observes)' : ''}`,
      );
      void this.data
        .saveRoster(adopted)
        .catch((error: Error) => this.note(`could not save the roster: ${error.message}`));
      this.startReplica();
      this.announce();
    }
  }

  private startReplica(): void {
    const roster = this.roster.adopted!;
    const id = this.roster.replicaId;
    const n = roster.length;
    for (const member of roster) if (member !== this.peerId) this.transport.addPeer(member, this.addresses.get(member));
    // Replica frames only from roster members; HELLOs and client frames from anyone (checked per kind).
    this.session = new ClientSession({ id: this.peerId, n, send: (to, request) => this.sendRequest(to, request) });
    for (let r = 0; r < n; r++) this.sendClientKey(r);
    if (id === null) return;
    const publicKeys = roster.map(publicKeyFromPeerId);
    const crypto = ed25519ReplicaCrypto(
      { privateKey: signingKeyFromLibp2p(this.data.privateKey), publicKeys },
      (client) => this.clientKeys.get(peerOfClient(client)),
    );
    this.replica = new Replica({
      id,
      config: defaultProtocolConfig(n, this.options.protocol),
      crypto,
      app: new FileStore(crypto),
      persisted: this.data.persisted,
    });
    this.faulty = new FaultyReplica(this.replica, crypto, Math.random);
    this.note(`replica ${id} started in view ${this.replica.view}, stable checkpoint ${this.replica.lowWatermark}`);
  }

  private sendClientKey(to: ReplicaId): void {
    const member = this.roster.adopted![to]!;
    const key = this.session!.keys[to]!;
    if (member === this.peerId) this.clientKeys.set(this.peerId, key);
    else this.sendFrame(member, { kind: 'client-key', key });
  }

  // ---------------------------------------------------------------------------------------------
  // Frames in

  /** Hand a frame to the host as if the transport had delivered it from `from` (fuzz and hostile-peer tests). */
  injectFrame(from: string, bytes: Uint8Array): void {
    this.onFrame(from, bytes);
  }

  private onFrame(from: string, bytes: Uint8Array): void {
    if (this.faults.paused || this.faults.disconnectedFrom.has(from)) return;
    this.lastHeard.set(from, performance.now());
    const parsed = parseFrame(bytes);
    if (!parsed.ok) return this.note(`frame from ${short(from)} ignored: ${parsed.reason}`);
    const frame = parsed.frame;
    switch (frame.kind) {
      case 'hello':
        return this.onHello(from, frame.json);
      case 'replica': {
        const replicaId = this.roster.adopted?.indexOf(from) ?? -1;
        if (replicaId < 0)
          return this.note(`${frame.message.type} from ${short(from)} ignored: not a member of the roster`);
        this.emitMessage('in', replicaId, frame.message);
        this.faulty?.step(replicaId, frame.message);
        return this.drain();
      }
      case 'client-key':
        this.rememberClient(from);
        if (this.addresses.has(from) || this.roster.adopted?.includes(from)) this.clientKeys.set(from, frame.key);
        return;
      case 'client-request':
        this.onClientRequest(from, frame.request);
        return this.drain();
      case 'client-requests':
        for (const request of frame.requests) this.onClientRequest(from, request);
        return this.drain();
      case 'client-reply':
      case 'client-replies': {
        const replicaId = this.roster.adopted?.indexOf(from) ?? -1;
        if (replicaId < 0)
          return this.note(
            `${frame.kind === 'client-reply' ? 'reply' : 'replies'} from ${short(from)} ignored: not a member of the roster`,
          );
        for (const reply of frame.kind === 'client-reply' ? [frame.reply] : frame.replies)
          this.session?.onReply(replicaId, reply);
        return;
      }
      case 'client-refused':
        this.note(`replica ${short(from)} refuses our requests: ${frame.reason}`);
        return this.session?.refused(frame.reason);
    }
  }

  /** A request from client node `from`, to the replica (its outputs are drained by the caller). */
  private onClientRequest(from: string, request: Request): void {
    // A peer speaks for itself and its logical clients `peer/j`, never for another peer's.
    const client = request.client;
    if (!isClientOf(client, from))
      return this.note(
        `request from ${short(from)} ignored: it names client ${JSON.stringify(client)}, not that peer or one of its logical clients`,
      );
    if (this.clients.has(from)) this.lastAccepted.set(from, performance.now());
    const refusal = this.revoked.get(from);
    if (refusal) return this.sendFrame(from, { kind: 'client-refused', reason: refusal });
    this.emitMessage('in', from, request);
    this.faulty?.step(client, request);
  }

  /** Our own client's request: to ourselves without the network, to the others as a frame (encoded once). */
  private sendRequest(to: ReplicaId | 'all', request: Request): void {
    const roster = this.roster.adopted;
    if (!roster) return;
    const frame = encodeFrame({ kind: 'client-request', request });
    for (const member of to === 'all' ? roster : [roster[to]!]) {
      if (member === this.peerId) {
        queueMicrotask(() => {
          this.faulty?.step(this.peerId, request);
          this.drain();
        });
      } else this.sendBytes(member, frame);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The replica's outputs

  private tick(): void {
    if (this.faults.paused) return;
    this.faulty?.tick();
    this.drain();
    this.session?.tick();
  }

  private drain(): void {
    const faulty = this.faulty;
    if (!faulty) return;
    for (const out of faulty.takeOutputs()) this.onOutput(out);
    this.flushReplies();
  }

  /** The replies of one drain (a batch executed), grouped by client node: one frame per node, not per request. */
  private flushReplies(): void {
    for (const [peer, replies] of this.pendingReplies) {
      for (const frame of encodeGroupedFrames('replies', replies)) this.sendBytes(peer, frame);
    }
    this.pendingReplies.clear();
  }

  private onOutput(out: Output): void {
    const roster = this.roster.adopted!;
    switch (out.kind) {
      case 'send':
        this.emitMessage('out', out.to, out.message);
        return this.sendFrame(roster[out.to]!, { kind: 'replica', message: out.message });
      case 'broadcast': {
        const frame = encodeFrame({ kind: 'replica', message: out.message });
        this.emitMessage('out', 'all', out.message);
        roster.forEach((member) => {
          if (member !== this.peerId) this.sendBytes(member, frame);
        });
        return;
      }
      case 'reply':
        if (out.client === this.peerId) {
          const from = this.replicaId!;
          const reply = out.reply;
          queueMicrotask(() => this.session?.onReply(from, reply));
        } else {
          const peer = peerOfClient(out.client);
          const replies = this.pendingReplies.get(peer);
          if (replies) replies.push(out.reply);
          else this.pendingReplies.set(peer, [out.reply]);
        }
        return;
      case 'persist':
        void this.data
          .persist(out.record)
          .catch((error: Error) => this.note(`could not persist ${out.record.type}: ${error.message}`));
        return;
      case 'event':
        return this.onReplicaEvent(out.event);
    }
  }

  private onReplicaEvent(event: ReplicaEvent): void {
    const replica = this.replica!;
    const prefix = `r${replica.id} v${replica.view}`;
    switch (event.type) {
      case 'ignored':
        this.counters.ignoredMessages++;
        if (event.message.type !== 'status')
          this.note(`${prefix} ignored ${describeMessage(event.message)}: ${event.reason}`, 'debug');
        return;
      case 'executed':
        this.counters.executedBatches++;
        this.counters.executedRequests += event.requests.filter((r) => r.executed).length;
        return this.emitReplica(event.type, `${prefix} executed n=${event.seq} (${event.requests.length} requests)`);
      case 'view-change-started':
        this.counters.viewChanges++;
        return this.note(`${prefix} VIEW-CHANGE to view ${event.newView}: ${event.reason}`);
      case 'new-view':
        return this.note(
          `${prefix} NEW-VIEW: view ${event.view}, primary ${event.primary}, O = (${event.minSeq}, ${event.maxSeq}]`,
        );
      case 'checkpoint-stable':
        return this.note(
          `${prefix} stable checkpoint n=${event.seq} d=${event.stateDigest.slice(0, 8)}; watermarks (${event.lowWatermark}, ${event.highWatermark}]`,
        );
      case 'state-transfer-started':
        return this.note(`${prefix} state transfer to n=${event.seq} from replica ${event.from}`);
      case 'state-transfer-completed':
        this.counters.stateTransfers++;
        return this.note(`${prefix} state transfer done: n=${event.seq}`);
      case 'state-transfer-rejected':
        return this.note(`${prefix} snapshot from replica ${event.from} rejected: ${event.reason}`);
      default:
        return this.emitReplica(event.type, `${prefix} ${event.type} n=${event.seq}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Frames out (with the fault toggles)

  private sendFrame(peer: string, frame: WireFrame): void {
    this.sendBytes(peer, encodeFrame(frame));
  }

  private sendBytes(peer: string, bytes: Uint8Array): void {
    if (this.faults.paused || this.faults.disconnectedFrom.has(peer)) return;
    if (this.faults.delayMs > 0) setTimeout(() => this.transport.send(peer, bytes), this.faults.delayMs);
    else this.transport.send(peer, bytes);
  }

  // ---------------------------------------------------------------------------------------------
  // Observability

  private note(line: string, level: 'info' | 'debug' = 'info'): void {
    const event: LabEvent = { kind: 'log', atMs: this.elapsedMs(), line };
    this.emit(event);
    if (level === 'info') this.log(line);
  }

  private emitReplica(type: string, text: string): void {
    this.emit({ kind: 'replica', atMs: this.elapsedMs(), type, text });
  }

  private emitMessage(direction: 'in' | 'out', peer: number | string, message: Message): void {
    if (this.listeners.size === 0 || message.type === 'status') return;
    const view = 'view' in message ? message.view : message.type === 'view-change' ? message.newView : null;
    const seq = 'seq' in message ? message.seq : null;
    this.emit({
      kind: 'message',
      atMs: this.elapsedMs(),
      direction,
      peer,
      type: message.type,
      view,
      seq,
      text: describeMessage(message),
    });
  }

  private emit(event: LabEvent): void {
    if (this.history.length >= EVENT_HISTORY) this.history.shift();
    this.history.push(event);
    for (const listener of this.listeners) listener(event);
  }

  private elapsedMs(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  // ---------------------------------------------------------------------------------------------
  // The LabApi

  async snapshot(): Promise<LabSnapshot> {
    const replica = this.replica;
    const roster = this.roster.adopted ?? [];
    const stats = this.transport.stats();
    const now = performance.now();
    const peers: PeerInfo[] = [...new Set([...roster, ...this.addresses.keys()])]
      .filter((p) => p !== this.peerId)
      .map((peerId) => {
        const heard = this.lastHeard.get(peerId);
        const link = stats.peers[peerId];
        return {
          peerId,
          replicaId: roster.includes(peerId) ? roster.indexOf(peerId) : null,
          addresses: (this.addresses.get(peerId) ?? []).map(String),
          connected: link !== undefined && link.state === 'open',
          lastHeardMsAgo: heard === undefined ? null : Math.round(now - heard),
          disconnected: this.faults.disconnectedFrom.has(peerId),
        };
      });
    const metrics: LabMetrics = {
      uptimeMs: this.elapsedMs(),
      ...this.counters,
      framesIn: stats.framesIn,
      framesOut: stats.framesOut,
      bytesIn: stats.bytesIn,
      bytesOut: stats.bytesOut,
      framesDropped: Object.values(stats.dropped).reduce((a, b) => a + b, 0),
    };
    const stable = replica?.stableCheckpoint;
    return {
      self: {
        peerId: this.peerId,
        cluster: this.options.cluster,
        size: this.options.size,
        f: (this.options.size - 1) / 3,
        role: this.roster.adopted ? (this.replicaId === null ? 'observer' : 'replica') : 'forming',
        replicaId: this.replicaId,
        addresses: this.listenAddresses.map((a) => `${a}/p2p/${this.peerId}`.replace(/\/p2p\/[^/]+\/p2p\//, '/p2p/')),
      },
      roster: [...roster],
      view: replica ? { view: replica.view, primary: replica.primary, status: replica.status } : null,
      log: replica ? replica.logRows() : [],
      checkpoints:
        replica && stable
          ? {
              stableSeq: stable.seq,
              stableDigest: stable.stateDigest,
              proofFrom: stable.proof.map((cp) => cp.replica),
              lowWatermark: replica.lowWatermark,
              highWatermark: replica.highWatermark,
              lastExecuted: replica.lastExecuted,
            }
          : null,
      peers,
      metrics,
      faults: this.currentFaults(),
      behaviour: this.faulty?.behaviourId ?? null,
    };
  }

  subscribe(listener: (event: LabEvent) => void): () => void {
    for (const event of this.history) listener(event);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async submit(op: LabOp): Promise<SubmitOutcome> {
    if (!this.session) throw new Error('the cluster has not formed yet: no roster');
    const outcome = await this.session.submit(fileOpFromLab(op));
    const decoded = decodeResult(outcome.result);
    if (!decoded.ok) throw new Error(`replicas agreed on a result that does not decode: ${decoded.reason}`);
    return {
      timestamp: outcome.timestamp,
      result: labResultFromFile(decoded.result),
      matching: outcome.matching,
      committed: outcome.committed,
      latencyMs: outcome.latencyMs,
    };
  }

  async fault(command: FaultCommand): Promise<LabFaults> {
    switch (command.kind) {
      case 'pause':
        this.faults.paused = true;
        break;
      case 'resume':
        this.faults.paused = false;
        break;
      case 'disconnect':
        peerIdFromString(command.peerId);
        this.faults.disconnectedFrom.add(command.peerId);
        break;
      case 'reconnect':
        this.faults.disconnectedFrom.delete(command.peerId);
        break;
      case 'delay':
        if (!Number.isFinite(command.ms) || command.ms < 0 || command.ms > 60_000)
          throw new RangeError('delay must be 0..60000 ms');
        this.faults.delayMs = command.ms;
        break;
    }
    this.note(
      `fault: ${command.kind}${'peerId' in command ? ` ${short(command.peerId)}` : ''}${'ms' in command ? ` ${command.ms} ms` : ''}`,
    );
    return this.currentFaults();
  }

  /**
   * Revocation is per peer: a logical client `peer/j` is not authenticated apart from its peer (which
   * could use any other j), so revoking one revokes the peer and all its logical clients.
   */
  async revokeClient(clientId: string): Promise<void> {
    const peer = peerOfClient(clientId);
    this.revoked.set(peer, `client ${peer} was revoked by replica ${this.replicaId ?? '?'}`);
    this.note(
      `revoked client ${short(peer)}: its requests, and those of its logical clients ${short(peer)}/…, are refused`,
    );
  }

  async behaviours(): Promise<readonly BehaviourInfo[]> {
    return CATALOGUE;
  }

  async setBehaviour(id: string | null): Promise<string | null> {
    if (!this.faulty) throw new Error('this machine runs no replica (forming, or an observer)');
    this.faulty.setBehaviour(id);
    const info = CATALOGUE.find((b) => b.id === id);
    this.note(
      id === null
        ? `replica ${this.replicaId} is honest again`
        : `replica ${this.replicaId} is now BYZANTINE: ${info?.name ?? id}`,
    );
    return this.faulty.behaviourId;
  }

  private currentFaults(): LabFaults {
    return {
      paused: this.faults.paused,
      disconnectedFrom: [...this.faults.disconnectedFrom],
      delayMs: this.faults.delayMs,
    };
  }
}

/** Peer ids are long; logs show their tail, which is what differs. */
export function short(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId;
}
