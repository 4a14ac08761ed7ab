/**
 * The lab process's service with a fake host and an in-memory mDNS: what it asks of the host for a
 * LAN cluster and a local one (ports from the key, the next port when one is taken), the calls it
 * forwards, the event batches, the beacon, the LAN scan, and the errors main gets back.
 */
import { EventEmitter } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LabEvent, LabSnapshot } from '../../core/host/lab-api.ts';
import type { ReplicaHostOptions } from '../../core/host/replica-host.ts';
import { BEACON_SERVICE, ClusterBeacon, type Mdns } from '../../core/net/cluster-beacon.ts';
import { ClusterKey } from '../../core/net/cluster-key.ts';
import { LabProcessService, toAnnouncement, type LabProcessHost } from './lab-process-service.ts';
import { localPorts } from './local-ports.ts';
import type { ClusterSettings, FromLabProcess, LabStartRequest } from './protocol.ts';

const PEER = '12D3KooWA1nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8A';

function snapshotOf(options: ReplicaHostOptions, fingerprint: string | null): LabSnapshot {
  return {
    self: {
      peerId: PEER,
      cluster: options.cluster,
      size: options.size,
      f: (options.size - 1) / 3,
      role: 'forming',
      replicaId: null,
      addresses: [`/ip4/10.0.0.5/tcp/4001/p2p/${PEER}`, `/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`],
      clusterKey: fingerprint === null ? null : { fingerprint, joinCode: 'CODE' },
    },
    roster: [],
    peers: [
      { peerId: 'other', replicaId: null, addresses: [], connected: true, lastHeardMsAgo: 1, disconnected: false },
    ],
  } as unknown as LabSnapshot;
}

/** A host that records how it was made and used. */
function fakeHosts(failures: Error[] = []) {
  const made: { options: ReplicaHostOptions; life: string[]; emit: (event: LabEvent) => void }[] = [];
  const createHost = (options: ReplicaHostOptions): LabProcessHost => {
    const life: string[] = [];
    const listeners = new Set<(event: LabEvent) => void>();
    made.push({ options, life, emit: (event) => listeners.forEach((l) => l(event)) });
    const failure = failures.shift();
    const key = options.clusterKey;
    const fingerprint = key instanceof ClusterKey ? key.fingerprint : '0a1b2c3d';
    return {
      peerId: PEER,
      joinCode: key instanceof ClusterKey ? key.joinCode : null,
      listenAddresses: [`/ip4/10.0.0.5/tcp/4001/p2p/${PEER}`],
      async start() {
        life.push('start');
        if (failure) throw failure;
      },
      async stop() {
        life.push('stop');
      },
      snapshot: async () => snapshotOf(options, fingerprint),
      subscribe(listener) {
        listeners.add(listener);
        life.push('subscribe');
        return () => listeners.delete(listener);
      },
      submit: vi.fn(async () => ({ timestamp: 1, result: { kind: 'deleted', path: '/x' }, matching: 2, latencyMs: 3 })),
      fault: vi.fn(),
      revokeClient: vi.fn(),
      behaviours: vi.fn(async () => []),
      setBehaviour: vi.fn(),
      room: vi.fn(),
    } as LabProcessHost;
  };
  return { made, createHost };
}

/** Every member hears every packet. */
function mdnsBus() {
  const members: EventEmitter[] = [];
  const destroyed: EventEmitter[] = [];
  const member = (): Mdns => {
    const emitter = new EventEmitter();
    members.push(emitter);
    return Object.assign(emitter, {
      query: (q: { questions: unknown[] }) => members.forEach((m) => m.emit('query', { type: 'query', ...q })),
      respond: (r: { answers: unknown[] }) =>
        members.forEach((m) => m.emit('response', { type: 'response', additionals: [], ...r })),
      destroy: () => destroyed.push(emitter),
    }) as unknown as Mdns;
  };
  return { member, members, destroyed };
}

function service(options: { failures?: Error[]; portsTaken?: number[]; mdns?: () => Mdns } = {}) {
  const posted: FromLabProcess[] = [];
  const hosts = fakeHosts(options.failures);
  const bus = mdnsBus();
  const createMdns = vi.fn(options.mdns ?? bus.member);
  const taken = new Set(options.portsTaken ?? []);
  const svc = new LabProcessService({
    post: (message) => posted.push(message),
    createHost: hosts.createHost,
    createMdns,
    isPortFree: async (port) => !taken.has(port),
    log: () => {},
    flushIntervalMs: 5,
  });
  let id = 0;
  const call = async (method: string, ...args: unknown[]): Promise<FromLabProcess & { type: 'reply' }> => {
    const callId = ++id;
    svc.handle({ type: 'call', id: callId, method, args });
    await vi.waitFor(() => expect(posted.some((m) => m.type === 'reply' && m.id === callId)).toBe(true));
    return posted.find((m) => m.type === 'reply' && m.id === callId) as FromLabProcess & { type: 'reply' };
  };
  return { svc, posted, hosts, bus, createMdns, call };
}

const lan: ClusterSettings = { cluster: 'room-101', size: 4, dataDir: '/data/r', local: false, join: [], mdns: true };

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('a LAN cluster', () => {
  it('starts a host with the settings and the code given, announces the cluster, and tells main who it is', async () => {
    const { hosts, call, bus } = service();
    const key = ClusterKey.generate();
    const reply = await call('start', {
      settings: lan,
      key: { kind: 'join', joinCode: key.joinCode },
    } satisfies LabStartRequest);
    expect(reply).toMatchObject({
      ok: true,
      value: { peerId: PEER, joinCode: key.joinCode, fingerprint: key.fingerprint },
    });
    const { options } = hosts.made[0]!;
    expect(options).toMatchObject({ dataDir: '/data/r', cluster: 'room-101', size: 4, mdns: true, join: [] });
    expect((options.clusterKey as ClusterKey).equals(key)).toBe(true);
    expect(options.allowLoopback).toBeUndefined();
    expect(options.listen).toBeUndefined();
    // The beacon answers a scanner: the cluster, LAN addresses only.
    const heard: unknown[] = [];
    bus.members[0]!.on('response', (packet: { answers: { type: string; data: unknown }[] }) =>
      heard.push(packet.answers.find((a) => a.type === 'TXT')?.data),
    );
    bus.members[0]!.emit('query', { type: 'query', questions: [{ name: BEACON_SERVICE, type: 'PTR' }] });
    expect(heard[0]).toEqual(
      expect.arrayContaining(['cluster=room-101', 'size=4', `addr=/ip4/10.0.0.5/tcp/4001/p2p/${PEER}`]),
    );
    expect(JSON.stringify(heard[0])).not.toContain('127.0.0.1');
  });

  it('passes the stored key, or none to make, as the host understands them', async () => {
    for (const kind of ['stored', 'stored-or-new', 'new'] as const) {
      const { hosts, call } = service();
      await call('start', { settings: lan, key: { kind } });
      expect(hosts.made[0]!.options.clusterKey).toBe(kind);
    }
  });

  it('announces nothing without mDNS', async () => {
    const { call, createMdns } = service();
    await call('start', { settings: { ...lan, mdns: false }, key: { kind: 'stored' } });
    expect(createMdns).not.toHaveBeenCalled();
  });

  it('answers a failed start with the host’s error, and can start again', async () => {
    const failure = Object.assign(new Error('belongs to another cluster'), { name: 'DataDirError' });
    const { call, hosts } = service({ failures: [failure] });
    expect(await call('start', { settings: lan, key: { kind: 'stored' } })).toMatchObject({
      ok: false,
      error: { name: 'DataDirError', message: 'belongs to another cluster' },
    });
    expect((await call('start', { settings: lan, key: { kind: 'stored' } })).ok).toBe(true);
    expect(hosts.made).toHaveLength(2);
    expect((await call('start', { settings: lan, key: { kind: 'stored' } })).ok).toBe(false);
  });
});

describe('a local cluster', () => {
  const local: ClusterSettings = { ...lan, local: true, mdns: false };

  it('listens on the first free port of its key’s range on 127.0.0.1, dials the first n, no mDNS', async () => {
    const key = ClusterKey.generate();
    const ports = localPorts(key.fingerprint, 4);
    const { hosts, call, createMdns } = service({ portsTaken: [ports[0]!] });
    expect((await call('start', { settings: local, key: { kind: 'join', joinCode: key.joinCode } })).ok).toBe(true);
    const { options } = hosts.made[0]!;
    expect(options.listen).toEqual([`/ip4/127.0.0.1/tcp/${ports[1]}`]);
    expect(options.join).toEqual([ports[0], ports[2], ports[3]].map((p) => `/ip4/127.0.0.1/tcp/${p}`));
    expect(options).toMatchObject({ allowLoopback: true, mdns: false });
    expect(createMdns).not.toHaveBeenCalled();
  });

  it('takes the next port when another instance took this one between the check and the bind', async () => {
    const key = ClusterKey.generate();
    const ports = localPorts(key.fingerprint, 4);
    const { hosts, call } = service({ failures: [new Error(`listen EADDRINUSE 127.0.0.1:${ports[0]}`)] });
    expect((await call('start', { settings: local, key: { kind: 'created', joinCode: key.joinCode } })).ok).toBe(true);
    expect(hosts.made.map((h) => h.options.listen)).toEqual([
      [`/ip4/127.0.0.1/tcp/${ports[0]}`],
      [`/ip4/127.0.0.1/tcp/${ports[1]}`],
    ]);
  });

  it('says so when every port of the range is taken', async () => {
    const key = ClusterKey.generate();
    const { call } = service({ portsTaken: localPorts(key.fingerprint, 4) });
    expect(await call('start', { settings: local, key: { kind: 'join', joinCode: key.joinCode } })).toMatchObject({
      ok: false,
      error: { name: 'LabProcessError', message: expect.stringContaining('are all in use') },
    });
  });

  it('reads the key a restarted instance’s data directory holds, for its ports; refuses --new-cluster there', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pbft-lab-local-key-'));
    const key = ClusterKey.generate();
    await writeFile(join(dir, 'cluster.key'), key.pskFile);
    const { hosts, call } = service();
    expect((await call('start', { settings: { ...local, dataDir: dir }, key: { kind: 'stored' } })).ok).toBe(true);
    expect(hosts.made[0]!.options.listen).toEqual([`/ip4/127.0.0.1/tcp/${localPorts(key.fingerprint, 4)[0]}`]);
    expect((hosts.made[0]!.options.clusterKey as ClusterKey).equals(key)).toBe(true);
    const again = service();
    expect(await again.call('start', { settings: { ...local, dataDir: dir }, key: { kind: 'new' } })).toMatchObject({
      ok: false,
      error: { name: 'ClusterKeyError', message: expect.stringContaining('already belongs to a cluster') },
    });
    const empty = service();
    expect(
      await empty.call('start', { settings: { ...local, dataDir: join(dir, 'none') }, key: { kind: 'stored' } }),
    ).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('holds no cluster key') },
    });
  });
});

describe('calls and events', () => {
  it('refuses LabApi calls before a replica runs, and unknown calls', async () => {
    const { call } = service();
    expect(await call('snapshot')).toMatchObject({ ok: false, error: { name: 'LabProcessError' } });
    expect(await call('format-disk')).toMatchObject({ ok: false, error: { message: 'no such call: format-disk' } });
  });

  it('forwards the LabApi calls to the host with their arguments', async () => {
    const { call, hosts } = service();
    await call('start', { settings: lan, key: { kind: 'stored' } });
    const op = { kind: 'delete', path: '/x' };
    expect(await call('submit', op)).toMatchObject({ ok: true, value: { matching: 2 } });
    expect(hosts.made[0]!.options.cluster).toBe('room-101');
  });

  it('sends the host’s events in batches once main listens, and none after it stops listening', async () => {
    const { svc, call, posted, hosts } = service();
    svc.handle({ type: 'listen' });
    await call('start', { settings: lan, key: { kind: 'stored' } });
    const host = hosts.made[0]!;
    for (let i = 0; i < 100; i++) host.emit({ kind: 'log', atMs: i, line: `line ${i}` });
    await vi.waitFor(() => expect(posted.filter((m) => m.type === 'events')).toHaveLength(1));
    const batch = posted.find((m) => m.type === 'events') as { events: readonly LabEvent[] };
    expect(batch.events).toHaveLength(100);
    svc.handle({ type: 'unlisten' });
    host.emit({ kind: 'log', atMs: 101, line: 'unheard' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(posted.filter((m) => m.type === 'events')).toHaveLength(1);
  });

  it('stops the host, the beacon and the mDNS socket', async () => {
    const { call, hosts, bus } = service();
    await call('start', { settings: lan, key: { kind: 'stored' } });
    expect((await call('stop')).ok).toBe(true);
    expect(hosts.made[0]!.life).toContain('stop');
    expect(bus.destroyed).toHaveLength(1);
    expect(await call('snapshot')).toMatchObject({ ok: false });
  });
});

describe('the LAN scan', () => {
  it('posts the clusters other machines announce, as they change', async () => {
    const bus = mdnsBus();
    const { call, posted } = service({ mdns: bus.member });
    expect((await call('scan')).ok).toBe(true);
    const other = bus.member();
    const snapshot = snapshotOf({ cluster: 'room-7', size: 7 } as ReplicaHostOptions, 'ffff0000');
    new ClusterBeacon({ mdns: other, announcement: () => toAnnouncement(snapshot) }).announce();
    const lanPosts = posted.filter((m) => m.type === 'lan') as {
      clusters: readonly { cluster: string; members: number }[];
    }[];
    expect(lanPosts.at(-1)!.clusters).toMatchObject([{ cluster: 'room-7', size: 7, members: 2, formed: false }]);
  });

  it('reports a socket it cannot open instead of failing', async () => {
    const { call, posted } = service({
      mdns: () => {
        throw new Error('EADDRINUSE 5353');
      },
    });
    expect((await call('scan')).ok).toBe(true);
    expect(posted.at(-2)).toMatchObject({
      type: 'lan',
      clusters: [],
      error: expect.stringContaining('EADDRINUSE 5353'),
    });
  });
});
