import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TelemetryFeed } from '../net/telemetry-protocol.ts';
import type { LabSnapshot } from './lab-api.ts';
import { TELEMETRY_FLUSH_MS, TelemetryPublisher } from './telemetry-feed.ts';
import type { TelemetryFrame } from './telemetry-events.ts';
import { Telemetry } from './telemetry.ts';
import { decodeEventsFrame } from './telemetry-binary.ts';

/** A feed whose stream takes frames until `full`, then needs a drain. */
function fakeFeed() {
  const frames: (TelemetryFrame | { t: 'events'; lost: number; count: number })[] = [];
  let drain: (() => void) | null = null;
  const state = { full: false };
  const feed: TelemetryFeed = {
    peer: 'observer',
    closed: false,
    send(bytes) {
      const events = decodeEventsFrame(bytes);
      frames.push(
        events
          ? { t: 'events', lost: events.lost, count: events.events.length }
          : (JSON.parse(new TextDecoder().decode(bytes)) as TelemetryFrame),
      );
      return !state.full;
    },
    onDrain(callback) {
      drain = callback;
    },
    onClose() {},
    close() {},
  };
  return { feed, frames, state, drain: () => drain?.() };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('serving telemetry', () => {
  it('a slow observer: nothing is written until its stream drains, the oldest events go, and it is told how many', async () => {
    vi.useFakeTimers();
    const telemetry = new Telemetry({ replica: 0, n: 4 });
    const publisher = new TelemetryPublisher({
      telemetry: () => telemetry,
      hello: () => ({
        schema: 1,
        peerId: 'p',
        cluster: 'c',
        size: 4,
        replica: 0,
        incarnation: telemetry.incarnationText,
        roster: [],
      }),
      snapshot: async () => ({}) as LabSnapshot,
      note: () => {},
      maxQueued: 100,
    });
    const { feed, frames, state, drain } = fakeFeed();
    state.full = true;
    publisher.attach(feed);
    expect(frames.map((f) => f.t)).toEqual(['hello']);
    for (let i = 0; i < 250; i++) telemetry.behaviour(null);
    await vi.advanceTimersByTimeAsync(TELEMETRY_FLUSH_MS * 3);
    expect(frames.map((f) => f.t)).toEqual(['hello']);
    state.full = false;
    drain();
    await vi.advanceTimersByTimeAsync(TELEMETRY_FLUSH_MS);
    const events = frames.find((f) => f.t === 'events');
    expect(events?.t === 'events' && [events.lost, events.count]).toEqual([150, 100]);
    publisher.stop();
  });
});
