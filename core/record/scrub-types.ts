/**
 * What the replay server hands the scrubbing view (scrub.ts computes it), as plain JSON types with no
 * imports beyond the LabApi's, so that the dashboard can read them without Node.
 */
import type { LabSnapshot } from '../host/lab-api.ts';

export interface ScrubVerdict {
  readonly check: number;
  readonly title: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly witness?: number;
}

export interface ScrubDivergence {
  readonly replica: number;
  readonly session: number;
  readonly line: number;
  readonly index: number;
  readonly what: string;
  readonly call: string;
}

export interface ScrubSummary {
  readonly name: string;
  readonly n: number;
  readonly source: 'sim' | 'demo' | 'lab' | 'collected';
  readonly clock: 'virtual' | 'wall';
  readonly exercise: string | null;
  /** Replay indexes worth a stop, ascending: the scrubber's positions. */
  readonly steps: readonly number[];
  readonly replay: {
    readonly ok: boolean;
    readonly entries: number;
    readonly takes: number;
    readonly divergence: ScrubDivergence | null;
  };
  readonly startW: number;
  readonly endW: number;
  /** The exercise's steps: where each started. */
  readonly chapters: readonly { readonly step: string; readonly index: number }[];
  /** For "jump to a sequence number": the first step where a correct replica executed it. */
  readonly seqs: readonly { readonly seq: number; readonly index: number }[];
  readonly verdicts: readonly ScrubVerdict[];
}

export interface ScrubEvent {
  readonly index: number;
  readonly replica: number;
  readonly w: number;
  readonly type: string;
  readonly view: number | null;
  readonly seq: number | null;
  readonly text: string;
}

export interface ScrubState {
  readonly index: number;
  readonly w: number;
  /** Each replica at that step (null before its first session started). */
  readonly replicas: readonly (LabSnapshot | null)[];
}
