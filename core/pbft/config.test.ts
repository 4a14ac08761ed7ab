/** Quorum sizes (§4: n = 3f+1) and configuration checks. */
import { describe, expect, it } from 'vitest';
import { defaultProtocolConfig, faultsTolerated, quorums } from './config.ts';

describe('quorums for n = 3f+1', () => {
  it.each([
    [4, 1, 2, 3, 2],
    [7, 2, 4, 5, 3],
    [10, 3, 6, 7, 4],
  ])('n=%i: f=%i, prepares 2f=%i, strong 2f+1=%i, weak f+1=%i', (n, f, prepares, strong, weak) => {
    expect(quorums(n)).toEqual({ n, f, prepares, strong, weak });
  });

  it('any two strong quorums intersect in at least f+1 replicas (one of them correct)', () => {
    for (const n of [4, 7, 10, 13]) {
      const q = quorums(n);
      expect(2 * q.strong - n).toBeGreaterThanOrEqual(q.f + 1);
    }
  });

  it('refuses sizes that are not 3f+1 with f ≥ 1', () => {
    for (const n of [1, 3, 5, 6, 8, 4.5]) expect(() => faultsTolerated(n)).toThrow(RangeError);
  });
});

describe('protocol configuration', () => {
  it('defaults: K = 32 batches (the paper counts 100–128 requests; a batch holds many), L = 2K', () => {
    const c = defaultProtocolConfig(4);
    expect(c.checkpointInterval).toBe(32);
    expect(c.logWindow).toBe(64);
  });

  it('the log window must be a multiple of the checkpoint interval', () => {
    expect(() => defaultProtocolConfig(4, { checkpointInterval: 10, logWindow: 15 })).toThrow(/multiple/);
  });
});
