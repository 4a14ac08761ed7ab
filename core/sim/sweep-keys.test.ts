/**
 * Clients' MAC keys as the host distributes them (issue 19, finding 3; client-keys.ts): keys travel
 * as messages, clients may be cut off from some replicas, keys are forgotten when a client is idle,
 * and a restarted replica has none. With the host's behaviour since issue 13 (a replica asks a client
 * for a key it lacks; a restarted replica keeps its address) every run is safe and live; with the
 * host before it, runs stall as the live kill/restart run did.
 */
import { describe, expect, it } from 'vitest';
import { ALL_FAULTS, env, sweep } from '../testing/sweep.ts';
import { runSeed } from './sweep.ts';

describe('client keys travel as the host sends them', () => {
  it('n=4: 200 seeds with every fault kind, safe and live; replicas really lacked keys', () => {
    const s = sweep(1, 200, { replicas: 4, clientKeys: 'on', faults: ALL_FAULTS });
    expect(s.adversary.keyMissing ?? 0).toBeGreaterThan(0);
  });

  it('n=7: 60 seeds with the network adversary, safe and live', () => {
    sweep(1, 60, { replicas: 7, clientKeys: 'on', adversary: true, faults: ALL_FAULTS });
  });

  it('as the host was before issue 13 (a restarted replica on a new address, no asking for keys), runs stall', () => {
    const options = { replicas: 4 as const, clientKeys: 'unfixed' as const, faults: ALL_FAULTS };
    const stalled = [10, 23, 28].filter((seed) => runSeed(seed, options, env).livenessFailure !== null);
    expect(stalled).toEqual([10, 23, 28]);
    for (const seed of [10, 23, 28]) expect(runSeed(seed, { ...options, clientKeys: 'on' }, env).ok).toBe(true);
  });
});
