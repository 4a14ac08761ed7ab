/**
 * Networks that block multicast: replicas formed by `--join` only (no mDNS), and a client that knows
 * one replica's address. It learns the roster from f+1 members, reaches them all, and its operations
 * are agreed. Then one backup revokes the client (an ordered operation): every replica refuses it with
 * a reason, and its write is executed nowhere.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResult } from '../core/app/file-ops.ts';
import { ClientRefusedError } from '../core/host/client-session.ts';
import { NetworkClient } from '../core/host/network-client.ts';
import { startCluster, waitForRoster, type TestCluster } from './helpers/hostile-kit.ts';

let cluster: TestCluster;
let client: NetworkClient;
const text = (s: string) => new TextEncoder().encode(s);

beforeAll(async () => {
  cluster = await startCluster(4, undefined);
  await waitForRoster(cluster.hosts, 30_000);
  const one = (await cluster.hosts[2]!.snapshot()).self.addresses[0]!;
  client = new NetworkClient({
    cluster: cluster.name,
    clusterKey: cluster.key,
    size: 4,
    join: [multiaddr(one)],
    mdns: false,
  });
  await client.start();
}, 60_000);

afterAll(async () => {
  await client?.stop();
  await cluster?.stop();
});

describe('without multicast: --join only', () => {
  it('a client that knows one replica learns the roster from f+1 members and gets f+1 matching replies', async () => {
    const written = await client.submit(
      { kind: 'write', path: '/joined', data: text('by address') },
      { timeoutMs: 30_000 },
    );
    expect(written.matching).toBeGreaterThanOrEqual(2);
    const read = await client.submit({ kind: 'read', path: '/joined' }, { timeoutMs: 30_000 });
    const result = decodeResult(read.result);
    expect(result.ok && result.result.kind === 'data' && new TextDecoder().decode(result.result.data)).toBe(
      'by address',
    );
  }, 60_000);

  it('a client revoked through one backup is refused by every replica; its write is executed nowhere', async () => {
    const { roster, view } = await cluster.hosts[0]!.snapshot();
    const backup = roster[(view!.primary + 1) % roster.length];
    const backupHost = cluster.hosts.find((h) => h.peerId === backup)!;
    await backupHost.revokeClient(client.peerId);
    // The primary never heard of it from its own LabApi: it refuses from the replicated state.
    await expect(
      client.submit({ kind: 'write', path: '/denied', data: text('x') }, { timeoutMs: 30_000 }),
    ).rejects.toThrow(ClientRefusedError);
    await expect(client.submit({ kind: 'read', path: '/joined' }, { timeoutMs: 30_000 })).rejects.toThrow(/revoked/);
    // Ask every replica's own client (ordered, f+1 matching): /denied does not exist anywhere.
    for (const host of cluster.hosts) {
      const outcome = await host.submit({ kind: 'stat', path: '/denied' });
      expect(outcome.result).toMatchObject({ kind: 'error', code: 'NOT_FOUND' });
    }
  }, 90_000);
});
