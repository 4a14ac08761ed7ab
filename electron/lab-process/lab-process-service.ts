/**
 * What the lab process does with main's messages (protocol.ts): start and stop this machine's
 * ReplicaHost (wrapped, unchanged), answer the LabApi calls main forwards, send the host's events
 * in batches, announce the cluster on the LAN (cluster beacon) and scan the LAN for the start
 * screen. Plain code with its I/O injected, tested under Node (lab-process-service.test.ts);
 * index.ts wires it to `process.parentPort`, ReplicaHost and multicast-dns.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorInfo } from '../../core/host/api-server-ws.ts';
import type { ClusterKeyChoice } from '../../core/host/cluster-secret.ts';
import type { LabApi, LabSnapshot } from '../../core/host/lab-api.ts';
import type { ReplicaHostOptions } from '../../core/host/replica-host.ts';
import { DATA_DIR_FILES } from '../../core/host/storage.ts';
import { isLoopbackMultiaddr } from '../../core/net/addresses.ts';
import { ClusterBeacon, type ClusterAnnouncement, type Mdns } from '../../core/net/cluster-beacon.ts';
import { ClusterKey, ClusterKeyError } from '../../core/net/cluster-key.ts';
import { LanScanner } from '../../core/net/lan-clusters.ts';
import { multiaddr } from '@multiformats/multiaddr';
import { LabEventForwarder } from '../main/lab-events.ts';
import { isLoopbackPortFree, localJoinAddresses, localPorts } from './local-ports.ts';
import {
  LAB_PROCESS_METHODS,
  type FromLabProcess,
  type LabProcessMethod,
  type LabStartRequest,
  type LabStarted,
  type ToLabProcess,
} from './protocol.ts';

/** How often the beacon's announcement is refreshed from the host's snapshot. */
const ANNOUNCEMENT_REFRESH_MS = 1_000;

/** What the lab process needs of a ReplicaHost. */
export interface LabProcessHost extends LabApi {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly peerId: string;
  readonly joinCode: string | null;
  readonly listenAddresses: string[];
}

export interface LabProcessDeps {
  /** `process.parentPort.postMessage`. */
  readonly post: (message: FromLabProcess) => void;
  /** `new ReplicaHost(options)`. */
  readonly createHost: (options: ReplicaHostOptions) => LabProcessHost;
  /** A multicast-dns socket for the LAN scan and the beacon. */
  readonly createMdns: () => Mdns;
  /** @default isLoopbackPortFree */
  readonly isPortFree?: (port: number) => Promise<boolean>;
  /** The host's lines and the lab process's own (stdout: the app's log). */
  readonly log: (line: string) => void;
  /** Event batches: @default LabEventForwarder's 50 ms. */
  readonly flushIntervalMs?: number;
}

/** A call main made that this process cannot serve (no replica yet, one running already, …). */
export class LabProcessError extends Error {
  override name = 'LabProcessError';
}

export class LabProcessService {
  private readonly deps: LabProcessDeps;
  private host: LabProcessHost | null = null;
  private starting = false;
  private forwarder: LabEventForwarder | null = null;
  private listenWanted = false;
  private mdns: Mdns | null = null;
  private scanner: LanScanner | null = null;
  private beacon: ClusterBeacon | null = null;
  private announcement: ClusterAnnouncement | null = null;
  private announcementTimer: ReturnType<typeof setInterval> | null = null;

  constructor(deps: LabProcessDeps) {
    this.deps = deps;
  }

  /** Tells main the port is open. */
  ready(): void {
    this.deps.post({ type: 'ready' });
  }

  /** One message from main. Never throws: a bad call is answered with an error. */
  handle(message: unknown): void {
    const m = message as ToLabProcess;
    if (typeof m !== 'object' || m === null) return;
    if (m.type === 'listen') {
      this.listenWanted = true;
      this.forwarder?.listen();
      return;
    }
    if (m.type === 'unlisten') {
      this.listenWanted = false;
      this.forwarder?.unlisten();
      return;
    }
    if (m.type !== 'call' || typeof m.id !== 'number' || !Array.isArray(m.args)) return;
    const { id } = m;
    this.call(m.method, m.args).then(
      (value) => this.deps.post({ type: 'reply', id, ok: true, value }),
      (error: unknown) => this.deps.post({ type: 'reply', id, ok: false, error: errorInfo(error) }),
    );
  }

  /** Stops everything (main is going away, or asked). */
  async stop(): Promise<void> {
    this.stopScan();
    this.stopBeacon();
    this.forwarder?.unlisten();
    this.forwarder = null;
    const host = this.host;
    this.host = null;
    await host?.stop();
    this.closeMdnsIfIdle();
  }

  private async call(method: LabProcessMethod, args: readonly unknown[]): Promise<unknown> {
    if (!LAB_PROCESS_METHODS.includes(method)) throw new LabProcessError(`no such call: ${String(method)}`);
    switch (method) {
      case 'start':
        return this.start(args[0] as LabStartRequest);
      case 'stop':
        return this.stop();
      case 'scan':
        return this.startScan();
      case 'unscan':
        return this.stopScan();
      default: {
        // The LabApi: main has validated the arguments (electron/main/ipc.ts).
        const host = this.requireHost();
        const fn = host[method] as (...a: unknown[]) => Promise<unknown>;
        return fn.apply(host, [...args]);
      }
    }
  }

  private requireHost(): LabProcessHost {
    if (this.host === null) throw new LabProcessError('no replica is running: choose or create a cluster first');
    return this.host;
  }

  // -----------------------------------------------------------------------------------------------
  // The replica

  private async start(request: LabStartRequest): Promise<LabStarted> {
    if (this.host !== null || this.starting) throw new LabProcessError('a replica is already running here');
    this.starting = true;
    try {
      const host = request.settings.local ? await this.startLocal(request) : await this.startOnLan(request);
      this.host = host;
      const snapshot = await host.snapshot();
      this.forwarder = new LabEventForwarder({
        subscribe: (listener) => host.subscribe(listener),
        send: (events) => this.deps.post({ type: 'events', events: [...events] }),
        log: this.deps.log,
        flushIntervalMs: this.deps.flushIntervalMs,
      });
      if (this.listenWanted) this.forwarder.listen();
      // The start screen's scan has done its job; the beacon takes over (LAN clusters only).
      this.stopScan();
      if (!request.settings.local && request.settings.mdns) this.startBeacon(host, snapshot);
      return {
        peerId: host.peerId,
        joinCode: host.joinCode,
        fingerprint: snapshot.self.clusterKey?.fingerprint ?? null,
        listenAddresses: host.listenAddresses,
      };
    } finally {
      this.starting = false;
    }
  }

  private baseOptions(request: LabStartRequest): Omit<ReplicaHostOptions, 'clusterKey'> {
    const { settings } = request;
    return {
      dataDir: settings.dataDir,
      cluster: settings.cluster,
      size: settings.size,
      join: [...settings.join],
      mdns: settings.mdns,
      log: this.deps.log,
    };
  }

  private async startOnLan(request: LabStartRequest): Promise<LabProcessHost> {
    const { key } = request;
    const clusterKey: ClusterKeyChoice =
      key.kind === 'created' || key.kind === 'join' ? ClusterKey.fromJoinCode(key.joinCode) : key.kind;
    const host = this.deps.createHost({ ...this.baseOptions(request), clusterKey });
    await host.start();
    return host;
  }

  /**
   * Loopback only: the first free port of the cluster's range (local-ports.ts), dialling the first n.
   * Another instance may take a port between the check and the bind: then the next one.
   */
  private async startLocal(request: LabStartRequest): Promise<LabProcessHost> {
    const { settings } = request;
    const key = await this.localClusterKey(request);
    const isPortFree = this.deps.isPortFree ?? isLoopbackPortFree;
    const ports = localPorts(key.fingerprint, settings.size);
    for (const port of ports) {
      if (!(await isPortFree(port))) continue;
      const host = this.deps.createHost({
        ...this.baseOptions(request),
        clusterKey: key,
        listen: [`/ip4/127.0.0.1/tcp/${port}`],
        join: [...localJoinAddresses(key.fingerprint, settings.size, port), ...settings.join],
        mdns: false,
        allowLoopback: true,
      });
      try {
        await host.start();
        return host;
      } catch (error) {
        if (!/EADDRINUSE/.test(String((error as Error).message))) throw error;
        this.deps.log(`port ${port} was taken as this replica started; trying the next one`);
      }
    }
    throw new LabProcessError(
      `no free port on 127.0.0.1 for cluster "${settings.cluster}": ${ports[0]}–${ports.at(-1)} are all in use`,
    );
  }

  /**
   * A local cluster's ports come from its key's fingerprint, so the key is settled first: the code
   * given, or the data directory's (read, not opened: the host opens and locks it), or a new one.
   */
  private async localClusterKey(request: LabStartRequest): Promise<ClusterKey> {
    const { key, settings } = request;
    if (key.kind === 'created' || key.kind === 'join') return ClusterKey.fromJoinCode(key.joinCode);
    let stored: Uint8Array | null = null;
    try {
      stored = await readFile(join(settings.dataDir, DATA_DIR_FILES.clusterKey));
    } catch {
      // none yet
    }
    if (stored !== null) {
      const storedKey = ClusterKey.fromPskFile(stored);
      if (key.kind !== 'new') return storedKey;
      throw new ClusterKeyError(
        `${settings.dataDir} already belongs to a cluster (key ${storedKey.fingerprint}): start without --new-cluster to rejoin it, or give a new cluster a data directory of its own`,
      );
    }
    if (key.kind === 'stored')
      throw new ClusterKeyError(
        `${settings.dataDir} holds no cluster key: create the cluster, or join it with its code`,
      );
    return ClusterKey.generate();
  }

  // -----------------------------------------------------------------------------------------------
  // The LAN: scan (start screen) and beacon (a running LAN replica)

  private openMdns(): Mdns {
    this.mdns ??= this.deps.createMdns();
    return this.mdns;
  }

  private closeMdnsIfIdle(): void {
    if (this.scanner || this.beacon || !this.mdns) return;
    this.mdns.destroy();
    this.mdns = null;
  }

  private startScan(): void {
    if (this.scanner) return void this.postLan(null);
    let mdns: Mdns;
    try {
      mdns = this.openMdns();
    } catch (error) {
      return this.postLan(`cannot listen for clusters on the LAN: ${(error as Error).message}`);
    }
    const scanner = new LanScanner({
      mdns,
      onChange: () => this.postLan(null),
      log: (line) => {
        this.deps.log(line);
        this.postLan(line);
      },
    });
    this.scanner = scanner;
    scanner.start();
    this.postLan(null);
  }

  private stopScan(): void {
    this.scanner?.stop();
    this.scanner = null;
    this.closeMdnsIfIdle();
  }

  private postLan(error: string | null): void {
    this.deps.post({ type: 'lan', clusters: this.scanner?.clusters() ?? [], error });
  }

  private startBeacon(host: LabProcessHost, first: LabSnapshot): void {
    let mdns: Mdns;
    try {
      mdns = this.openMdns();
    } catch (error) {
      this.deps.log(`cluster beacon: not announced on the LAN (${(error as Error).message})`);
      return;
    }
    this.announcement = toAnnouncement(first);
    this.announcementTimer = setInterval(() => {
      host.snapshot().then(
        (snapshot) => (this.announcement = toAnnouncement(snapshot)),
        () => {},
      );
    }, ANNOUNCEMENT_REFRESH_MS);
    this.announcementTimer.unref?.();
    this.beacon = new ClusterBeacon({ mdns, announcement: () => this.announcement, log: this.deps.log });
    this.beacon.start();
  }

  private stopBeacon(): void {
    if (this.announcementTimer !== null) clearInterval(this.announcementTimer);
    this.announcementTimer = null;
    this.beacon?.stop();
    this.beacon = null;
    this.announcement = null;
  }
}

/** What the beacon says for a host, from its snapshot; null without a cluster key (nothing to join). */
export function toAnnouncement(snapshot: LabSnapshot): ClusterAnnouncement | null {
  const { self } = snapshot;
  if (!self.clusterKey) return null;
  const formed = snapshot.roster.length > 0;
  const addresses = self.addresses
    .filter((address) => {
      try {
        return !isLoopbackMultiaddr(multiaddr(address));
      } catch {
        return false;
      }
    })
    .map((address) => (address.includes('/p2p/') ? address : `${address}/p2p/${self.peerId}`));
  return {
    cluster: self.cluster,
    size: self.size,
    fingerprint: self.clusterKey.fingerprint,
    peerId: self.peerId,
    role: self.role,
    members: formed ? snapshot.roster.length : 1 + snapshot.peers.length,
    addresses,
  };
}
