/**
 * The ReplicaHost: one PBFT replica on a real machine. It opens the data directory, starts the
 * libp2p node and a real clock (a tick every 10 ms), routes frames to the module that owns them, and
 * implements the LabApi that the dashboards use. Each job lives in a module of its own:
 *
 *   membership.ts        peers, HELLOs, roster formation, forgetting quiet strangers
 *   client-gate.ts       clients' MAC keys, who may speak for which client, revocation
 *   own-client.ts        this machine's own client (the dashboard's submit)
 *   protocol-driver.ts   the replica behind its Byzantine switch; its outputs into frames and records
 *   host-faults.ts       pause, cut links, added delay
 *   behaviour-ledger.ts  who has been Byzantine in this run: the members' signed behaviour histories
 *   host-events.ts, replica-activity.ts, lab-snapshot.ts   what the lab sees: events, counters, snapshot
 *
 * Life of a host: open the data directory (identity key, roster, persisted checkpoint) → start the
 * libp2p node → find peers (mDNS, or `join` addresses) and exchange HELLOs → agree on the roster
 * (core/net/roster.ts) and save it → start the replica with its id in the roster. Machines beyond n
 * observe.
 */
import { peerIdFromString } from '@libp2p/peer-id';
import type { FileStore } from '../app/file-store.ts';
import { CATALOGUE, createBehaviour } from '../byzantine/catalogue.ts';
import { signingKeyFromLibp2p, publicKeyFromPeerId } from '../crypto/libp2p-keys.ts';
import { ed25519ReplicaCrypto } from '../crypto/node.ts';
import { watchPeerDiscovery, type LabDiscovery } from '../net/discovery.ts';
import { createFrameTransport, type FrameTransport } from '../net/frame-transport.ts';
import { NOT_A_MEMBER } from '../net/cluster-protector.ts';
import { createLabNode, type LabNode } from '../net/node.ts';
import { defaultProtocolConfig, quorums, type ProtocolConfig } from '../pbft/config.ts';
import type { Hasher } from '../pbft/crypto.ts';
import type { ReplicaId, Request } from '../pbft/messages.ts';
import { BehaviourLedger, describeSwitch } from './behaviour-ledger.ts';
import { ClientGate } from './client-gate.ts';
import { peerOfClient } from './client-id.ts';
import { clusterFileStore } from './cluster-file-store.ts';
import { RefusalNotes, settleClusterKey, type ClusterKeyChoice } from './cluster-secret.ts';
import type { ClusterKey } from '../net/cluster-key.ts';
import { HostEvents, short } from './host-events.ts';
import { HostFaults } from './host-faults.ts';
import type {
  BehaviourInfo,
  FaultCommand,
  LabApi,
  LabEvent,
  LabFaults,
  LabOp,
  LabSnapshot,
  RoomQuery,
  RoomState,
  SetBehaviourOptions,
  SubmitOutcome,
} from './lab-api.ts';
import { RoomObserver } from './room-observer.ts';
import { PeerWitness } from './peer-witness.ts';
import { labSnapshot } from './lab-snapshot.ts';
import { Membership } from './membership.ts';
import { OwnClient } from './own-client.ts';
import { ProtocolDriver } from './protocol-driver.ts';
import { HostRecorder, unrecordedReplica, wallNow, type HostRecorderOptions, type RecordStore } from './recorder.ts';
import { ReplicaActivity } from './replica-activity.ts';
import type { StoredBehaviours } from './storage-behaviours.ts';
import { openDataDir, type DataDir } from './storage.ts';
import { Telemetry } from './telemetry.ts';
import { TelemetryPublisher } from './telemetry-feed.ts';
import { TELEMETRY_SCHEMA } from './telemetry-events.ts';
import { serveTelemetry } from '../net/telemetry-protocol.ts';
import { encodeFrame, parseFrame, type WireFrame } from './wire.ts';

export { short } from './host-events.ts';

export const TICK_MS = 10;
const HELLO_INTERVAL_MS = 1_000;
/** How long revokeClient waits for the replicas to order and execute the revoke. */
const REVOKE_TIMEOUT_MS = 10_000;
/** A member sends its behaviour history when it changes and this often (a peer that restarted, or just met, learns it). */
export const BEHAVIOUR_HISTORY_INTERVAL_MS = 5_000;

export interface ReplicaHostOptions {
  readonly dataDir: string;
  /** A label for the cluster inside its key: machines of one key with other names do not form together. */
  readonly cluster: string;
  readonly size: number;
  /**
   * The cluster secret (cluster-secret.ts): only machines holding it connect at all.
   * @default 'stored-or-new': the data directory's key, or a new cluster's if it holds none
   */
  readonly clusterKey?: ClusterKeyChoice;
  /**
   * Listen multiaddrs. A TCP port 0 means the port this data directory listened on last time (so a
   * restarted machine is found where it was), or any free port the first time or if that one is taken.
   * @default ['/ip4/0.0.0.0/tcp/0']
   */
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
  /**
   * Record the replica's inputs in `<dataDir>/records` for deterministic replay (recorder.ts), or not.
   * @default true
   */
  readonly record?: boolean | Omit<HostRecorderOptions, 'dir'>;
}

export class ReplicaHost implements LabApi {
  readonly options: ReplicaHostOptions;
  private readonly events: HostEvents;
  private readonly activity: ReplicaActivity;
  private readonly gate: ClientGate;
  private data!: DataDir;
  private node!: LabNode;
  private transport!: FrameTransport;
  private readonly faults: HostFaults;
  private membership!: Membership;
  private discovery: LabDiscovery | null = null;
  /** Set once the agreed roster is on disk, if this machine is one of its replicas. */
  private driver: ProtocolDriver | null = null;
  /** The replicated file store, whose access rules say which clients are revoked (null: no replica here). */
  private app: FileStore | null = null;
  /** Set once the agreed roster is on disk (observers have one too). */
  private ownClient: OwnClient | null = null;
  /** Set once the agreed roster is on disk (observers keep one too, of the members' histories). */
  private ledger: BehaviourLedger | null = null;
  /** What behaviours.json held at start. */
  private storedBehaviours: StoredBehaviours | null = null;
  /** Behaviour switches run one at a time: each is on disk before the next is checked against f. */
  private switching: Promise<unknown> = Promise.resolve();
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private stopped = false;
  private clusterKey: ClusterKey | null = null;
  private recorder: HostRecorder | null = null;
  /** The replica's vector clock and events (telemetry.ts), once it runs; served to observers by `publisher`. */
  private telemetry: Telemetry | null = null;
  /** What the replica can tell about its peers from its own inputs (peer-witness.ts), once it runs. */
  private witness: PeerWitness | null = null;
  private readonly publisher: TelemetryPublisher;
  private stopServingTelemetry: () => Promise<void> = async () => {};
  /** This dashboard's Room tab: the members' telemetry, subscribed to on its first look. */
  private roomObserver: RoomObserver | null = null;

  constructor(options: ReplicaHostOptions) {
    this.options = options;
    this.events = new HostEvents(options.log ?? ((line) => console.log(line)));
    this.activity = new ReplicaActivity(this.events);
    this.faults = new HostFaults((peer, bytes) => this.transport.send(peer, bytes));
    this.gate = new ClientGate({
      knows: (peer) => this.membership.isKnown(peer),
      heardFrom: (peer) => this.membership.touchClient(peer),
      admit: (from, request) => {
        this.events.emitMessage('in', from, request);
        this.telemetry?.clientRequest(from, request);
        this.witness?.request(request.client, request.timestamp);
        this.driver?.input(request.client, request);
      },
      refuse: (peer, reason) => this.sendFrame(peer, { kind: 'client-refused', reason }),
      revokedReason: (peer) =>
        this.app?.isRevoked(peer)
          ? `client ${peer} was revoked (an ordered revoke): every replica refuses its requests`
          : undefined,
      askForKey: (peer) => this.askForKey(peer),
      note: (line) => this.note(line),
    });
    this.publisher = new TelemetryPublisher({
      telemetry: () => this.telemetry,
      hello: () => ({
        schema: TELEMETRY_SCHEMA,
        peerId: this.peerId,
        cluster: this.options.cluster,
        size: this.options.size,
        replica: this.driver ? this.replicaId : null,
        incarnation: this.telemetry?.incarnationText ?? null,
        roster: this.membership?.adopted ?? [],
      }),
      snapshot: () => this.snapshot(),
      note: (line) => this.note(line, 'debug'),
    });
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  get replicaId(): ReplicaId | null {
    return this.membership?.replicaId ?? null;
  }

  /** The join code of this machine's cluster (null: running without a cluster key). */
  get joinCode(): string | null {
    return this.clusterKey?.joinCode ?? null;
  }

  /** Multiaddrs another machine can `--join`. */
  get listenAddresses(): string[] {
    return this.node.getMultiaddrs().map(String);
  }

  async start(): Promise<void> {
    const { cluster, size } = this.options;
    quorums(size);
    this.data = await openDataDir({ dir: this.options.dataDir, cluster, size });
    try {
      await this.startOn(this.data);
    } catch (error) {
      // The data directory is locked to this process: release it (and whatever did start).
      await this.stop().catch(() => {});
      throw error;
    }
  }

  private async startOn(data: DataDir): Promise<void> {
    const { cluster, size } = this.options;
    const settled = await settleClusterKey(data, this.options.clusterKey ?? 'stored-or-new');
    this.clusterKey = settled.key;
    this.noteClusterKey(settled.origin);
    this.storedBehaviours = await data.readBehaviours();
    const record = this.options.record ?? true;
    if (record !== false) {
      this.recorder = new HostRecorder({ ...(record === true ? {} : record), dir: `${this.options.dataDir}/records` });
      await this.recorder.open();
    }
    // Nothing awaits between the node's start and the discovery listener below but the transport's
    // start: mDNS answers arrive within milliseconds, and libp2p does not report a peer it already knows again.
    this.node = await this.startNode(data);
    this.transport = createFrameTransport(this.node, {
      allowLoopback: this.options.allowLoopback,
      // Members may send 4 MiB frames (state transfer); clients and strangers only a client's largest.
      isMember: (peer) => this.membership?.isMember(peer) ?? false,
      log: (entry) => {
        if (entry.level === 'debug') return;
        // A client's links come and go with every call: on the terminal, only the members' links.
        const client = entry.peer !== undefined && this.membership?.adopted && !this.membership.isMember(entry.peer);
        this.note(
          `net ${entry.event}${entry.peer ? ` ${short(entry.peer)}` : ''}${entry.detail ? `: ${entry.detail}` : ''}`,
          client && entry.level === 'info' ? 'debug' : 'info',
        );
      },
    });
    this.transport.onFrame((from, frame) => this.onFrame(from, frame));
    await this.transport.start();
    this.stopServingTelemetry = await serveTelemetry(this.node, (feed) => this.publisher.attach(feed));
    this.membership = new Membership({
      self: this.peerId,
      cluster,
      size,
      adopted: data.roster,
      memberAddresses: data.peerAddresses,
      allowLoopback: this.options.allowLoopback,
      peerIdleMs: this.options.peerIdleMs,
      keyed: this.clusterKey !== null,
      transport: this.transport,
      node: this.node,
      listenAddresses: () => this.listenAddresses,
      sendFrame: (peer, frame) => this.sendFrame(peer, frame),
      note: (line, level) => this.note(line, level),
      onRosterAdopted: (roster) => void this.onRosterAdopted(roster),
      onForget: (peer) => this.gate.forget(peer),
      onMemberAddresses: () => this.rememberMemberAddresses(),
    });
    this.note(`peer ${this.peerId} listening on ${this.listenAddresses.join(' ')}; cluster "${cluster}" of ${size}`);
    if (data.roster) this.note(`roster from the data directory: ${data.roster.map(short).join(', ')}`);

    this.discovery =
      this.options.mdns === false ? null : watchPeerDiscovery(this.node, { allowLoopback: this.options.allowLoopback });
    this.discovery?.onPeerDiscovered((peer, addrs) => this.membership.meet(peer, addrs));
    for (const address of this.options.join ?? []) void this.membership.joinAddress(address);
    await this.rememberListenPort(data);

    if (data.roster) this.startReplica();
    this.timers.push(setInterval(() => this.tick(), TICK_MS));
    this.timers.push(setInterval(() => this.announce(), HELLO_INTERVAL_MS));
    this.timers.push(setInterval(() => this.shareBehaviourHistory(), BEHAVIOUR_HISTORY_INTERVAL_MS));
    this.announce();
  }

  private noteClusterKey(origin: 'new' | 'given' | 'stored' | 'replaced' | 'none'): void {
    const key = this.clusterKey;
    if (!key) return this.note('NO CLUSTER KEY: any libp2p node on the network may connect (measurement only)');
    const from = {
      none: '',
      new: 'a new cluster',
      given: 'joined with the code given',
      stored: 'from the data directory',
      replaced: 'the code given replaces the key this directory held (it had formed no roster with it)',
    }[origin];
    this.note(`cluster key ${key.fingerprint} (${from}); join code for the other machines: ${key.joinCode}`);
  }

  /** The libp2p node, on the TCP port this data directory used last time if it is free. */
  private async startNode(data: DataDir): Promise<LabNode> {
    const refusals = new RefusalNotes((line) => this.note(line));
    const wanted = this.options.listen ?? ['/ip4/0.0.0.0/tcp/0'];
    const create = (listen: string[]): Promise<LabNode> =>
      createLabNode({
        privateKey: data.privateKey,
        listen,
        clusterKey: this.clusterKey ?? undefined,
        onNotClusterMember: ({ remoteAddr, direction }) => refusals.refused(remoteAddr, direction, NOT_A_MEMBER),
        mdns: this.options.mdns === false ? false : { intervalMs: this.options.mdnsIntervalMs ?? 2_000 },
        allowLoopback: this.options.allowLoopback,
        inboundConnectionsPerHostPerSecond: this.options.allowLoopback ? 100 : undefined,
      });
    const port = data.listenPort;
    const reused = port === null ? wanted : wanted.map((a) => a.replace(/\/tcp\/0(?=\/|$)/, `/tcp/${port}`));
    let node: LabNode;
    try {
      node = await create(reused);
    } catch (error) {
      if (reused.every((a, i) => a === wanted[i])) throw error;
      const why = /EADDRINUSE/.test(String((error as Error).message))
        ? 'in use'
        : (error as Error).message.split('\n')[0];
      this.note(
        `TCP port ${port} (this machine's port before the restart) is not free (${why}); listening on a new port: members and clients learn it when this machine reaches them`,
      );
      node = await create(wanted);
    }
    return node;
  }

  /** Saved for the next start (once the node is ours to stop if the write fails). */
  private async rememberListenPort(data: DataDir): Promise<void> {
    const tcpPort = this.node
      .getMultiaddrs()
      .map((a) => a.getComponents().find((c) => c.name === 'tcp')?.value)
      .find((v) => v !== undefined);
    if (tcpPort !== undefined && Number(tcpPort) !== data.listenPort) await data.saveListenPort(Number(tcpPort));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.driver?.stop();
    this.roomObserver?.stop();
    this.publisher.stop();
    await this.stopServingTelemetry();
    await this.recorder?.close();
    this.faults.stop();
    this.membership?.stop();
    this.ownClient?.close('replica host stopped');
    this.discovery?.stop();
    await this.transport?.stop();
    await this.node?.stop();
    await this.data?.close();
  }

  // ---------------------------------------------------------------------------------------------
  // The roster and the replica

  /**
   * The roster is on disk before the replica starts: a replica that restarted without it would form
   * the cluster again, and might get another replica id than the one its peers know it by.
   */
  private async onRosterAdopted(roster: readonly string[]): Promise<void> {
    try {
      await this.data.saveRoster(roster);
    } catch (error) {
      this.note(
        `REPLICA NOT STARTED: could not save the roster (${(error as Error).message}); fix the data directory and restart`,
      );
      return;
    }
    if (this.stopped) return;
    this.startReplica();
    this.announce();
  }

  private startReplica(): void {
    const roster = this.membership.adopted!;
    const id = this.membership.replicaId;
    const n = roster.length;
    for (const member of roster)
      if (member !== this.peerId) this.transport.addPeer(member, this.membership.addressesOf(member));
    // Replica frames only from roster members; HELLOs and client frames from anyone (checked per kind).
    this.ownClient = new OwnClient({
      self: this.peerId,
      roster,
      sendFrame: (peer, frame) => this.sendFrame(peer, frame),
      sendBytes: (peer, bytes) => this.faults.send(peer, bytes),
      toOwnReplica: (request) => this.toOwnReplica(request),
      setOwnKey: (key) => this.gate.setKey(this.peerId, key),
    });
    this.ownClient.sendKeys();
    this.startLedger(roster);
    if (id === null) return;
    const publicKeys = roster.map(publicKeyFromPeerId);
    const crypto = ed25519ReplicaCrypto(
      { privateKey: signingKeyFromLibp2p(this.data.privateKey), publicKeys },
      (client) => this.gate.keyOf(client),
    );
    const telemetry = new Telemetry({ replica: id, n });
    this.telemetry = telemetry;
    const witness = new PeerWitness({ self: id, n });
    this.witness = witness;
    const parts = {
      id,
      config: defaultProtocolConfig(n, this.options.protocol),
      crypto,
      // The replicas' own clients may revoke other clients, and cannot be revoked (cluster-file-store.ts);
      // the host keeps the store the replica is built on, to refuse revoked clients at the door.
      app: (hasher: Hasher) => (this.app = clusterFileStore(hasher, roster)),
      persisted: this.data.persisted,
      random: Math.random,
    };
    const faulty = this.recorder
      ? this.recorder.replica(parts, { peerId: this.peerId, roster, cluster: this.options.cluster })
      : unrecordedReplica(parts);
    const replica = faulty.replica;
    this.driver = new ProtocolDriver({
      replica: faulty,
      roster,
      self: this.peerId,
      data: this.data,
      sendBytes: (peer, bytes) => this.faults.send(peer, bytes),
      replyToOwnClient: (reply) => this.faults.deliverLocally(() => this.ownClient?.onReply(id, reply)),
      onEvent: (event) => {
        telemetry.state(event);
        witness.event(event);
        this.activity.onEvent(id, replica.view, event);
      },
      onMessageOut: (to, message) => {
        this.events.emitMessage('out', to, message);
        witness.message(id, message);
      },
      note: (line) => this.note(line),
      trace: (to, message) => telemetry.send(to, message),
      onReplies: (node, replies) => telemetry.replies(node, replies),
    });
    this.note(`replica ${id} started in view ${replica.view}, stable checkpoint ${replica.lowWatermark}`);
  }

  private startLedger(roster: readonly string[]): void {
    const ledger = new BehaviourLedger({
      cluster: this.options.cluster,
      size: this.options.size,
      self: this.peerId,
      roster,
      signingKey: signingKeyFromLibp2p(this.data.privateKey),
      stored: this.storedBehaviours,
      save: (stored) => this.data.saveBehaviours(stored),
      onSwitch: (member, change, tally) =>
        this.events.emitBehaviour(member, change, tally, describeSwitch(member, change, tally)),
      note: (line, level) => this.note(line, level),
    });
    this.ledger = ledger;
    // A restarted replica runs honest, whatever it ran before: its history says so.
    if (ledger.own.at(-1)?.behaviour)
      this.switching = ledger
        .record(null, true)
        .then(() => this.shareBehaviourHistory())
        .catch((error: unknown) => this.note(`behaviour history not saved: ${(error as Error).message}`));
    this.shareBehaviourHistory();
  }

  /** Our signed behaviour history to every peer we know (members, observers, clients: anyone may show the tally). */
  private shareBehaviourHistory(): void {
    const signed = this.faults.isPaused ? null : this.ledger?.signedOwn();
    if (!signed) return;
    for (const peer of this.membership.knownPeers()) this.sendFrame(peer.peerId, { kind: 'behaviour-history', signed });
  }

  /** Our own client's request to our own replica, without the network (but not past a pause). */
  private toOwnReplica(request: Request): void {
    this.faults.deliverLocally(() => {
      if (!this.driver) return;
      this.telemetry?.clientRequest(this.peerId, request);
      this.witness?.request(request.client, request.timestamp);
      this.driver.input(this.peerId, request);
      this.driver.drain();
    });
  }

  /** A paused machine is frozen: its replica and client do not tick. */
  private tick(): void {
    if (this.faults.isPaused) return;
    this.driver?.tick();
    this.ownClient?.tick();
  }

  /** Nor does it announce itself, or forget peers it cannot hear while frozen. */
  private announce(): void {
    if (this.faults.isPaused) return;
    this.ownClient?.sendKeys();
    this.membership.announce();
  }

  /** Where the other members listen, saved when it changes: a restart then finds them without mDNS or --join. */
  private rememberMemberAddresses(): void {
    const addresses = this.membership.memberAddresses();
    const json = JSON.stringify(addresses);
    if (this.stopped || Object.keys(addresses).length === 0 || json === JSON.stringify(this.data.peerAddresses)) return;
    this.data.savePeerAddresses(addresses).catch((error: unknown) => {
      if (!this.stopped) this.note(`could not save where the members listen: ${(error as Error).message}`);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Frames in and out

  /** Hand a frame to the host as if the transport had delivered it from `from` (fuzz and hostile-peer tests). */
  injectFrame(from: string, bytes: Uint8Array): void {
    this.onFrame(from, bytes);
  }

  private onFrame(from: string, bytes: Uint8Array): void {
    if (!this.faults.receives(from)) return;
    this.membership.heard(from);
    const parsed = parseFrame(bytes);
    if (!parsed.ok) return this.note(`frame from ${short(from)} ignored: ${parsed.reason}`);
    const frame = parsed.frame;
    switch (frame.kind) {
      case 'hello':
        return this.membership.onHello(from, frame.json);
      case 'replica': {
        const replicaId = this.membership.replicaIdOf(from);
        if (replicaId < 0)
          return this.note(`${frame.message.type} from ${short(from)} ignored: not a member of the roster`);
        this.events.emitMessage('in', replicaId, frame.message);
        this.telemetry?.receive(replicaId, frame.trace, frame.message);
        this.witness?.message(replicaId, frame.message);
        if (frame.message.type === 'pre-prepare')
          for (const request of frame.message.requests) this.gate.wantKey(request.client);
        this.driver?.input(replicaId, frame.message);
        return this.driver?.drain();
      }
      case 'client-key':
        this.membership.rememberClient(from);
        return this.gate.setKey(from, frame.key);
      case 'client-request':
        this.gate.onRequest(from, frame.request);
        return this.driver?.drain();
      case 'client-requests':
        for (const request of frame.requests) this.gate.onRequest(from, request);
        return this.driver?.drain();
      case 'client-reply':
      case 'client-replies': {
        const replicaId = this.membership.replicaIdOf(from);
        if (replicaId < 0)
          return this.note(
            `${frame.kind === 'client-reply' ? 'reply' : 'replies'} from ${short(from)} ignored: not a member of the roster`,
          );
        for (const reply of frame.kind === 'client-reply' ? [frame.reply] : frame.replies)
          this.ownClient?.onReply(replicaId, reply);
        return;
      }
      case 'client-refused': {
        const replicaId = this.membership.replicaIdOf(from);
        if (replicaId < 0) return this.note(`refusal from ${short(from)} ignored: not a member of the roster`);
        this.note(`replica ${replicaId} refuses our requests: ${frame.reason}`);
        return this.ownClient?.refused(frame.reason, replicaId);
      }
      case 'behaviour-history': {
        // Before the roster is agreed nobody's history can be placed; the member sends it again.
        const why = this.ledger ? this.ledger.accept(from, frame.signed) : null;
        if (why !== null) this.note(`behaviour history from ${short(from)} ignored: ${why}`);
        return;
      }
    }
  }

  /**
   * A client whose key we lack (we restarted, or it could not reach us): a HELLO asks it for the key
   * (a client answers a member's HELLO with its CLIENT-KEY). It arrives if the client is connected to
   * us, or libp2p's peer store knows where it listens; otherwise the client's own redialling brings it.
   * The client id comes from a request not yet authenticated (a PRE-PREPARE's): only a well-formed peer
   * id is asked, and Membership bounds and forgets the peers it tracks.
   */
  private askForKey(peer: string): void {
    if (peer === this.peerId) return;
    try {
      peerIdFromString(peer);
    } catch {
      return;
    }
    this.note(`no MAC key of client ${short(peer)}: asking it for one`, 'debug');
    this.membership.rememberClient(peer);
    this.membership.sendHelloTo(peer);
  }

  private sendFrame(peer: string, frame: WireFrame): void {
    this.faults.send(peer, encodeFrame(frame));
  }

  private note(line: string, level: 'info' | 'debug' = 'info'): void {
    this.events.note(line, level);
  }

  // ---------------------------------------------------------------------------------------------
  // The LabApi

  async snapshot(): Promise<LabSnapshot> {
    // Still forming until the agreed roster is on disk and the replica (or the observer's client) runs.
    const roster = this.ownClient ? this.membership.adopted : null;
    const replica = this.driver?.replica ?? null;
    const snapshot = labSnapshot({
      peerId: this.peerId,
      cluster: this.options.cluster,
      size: this.options.size,
      listenAddresses: this.listenAddresses,
      roster,
      proposedRoster: this.membership.proposedRoster,
      clusterKey: this.clusterKey && { fingerprint: this.clusterKey.fingerprint, joinCode: this.clusterKey.joinCode },
      replicaId: roster ? this.replicaId : null,
      replica: this.driver?.replica ?? null,
      behaviour: this.driver?.behaviourId ?? null,
      faultySoFar: this.ledger?.tally() ?? null,
      revokedClients: this.app?.revokedClients() ?? null,
      peers: this.membership.knownPeers(),
      transport: this.transport.stats(),
      counters: this.activity.counters,
      faults: this.faults.current(),
      uptimeMs: this.events.elapsedMs(),
      now: performance.now(),
    });
    if (!replica || !this.witness) return snapshot;
    return {
      ...snapshot,
      peerNotes: this.witness.notes(replica.status === 'normal' ? replica.primary : null),
      selfNotes: this.witness.selfNotes(replica.view, this.driver?.behaviourId ?? null),
      viewHistory: [...this.activity.viewHistory],
    };
  }

  subscribe(listener: (event: LabEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  async submit(op: LabOp): Promise<SubmitOutcome> {
    if (!this.ownClient) throw new Error('the cluster has not formed yet: no roster');
    const invokedW = wallNow();
    const outcome = await this.ownClient.submit(op);
    this.recorder?.note({ client: { client: this.peerId, op, invokedW, completedW: wallNow(), outcome } });
    return outcome;
  }

  /** The records of this machine's replica sessions (`GET /api/records`, `pbft-lab record collect`). */
  get records(): RecordStore | null {
    return this.recorder;
  }

  async fault(command: FaultCommand): Promise<LabFaults> {
    const faults = this.faults.apply(command);
    this.recorder?.note({ fault: command });
    this.telemetry?.faults(
      faults.paused,
      faults.disconnectedFrom.map((peer) => {
        const id = this.membership.replicaIdOf(peer);
        return id >= 0 ? id : peer;
      }),
      faults.delayMs,
    );
    this.note(
      `fault: ${command.kind}${'peerId' in command ? ` ${short(command.peerId)}` : ''}${'ms' in command ? ` ${command.ms} ms` : ''}`,
    );
    return faults;
  }

  async room(query: RoomQuery = {}): Promise<RoomState> {
    if (!this.roomObserver) {
      this.roomObserver = new RoomObserver({
        node: this.node,
        cluster: this.options.cluster,
        note: (line) => this.note(line, 'debug'),
      });
      this.publisher.attach(this.roomObserver.localFeed(this.peerId));
    }
    for (const member of this.membership.adopted ?? [])
      if (member !== this.peerId) this.roomObserver.watch(member, this.membership.addressesOf(member));
    return this.roomObserver.room(query);
  }

  /**
   * Revocation is an ordered operation (FileStore's access rules): it holds at every replica from its
   * place in the order on, survives restarts and state transfer, and is in the checkpoint digest.
   */
  async revokeClient(clientId: string): Promise<void> {
    if (!this.ownClient) throw new Error('the cluster has not formed yet: no roster');
    await this.ownClient.revoke(clientId, REVOKE_TIMEOUT_MS);
    this.note(`revoked client ${short(peerOfClient(clientId))} (ordered; every replica refuses its requests)`);
  }

  async behaviours(): Promise<readonly BehaviourInfo[]> {
    return CATALOGUE;
  }

  /**
   * Each switch is checked against f (FaultBoundError unless `exceedF`), recorded in the behaviour
   * history on disk, then made, then shared: one at a time.
   */
  async setBehaviour(id: string | null, options: SetBehaviourOptions = {}): Promise<string | null> {
    const switched = this.switching.then(() => this.switchBehaviour(id, options));
    this.switching = switched.catch(() => {});
    return switched;
  }

  private async switchBehaviour(id: string | null, options: SetBehaviourOptions): Promise<string | null> {
    const { driver, ledger } = this;
    if (!driver || !ledger) throw new Error('this machine runs no replica (forming, or an observer)');
    if (id === driver.behaviourId) return id;
    if (id !== null) {
      createBehaviour(id); // throws UnknownBehaviourError for an id not in the catalogue
      if (!options.exceedF) ledger.checkBound();
    }
    await ledger.record(id);
    driver.setBehaviour(id);
    this.telemetry?.behaviour(id);
    this.shareBehaviourHistory();
    const info = CATALOGUE.find((b) => b.id === id);
    this.note(
      id === null
        ? `replica ${this.replicaId} is honest again`
        : `replica ${this.replicaId} is now BYZANTINE: ${info?.name ?? id}`,
    );
    return driver.behaviourId;
  }
}
