/**
 * The cluster beacon and the LAN scanner over an in-memory mDNS bus (every packet reaches every
 * member, as multicast with loopback does): what a machine announces, what a newcomer lists, and
 * what a hostile announcement cannot put in the list.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BEACON_SERVICE,
  ClusterBeacon,
  announcementAnswers,
  announcementsIn,
  decodeAnnouncement,
  encodeAnnouncement,
  instanceName,
  type ClusterAnnouncement,
  type Mdns,
} from './cluster-beacon.ts';
import { LanScanner, type LanCluster } from './lan-clusters.ts';
import { DEFAULT_MDNS_SERVICE_TAG } from './node.ts';

const PEER_A = '12D3KooWA1nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8A';
const PEER_B = '12D3KooWB2nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8B';
const PEER_C = '12D3KooWC3nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8C';

function announcement(peerId: string, overrides: Partial<ClusterAnnouncement> = {}): ClusterAnnouncement {
  return {
    cluster: 'room-101',
    size: 4,
    fingerprint: '0a1b2c3d',
    peerId,
    role: 'forming',
    members: 1,
    addresses: [`/ip4/10.0.0.5/tcp/4001/p2p/${peerId}`],
    ...overrides,
  };
}

type Packet = { type: 'query' | 'response'; questions?: unknown[]; answers?: unknown[]; additionals?: unknown[] };

/** Every member hears every packet, its own included. */
class MdnsBus {
  readonly members = new Set<EventEmitter>();
  readonly sent: Packet[] = [];

  member(): Mdns {
    const emitter = new EventEmitter();
    this.members.add(emitter);
    const deliver = (packet: Packet): void => {
      this.sent.push(packet);
      for (const m of this.members) m.emit(packet.type, packet);
    };
    return Object.assign(emitter, {
      query: (q: { questions: unknown[] }, callback?: (error: Error | null) => void) => {
        deliver({ type: 'query', questions: q.questions });
        callback?.(null);
      },
      respond: (r: { answers: unknown[] }, callback?: (error: Error | null) => void) => {
        deliver({ type: 'response', answers: r.answers, additionals: [] });
        callback?.(null);
      },
      destroy: () => this.members.delete(emitter),
    }) as unknown as Mdns;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('an announcement', () => {
  it('round-trips through its TXT strings, as text or as the bytes a packet carries', () => {
    const a = announcement(PEER_A, { role: 'replica', members: 4 });
    expect(decodeAnnouncement(encodeAnnouncement(a))).toEqual(a);
    expect(decodeAnnouncement(encodeAnnouncement(a).map((s) => new TextEncoder().encode(s)))).toEqual(a);
  });

  it('is refused when a field is malformed, and drops addresses that are not the announcer’s', () => {
    const good = encodeAnnouncement(announcement(PEER_A));
    const bad = (key: string, value: string): string[] =>
      good.map((s) => (s.startsWith(`${key}=`) ? `${key}=${value}` : s));
    expect(decodeAnnouncement(bad('v', '2'))).toBeNull();
    expect(decodeAnnouncement(bad('cluster', '-starts-with-dash'))).toBeNull();
    expect(decodeAnnouncement(bad('cluster', '<script>'))).toBeNull();
    expect(decodeAnnouncement(bad('size', '5'))).toBeNull();
    expect(decodeAnnouncement(bad('fp', 'not-hex!'))).toBeNull();
    expect(decodeAnnouncement(bad('peer', 'x'))).toBeNull();
    expect(decodeAnnouncement(bad('role', 'primary'))).toBeNull();
    expect(decodeAnnouncement(bad('members', '0'))).toBeNull();
    const addresses = decodeAnnouncement([
      ...good.filter((s) => !s.startsWith('addr=')),
      `addr=/ip4/10.0.0.6/tcp/1/p2p/${PEER_B}`,
      'addr=not a multiaddr',
      `addr=/ip4/10.0.0.5/tcp/4001/p2p/${PEER_A}`,
    ])?.addresses;
    expect(addresses).toEqual([`/ip4/10.0.0.5/tcp/4001/p2p/${PEER_A}`]);
  });

  it('is a DNS-SD service of its own, apart from libp2p’s discovery (which answers queries for its tag)', () => {
    expect(BEACON_SERVICE).toMatch(/^_[a-z-]{1,15}\._udp\.local$/);
    expect(BEACON_SERVICE).not.toBe(DEFAULT_MDNS_SERVICE_TAG);
  });

  it('is DNS-SD: a PTR from the service to the instance, and the instance’s TXT', () => {
    const answers = announcementAnswers(announcement(PEER_A));
    expect(answers).toMatchObject([
      { name: BEACON_SERVICE, type: 'PTR', data: instanceName(PEER_A) },
      { name: instanceName(PEER_A), type: 'TXT' },
    ]);
  });

  it('is read only under its own instance name (no machine speaks for another)', () => {
    const [, txt] = announcementAnswers(announcement(PEER_A));
    const packet = { type: 'response', answers: [{ ...txt, name: instanceName(PEER_B) }], additionals: [] };
    expect(announcementsIn(packet as never)).toEqual([]);
    expect(announcementsIn({ type: 'response', answers: [txt], additionals: [] } as never)).toHaveLength(1);
  });
});

describe('the beacon and the LAN scanner', () => {
  it('a newcomer lists each cluster once, with its size, members so far and whether it has formed', () => {
    vi.useFakeTimers();
    const bus = new MdnsBus();
    let now = 0;
    const changes: (readonly LanCluster[])[] = [];
    const scanner = new LanScanner({ mdns: bus.member(), now: () => now, onChange: (c) => changes.push(c) });
    const states = new Map([
      [PEER_A, announcement(PEER_A, { members: 2 })],
      [PEER_B, announcement(PEER_B, { members: 2 })],
      [PEER_C, announcement(PEER_C, { cluster: 'evening', size: 7, fingerprint: 'ffff0000' })],
    ]);
    const beacons = [...states.keys()].map(
      (peer) => new ClusterBeacon({ mdns: bus.member(), announcement: () => states.get(peer)! }),
    );
    for (const beacon of beacons) beacon.start();
    scanner.start();

    const [evening, room] = scanner.clusters();
    expect(room).toMatchObject({ cluster: 'room-101', size: 4, fingerprint: '0a1b2c3d', members: 2, formed: false });
    expect(room!.machines.map((m) => m.peerId)).toEqual([PEER_A, PEER_B]);
    expect(evening).toMatchObject({ cluster: 'evening', size: 7, members: 1 });

    // The roster is agreed: the next announcements say so.
    states.set(PEER_A, announcement(PEER_A, { role: 'replica', members: 4 }));
    vi.advanceTimersByTime(2_000);
    expect(scanner.clusters()[1]).toMatchObject({ members: 4, formed: true });
    expect(changes.at(-1)?.[1]).toMatchObject({ formed: true });

    // A machine that stops announcing leaves the list.
    beacons[2]!.stop();
    now += 10_000;
    vi.advanceTimersByTime(2_000);
    expect(scanner.clusters().map((c) => c.cluster)).toEqual(['room-101']);
    scanner.stop();
  });

  it('answers a scanner’s query at once, without waiting for its next announcement', () => {
    vi.useFakeTimers();
    const bus = new MdnsBus();
    const beacon = new ClusterBeacon({
      mdns: bus.member(),
      announcement: () => announcement(PEER_A),
      intervalMs: 60_000,
    });
    beacon.start();
    const scanner = new LanScanner({ mdns: bus.member() });
    scanner.start();
    expect(scanner.clusters()).toHaveLength(1);
    expect(bus.sent.map((p) => p.type)).toEqual(['response', 'query', 'response']);
    beacon.stop();
    scanner.stop();
  });

  it('announces nothing while it has nothing to say, and logs a failed send once', () => {
    const log = vi.fn();
    const respond = vi.fn((_r: unknown, callback?: (error: Error | null) => void) =>
      callback?.(new Error('ENETUNREACH')),
    );
    const mdns = Object.assign(new EventEmitter(), { respond, query: vi.fn(), destroy: vi.fn() }) as unknown as Mdns;
    let said: ClusterAnnouncement | null = null;
    const beacon = new ClusterBeacon({ mdns, announcement: () => said, log });
    beacon.announce();
    expect(respond).not.toHaveBeenCalled();
    said = announcement(PEER_A);
    beacon.announce();
    beacon.announce();
    expect(respond).toHaveBeenCalledTimes(2);
    expect(log.mock.calls).toEqual([['cluster beacon: cannot announce on the LAN (ENETUNREACH)']]);
  });
});
