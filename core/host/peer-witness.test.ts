import { describe, expect, it } from 'vitest';
import type { Commit, Prepare, Status } from '../pbft/messages.ts';
import { PeerWitness } from './peer-witness.ts';

const D = 'a'.repeat(64);
const vote = (type: 'prepare' | 'commit', replica: number, seq: number, digest = D): Prepare | Commit => ({
  type,
  view: 0,
  seq,
  digest,
  replica,
});
const status = (replica: number, view: number): Status => ({
  type: 'status',
  view,
  normal: true,
  lastExecuted: 0,
  firstUncommitted: 1,
  stableSeq: 0,
  replica,
});

function witness() {
  let now = 0;
  const w = new PeerWitness({ self: 1, n: 4, now: () => now });
  return { w, advance: (ms: number) => (now += ms) };
}

describe('what a replica can tell about its peers', () => {
  it('names the primary when a request waits for its PRE-PREPARE', () => {
    const { w, advance } = witness();
    w.request('c', 1);
    advance(2_100);
    expect(w.notes(0)).toContain('r0 (primary): no PRE-PREPARE for a request waiting 2.1 s');
    w.message(0, {
      type: 'pre-prepare',
      view: 0,
      seq: 1,
      digest: D,
      requests: [{ type: 'request', client: 'c', timestamp: 1, readOnly: false, op: new Uint8Array(), auth: [] }],
      replica: 0,
    });
    expect(w.notes(0).join()).not.toMatch(/waiting/);
  });

  it("counts a peer's missing votes over the last rows, and a digest no one else sent", () => {
    const { w } = witness();
    for (let seq = 1; seq <= 10; seq++) {
      w.event({ type: 'pre-prepared', view: 0, seq, digest: D, batchSize: 1 });
      for (const peer of [0, 2]) w.message(peer, vote('commit', peer, seq));
      w.message(2, vote('prepare', 2, seq));
      if (seq === 7) w.message(0, vote('prepare', 0, seq, 'b'.repeat(64)));
      w.event({ type: 'executed', view: 0, seq, digest: D, requests: [] });
    }
    const notes = w.notes(0);
    expect(notes).toContain("r3's votes (PREPARE, COMMIT) missing from 10 of the last 10 rows");
    expect(notes).toContain('r0 sent a digest no one else sent at n=7 (bbbbbbbb)');
    expect(notes.some((n) => n.startsWith('r2'))).toBe(false);
  });

  it('tells a silent replica the truth about itself: frozen, and the others moved on', () => {
    const { w } = witness();
    w.message(0, status(0, 1));
    w.message(2, status(2, 1));
    expect(w.selfNotes(0, 'silent')).toEqual([
      expect.stringMatching(/^This replica is silent/),
      '2 other replicas report view 1 or later in their STATUS messages; this replica is still in view 0.',
    ]);
    expect(w.selfNotes(1, null)).toEqual([]);
  });
});
