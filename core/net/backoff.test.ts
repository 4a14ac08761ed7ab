/** Reconnect delays: exponential growth, the cap, and jitter that only ever shortens a delay. */
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_BACKOFF } from './backoff.ts';

describe('backoffDelayMs', () => {
  const noJitter = (): number => 0;
  const fullJitter = (): number => 0.999999;

  it('doubles from the initial delay and stops at the cap', () => {
    const delays = [0, 1, 2, 3, 6, 7, 8, 50, 5000].map((retry) => backoffDelayMs(retry, DEFAULT_BACKOFF, noJitter));
    expect(delays).toEqual([100, 200, 400, 800, 6400, 10_000, 10_000, 10_000, 10_000]);
  });

  it('takes up to `jitter` of the delay away, never adds to it', () => {
    expect(backoffDelayMs(3, DEFAULT_BACKOFF, fullJitter)).toBe(640);
    expect(backoffDelayMs(100, DEFAULT_BACKOFF, fullJitter)).toBe(8000);
  });
});
