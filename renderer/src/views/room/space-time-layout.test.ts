import { describe, expect, it } from 'vitest';
import type { RoomEvent } from '../../../../core/host/room-types.ts';
import type { TelemetryBody } from '../../../../core/host/telemetry-events.ts';
import { layoutSpaceTime, requestLife } from './space-time-layout.ts';

let at = 0;
const ev = (replica: number, vc: number[], body: TelemetryBody): RoomEvent => ({
  replica,
  incarnation: 'i',
  index: vc[replica]!,
  vc,
  wallMs: 0,
  body,
  at: ++at,
});
const msg = { view: 0, digest: 'd'.repeat(64), text: '' };

/** A request from client c at r0 (the primary), its PRE-PREPARE to r1, r1's PREPARE back, the reply. */
function run(): RoomEvent[] {
  return [
    ev(0, [1, 0], {
      kind: 'receive',
      msgId: 'req:c:1',
      from: 'c',
      type: 'request',
      seq: null,
      ...msg,
      requests: ['c:1'],
    }),
    ev(0, [2, 0], { kind: 'send', msgId: '0.i.2', to: [1], type: 'pre-prepare', seq: 1, ...msg, requests: ['c:1'] }),
    ev(1, [2, 1], { kind: 'receive', msgId: '0.i.2', from: 0, type: 'pre-prepare', seq: 1, ...msg, requests: ['c:1'] }),
    ev(1, [2, 2], { kind: 'send', msgId: '1.i.2', to: [0], type: 'prepare', seq: 1, ...msg }),
    ev(1, [2, 3], { kind: 'state', type: 'prepared', view: 0, seq: 1, digest: msg.digest, text: 'prepared n=1' }),
    ev(0, [3, 2], { kind: 'receive', msgId: '1.i.2', from: 1, type: 'prepare', seq: 1, ...msg }),
    ev(0, [4, 2], { kind: 'send', msgId: 'rep:0.i.4', to: 'c', type: 'reply', seq: null, ...msg, requests: ['c:1'] }),
    ev(1, [2, 4], { kind: 'send', msgId: '1.i.4', to: [0], type: 'commit', seq: 1, ...msg }),
  ];
}

describe('the room diagram layout', () => {
  it('draws an arrow only between a send and its receives, in causal rows', () => {
    const layout = layoutSpaceTime(run(), 2);
    const pre = layout.edges.find((e) => e.type === 'pre-prepare')!;
    expect(pre.from.lane).toBe(0);
    expect(pre.to.lane).toBe(1);
    expect(pre.to.row).toBeGreaterThan(pre.from.row);
    const prepare = layout.edges.find((e) => e.type === 'prepare')!;
    expect(prepare.to.row).toBeGreaterThan(prepare.from.row);
    // The COMMIT's receive is not in the window: its send is marked, no arrow is guessed.
    expect(layout.edges.some((e) => e.type === 'commit')).toBe(false);
    expect(layout.nodes.find((n) => n.type === 'commit')?.unpaired).toBe(true);
  });

  it('gives every arrow its own key, even a REQUEST the client sent again to the same replica', () => {
    const again = ev(0, [5, 2], {
      kind: 'receive',
      msgId: 'req:c:1',
      from: 'c',
      type: 'request',
      seq: null,
      ...msg,
      requests: ['c:1'],
    });
    const layout = layoutSpaceTime([...run(), again], 2);
    expect(layout.edges.filter((e) => e.type === 'request')).toHaveLength(2);
    const keys = layout.edges.map((e) => e.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("draws clients' lanes from the replicas' receives and replies", () => {
    const layout = layoutSpaceTime(run(), 2);
    expect(layout.lanes.map((l) => l.label)).toEqual(['r0', 'r1', 'c c']);
    const request = layout.edges.find((e) => e.type === 'request')!;
    expect(request.from.lane).toBe(2);
    expect(request.from.row).toBeLessThan(request.to.row);
    const reply = layout.edges.find((e) => e.type === 'reply')!;
    expect(reply.to.lane).toBe(2);
    expect(reply.to.row).toBeGreaterThan(reply.from.row);
  });

  it('filters by sequence number and type, and follows one request through its life', () => {
    expect(layoutSpaceTime(run(), 2, { types: ['prepare'] }).edges.map((e) => e.type)).toEqual(['prepare']);
    const bySeq = layoutSpaceTime(run(), 2, { seq: 1 });
    expect(new Set(bySeq.edges.map((e) => e.type))).toEqual(new Set(['pre-prepare', 'prepare', 'request', 'reply']));
    const layout = layoutSpaceTime(run(), 2);
    const life = requestLife(layout, 'c:1', 0);
    expect(life.seq).toBe(1);
    expect(life.moments.map((m) => m.text)).toContain('prepared: PRE-PREPARE + 0 PREPAREs');
    expect(life.moments.some((m) => m.text.startsWith('f+1'))).toBe(true);
  });
});
