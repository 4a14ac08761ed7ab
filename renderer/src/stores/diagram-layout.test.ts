import { describe, expect, it } from 'vitest';
import { messageEvent } from '../test-support/fake-lab-api.ts';
import { DEFAULT_DIAGRAM_OPTIONS, layoutDiagram, messageColour, scrollRangeMs, timeTicks } from './diagram-layout.ts';

const options = {
  ...DEFAULT_DIAGRAM_OPTIONS,
  n: 4,
  selfId: 1,
  endMs: 10_000,
  spanMs: 1_000,
  width: 1_100,
  marginLeft: 100,
  marginRight: 0,
};

describe('space-time diagram layout', () => {
  it('has one lane per replica plus a clients lane, this replica marked', () => {
    const layout = layoutDiagram([], options);
    expect(layout.lanes.map((l) => l.label)).toEqual(['r0', 'r1 (this)', 'r2', 'r3', 'clients']);
    expect(layout.lanes.map((l) => l.y)).toEqual([14, 48, 82, 116, 150]);
  });

  it('draws a message sent to one replica as a stub from this lane toward that lane, at its time', () => {
    const layout = layoutDiagram([messageEvent(9_500, 'out', 3, 'prepare')], options);
    expect(layout.arrows).toHaveLength(1);
    const arrow = layout.arrows[0]!;
    // 9 500 ms is halfway through the 1 s window that ends at 10 000 ms: x = 100 + 0.5 × 1000.
    expect(arrow).toMatchObject({
      x1: 600,
      y1: 48,
      x2: 600,
      // Part of the way to r3's lane (y 116): the far end's time is not known here, so none is drawn.
      y2: 48 + (116 - 48) * DEFAULT_DIAGRAM_OPTIONS.stubFraction,
      type: 'prepare',
      colour: messageColour('prepare'),
    });
  });

  it('draws a received message as a stub from toward the sender lane into this lane, at its time', () => {
    const [arrow] = layoutDiagram([messageEvent(10_000, 'in', 0, 'pre-prepare')], options).arrows;
    const from = 48 + (14 - 48) * DEFAULT_DIAGRAM_OPTIONS.stubFraction;
    expect(arrow).toMatchObject({ x1: 1_100, y1: from, x2: 1_100, y2: 48, direction: 'in' });
  });

  it('fans a broadcast out to every other replica', () => {
    const layout = layoutDiagram([messageEvent(9_900, 'out', 'all', 'commit')], options);
    const f = DEFAULT_DIAGRAM_OPTIONS.stubFraction;
    expect(layout.arrows.map((a) => a.y2)).toEqual([14, 82, 116].map((y) => 48 + (y - 48) * f));
  });

  it('puts clients (peer ids) on the clients lane', () => {
    const [arrow] = layoutDiagram([messageEvent(9_900, 'in', '12D3KooWclient', 'request')], options).arrows;
    expect(arrow!.y1).toBe(48 + (150 - 48) * DEFAULT_DIAGRAM_OPTIONS.stubFraction);
  });

  it('leaves out messages outside the window and peers outside the roster', () => {
    const layout = layoutDiagram(
      [
        messageEvent(8_000, 'out', 0, 'prepare'),
        messageEvent(10_500, 'out', 0, 'prepare'),
        messageEvent(9_900, 'in', 9, 'prepare'),
      ],
      options,
    );
    expect(layout.arrows).toEqual([]);
  });

  it('keeps only the newest arrows beyond the limit, oldest first', () => {
    const events = [1, 2, 3, 4, 5].map((i) => messageEvent(9_000 + i * 100, 'out', 0, 'prepare'));
    const layout = layoutDiagram(events, { ...options, maxArrows: 2 });
    expect(layout.arrows.map((a) => a.x1)).toEqual([500, 600]);
  });

  it('draws no arrows for a machine that runs no replica', () => {
    expect(layoutDiagram([messageEvent(9_900, 'out', 0, 'prepare')], { ...options, selfId: null }).arrows).toEqual([]);
  });

  it('gives unknown message types a neutral colour', () => {
    expect(messageColour('status')).toBe('#94a3b8');
    expect(messageColour('view-change')).not.toBe(messageColour('commit'));
  });

  it('ticks whole seconds back from the right edge', () => {
    const ticks = timeTicks(7_000, 10_000, (at) => at / 10);
    expect(ticks).toEqual([
      { x: 700, label: '−3 s' },
      { x: 800, label: '−2 s' },
      { x: 900, label: '−1 s' },
      { x: 1_000, label: '0 s' },
    ]);
  });

  it('can scroll back over what the ring holds beyond one window', () => {
    const events = [messageEvent(1_000, 'out', 0, 'prepare'), messageEvent(9_000, 'out', 0, 'prepare')];
    expect(scrollRangeMs(events, 3_000)).toBe(5_000);
    expect(scrollRangeMs(events.slice(0, 1), 3_000)).toBe(0);
  });
});
