/**
 * The Messages panel's space-time (Lamport) diagram, laid out from this replica's event stream:
 * time runs left to right, one horizontal lane per replica plus one for clients, and each message
 * is an arrow between lanes, coloured by type.
 *
 * A dashboard sees only its own replica's side of each message: when it sent (`out`) or received
 * (`in`) it. The other end's time is unknown here, so none is drawn: each message is a vertical stub
 * at its time on this replica's lane, reaching part of the way toward the other lane (an open end,
 * not a guessed one). The Room tab pairs each send with its receives across machines.
 */
import type { LabEvent } from '../../../core/host/lab-api.ts';

export type MessageEvent = Extract<LabEvent, { kind: 'message' }> & {
  /** Set by the messages store when it takes the event in: a stable key while the ring rolls. */
  readonly id?: number;
};

/** Message types and their colours (the legend lists them in protocol order). */
export const MESSAGE_COLOURS: Readonly<Record<string, string>> = {
  request: '#64748b',
  'pre-prepare': '#2563eb',
  prepare: '#0d9488',
  commit: '#16a34a',
  reply: '#7c3aed',
  checkpoint: '#ca8a04',
  'view-change': '#dc2626',
  'new-view': '#ea580c',
  'fetch-state': '#db2777',
  'state-chunk': '#be185d',
};
const OTHER_COLOUR = '#94a3b8';

export function messageColour(type: string): string {
  return MESSAGE_COLOURS[type] ?? OTHER_COLOUR;
}

export interface DiagramOptions {
  /** Replicas in the roster. */
  readonly n: number;
  /** This machine's replica id; null (an observer, or forming) draws no arrows. */
  readonly selfId: number | null;
  /** The right edge of the window, in host uptime ms. */
  readonly endMs: number;
  /** How much time the window shows, ms. */
  readonly spanMs: number;
  /** Drawing size, px. */
  readonly width: number;
  readonly laneGap: number;
  readonly marginLeft: number;
  readonly marginRight: number;
  readonly marginTop: number;
  /** How far toward the other lane a stub reaches, as a fraction of the distance (its far end is open). */
  readonly stubFraction: number;
  /** Draw at most this many arrows, the newest. */
  readonly maxArrows: number;
}

export const DEFAULT_DIAGRAM_OPTIONS: Omit<DiagramOptions, 'n' | 'selfId' | 'endMs'> = {
  spanMs: 6_000,
  width: 760,
  laneGap: 34,
  marginLeft: 76,
  marginRight: 12,
  marginTop: 14,
  stubFraction: 0.45,
  maxArrows: 1_500,
};

export interface DiagramLane {
  readonly key: string;
  readonly label: string;
  readonly y: number;
  readonly isSelf: boolean;
}

export interface DiagramArrow {
  readonly key: string;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly type: string;
  readonly colour: string;
  readonly direction: 'in' | 'out';
  readonly text: string;
}

export interface DiagramTick {
  readonly x: number;
  readonly label: string;
}

export interface DiagramLayout {
  readonly width: number;
  readonly height: number;
  readonly lanes: readonly DiagramLane[];
  readonly arrows: readonly DiagramArrow[];
  readonly ticks: readonly DiagramTick[];
}

const CLIENTS_LANE = 'clients';

export function layoutDiagram(events: readonly MessageEvent[], options: DiagramOptions): DiagramLayout {
  const { n, selfId, endMs, spanMs, width, laneGap, marginLeft, marginRight, marginTop, stubFraction } = options;
  const lanes: DiagramLane[] = [];
  for (let r = 0; r < n; r++) {
    lanes.push({
      key: `r${r}`,
      label: r === selfId ? `r${r} (this)` : `r${r}`,
      y: marginTop + r * laneGap,
      isSelf: r === selfId,
    });
  }
  lanes.push({ key: CLIENTS_LANE, label: 'clients', y: marginTop + n * laneGap, isSelf: false });
  const height = marginTop * 2 + n * laneGap;
  const plotWidth = Math.max(1, width - marginLeft - marginRight);
  const startMs = endMs - spanMs;
  const xOf = (atMs: number): number => marginLeft + ((atMs - startMs) / spanMs) * plotWidth;
  const laneY = (peer: number | string): number | null => {
    if (typeof peer === 'number') return peer >= 0 && peer < n ? lanes[peer]!.y : null;
    return lanes[n]!.y;
  };

  // Newest first, so the limit keeps the newest; each event's arrows stay in lane order.
  const groups: DiagramArrow[][] = [];
  let arrowCount = 0;
  if (selfId !== null && selfId >= 0 && selfId < n) {
    const selfY = lanes[selfId]!.y;
    for (let i = events.length - 1; i >= 0 && arrowCount < options.maxArrows; i--) {
      const event = events[i]!;
      if (event.atMs < startMs || event.atMs > endMs) continue;
      const x = xOf(event.atMs);
      const targets =
        event.peer === 'all'
          ? lanes
              .slice(0, n)
              .filter((lane) => !lane.isSelf)
              .map((lane) => lane.y)
          : [laneY(event.peer)];
      const group: DiagramArrow[] = [];
      targets.forEach((otherY, t) => {
        if (otherY === null || otherY === selfY) return;
        const base = {
          type: event.type,
          colour: messageColour(event.type),
          direction: event.direction,
          text: event.text,
        };
        const key = `${event.id ?? i}:${t}`;
        const openEnd = selfY + (otherY - selfY) * stubFraction;
        if (event.direction === 'out') group.push({ key, x1: x, y1: selfY, x2: x, y2: openEnd, ...base });
        else group.push({ key, x1: x, y1: openEnd, x2: x, y2: selfY, ...base });
      });
      groups.push(group);
      arrowCount += group.length;
    }
  }
  const arrows = groups.reverse().flat();

  return { width, height, lanes, arrows, ticks: timeTicks(startMs, endMs, xOf) };
}

/** Whole-second ticks (every 5 s for long windows), labelled relative to the right edge. */
export function timeTicks(startMs: number, endMs: number, xOf: (atMs: number) => number): DiagramTick[] {
  const span = endMs - startMs;
  if (span <= 0) return [];
  const stepMs = span > 20_000 ? 5_000 : 1_000;
  const ticks: DiagramTick[] = [];
  for (let offset = 0; offset <= span; offset += stepMs) {
    const at = endMs - offset;
    ticks.push({ x: xOf(at), label: offset === 0 ? '0 s' : `−${offset / 1000} s` });
  }
  return ticks.reverse();
}

/** How far back (ms) the oldest held event lies behind the newest: the range of the scroll-back control. */
export function scrollRangeMs(events: readonly MessageEvent[], spanMs: number): number {
  if (events.length < 2) return 0;
  return Math.max(0, events[events.length - 1]!.atMs - events[0]!.atMs - spanMs);
}
