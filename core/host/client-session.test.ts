/**
 * ClientSession against hand-made replies: what it sends, when it accepts (f+1, or 2f+1 read-only,
 * §4.1 and §5.1), and its timeouts, which are checked at ticks (no timer per operation).
 */
import { describe, expect, it } from 'vitest';
import { decodeOp, encodeResult, fileError, type FileOp } from '../app/file-ops.ts';
import { hmacClientCrypto } from '../crypto/node.ts';
import { requestBytes } from '../pbft/codec.ts';
import type { Reply, ReplicaId, Request } from '../pbft/messages.ts';
import { ClientRefusedError, ClientSession, SubmitTimeoutError } from './client-session.ts';

const N = 4;
const STAT: FileOp = { kind: 'stat', path: '/x' };

function session(options: { keys?: readonly Uint8Array[] } = {}) {
  const sent: { to: ReplicaId | 'all'; request: Request }[] = [];
  const s = new ClientSession({ id: 'peer/3', n: N, send: (to, request) => sent.push({ to, request }), ...options });
  const reply = (
    replica: ReplicaId,
    request: Request,
    result: Uint8Array = new Uint8Array([1]),
    tentative = request.readOnly,
  ) => {
    const r: Reply = {
      type: 'reply',
      view: 0,
      timestamp: request.timestamp,
      client: request.client,
      replica,
      tentative,
      readOnly: request.readOnly,
      result,
    };
    s.onReply(replica, r);
  };
  return { s, sent, reply };
}

describe('ClientSession', () => {
  it('sends a read-write request to the primary and accepts f+1 matching replies', async () => {
    const { s, sent, reply } = session();
    const done = s.submit(STAT);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe(0);
    expect(sent[0]!.request).toMatchObject({ client: 'peer/3', readOnly: false });
    expect(decodeOp(sent[0]!.request.op)).toMatchObject({ ok: true, op: STAT });
    reply(1, sent[0]!.request);
    reply(2, sent[0]!.request);
    const result = await done;
    expect(result).toMatchObject({ matching: 2, readOnly: false, timestamp: sent[0]!.request.timestamp });
    expect(s.idle).toBe(true);
  });

  it('broadcasts a read-only request once (one send to all) and needs 2f+1 matching replies', async () => {
    const { s, sent, reply } = session();
    let accepted = false;
    const done = s.submit(STAT, { readOnly: true }).then((r) => ((accepted = true), r));
    expect(sent.map((x) => x.to)).toEqual(['all']);
    const request = sent[0]!.request;
    reply(0, request);
    reply(1, request);
    await Promise.resolve();
    expect(accepted).toBe(false);
    reply(2, request);
    expect(await done).toMatchObject({ matching: 3, readOnly: true });
  });

  it('retries a read-only request as an ordered one after the retransmission timeout (§5.1)', async () => {
    const { s, sent, reply } = session();
    const done = s.submit(STAT, { readOnly: true });
    for (let t = 0; t < 50; t++) s.tick();
    const retry = sent.at(-1)!;
    expect(retry).toMatchObject({ to: 'all', request: { readOnly: false } });
    reply(0, retry.request);
    reply(3, retry.request);
    expect(await done).toMatchObject({ matching: 2, readOnly: false });
  });

  it('times out at the first tick after the deadline, drops the late result and goes on with the next', async () => {
    const { s, sent, reply } = session();
    const first = s.submit(STAT, { timeoutMs: 0 });
    const second = s.submit({ kind: 'stat', path: '/y' }, { timeoutMs: 60_000 });
    expect(sent).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 2));
    s.tick();
    await expect(first).rejects.toThrow(SubmitTimeoutError);
    await expect(first).rejects.toThrow('no f+1 = 2 matching replies within 0 ms');
    // The Client still waits for the first request's result (one at a time); when it comes, the next goes.
    expect(sent).toHaveLength(1);
    reply(0, sent[0]!.request);
    reply(1, sent[0]!.request);
    expect(sent).toHaveLength(2);
    reply(0, sent[1]!.request);
    reply(1, sent[1]!.request);
    expect(await second).toMatchObject({ timestamp: sent[1]!.request.timestamp });
  });

  it('stops when f+1 replicas refuse the client (one lying replica cannot): fails what is outstanding and queued, sends nothing more', async () => {
    const { s, sent } = session();
    const done = s.submit(STAT);
    const queued = s.submit(STAT);
    s.refused('revoked', 3);
    s.refused('revoked again', 3); // the same replica twice is still one
    expect(s.refusedBecause).toBeNull();
    s.refused('revoked', 1);
    await expect(done).rejects.toThrow(ClientRefusedError);
    await expect(queued).rejects.toThrow('revoked');
    const before = sent.length;
    for (let i = 0; i < 200; i++) s.tick();
    expect(sent).toHaveLength(before); // no retransmissions
    await expect(s.submit(STAT)).rejects.toThrow(ClientRefusedError);
  });

  it('a REVOKED result agreed by f+1 replicas also stops the client, with the result delivered', async () => {
    const { s, sent, reply } = session();
    const done = s.submit(STAT);
    const queued = s.submit(STAT);
    const revoked = encodeResult(fileError('REVOKED', 'client peer was revoked'));
    reply(0, sent[0]!.request, revoked);
    reply(2, sent[0]!.request, revoked);
    expect((await done).result).toEqual(revoked);
    await expect(queued).rejects.toThrow(ClientRefusedError);
    expect(s.refusedBecause).toMatch(/revoked/);
  });

  it('authenticates with the MAC keys it is given (the logical clients of one node share them)', () => {
    const keys = Array.from({ length: N }, (_, i) => new Uint8Array(32).fill(i + 1));
    const { s, sent } = session({ keys });
    void s.submit(STAT);
    const request = sent[0]!.request;
    const expected = hmacClientCrypto(keys).authenticator(requestBytes({ ...request, auth: [] }));
    expect(request.auth).toEqual(expected);
    expect(() => session({ keys: keys.slice(1) })).toThrow(RangeError);
  });
});
