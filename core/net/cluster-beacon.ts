/**
 * The cluster beacon: a machine that runs a replica says on the LAN, over mDNS (RFC 6762/6763 DNS-SD),
 * which cluster it belongs to, so a machine with no cluster yet can list the clusters it could join
 * (lan-clusters.ts). libp2p's own mDNS (service `_pbft-lab._udp`, core/net/node.ts) says only who
 * is there; the cluster's name and size travel in HELLOs, inside connections that the cluster key
 * keeps closed to a newcomer. So this is a service of its own, `_pbft-cluster._udp.local` (apart
 * from libp2p's, whose answers carry its addresses only), one instance per machine (its peer id),
 * whose TXT record carries:
 *
 *   v=1 cluster=NAME size=N fp=FINGERPRINT role=forming|replica|observer members=K addr=MULTIADDR…
 *
 * Nothing secret: the fingerprint names the cluster key without revealing it (cluster-key.ts), and the
 * addresses are those libp2p's mDNS announces anyway. Joining still takes the join code; the
 * fingerprint lets the app check a typed code against the cluster picked from the list.
 */
import { multiaddr } from '@multiformats/multiaddr';
import type { MulticastDNS, ResponsePacket, QueryPacket } from 'multicast-dns';

/** A DNS resource record as multicast-dns sends it. */
type Answer = Extract<Parameters<MulticastDNS['respond']>[0], unknown[]>[number];

/** The DNS-SD service type (RFC 6763 §7); macOS lists it in NSBonjourServices (electron-builder.yml). */
export const BEACON_SERVICE = '_pbft-cluster._udp.local';
export const BEACON_VERSION = '1';
/** @default for BeaconOptions.intervalMs: unsolicited announcements this often. */
export const BEACON_INTERVAL_MS = 2_000;
/** How long a listener may keep an announcement (the records' TTL). */
export const BEACON_TTL_S = 10;
/** Addresses per announcement: a TXT record stays well inside one 1,500-byte packet. */
const ADDRESSES_MAX = 6;
const CLUSTER_NAME = /^[\w.][\w.-]{0,63}$/;
/** A libp2p peer id as text: base58btc (12D3KooW…, Qm…) or a CID (bafz…). */
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{32,100}$|^b[a-z2-7]{32,100}$/;

export type BeaconRole = 'forming' | 'replica' | 'observer';

/** What one machine says about itself and its cluster. */
export interface ClusterAnnouncement {
  readonly cluster: string;
  readonly size: number;
  /** The cluster key's fingerprint (8 hex digits). */
  readonly fingerprint: string;
  readonly peerId: string;
  readonly role: BeaconRole;
  /** Members of the cluster this machine knows of, itself included (n once the roster is agreed). */
  readonly members: number;
  /** Where it listens (full multiaddrs ending in /p2p/PEER), LAN addresses only. */
  readonly addresses: readonly string[];
}

/** The subset of a multicast-dns instance the beacon and the scanner use (a fake in tests). */
export type Mdns = Pick<MulticastDNS, 'query' | 'respond' | 'destroy'> & {
  on(event: 'query', listener: (packet: QueryPacket) => void): unknown;
  on(event: 'response', listener: (packet: ResponsePacket) => void): unknown;
  on(event: 'error' | 'warning', listener: (error: Error) => void): unknown;
  removeListener(event: 'query' | 'response' | 'error' | 'warning', listener: (...args: never[]) => void): unknown;
};

export function instanceName(peerId: string): string {
  return `${peerId}.${BEACON_SERVICE}`;
}

/** The TXT strings of an announcement. */
export function encodeAnnouncement(a: ClusterAnnouncement): string[] {
  return [
    `v=${BEACON_VERSION}`,
    `cluster=${a.cluster}`,
    `size=${a.size}`,
    `fp=${a.fingerprint}`,
    `peer=${a.peerId}`,
    `role=${a.role}`,
    `members=${a.members}`,
    ...a.addresses.slice(0, ADDRESSES_MAX).map((address) => `addr=${address}`),
  ];
}

/**
 * An announcement read back from TXT strings, or null when anything in it is malformed: these come
 * from anyone on the LAN, and end up in the start screen's list.
 */
export function decodeAnnouncement(txt: readonly (string | Uint8Array)[]): ClusterAnnouncement | null {
  const fields = new Map<string, string>();
  const addresses: string[] = [];
  for (const entry of txt) {
    const text = typeof entry === 'string' ? entry : new TextDecoder().decode(entry);
    const eq = text.indexOf('=');
    if (eq <= 0) continue;
    const key = text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (key === 'addr') addresses.push(value);
    else if (!fields.has(key)) fields.set(key, value);
  }
  if (fields.get('v') !== BEACON_VERSION) return null;
  const cluster = fields.get('cluster') ?? '';
  const size = Number(fields.get('size'));
  const fingerprint = fields.get('fp') ?? '';
  const peerId = fields.get('peer') ?? '';
  const role = fields.get('role');
  const members = Number(fields.get('members'));
  if (!CLUSTER_NAME.test(cluster)) return null;
  if (!Number.isInteger(size) || size < 4 || size > 100 || (size - 1) % 3 !== 0) return null;
  if (!/^[0-9a-f]{8}$/.test(fingerprint)) return null;
  if (!PEER_ID.test(peerId)) return null;
  if (role !== 'forming' && role !== 'replica' && role !== 'observer') return null;
  if (!Number.isInteger(members) || members < 1 || members > 1_000) return null;
  return {
    cluster,
    size,
    fingerprint,
    peerId,
    role,
    members,
    addresses: addresses.slice(0, ADDRESSES_MAX).filter((address) => isPeerAddress(address, peerId)),
  };
}

/** A multiaddr that parses and ends in this peer's id. */
function isPeerAddress(address: string, peerId: string): boolean {
  if (address.length > 300) return false;
  try {
    const components = multiaddr(address).getComponents();
    return components.at(-1)?.name === 'p2p' && components.at(-1)?.value === peerId;
  } catch {
    return false;
  }
}

/** The DNS-SD answers for an announcement: PTR service → instance, and the instance's TXT. */
export function announcementAnswers(a: ClusterAnnouncement): Answer[] {
  const instance = instanceName(a.peerId);
  return [
    { name: BEACON_SERVICE, type: 'PTR', ttl: BEACON_TTL_S, data: instance },
    { name: instance, type: 'TXT', ttl: BEACON_TTL_S, data: encodeAnnouncement(a) },
  ];
}

/** Announcements in a response packet (answers and additionals), each checked. */
export function announcementsIn(packet: ResponsePacket): ClusterAnnouncement[] {
  const found: ClusterAnnouncement[] = [];
  for (const record of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
    if (record.type !== 'TXT' || !record.name.endsWith(`.${BEACON_SERVICE}`)) continue;
    const data = record.data as string | Uint8Array | (string | Uint8Array)[];
    const announcement = decodeAnnouncement(Array.isArray(data) ? data : [data]);
    // The instance name is the announcer's peer id: one machine cannot speak for another's name.
    if (announcement && record.name === instanceName(announcement.peerId)) found.push(announcement);
  }
  return found;
}

export interface BeaconOptions {
  readonly mdns: Mdns;
  /** What to announce now; null: nothing (not started yet, or stopping). */
  readonly announcement: () => ClusterAnnouncement | null;
  /** @default BEACON_INTERVAL_MS */
  readonly intervalMs?: number;
  /** A failed send (no network, say), at most once per kind of failure. @default ignore */
  readonly log?: (line: string) => void;
}

/**
 * Announces this machine's cluster: unsolicited every `intervalMs`, and in answer to a query for the
 * service (a scanner that has just started asks once, then listens).
 */
export class ClusterBeacon {
  private readonly options: BeaconOptions;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly logged = new Set<string>();
  private readonly onQuery = (packet: QueryPacket): void => {
    if (packet.questions?.some((q) => q.name === BEACON_SERVICE && (q.type === 'PTR' || (q.type as string) === 'ANY')))
      this.announce();
  };
  private readonly onError = (error: Error): void => this.logOnce(`cluster beacon: ${error.message}`);

  constructor(options: BeaconOptions) {
    this.options = options;
  }

  start(): void {
    if (this.timer !== null) return;
    this.options.mdns.on('query', this.onQuery);
    this.options.mdns.on('error', this.onError);
    this.options.mdns.on('warning', this.onError);
    this.timer = setInterval(() => this.announce(), this.options.intervalMs ?? BEACON_INTERVAL_MS);
    this.timer.unref?.();
    this.announce();
  }

  stop(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.options.mdns.removeListener('query', this.onQuery);
    this.options.mdns.removeListener('error', this.onError);
    this.options.mdns.removeListener('warning', this.onError);
  }

  announce(): void {
    let announcement: ClusterAnnouncement | null;
    try {
      announcement = this.options.announcement();
    } catch (error) {
      return this.logOnce(`cluster beacon: nothing to announce (${(error as Error).message})`);
    }
    if (announcement === null) return;
    this.options.mdns.respond({ answers: announcementAnswers(announcement) }, (error: Error | null) => {
      if (error) this.logOnce(`cluster beacon: cannot announce on the LAN (${error.message})`);
    });
  }

  private logOnce(line: string): void {
    if (this.logged.has(line)) return;
    this.logged.add(line);
    this.options.log?.(line);
  }
}
