/** Seeded sweeps with faults: safety always, liveness once the network heals. */
import { describe, expect, it } from 'vitest';
import { ALL_FAULTS, sweep } from '../testing/sweep.ts';

describe('sweeps with faults: crashes, restarts (with and without disk), partitions, loss bursts', () => {
  it('n=4: 320 seeds, safety always, liveness after healing; view changes and state transfers happen', () => {
    const s = sweep(1, 320, { replicas: 4, faults: ALL_FAULTS });
    expect(s.viewChanges).toBeGreaterThan(100);
    expect(s.stateTransfers).toBeGreaterThan(10);
  });

  it('n=7: 200 seeds, safety always, liveness after healing', () => {
    const s = sweep(1, 200, { replicas: 7, faults: ALL_FAULTS });
    expect(s.viewChanges).toBeGreaterThan(50);
  });
});
