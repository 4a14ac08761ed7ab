/** The catalogue with n = 7 and K = f = 2 faulty replicas (the n = 4 sweep is in catalogue.test.ts). */
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from './catalogue.ts';
import { sweepBehaviour } from '../testing/sweep.ts';

describe('K = f faulty replicas, n = 7: safety always, liveness after healing, 20 seeds per behaviour', () => {
  for (const { id } of CATALOGUE) {
    it(id, () => {
      const { viewChanges } = sweepBehaviour(id, 7, 20);
      if (id === 'equivocate' || id === 'censor-client') expect(viewChanges).toBeGreaterThan(0);
    });
  }
});
