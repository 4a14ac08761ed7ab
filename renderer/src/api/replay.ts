/**
 * The replay server's endpoints (`pbft-lab replay RUN --serve`): same origin, authenticated by the
 * cookie the server set when the page was opened with its token.
 */
import type { ScrubEvent, ScrubState, ScrubSummary } from '../../../core/record/scrub-types.ts';

export interface ReplaySource {
  summary(): Promise<ScrubSummary>;
  /** Events of the scrubber positions from..to. */
  events(from: number, to: number): Promise<ScrubEvent[]>;
  state(index: number): Promise<ScrubState>;
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

export const httpReplaySource: ReplaySource = {
  summary: () => getJson('/api/replay/summary'),
  events: (from, to) => getJson(`/api/replay/events?from=${from}&to=${to}`),
  state: (index) => getJson(`/api/replay/state?index=${index}`),
};

/** The page was opened as a replay (the replay server's URL carries `replay=1`). */
export function isReplayPage(href: string): boolean {
  return new URL(href).searchParams.has('replay');
}
