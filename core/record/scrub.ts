/**
 * What the scrubbing view shows of a run (TEACHING.md §3, §8c): the steps worth stopping at, in
 * the replay's order (every step where a replica received, sent, executed or changed something),
 * the exercise's chapters and checks with the step that shows each, and each replica's state at any
 * step as the dashboard's panels show a live one (a LabSnapshot).
 *
 * The state at a step comes from replaying the run up to it: going forward continues the replay,
 * going back starts a new one (a run of a class takes well under a second to replay).
 */
import type { LabSnapshot } from '../host/lab-api.ts';
export type { ScrubEvent, ScrubState, ScrubSummary } from './scrub-types.ts';
import type { Hasher } from '../pbft/crypto.ts';
import { describeEvent } from './causality.ts';
import { Replayer } from './replay.ts';
import type { ScrubEvent, ScrubState, ScrubSummary } from './scrub-types.ts';
import type { RunFile, Verdict } from './run-file.ts';
import { buildTimeline, type Timeline } from './timeline.ts';

export class ScrubModel {
  readonly run: RunFile;
  readonly timeline: Timeline;
  private readonly hasher: Hasher;
  private readonly name: string;
  private readonly verdicts: readonly Verdict[];
  private readonly steps: number[];
  private readonly events: ScrubEvent[];
  private replayer: Replayer;

  constructor(run: RunFile, hasher: Hasher, options: { name: string; verdicts?: readonly Verdict[] }) {
    this.run = run;
    this.hasher = hasher;
    this.name = options.name;
    this.verdicts = options.verdicts ?? run.verdicts;
    this.timeline = buildTimeline(run, hasher);
    this.events = this.timeline.events
      .filter(
        (e) =>
          e.kind !== 'start' &&
          e.kind !== 'end' &&
          !((e.kind === 'recv' || e.kind === 'send') && e.message.type === 'status'),
      )
      .map((e) => ({ index: e.index, replica: e.replica, w: e.w, ...describeEvent(e) }));
    this.steps = [...new Set(this.events.map((e) => e.index))].sort((a, b) => a - b);
    this.replayer = this.newReplayer();
  }

  summary(): ScrubSummary {
    const t = this.timeline;
    const firstAfter = (w: number): number => this.events.find((e) => e.w >= w)?.index ?? this.steps.at(-1) ?? 0;
    const seqs = new Map<number, number>();
    for (const e of t.events)
      if (e.kind === 'event' && e.event.type === 'executed' && t.correct.has(e.replica) && !seqs.has(e.event.seq))
        seqs.set(e.event.seq, e.index);
    return {
      name: this.name,
      n: t.n,
      source: this.run.header.source,
      clock: this.run.header.clock,
      exercise: this.run.header.exercise?.id ?? null,
      steps: this.steps,
      replay: t.replay,
      startW: t.startW,
      endW: t.endW,
      chapters: this.run.marks.map((m) => ({ step: m.step, index: firstAfter(m.w) })),
      seqs: [...seqs].map(([seq, index]) => ({ seq, index })).sort((a, b) => a.seq - b.seq),
      verdicts: this.verdicts,
    };
  }

  /** The events of the steps from position `from` to `to` (positions in `summary().steps`). */
  eventsBetween(from: number, to: number): ScrubEvent[] {
    const lo = this.steps[Math.max(0, from)] ?? Infinity;
    const hi = this.steps[Math.min(this.steps.length - 1, to)] ?? -Infinity;
    return this.events.filter((e) => e.index >= lo && e.index <= hi);
  }

  /** Every replica as it was right after replay step `index`. */
  stateAt(index: number): ScrubState {
    const target = Math.max(0, Math.min(index, this.replayer.length - 1));
    if (this.replayer.position > target + 1) this.replayer = this.newReplayer();
    let w = this.timeline.startW;
    while (this.replayer.position <= target) {
      const step = this.replayer.next();
      if (!step) break;
      w = step.entry.w;
    }
    const header = this.run.header;
    const replicas = Array.from({ length: header.n }, (_, r): LabSnapshot | null => {
      const faulty = this.replayer.current(r);
      if (!faulty) return null;
      const replica = faulty.replica;
      const stable = replica.stableCheckpoint;
      const start = this.run.sessions.find((s) => s.replica === r)?.entries[0];
      const roster = start?.k === 'start' ? (start.roster ?? []) : [];
      const counted = this.timeline.events.filter((e) => e.replica === r && e.index <= target && e.kind === 'event');
      const count = (type: string) => counted.filter((e) => e.kind === 'event' && e.event.type === type).length;
      return {
        self: {
          peerId: roster[r] ?? `replica-${r}`,
          cluster: (start?.k === 'start' ? start.cluster : undefined) ?? 'replay',
          size: header.n,
          f: (header.n - 1) / 3,
          role: 'replica',
          replicaId: r,
          addresses: [],
          clusterKey: null,
        },
        roster: [...roster],
        proposedRoster: null,
        view: { view: replica.view, primary: replica.primary, status: replica.status },
        log: replica.logRows(),
        checkpoints: {
          stableSeq: stable.seq,
          stableDigest: stable.stateDigest,
          proofFrom: stable.proof.map((cp) => cp.replica),
          lowWatermark: replica.lowWatermark,
          highWatermark: replica.highWatermark,
          lastExecuted: replica.lastExecuted,
        },
        peers: [],
        metrics: {
          uptimeMs: w - this.timeline.startW,
          executedRequests: 0,
          executedBatches: count('executed'),
          viewChanges: count('view-change-started'),
          stateTransfers: count('state-transfer-completed'),
          ignoredMessages: count('ignored'),
          framesIn: 0,
          framesOut: 0,
          bytesIn: 0,
          bytesOut: 0,
          framesDropped: 0,
        },
        faults: { paused: false, disconnectedFrom: [], delayMs: 0 },
        behaviour: faulty.behaviourId,
        faultySoFar: null,
      };
    });
    return { index: target, w, replicas };
  }

  private newReplayer(): Replayer {
    return new Replayer(this.run.sessions, { hasher: this.hasher, coalitions: this.run.header.coalitions });
  }
}
