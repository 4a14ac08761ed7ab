/**
 * RoomModel's comparisons of digests: snapshots carry a batch's whole digest, events only its first
 * DIGEST_CHARS hex digits (telemetry-binary.ts). The same batch seen both ways is the same batch: the
 * cross-replica log marks nothing red and the checker stays quiet.
 */
import { describe, expect, it } from 'vitest';
import type { LabSnapshot } from './lab-api.ts';
import { RoomModel } from './room-model.ts';
import { DIGEST_CHARS } from './telemetry-binary.ts';
import type { TelemetryEvent, TelemetryState } from './telemetry-events.ts';

const N = 4;
const batch = 'ab'.repeat(32);
const state = 'cd'.repeat(32);
const nullDigest = 'ef'.repeat(32);

/** What RoomModel.snapshot reads of a replica's snapshot: its log at seq 1 executed, a stable checkpoint at 1. */
function snapshotOf(replica: number, view: number): LabSnapshot {
  return {
    self: { size: N, cluster: 'c', replicaId: replica, role: 'replica', peerId: `p${replica}` },
    roster: ['p0', 'p1', 'p2', 'p3'],
    peers: [],
    behaviour: null,
    faults: null,
    faultySoFar: null,
    view: { view, primary: view % N, status: 'normal' },
    checkpoints: { lastExecuted: 1, stableSeq: 1, stableDigest: state, lowWatermark: 1, highWatermark: 9 },
    log: [{ seq: 1, phase: 'executed', digest: batch, view }],
  } as unknown as LabSnapshot;
}

let index = 0;
function stateEvent(replica: number, body: Omit<TelemetryState, 'kind' | 'text'>): TelemetryEvent {
  index++;
  const vc = Array.from({ length: N }, (_, r) => (r === replica ? index : 0));
  return { replica, incarnation: 'i', index, vc, wallMs: 0, body: { kind: 'state', text: body.type, ...body } };
}

describe('RoomModel', () => {
  it('takes a whole digest from a snapshot and its first hex digits from an event for the same batch and state', () => {
    const model = new RoomModel({ now: () => 0, nullDigest });
    for (let r = 0; r < N; r++) model.hello(`p${r}`, { peerId: `p${r}`, cluster: 'c', size: N, replica: r } as never);
    // r0 only through its snapshot (it went silent), the others through their events, in a later view.
    model.snapshot('p0', snapshotOf(0, 0));
    for (let r = 1; r < N; r++) {
      model.ingest(`p${r}`, 0, [
        stateEvent(r, { type: 'executed', view: 1, seq: 1, digest: batch.slice(0, DIGEST_CHARS) }),
        stateEvent(r, { type: 'checkpoint', view: 1, seq: 1, digest: state.slice(0, DIGEST_CHARS) }),
      ]);
      model.snapshot(`p${r}`, snapshotOf(r, 1));
    }
    const room = model.state();
    const row = room.crossLog.find((x) => x.seq === 1)!;
    expect(row.cells.map((c) => c?.differs)).toEqual([false, false, false, false]);
    expect(row.checkpoint!.map((c) => c?.differs)).toEqual([false, false, false, false]);
    expect(room.checks.find((c) => c.id === 'agreement')?.status).toBe('ok');
    expect(room.checks.find((c) => c.id === 'checkpoints')?.status).toBe('ok');
  });

  it("marks the null request in a NEW-VIEW's O, whose digest travels shortened", () => {
    const model = new RoomModel({ now: () => 0, nullDigest });
    model.hello('p1', { peerId: 'p1', cluster: 'c', size: N, replica: 1 } as never);
    model.ingest('p1', 0, [
      stateEvent(1, {
        type: 'new-view',
        view: 1,
        seq: null,
        digest: null,
        primary: 1,
        minSeq: 0,
        maxSeq: 2,
        order: [
          { seq: 1, digest: batch.slice(0, DIGEST_CHARS) },
          { seq: 2, digest: nullDigest.slice(0, DIGEST_CHARS) },
        ],
      }),
    ]);
    const order = model.state().viewChanges[0]!.newView!.order;
    expect(order.map((o) => o.isNull)).toEqual([false, true]);
  });
});
