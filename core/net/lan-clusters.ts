/**
 * The clusters a machine with no cluster yet can see on its LAN: it listens for cluster beacons
 * (cluster-beacon.ts), asks for them when it starts and every few seconds after, and groups the
 * machines it hears by cluster. The desktop app's start screen lists them: name, size, how many
 * members so far, whether the roster is agreed.
 */
import {
  BEACON_INTERVAL_MS,
  BEACON_SERVICE,
  announcementsIn,
  type ClusterAnnouncement,
  type Mdns,
} from './cluster-beacon.ts';
import type { ResponsePacket } from 'multicast-dns';
import type { LanCluster, LanMachine } from './lan-cluster-info.ts';

export type { LanCluster, LanMachine } from './lan-cluster-info.ts';

/** A machine not heard for this long leaves the list (several missed announcements). */
export const LAN_MACHINE_EXPIRY_MS = 3.5 * BEACON_INTERVAL_MS;
/** The list holds at most this many machines: the LAN is not trusted to stay small. */
const MACHINES_MAX = 256;

export interface LanScannerOptions {
  readonly mdns: Mdns;
  /** Ask for beacons this often (they also announce on their own). @default BEACON_INTERVAL_MS */
  readonly queryIntervalMs?: number;
  /** @default LAN_MACHINE_EXPIRY_MS */
  readonly expiryMs?: number;
  /** Called when the list changes (a cluster or machine appears, changes or leaves). */
  readonly onChange?: (clusters: readonly LanCluster[]) => void;
  /** A failed query (no network), once per message. @default ignore */
  readonly log?: (line: string) => void;
  /** @default performance.now */
  readonly now?: () => number;
}

export class LanScanner {
  private readonly options: LanScannerOptions;
  private readonly now: () => number;
  private readonly heard = new Map<string, { announcement: ClusterAnnouncement; atMs: number }>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastShape = '';
  private readonly logged = new Set<string>();
  private readonly onResponse = (packet: ResponsePacket): void => {
    let changed = false;
    for (const announcement of announcementsIn(packet)) {
      if (!this.heard.has(announcement.peerId) && this.heard.size >= MACHINES_MAX) continue;
      this.heard.set(announcement.peerId, { announcement, atMs: this.now() });
      changed = true;
    }
    if (changed) this.notifyIfChanged();
  };
  private readonly onError = (error: Error): void => this.logOnce(`LAN scan: ${error.message}`);

  constructor(options: LanScannerOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    if (this.timer !== null) return;
    this.options.mdns.on('response', this.onResponse);
    this.options.mdns.on('error', this.onError);
    this.options.mdns.on('warning', this.onError);
    this.timer = setInterval(() => {
      this.expire();
      this.query();
    }, this.options.queryIntervalMs ?? BEACON_INTERVAL_MS);
    this.timer.unref?.();
    this.query();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.options.mdns.removeListener('response', this.onResponse);
    this.options.mdns.removeListener('error', this.onError);
    this.options.mdns.removeListener('warning', this.onError);
  }

  /** The clusters heard from recently, by name. */
  clusters(): LanCluster[] {
    this.expire();
    return this.grouped();
  }

  private grouped(): LanCluster[] {
    const now = this.now();
    const groups = new Map<string, { first: ClusterAnnouncement; machines: LanMachine[]; members: number }>();
    for (const { announcement: a, atMs } of this.heard.values()) {
      const key = `${a.fingerprint}/${a.cluster}/${a.size}`;
      const group = groups.get(key) ?? { first: a, machines: [], members: 0 };
      group.machines.push({
        peerId: a.peerId,
        role: a.role,
        addresses: a.addresses,
        lastHeardMsAgo: Math.round(now - atMs),
      });
      group.members = Math.max(group.members, a.members);
      groups.set(key, group);
    }
    return [...groups.values()]
      .map(({ first, machines, members }) => ({
        cluster: first.cluster,
        size: first.size,
        fingerprint: first.fingerprint,
        members: Math.max(members, machines.length),
        formed: machines.some((m) => m.role === 'replica'),
        machines: machines.sort((a, b) => a.peerId.localeCompare(b.peerId)),
      }))
      .sort((a, b) => a.cluster.localeCompare(b.cluster) || a.fingerprint.localeCompare(b.fingerprint));
  }

  private query(): void {
    this.options.mdns.query({ questions: [{ name: BEACON_SERVICE, type: 'PTR' }] }, (error: Error | null) => {
      if (error) this.logOnce(`LAN scan: cannot ask the LAN (${error.message})`);
    });
  }

  private expire(): void {
    const expiryMs = this.options.expiryMs ?? LAN_MACHINE_EXPIRY_MS;
    const now = this.now();
    let expired = false;
    for (const [peer, { atMs }] of this.heard) {
      if (now - atMs > expiryMs) {
        this.heard.delete(peer);
        expired = true;
      }
    }
    if (expired) this.notifyIfChanged();
  }

  /** onChange when the list's shape changes, not on every repeated announcement. */
  private notifyIfChanged(): void {
    if (!this.options.onChange) return;
    const clusters = this.grouped();
    const shape = JSON.stringify(
      clusters.map((c) => ({ ...c, machines: c.machines.map(({ lastHeardMsAgo: _, ...m }) => m) })),
    );
    if (shape === this.lastShape) return;
    this.lastShape = shape;
    this.options.onChange(clusters);
  }

  private logOnce(line: string): void {
    if (this.logged.has(line)) return;
    this.logged.add(line);
    this.options.log?.(line);
  }
}
