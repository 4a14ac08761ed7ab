/** Seeded sweeps without faults (issue: the PBFT core): loss, delay, duplication and reordering only. */
import { describe, expect, it } from 'vitest';
import { sweep } from '../testing/sweep.ts';

describe('fault-free sweeps (loss, delay, duplication and reordering only)', () => {
  it('n=4: 150 seeds, every operation completes, no violation', () => {
    const s = sweep(1, 150, { replicas: 4, faults: [] });
    expect(s.committedOps).toBeGreaterThan(150 * 10);
    expect(s.checkpointsStable).toBeGreaterThan(0);
  });

  it('n=7: 100 seeds, every operation completes, no violation', () => {
    const s = sweep(1, 100, { replicas: 7, faults: [] });
    expect(s.committedOps).toBeGreaterThan(100 * 10);
  });
});
