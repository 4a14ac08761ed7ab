/**
 * The scrubber's arithmetic, apart from Vue: positions are indexes into the run's steps worth a stop;
 * a replay index (a check's witness, a chapter, a sequence number) maps to the position at or before it.
 */

/** The position of the last step at or before replay index `index` (0 if none). */
export function positionAtOrBefore(steps: readonly number[], index: number): number {
  let lo = 0;
  let hi = steps.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid]! <= index) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Playback speeds in steps per second, labelled as RaftScope does ("1/N×" slower, "N×" faster). */
export const SPEEDS: readonly { readonly label: string; readonly stepsPerSecond: number }[] = [
  { label: '1/8×', stepsPerSecond: 0.5 },
  { label: '1/4×', stepsPerSecond: 1 },
  { label: '1/2×', stepsPerSecond: 2 },
  { label: '1×', stepsPerSecond: 4 },
  { label: '4×', stepsPerSecond: 16 },
  { label: '16×', stepsPerSecond: 64 },
];

export function clampPosition(position: number, steps: readonly number[]): number {
  return Math.max(0, Math.min(steps.length - 1, Math.round(position)));
}
