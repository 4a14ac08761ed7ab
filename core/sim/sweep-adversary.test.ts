/**
 * The adversaries of issue 12 in the test suite: a few hundred seeds of each — Twins, the generic
 * Byzantine replica (fuzz), the targeting network adversary over the catalogue — at n = 4 and n = 7,
 * with faults, and every early invariant and work bound on. Each must be safe and live, and must
 * really have acted (its counters). The long sweeps are in docs/protocol.md's closing numbers.
 */
import { describe, expect, it } from 'vitest';
import { ALL_FAULTS, sweep } from '../testing/sweep.ts';

describe('Twins: one identity, two unmodified replicas in different partitions per view', () => {
  it('n=4, one twin: 200 seeds safe and live; partitions kept messages from copies', () => {
    const s = sweep(1, 200, { replicas: 4, twins: 1, faults: ALL_FAULTS });
    expect(s.adversary.twinsBlocked).toBeGreaterThan(10_000);
    expect(s.adversary.twinsRounds).toBeGreaterThan(100);
  });

  it('n=7, two twins: 60 seeds safe and live', () => {
    const s = sweep(1, 60, { replicas: 7, twins: 2, faults: ALL_FAULTS });
    expect(s.adversary.twinsBlocked).toBeGreaterThan(1_000);
  });
});

describe('the generic Byzantine replica (fuzz)', () => {
  it('n=4, one fuzz replica with the network adversary: 200 seeds safe and live; it lied', () => {
    const s = sweep(1, 200, { replicas: 4, faulty: 1, behaviour: 'fuzz', adversary: true, faults: ALL_FAULTS });
    expect(s.adversary['behaviour.mutated.prepare'] ?? 0).toBeGreaterThan(100);
    expect(s.adversary.faultyLinkDecisions ?? 0).toBeGreaterThan(100);
    // Campaigns: hoarded checkpoints, NEW-VIEWs to a subset.
    expect(s.adversary['behaviour.campaign.hoarded'] ?? 0).toBeGreaterThan(100);
    expect(s.adversary['behaviour.campaign.new-view'] ?? 0).toBeGreaterThan(0);
  });

  it('n=7, two fuzz replicas: 60 seeds safe and live', () => {
    const s = sweep(1, 60, { replicas: 7, faulty: 2, behaviour: 'fuzz', faults: ALL_FAULTS });
    expect(Object.keys(s.adversary).filter((k) => k.startsWith('behaviour.')).length).toBeGreaterThan(10);
  });
});

describe('the network adversary over the catalogue and crash points inside writes', () => {
  it('n=4, a random catalogue behaviour: 200 seeds safe and live; messages held, crash points fired', () => {
    const s = sweep(1, 200, { replicas: 4, faulty: 1, behaviour: 'random', adversary: true, faults: ALL_FAULTS });
    expect(s.adversary.held ?? 0).toBeGreaterThan(1_000);
  });

  it('n=4, no Byzantine replica, every fault kind: 200 seeds; crash points inside the view and checkpoint writes fire', () => {
    const s = sweep(1001, 1200, { replicas: 4, adversary: true, faults: ALL_FAULTS });
    expect(s.adversary.persistCrashes ?? 0).toBeGreaterThan(20);
    expect(s.adversary.writeAheadHeld ?? 0).toBeGreaterThan(1_000);
  });

  it('n=7, a random catalogue behaviour on two replicas: 60 seeds safe and live', () => {
    sweep(1, 60, { replicas: 7, faulty: 2, behaviour: 'random', adversary: true, faults: ALL_FAULTS });
  });
});
