/**
 * A run as a timeline: what each replica received, sent, did and switched to, in the replay's order,
 * with the time it happened (`w`, the run's clock). The exercises' checks, the exports and the
 * scrubbing view all read runs through it; it is built by replaying the run, so it shows exactly what
 * the recorded replicas did (and stops where a replay diverges, which it reports).
 */
import type { Hasher } from '../pbft/crypto.ts';
import type { Message, Reply, ReplicaMessage } from '../pbft/messages.ts';
import type { ReplicaEvent } from '../pbft/outputs.ts';
import type { NoteEntry } from './format.ts';
import { replayRun, type ReplayObserver, type ReplayResult } from './replay.ts';
import type { RunFile } from './run-file.ts';

interface At {
  /** Position in the replay's order: the scrubber's step. */
  readonly index: number;
  readonly replica: number;
  readonly session: number;
  readonly w: number;
}

export type TimelineEvent = At &
  (
    | { readonly kind: 'start' }
    | { readonly kind: 'recv'; readonly from: number | string; readonly message: Message }
    | { readonly kind: 'send'; readonly to: number | 'all'; readonly message: ReplicaMessage }
    | { readonly kind: 'reply'; readonly client: string; readonly reply: Reply }
    | { readonly kind: 'event'; readonly event: ReplicaEvent }
    | { readonly kind: 'behaviour'; readonly behaviour: string | null }
    | { readonly kind: 'note'; readonly note: NoteEntry }
    | { readonly kind: 'end' }
  );

export interface Timeline {
  readonly run: RunFile;
  readonly events: readonly TimelineEvent[];
  readonly n: number;
  /** Replicas that never ran a Byzantine behaviour in the run: the ones the checks judge. */
  readonly correct: ReadonlySet<number>;
  /** The first and last moment of the run (the run's clock). */
  readonly startW: number;
  readonly endW: number;
  readonly replay: ReplayResult;
}

export function buildTimeline(run: RunFile, hasher: Hasher, extra?: ReplayObserver): Timeline {
  const events: TimelineEvent[] = [];
  const byzantine = new Set<number>();
  const observer: ReplayObserver = (step) => {
    extra?.(step);
    const { entry, session } = step;
    const at = { index: step.index, replica: session.replica, session: session.session, w: entry.w };
    switch (entry.k) {
      case 'start':
        return void events.push({ ...at, kind: 'start' });
      case 'step':
        return void events.push({ ...at, kind: 'recv', from: entry.from, message: step.message! });
      case 'use':
        if (entry.b !== null) byzantine.add(session.replica);
        return void events.push({ ...at, kind: 'behaviour', behaviour: entry.b });
      case 'note':
        return void events.push({ ...at, kind: 'note', note: entry });
      case 'end':
        return void events.push({ ...at, kind: 'end' });
      case 'tick':
        return;
      case 'take':
        for (const o of step.outputs ?? []) {
          if (o.kind === 'send') events.push({ ...at, kind: 'send', to: o.to, message: o.message });
          else if (o.kind === 'broadcast') events.push({ ...at, kind: 'send', to: 'all', message: o.message });
          else if (o.kind === 'reply') events.push({ ...at, kind: 'reply', client: o.client, reply: o.reply });
          else if (o.kind === 'event') events.push({ ...at, kind: 'event', event: o.event });
        }
        return;
    }
  };
  const replay = replayRun(run.sessions, {
    hasher,
    coalitions: run.header.coalitions,
    observer,
  });
  let startW = Infinity;
  let endW = -Infinity;
  const see = (w: number): void => {
    if (w < startW) startW = w;
    if (w > endW) endW = w;
  };
  for (const e of events) see(e.w);
  for (const m of run.marks) see(m.w);
  for (const o of run.ops) {
    see(o.invokedW);
    if (o.completedW !== null) see(o.completedW);
  }
  const n = run.header.n;
  return {
    run,
    events,
    n,
    correct: new Set(Array.from({ length: n }, (_, r) => r).filter((r) => !byzantine.has(r))),
    startW: Number.isFinite(startW) ? startW : 0,
    endW: Number.isFinite(endW) ? endW : 0,
    replay,
  };
}

/** When step `id` started (the run's clock), or undefined if the run never got there. */
export function markOf(timeline: Timeline, id: string): number | undefined {
  return timeline.run.marks.find((m) => m.step === id)?.w;
}
