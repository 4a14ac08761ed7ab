/**
 * Networks that block multicast: replicas formed by `--join` only (no mDNS), and a client that knows
 * one replica's address. It learns the roster from f+1 members, reaches them all, and its operations
 * are agreed. Then a replica revokes the client: its requests are refused with a reason.
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

  it('a revoked client is refused with a reason', async () => {
    const primary = (await cluster.hosts[0]!.snapshot()).view!.primary;
    const roster = (await cluster.hosts[0]!.snapshot()).roster;
    const primaryHost = cluster.hosts.find((h) => h.peerId === roster[primary])!;
    await primaryHost.revokeClient(client.peerId);
    await expect(
      client.submit({ kind: 'write', path: '/denied', data: text('x') }, { timeoutMs: 30_000 }),
    ).rejects.toThrow(ClientRefusedError);
  }, 60_000);
});
