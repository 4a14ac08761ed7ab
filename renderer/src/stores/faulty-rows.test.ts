import { describe, expect, it } from 'vitest';
import { fakeFaultySoFar, fakeSnapshot, PEER_IDS } from '../test-support/fake-lab-api.ts';
import { clockTime, faultyView, silentMembers } from './faulty-rows.ts';

const at = (minute: number) => Date.UTC(2026, 11, 7, 9, minute, 0);

describe('faulty so far, as the dashboard shows it', () => {
  it('counts against f, names who and since when (on its clock), and asks before a switch beyond f', () => {
    const none = faultyView(fakeFaultySoFar(), 2);
    expect(none).toMatchObject({
      label: 'faulty so far: 0 of f = 1',
      tone: 'ok',
      rows: [],
      switchNeedsConfirmation: false,
    });

    const one = faultyView(
      fakeFaultySoFar({
        0: [
          { n: 1, atMs: at(1), behaviour: 'corrupt-reply' },
          { n: 2, atMs: at(2), behaviour: null },
        ],
      }),
      2,
    );
    expect(one.label).toBe('faulty so far: 1 of f = 1');
    expect(one.tone).toBe('warn');
    expect(one.rows.map((r) => [r.replicaId, r.text])).toEqual([
      [0, `corrupt-reply from ${clockTime(at(1))} on its clock; honest again`],
    ]);
    // This machine (replica 2) would be the second: confirm first. Replica 0 itself would not.
    expect(one.switchNeedsConfirmation).toBe(true);
    expect(
      faultyView(fakeFaultySoFar({ 0: [{ n: 1, atMs: at(1), behaviour: 'silent' }] }), 0).switchNeedsConfirmation,
    ).toBe(false);

    const two = faultyView(
      fakeFaultySoFar(
        { 0: [{ n: 1, atMs: at(1), behaviour: 'silent' }], 3: [{ n: 1, atMs: at(4), behaviour: 'flood' }] },
        [1],
      ),
      2,
    );
    expect(two).toMatchObject({ count: 2, beyondBound: true, tone: 'bad' });
    expect(two.rows.map((r) => [r.replicaId, r.known])).toEqual([
      [0, true],
      [1, false],
      [3, true],
    ]);
    expect(two.rows[1]!.text).toMatch(/has not reached this machine: it may have been Byzantine/);
    expect(two.rows[0]!.text).toBe(`silent from ${clockTime(at(1))} on its clock; still on`);
  });

  it('finds the roster members not heard from for a while', () => {
    const snapshot = fakeSnapshot({ selfId: 0 });
    const peers = snapshot.peers.map((p) =>
      p.replicaId === 3
        ? { ...p, lastHeardMsAgo: 42_000, connected: false }
        : p.replicaId === 2
          ? { ...p, lastHeardMsAgo: null }
          : p,
    );
    expect(silentMembers({ ...snapshot, peers })).toEqual([
      { replicaId: 2, peerShortId: `…${PEER_IDS[2].slice(-8)}`, silentSeconds: null },
      { replicaId: 3, peerShortId: `…${PEER_IDS[3].slice(-8)}`, silentSeconds: 42 },
    ]);
    expect(silentMembers(snapshot)).toEqual([]);
  });
});
