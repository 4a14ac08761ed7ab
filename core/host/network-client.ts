/**
 * A PBFT client on the LAN (used by `pbft-lab client` and the tests): its own libp2p node and
 * identity; it finds the cluster by mDNS or `--join`, learns the roster from f+1 members that vouch
 * for the same one, hands each replica a MAC key, and runs a ClientSession.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { FileOp } from '../app/file-ops.ts';
import { peerIdOfMultiaddr } from '../net/addresses.ts';
import { watchPeerDiscovery, type LabDiscovery } from '../net/discovery.ts';
import { createFrameTransport, type FrameTransport } from '../net/frame-transport.ts';
import { createLabNode, type LabNode } from '../net/node.ts';
import { parseHello } from '../net/roster.ts';
import { ClientSession, type SessionResult } from './client-session.ts';
import { encodeFrame, parseFrame, type WireFrame } from './wire.ts';

export interface NetworkClientOptions {
  readonly cluster: string;
  readonly size: number;
  readonly join?: readonly Multiaddr[];
  /** @default true */
  readonly mdns?: boolean;
  /** Replicas of the one-machine demo listen on loopback. @default true */
  readonly allowLoopback?: boolean;
  readonly log?: (line: string) => void;
}

export class NetworkClientError extends Error {
  override readonly name = 'NetworkClientError';
}

export class NetworkClient {
  private readonly options: NetworkClientOptions;
  private node!: LabNode;
  private transport!: FrameTransport;
  private discovery: LabDiscovery | null = null;
  private readonly peers = new Set<string>();
  /** Adopted rosters announced by members, by roster → the members vouching for it. */
  private readonly vouches = new Map<string, Set<string>>();
  private readonly memberAddrs = new Map<string, string[]>();
  private roster: readonly string[] | null = null;
  private session: ClientSession | null = null;
  private rosterWaiters: (() => void)[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: NetworkClientOptions) {
    this.options = options;
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  async start(): Promise<void> {
    const allowLoopback = this.options.allowLoopback ?? true;
    this.node = await createLabNode({
      listen: ['/ip4/0.0.0.0/tcp/0'],
      mdns: this.options.mdns === false ? false : { intervalMs: 1_000 },
      allowLoopback,
    });
    this.transport = createFrameTransport(this.node, { allowLoopback });
    this.transport.onFrame((from, frame) => this.onFrame(from, frame));
    await this.transport.start();
    if (this.options.mdns !== false) {
      this.discovery = watchPeerDiscovery(this.node, { allowLoopback });
      this.discovery.onPeerDiscovered((peer, addrs) => this.meet(peer, addrs));
    }
    for (const address of this.options.join ?? []) void this.join(address);
    let ticks = 0;
    this.timer = setInterval(() => {
      this.session?.tick();
      // Ask for the roster again every half second until f+1 members have vouched for one.
      if (!this.roster && ++ticks % 50 === 0) for (const peer of this.peers) this.hello(peer);
      // Keys again every second: a replica that restarted has forgotten them.
      if (this.roster && ++ticks % 100 === 0) this.sendKeys();
    }, 10);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.session?.close('client stopped');
    this.discovery?.stop();
    await this.transport?.stop();
    await this.node?.stop();
  }

  /** Submit one operation; rejects after `timeoutMs` without f+1 matching replies. */
  async submit(op: FileOp, timeoutMs: number): Promise<SessionResult> {
    const deadline = Date.now() + timeoutMs;
    const remaining = (): number => Math.max(0, deadline - Date.now());
    await withTimeout(this.rosterKnown(), remaining(), () =>
      this.peers.size === 0
        ? `no replica of cluster "${this.options.cluster}" found (mDNS blocked? try --join MULTIADDR)`
        : `no roster from f+1 replicas of cluster "${this.options.cluster}" (is the cluster formed?)`,
    );
    return withTimeout(this.session!.submit(op), remaining(), () => `no f+1 matching replies within ${timeoutMs} ms`);
  }

  private rosterKnown(): Promise<void> {
    return this.roster ? Promise.resolve() : new Promise((resolve) => this.rosterWaiters.push(resolve));
  }

  private async join(address: Multiaddr): Promise<void> {
    const peer = peerIdOfMultiaddr(address);
    if (peer) return this.meet(peer, [address]);
    try {
      const connection = await this.node.dial(address);
      this.meet(connection.remotePeer.toString(), [address]);
    } catch (error) {
      this.options.log?.(`--join ${address.toString()}: ${(error as Error).message}`);
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

  private onFrame(from: string, bytes: Uint8Array): void {
    const parsed = parseFrame(bytes);
    if (!parsed.ok) return;
    const frame = parsed.frame;
    if (frame.kind === 'hello') return this.onHello(from, frame.json);
    const replica = this.roster?.indexOf(from) ?? -1;
    if (replica < 0) return;
    if (frame.kind === 'client-reply') this.session?.onReply(replica, frame.reply);
    else if (frame.kind === 'client-refused') this.session?.refused(frame.reason);
  }

  private onHello(from: string, json: string): void {
    const hello = parseHello(json);
    if (
      !hello ||
      hello.cluster !== this.options.cluster ||
      hello.size !== this.options.size ||
      !hello.adopted ||
      this.roster
    )
      return;
    if (!hello.adopted.includes(from)) return;
    const addrs = (JSON.parse(json) as { addrs?: Record<string, unknown> }).addrs ?? {};
    for (const [member, list] of Object.entries(addrs)) {
      if (Array.isArray(list))
        this.memberAddrs.set(
          member,
          list.filter((a): a is string => typeof a === 'string'),
        );
    }
    // Ask the other members too (we may know only the one we joined): f+1 of them must vouch.
    for (const member of hello.adopted) {
      if (this.peers.has(member)) continue;
      const addrs: Multiaddr[] = [];
      for (const a of this.memberAddrs.get(member) ?? []) {
        try {
          addrs.push(multiaddr(a));
        } catch {
          // an address we cannot parse is simply not used
        }
      }
      if (addrs.length > 0) this.meet(member, addrs);
    }
    const key = hello.adopted.join(',');
    const vouching = this.vouches.get(key) ?? new Set<string>();
    vouching.add(from);
    this.vouches.set(key, vouching);
    const f = (this.options.size - 1) / 3;
    if (vouching.size >= f + 1) this.useRoster(hello.adopted);
  }

  private sendKeys(): void {
    this.roster?.forEach((member, i) => this.send(member, { kind: 'client-key', key: this.session!.keys[i]! }));
  }

  private useRoster(roster: readonly string[]): void {
    this.roster = roster;
    this.session = new ClientSession({
      id: this.peerId,
      n: roster.length,
      send: (to, request) => this.send(roster[to]!, { kind: 'client-request', request }),
    });
    roster.forEach((member) => {
      const addrs: Multiaddr[] = [];
      for (const a of this.memberAddrs.get(member) ?? []) {
        try {
          addrs.push(multiaddr(a));
        } catch {
          // an address we cannot parse is simply not used
        }
      }
      this.peers.add(member);
      this.transport.addPeer(member, addrs);
    });
    this.sendKeys();
    for (const resolve of this.rosterWaiters.splice(0)) resolve();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new NetworkClientError(message())), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
