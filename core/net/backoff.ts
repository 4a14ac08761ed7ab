/**
 * Reconnect delays: capped exponential backoff with jitter, so a restarted peer is found again quickly
 * and n-1 replicas that lost the same peer do not redial it in lockstep.
 */

export interface BackoffOptions {
  /**
   * Delay before the first retry.
   * @default 100
   */
  readonly initialMs: number;
  /**
   * Upper bound of any delay.
   * @default 10_000
   */
  readonly maxMs: number;
  /**
   * Growth per consecutive failure.
   * @default 2
   */
  readonly factor: number;
  /**
   * Fraction of the delay that is randomised away: the delay is drawn from [d·(1-jitter), d].
   * @default 0.2
   */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0.2 };

/**
 * Delay before retry number `retry` (0 = first retry after a failure). `random` returns a value in
 * [0, 1); it is injectable so tests can pin it.
 */
export function backoffDelayMs(
  retry: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, retry);
  const uncapped = options.initialMs * options.factor ** exponent;
  const capped = Math.min(options.maxMs, Number.isFinite(uncapped) ? uncapped : options.maxMs);
  return Math.round(capped * (1 - options.jitter * random()));
}
