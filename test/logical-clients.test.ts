/**
 * Many logical PBFT clients over one libp2p node (core/host/client-id.ts): four ReplicaHosts in this
 * process on loopback, a NetworkClient running three logical clients `peer/0..2`, and a hand-made
 * client node. A replica accepts a request naming `peer/j` from peer, answers it to peer, refuses one
 * naming another peer's client, and a revocation of the peer covers all its logical clients.
 * Read-only operations go to every replica and are accepted with 2f+1 matching replies (§5.1).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResult } from '../core/app/file-ops.ts';
import { logicalClientId } from '../core/host/client-id.ts';
import { ClientRefusedError } from '../core/host/client-session.ts';
import { NetworkClient } from '../core/host/network-client.ts';
import { encodeFrame, parseFrame, type WireFrame } from '../core/host/wire.ts';
import { createFrameTransport, type FrameTransport } from '../core/net/frame-transport.ts';
import { createLabNode, type LabNode } from '../core/net/node.ts';
import type { Reply } from '../core/pbft/messages.ts';
import {
  addressesOf,
  eventually,
  HandmadeClient,
  startCluster,
  waitForRoster,
  type TestCluster,
} from './helpers/hostile-kit.ts';

const N = 4;
const TIMEOUT_MS = 30_000;
const text = (s: string) => new TextEncoder().encode(s);

let cluster: TestCluster;
let roster: readonly string[];
let pool: NetworkClient;
/** A client node built by hand, to send what NetworkClient never would. */
let node: LabNode;
let transport: FrameTransport;
const inbox: { from: string; frame: WireFrame }[] = [];

beforeAll(async () => {
  cluster = await startCluster(N, undefined);
  roster = (await waitForRoster(cluster.hosts, 40_000))[0]!.roster;
  pool = new NetworkClient({
    cluster: cluster.name,
    clusterKey: cluster.key,
    size: N,
    join: await addressesOf(cluster.hosts[1]!),
    mdns: false,
    clients: 3,
  });
  await pool.start();
  node = await createLabNode({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    allowLoopback: true,
    clusterKey: cluster.key,
  });
  transport = createFrameTransport(node, { allowLoopback: true });
  transport.onFrame((from, bytes) => {
    const parsed = parseFrame(bytes);
    if (parsed.ok) inbox.push({ from, frame: parsed.frame });
  });
  await transport.start();
  for (const host of cluster.hosts) transport.addPeer(host.peerId, await addressesOf(host));
}, 60_000);

afterAll(async () => {
  await pool?.stop();
  await transport?.stop().catch(() => {});
  await Promise.resolve(node?.stop()).catch(() => {});
  await cluster?.stop();
}, 30_000);

const hostOf = (replica: number) => cluster.hosts.find((h) => h.peerId === roster[replica])!;

describe('logical clients over one libp2p node', () => {
  it('runs each logical client as its own PBFT client, ids peer/j, all over the one node', async () => {
    expect(pool.clientIds).toEqual([0, 1, 2].map((j) => logicalClientId(pool.peerId, j)));
    const path = `/pool-${randomBytes(3).toString('hex')}`;
    const written = await Promise.all(
      [0, 1, 2].map((j) =>
        pool.submit({ kind: 'append', path, data: text(String(j)) }, { client: j, timeoutMs: TIMEOUT_MS }),
      ),
    );
    for (const w of written) expect(w.matching).toBeGreaterThanOrEqual(2);
    const read = await pool.submit({ kind: 'read', path }, { client: 1, timeoutMs: TIMEOUT_MS });
    const result = decodeResult(read.result);
    const data = result.ok && result.result.kind === 'data' ? new TextDecoder().decode(result.result.data) : '';
    expect([...data].sort().join('')).toBe('012');
    // One peer for the replicas: the primary tracks the node, not three clients.
    const peers = (await hostOf(0).snapshot()).peers.map((p) => p.peerId);
    expect(peers).toContain(pool.peerId);
    expect(peers.some((p) => p.includes('/'))).toBe(false);
  }, 60_000);

  it('answers a read-only operation from 2f+1 replicas without ordering it (§5.1)', async () => {
    const before = (await hostOf(0).snapshot()).checkpoints!.lastExecuted;
    const outcome = await pool.submit(
      { kind: 'stat', path: '/nothing-here' },
      { client: 2, readOnly: true, timeoutMs: TIMEOUT_MS },
    );
    expect(outcome.readOnly).toBe(true);
    expect(outcome.matching).toBeGreaterThanOrEqual(3);
    expect((await hostOf(0).snapshot()).checkpoints!.lastExecuted).toBe(before);
  }, 60_000);

  it("accepts a request naming peer/j from peer, answers it to peer, and refuses one naming another peer's client", async () => {
    const self = node.peerId.toString();
    const mine = new HandmadeClient(logicalClientId(self, 5), N);
    roster.forEach((member, i) => transport.send(member, encodeFrame({ kind: 'client-key', key: mine.keys[i]! })));
    const t = Date.now() * 1000;
    const request = mine.request({ kind: 'stat', path: '/x' }, t, true);
    for (const member of roster) transport.send(member, encodeFrame({ kind: 'client-request', request }));
    const replies = await eventually(
      () => {
        const r = inbox.filter((m) => m.frame.kind === 'client-reply' && m.frame.reply.timestamp === t);
        return r.length === N ? r : undefined;
      },
      TIMEOUT_MS,
      'read-only replies from every replica to peer/5',
    );
    expect(replies.map((m) => (m.frame as { reply: Reply }).reply.client)).toEqual(Array(N).fill(mine.id));

    // The same keys, but the request names a logical client of the pool's peer: not ours to speak for.
    const impostor = new HandmadeClient(logicalClientId(pool.peerId, 0), N);
    impostor.keys.splice(0, N, ...mine.keys);
    const marks = cluster.logs.map((l) => l.mark());
    const forged = impostor.request({ kind: 'stat', path: '/x' }, t + 1, true);
    for (const member of roster) transport.send(member, encodeFrame({ kind: 'client-request', request: forged }));
    await eventually(
      () =>
        cluster.logs.every((log, i) =>
          log.since(marks[i]!).some((line) => line.includes(`ignored: it names client "${forged.client}"`)),
        ),
      TIMEOUT_MS,
      'every replica to log the refused request',
    );
    expect(inbox.some((m) => m.frame.kind === 'client-reply' && m.frame.reply.timestamp === t + 1)).toBe(false);
  }, 60_000);

  it("sends the replies of one batch to a node's logical clients in one CLIENT-REPLIES frame", async () => {
    const self = node.peerId.toString();
    const clients = Array.from({ length: 20 }, (_, j) => new HandmadeClient(logicalClientId(self, 10 + j), N));
    for (const c of clients.slice(1)) c.keys.splice(0, N, ...clients[0]!.keys);
    roster.forEach((member, i) =>
      transport.send(member, encodeFrame({ kind: 'client-key', key: clients[0]!.keys[i]! })),
    );
    const primary = (await hostOf(0).snapshot()).view!.primary;
    const t = Date.now() * 1000 + 10;
    const start = inbox.length;
    // Sent in one go: the primary proposes the first at once and batches the rest behind it.
    for (const c of clients)
      transport.send(
        roster[primary]!,
        encodeFrame({ kind: 'client-request', request: c.request({ kind: 'stat', path: '/x' }, t) }),
      );
    const replies = () =>
      inbox
        .slice(start)
        .flatMap(({ frame }) =>
          frame.kind === 'client-reply' ? [frame.reply] : frame.kind === 'client-replies' ? frame.replies : [],
        )
        .filter((r) => r.timestamp === t);
    await eventually(
      () => (replies().length >= clients.length * N ? true : undefined),
      TIMEOUT_MS,
      'an ordered reply from every replica to each of the 20 logical clients',
    );
    const answered = new Set(replies().map((r) => `${r.client} ${r.replica}`));
    expect(answered.size).toBe(clients.length * N);
    const grouped = inbox.slice(start).filter(({ frame }) => frame.kind === 'client-replies');
    expect(grouped.length).toBeGreaterThan(0);
    expect(grouped.length).toBeLessThan(clients.length * N);
  }, 60_000);

  it('a revocation of the peer covers its logical clients', async () => {
    const primary = (await hostOf(0).snapshot()).view!.primary;
    await hostOf(primary).revokeClient(logicalClientId(pool.peerId, 1));
    await expect(
      pool.submit({ kind: 'write', path: '/revoked', data: text('x') }, { client: 2, timeoutMs: TIMEOUT_MS }),
    ).rejects.toThrow(ClientRefusedError);
  }, 60_000);
});
