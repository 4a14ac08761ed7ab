/**
 * Who this machine knows and who is in the cluster: peers found by mDNS or `--join`, HELLOs in and
 * out, roster formation (core/net/roster.ts), where each peer listens, and forgetting peers outside
 * the roster that have gone quiet (a client that left, a machine of another cluster, a stranger).
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { dialableRemoteAddrs, peerIdOfMultiaddr } from '../net/addresses.ts';
import { describeDialError } from '../net/cluster-protector.ts';
import { parseHello, RosterFormation, type Hello } from '../net/roster.ts';
import type { ReplicaId } from '../pbft/messages.ts';
import type { FrameTransport } from '../net/frame-transport.ts';
import type { LabNode } from '../net/node.ts';
import type { IdentifyResult } from '@libp2p/interface';
import { short } from './host-events.ts';
import type { WireFrame } from './wire.ts';

/** A peer outside the roster silent this long is forgotten (its link is no longer redialled). */
export const PEER_IDLE_MS = 30_000;
/** Most peers (members, observers, clients, strangers) tracked at once. */
export const MAX_TRACKED_PEERS = 256;
/**
 * A client not heard from this long has left (a one-shot `pbft-lab client` exits at once): it is no
 * longer listed as a peer, though its state is kept until PEER_IDLE_MS. A client that stays (the
 * shell, a dashboard's) sends its keys every second.
 */
export const CLIENT_LISTED_MS = 5_000;
/** How long a `--join` address that could not be dialled waits before the next try. */
const JOIN_RETRY_MS = 2_000;

export interface MembershipOptions {
  readonly self: string;
  readonly cluster: string;
  readonly size: number;
  /** The roster from the data directory, if the cluster formed before. */
  readonly adopted: readonly string[] | null;
  /** Where the members last listened (the data directory's peers.json): a restart dials them there. */
  readonly memberAddresses?: Readonly<Record<string, readonly string[]>>;
  /** Keep loopback addresses of remote peers (one-machine demo, loopback tests). @default false */
  readonly allowLoopback?: boolean;
  /** @default PEER_IDLE_MS */
  readonly peerIdleMs?: number;
  /** Whether this machine runs with a cluster key (so a failed handshake likely means another key). @default true */
  readonly keyed?: boolean;
  /** Links to peers. */
  readonly transport: Pick<FrameTransport, 'addPeer' | 'removePeer'>;
  /**
   * Dials `--join` addresses that name no peer; its peer store knows where joined members listen, and
   * its identify events say where a member listens now.
   */
  readonly node: Pick<LabNode, 'dial' | 'peerStore'> &
    Partial<Pick<LabNode, 'addEventListener' | 'removeEventListener'>>;
  /** Where this machine listens (for the HELLOs that tell clients where the members are). */
  readonly listenAddresses: () => string[];
  readonly sendFrame: (peer: string, frame: WireFrame) => void;
  /** A line for the log; 'debug' ones (a client coming and going) stay off the terminal. */
  readonly note: (line: string, level?: 'info' | 'debug') => void;
  /** The roster was agreed (called once). */
  readonly onRosterAdopted: (roster: readonly string[]) => void;
  /** A peer was forgotten: drop what is kept for it. */
  readonly onForget: (peer: string) => void;
  /** Where a member listens changed (memberAddresses): e.g. to save it for the next start. */
  readonly onMemberAddresses?: () => void;
  /** @default performance.now */
  readonly now?: () => number;
}

/** A peer as the snapshot shows it. */
export interface KnownPeer {
  readonly peerId: string;
  readonly replicaId: ReplicaId | null;
  readonly addresses: readonly Multiaddr[];
  /** performance.now() when a frame from it last arrived, if one did. */
  readonly lastHeardAt: number | undefined;
}

export class Membership {
  private readonly options: MembershipOptions;
  private readonly now: () => number;
  private readonly roster: RosterFormation;
  /** Client peers (not cluster members) we keep a link to for replies. */
  private readonly clients = new Set<string>();
  private readonly lastHeard = new Map<string, number>();
  /** When a peer outside the roster last said something acceptable (a HELLO of our cluster, a client frame). */
  private readonly lastAccepted = new Map<string, number>();
  private readonly addresses = new Map<string, Multiaddr[]>();
  /** The candidate last logged, so each change of the proposed roster is logged once. */
  private notedCandidate = '';
  private stopped = false;
  /** identify told us where a peer listens now: a member's addresses are exactly those. */
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const peer = evt.detail.peerId.toString();
    if (!this.isMember(peer) || peer === this.options.self) return;
    const addrs = dialableRemoteAddrs(evt.detail.listenAddrs, this.options.allowLoopback ?? false);
    if (addrs.length > 0) {
      this.addresses.set(peer, addrs);
      this.options.onMemberAddresses?.();
    }
  };

  constructor(options: MembershipOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.roster = new RosterFormation({
      self: options.self,
      cluster: options.cluster,
      size: options.size,
      adopted: options.adopted,
    });
    options.node.addEventListener?.('peer:identify', this.onIdentify);
    for (const member of options.adopted ?? []) {
      if (member === options.self) continue;
      const addrs = parseAddrs(options.memberAddresses?.[member] ?? []);
      const dialable = dialableRemoteAddrs(addrs, options.allowLoopback ?? false);
      if (dialable.length > 0) this.addresses.set(member, dialable);
    }
  }

  /** Where each other member listens, as far as we know (for the data directory). */
  memberAddresses(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const member of this.roster.adopted ?? []) {
      const addrs = this.addresses.get(member);
      if (member !== this.options.self && addrs && addrs.length > 0)
        out[member] = addrs.map(String).sort().slice(0, 16);
    }
    return out;
  }

  /** The agreed roster (peer ids by replica id), or null while forming. */
  get adopted(): readonly string[] | null {
    return this.roster.adopted;
  }

  /** This machine's replica id, or null (forming, or an observer). */
  get replicaId(): ReplicaId | null {
    return this.roster.replicaId;
  }

  /**
   * What this machine would adopt now, while forming: the n smallest peer ids of the key holders it
   * has heard from (itself included), or null while it knows fewer. Shown before it is adopted.
   */
  get proposedRoster(): readonly string[] | null {
    return this.roster.adopted ? null : this.roster.candidate();
  }

  /** The replica id of `peer`, or -1 if it is not in the roster. */
  replicaIdOf(peer: string): number {
    return this.roster.adopted?.indexOf(peer) ?? -1;
  }

  isMember(peer: string): boolean {
    return this.roster.adopted?.includes(peer) ?? false;
  }

  /** A member, or a peer we keep state for (its frames may set state here, e.g. a client's MAC key). */
  isKnown(peer: string): boolean {
    return this.addresses.has(peer) || this.isMember(peer);
  }

  /** Where `peer` listens, as far as we know. */
  addressesOf(peer: string): readonly Multiaddr[] | undefined {
    return this.addresses.get(peer);
  }

  /** Members and every other peer we track, but not ourselves nor clients that have left. */
  knownPeers(): KnownPeer[] {
    const roster = this.roster.adopted ?? [];
    const now = this.now();
    const left = (peer: string): boolean =>
      this.clients.has(peer) && now - (this.lastHeard.get(peer) ?? this.lastAccepted.get(peer) ?? 0) > CLIENT_LISTED_MS;
    return [...new Set([...roster, ...this.addresses.keys()])]
      .filter((p) => p !== this.options.self && !left(p))
      .map((peerId) => ({
        peerId,
        replicaId: roster.includes(peerId) ? roster.indexOf(peerId) : null,
        addresses: this.addresses.get(peerId) ?? [],
        lastHeardAt: this.lastHeard.get(peerId),
      }));
  }

  stop(): void {
    this.stopped = true;
    this.options.node.removeEventListener?.('peer:identify', this.onIdentify);
  }

  /** A frame from `peer` arrived (and passed the faults). */
  heard(peer: string): void {
    this.lastHeard.set(peer, this.now());
  }

  /** A discovered peer, or one given by `--join`. */
  meet(peer: string, addrs: readonly Multiaddr[]): void {
    if (peer === this.options.self || !this.admits(peer)) return;
    // A discovered peer gets peerIdleMs to answer with a HELLO of our cluster before it is forgotten.
    if (!this.lastAccepted.has(peer)) this.lastAccepted.set(peer, this.now());
    // Once the roster is agreed, whoever else turns up is a client or a stranger: debug detail.
    if (!this.addresses.has(peer))
      this.options.note(`discovered ${short(peer)} at ${addrs.map(String).join(' ')}`, this.adopted ? 'debug' : 'info');
    this.addresses.set(peer, [...addrs]);
    if (this.isMember(peer)) this.options.onMemberAddresses?.();
    this.options.transport.addPeer(peer, addrs);
    this.sendHello(peer);
  }

  async joinAddress(address: string): Promise<void> {
    let ma: Multiaddr;
    try {
      ma = multiaddr(address);
    } catch (error) {
      this.options.note(`--join ${address}: not a multiaddr (${(error as Error).message})`);
      return;
    }
    const peer = peerIdOfMultiaddr(ma);
    if (peer) return this.meet(peer, [ma]);
    try {
      const connection = await this.options.node.dial(ma);
      this.meet(connection.remotePeer.toString(), [ma]);
    } catch (error) {
      this.options.note(`--join ${address}: ${describeDialError(error, this.options.keyed ?? true)}; retrying in 2 s`);
      if (!this.stopped) setTimeout(() => void this.joinAddress(address), JOIN_RETRY_MS).unref();
    }
  }

  /** Every second: HELLO to the peers we know, and forget those outside the roster that went quiet. */
  announce(): void {
    void this.refreshMemberAddresses();
    const now = this.now();
    const idleMs = this.options.peerIdleMs ?? PEER_IDLE_MS;
    for (const peer of this.addresses.keys()) {
      if (!this.isMember(peer) && now - (this.lastAccepted.get(peer) ?? 0) > idleMs) this.forgetPeer(peer);
      else if (!this.clients.has(peer)) this.sendHello(peer);
    }
  }

  onHello(from: string, json: string): void {
    const { cluster, size, note } = this.options;
    const hello = parseHello(json);
    if (!hello) return note(`HELLO from ${short(from)} ignored: malformed`);
    if (hello.cluster !== cluster || hello.size !== size) {
      return note(
        `HELLO from ${short(from)} ignored: cluster "${hello.cluster}" of ${hello.size}, not "${cluster}" of ${size}`,
      );
    }
    if (hello.role === 'client') {
      this.rememberClient(from);
      return this.sendHello(from);
    }
    if (!this.admits(from)) return;
    const verdict = this.roster.onHello(from, hello);
    if (!verdict.ok) return note(`HELLO from ${short(from)} ignored: ${verdict.reason}`);
    this.lastAccepted.set(from, this.now());
    if (!this.addresses.has(from)) {
      this.addresses.set(from, []);
      this.options.transport.addPeer(from);
      this.sendHello(from);
    }
    this.noteProposedRoster();
    const adopted = this.roster.tryAdopt();
    if (adopted) {
      note(
        `roster agreed: ${adopted.map((p, i) => `${i}=${short(p)}`).join(' ')}${this.roster.replicaId === null ? ' (this machine observes)' : ''}`,
      );
      this.options.onRosterAdopted(adopted);
      void this.refreshMemberAddresses();
    }
  }

  /** Each new proposal is logged before it can be adopted: who would be replica 0, 1, … */
  private noteProposedRoster(): void {
    const candidate = this.proposedRoster;
    const key = candidate?.join(',') ?? '';
    if (!candidate || key === this.notedCandidate) return;
    this.notedCandidate = key;
    this.options.note(
      `proposed roster: ${candidate.map((p, i) => `${i}=${short(p)}${p === this.options.self ? ' (this machine)' : ''}`).join(' ')}; adopted once each of them announces it`,
    );
  }

  /** A client frame from `peer`: keep a link to it for replies (if there is room). */
  rememberClient(peer: string): void {
    this.lastAccepted.set(peer, this.now());
    if (this.isMember(peer) || this.clients.has(peer) || !this.admits(peer)) return;
    this.clients.add(peer);
    if (!this.addresses.has(peer)) this.addresses.set(peer, []);
    this.options.transport.addPeer(peer);
  }

  /** A known client said something acceptable: it is not idle. */
  touchClient(peer: string): void {
    if (this.clients.has(peer)) this.lastAccepted.set(peer, this.now());
  }

  /**
   * Members that joined us (rather than being discovered) are known by peer id only until identify
   * reports where they listen (onIdentify, which also follows a member that restarted on another
   * port); the peer store fills the gap meanwhile. These addresses go into our HELLOs, so a client
   * that joined one replica can reach them all, and finds a restarted one again.
   */
  private async refreshMemberAddresses(): Promise<void> {
    for (const member of this.roster.adopted ?? []) {
      // Known: from identify (exactly where it listens now), discovery, --join or the data directory.
      if (member === this.options.self || (this.addresses.get(member)?.length ?? 0) > 0) continue;
      try {
        const peer = await this.options.node.peerStore.get(peerIdFromString(member));
        const addrs = dialableRemoteAddrs(
          peer.addresses.map((a) => a.multiaddr),
          this.options.allowLoopback ?? false,
        );
        if (addrs.length > 0) {
          this.addresses.set(member, addrs);
          this.options.onMemberAddresses?.();
        }
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
    this.roster.forget(peer);
    this.options.transport.removePeer(peer);
    this.options.onForget(peer);
  }

  /** Room for one more peer outside the roster? (Bounded: strangers cannot make us keep state without end.) */
  private admits(peer: string): boolean {
    if (this.isKnown(peer)) return true;
    if (this.addresses.size < MAX_TRACKED_PEERS) return true;
    this.options.note(`peer ${short(peer)} ignored: already tracking ${MAX_TRACKED_PEERS} peers`);
    return false;
  }

  /** A HELLO to `peer` now (a client answers it with its key). */
  sendHelloTo(peer: string): void {
    this.sendHello(peer);
  }

  private sendHello(peer: string): void {
    const hello: Hello & { addrs?: Record<string, string[]> } = { ...this.roster.hello() };
    // Tell clients where the members are, so `pbft-lab client --join ONE` reaches them all.
    if (this.roster.adopted) {
      hello.addrs = {};
      for (const member of this.roster.adopted) {
        hello.addrs[member] =
          member === this.options.self
            ? this.options.listenAddresses()
            : (this.addresses.get(member) ?? []).map(String);
      }
    }
    this.options.sendFrame(peer, { kind: 'hello', json: JSON.stringify(hello) });
  }
}

function parseAddrs(list: readonly string[]): Multiaddr[] {
  const out: Multiaddr[] = [];
  for (const a of list) {
    try {
      out.push(multiaddr(a));
    } catch {
      // an address that does not parse is not dialled
    }
  }
  return out;
}
