/**
 * This machine's own client alone: its requests reach its own replica without the network and the
 * others as frames, its MAC keys go to every replica (its own without a frame), and f+1 matching
 * committed replies settle a submit (§4.1).
 */
import { describe, expect, it } from 'vitest';
import { encodeResult, fileError } from '../app/file-ops.ts';
import type { Reply, Request } from '../pbft/messages.ts';
import { OwnClient } from './own-client.ts';
import { parseFrame, type WireFrame } from './wire.ts';

const ROSTER = ['peer-0', 'peer-1', 'peer-2', 'peer-3'];
const SELF = 'peer-2';

function setup(self = SELF) {
  const frames: { peer: string; frame: WireFrame }[] = [];
  const local: Request[] = [];
  let ownKey: Uint8Array | null = null;
  const client = new OwnClient({
    self,
    roster: ROSTER,
    sendFrame: (peer, frame) => frames.push({ peer, frame }),
    sendBytes: (peer, bytes) => {
      const parsed = parseFrame(bytes);
      if (!parsed.ok) throw new Error(parsed.reason);
      frames.push({ peer, frame: parsed.frame });
    },
    toOwnReplica: (request) => local.push(request),
    setOwnKey: (key) => (ownKey = key),
  });
  return { client, frames, local, ownKey: () => ownKey };
}

describe('OwnClient', () => {
  it('sends its MAC key to every other replica as a frame, and hands its own replica its key directly', () => {
    const { client, frames, ownKey } = setup();
    client.sendKeys();
    expect(frames.map((f) => [f.peer, f.frame.kind])).toEqual([
      ['peer-0', 'client-key'],
      ['peer-1', 'client-key'],
      ['peer-3', 'client-key'],
    ]);
    expect(ownKey()).toHaveLength(32);
  });

  it('sends a request to the primary as a frame, and settles on f+1 matching replies', async () => {
    const { client, frames, local } = setup(SELF);
    const outcome = client.submit({ kind: 'delete', path: '/nothing' });
    expect(local).toEqual([]);
    expect(frames.map((f) => [f.peer, f.frame.kind])).toEqual([['peer-0', 'client-request']]);
    const request = (frames[0]!.frame as Extract<WireFrame, { kind: 'client-request' }>).request;
    const result = encodeResult(fileError('NOT_FOUND', 'no such file'));
    for (const replica of [1, 3]) client.onReply(replica, reply(request, replica, result));
    await expect(outcome).resolves.toMatchObject({ matching: 2, result: { kind: 'error', code: 'NOT_FOUND' } });
  });

  it('hands a request to its own replica without the network when it is the primary', () => {
    const { client, frames, local } = setup('peer-0');
    void client.submit({ kind: 'delete', path: '/nothing' });
    expect(frames).toEqual([]);
    expect(local.map((r) => r.client)).toEqual(['peer-0']);
  });
});

function reply(request: Request, replica: number, result: Uint8Array): Reply {
  return {
    type: 'reply',
    view: 0,
    timestamp: request.timestamp,
    client: request.client,
    replica,
    tentative: false,
    readOnly: false,
    result,
  };
}
