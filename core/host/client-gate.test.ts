/**
 * The client gate alone: a peer speaks only for itself and its logical clients, keys are kept only
 * for peers we know, and a peer the replicated state revoked is turned away with the reason.
 */
import { describe, expect, it } from 'vitest';
import type { Request } from '../pbft/messages.ts';
import { ClientGate } from './client-gate.ts';

const request = (client: string): Request => ({
  type: 'request',
  client,
  timestamp: 1,
  readOnly: false,
  op: new Uint8Array([1]),
  auth: [],
});

function setup(known: readonly string[] = ['peer-a', 'peer-b'], revoked: readonly string[] = []) {
  const admitted: string[] = [];
  const refused: { peer: string; reason: string }[] = [];
  const heard: string[] = [];
  const notes: string[] = [];
  const gate = new ClientGate({
    knows: (peer) => known.includes(peer),
    heardFrom: (peer) => heard.push(peer),
    admit: (_, r) => admitted.push(r.client),
    refuse: (peer, reason) => refused.push({ peer, reason }),
    revokedReason: (peer) => (revoked.includes(peer) ? `client ${peer} was revoked` : undefined),
    note: (line) => notes.push(line),
  });
  return { gate, admitted, refused, heard, notes };
}

describe('ClientGate', () => {
  it('asks a client for its key when one of its requests comes without it, at most once a second', () => {
    let clock = 0;
    const asked: string[] = [];
    const gate = new ClientGate({
      knows: () => true,
      heardFrom: () => {},
      admit: () => {},
      refuse: () => {},
      note: () => {},
      askForKey: (peer) => asked.push(peer),
      now: () => clock,
    });
    gate.onRequest('peer-a', request('peer-a/1'));
    gate.wantKey('peer-a/2'); // e.g. its request inside a PRE-PREPARE
    expect(asked).toEqual(['peer-a']);
    clock += 1_000;
    gate.wantKey('peer-a');
    expect(asked).toEqual(['peer-a', 'peer-a']);
    gate.setKey('peer-a', new Uint8Array(32));
    clock += 5_000;
    gate.wantKey('peer-a/3');
    expect(asked).toHaveLength(2); // it has the key now
  });

  it('admits a peer speaking for itself and its logical clients, not for another peer', () => {
    const { gate, admitted, notes } = setup();
    gate.onRequest('peer-a', request('peer-a'));
    gate.onRequest('peer-a', request('peer-a/7'));
    gate.onRequest('peer-a', request('peer-b/1'));
    expect(admitted).toEqual(['peer-a', 'peer-a/7']);
    expect(notes).toEqual([
      'request from peer-a ignored: it names client "peer-b/1", not that peer or one of its logical clients',
    ]);
  });

  it('keeps one MAC key per peer, for all its logical clients, and only for peers it knows', () => {
    const { gate } = setup();
    const key = new Uint8Array(32).fill(7);
    gate.setKey('peer-a', key);
    gate.setKey('peer-stranger', key);
    expect(gate.keyOf('peer-a/3')).toBe(key);
    expect(gate.keyOf('peer-stranger')).toBeUndefined();
    gate.forget('peer-a');
    expect(gate.keyOf('peer-a')).toBeUndefined();
  });

  it('turns a revoked peer away for itself and every logical client of it, telling the peer why', () => {
    const { gate, admitted, refused } = setup(['peer-a', 'peer-b'], ['peer-a']);
    gate.onRequest('peer-a', request('peer-a'));
    gate.onRequest('peer-a', request('peer-a/9'));
    gate.onRequest('peer-b', request('peer-b'));
    expect(admitted).toEqual(['peer-b']);
    expect(refused).toEqual([
      { peer: 'peer-a', reason: 'client peer-a was revoked' },
      { peer: 'peer-a', reason: 'client peer-a was revoked' },
    ]);
  });
});
