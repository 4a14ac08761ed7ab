/**
 * The NEW-VIEW decision (§4.4, in the claims form of TOCS'02 §4.5): which digest the new view orders
 * at each sequence number, from the P and Q claims of the VIEW-CHANGEs in V. n = 4, f = 1 throughout:
 * A1 and B need 2f+1 = 3 messages, A2 needs f+1 = 2.
 */
import { describe, expect, it } from 'vitest';
import { quorums } from './config.ts';
import type { Checkpoint, LogClaim, ViewChange } from './messages.ts';
import { planNewView } from './proofs.ts';

const q = quorums(4);
const NULL = '00'.repeat(32);
const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const C = 'cc'.repeat(32);

function vc(
  replica: number,
  prepared: LogClaim[] = [],
  prePrepared: LogClaim[] = prepared,
  stableSeq = 0,
  checkpointProof: Checkpoint[] = [],
): ViewChange {
  return {
    type: 'view-change',
    newView: 5,
    stableSeq,
    checkpointProof,
    prepared,
    prePrepared,
    replica,
    sig: new Uint8Array(0),
  };
}

const claim = (seq: number, digest: string, view: number): LogClaim => ({ seq, digest, view });

function decided(plan: ReturnType<typeof planNewView>) {
  if (!plan.decided) throw new Error(`undecided at n=${plan.undecidedSeq}`);
  return plan;
}

describe('§4.4 NEW-VIEW decision from P and Q claims (TOCS §4.5)', () => {
  it('orders what prepared at f+1 replicas, in its sequence number', () => {
    const plan = decided(planNewView([vc(0, [claim(1, A, 0)]), vc(1, [claim(1, A, 0)]), vc(2)], q, NULL));
    expect(plan.order).toEqual([{ seq: 1, digest: A }]);
    expect(plan.maxSeq).toBe(1);
  });

  it('a lie in a higher view is not believed: A2 needs f+1 replicas that pre-prepared it', () => {
    // Replicas 1 and 2 prepared A in view 0 (it may have committed); faulty 3 claims B prepared in view 4.
    const liar = vc(3, [claim(1, B, 4)]);
    const withLiar = [vc(1, [claim(1, A, 0)]), vc(2, [claim(1, A, 0)]), liar];
    // B fails A2; A fails A1 (the liar's claim is in a later view): the new primary waits…
    expect(planNewView(withLiar, q, NULL)).toEqual({ decided: false, undecidedSeq: 1 });
    // …for the last correct replica, whose VIEW-CHANGE completes A1 for A.
    expect(decided(planNewView([vc(0), ...withLiar], q, NULL)).order).toEqual([{ seq: 1, digest: A }]);
  });

  it('of two batches both claimed, the one prepared in the later view wins (A1)', () => {
    // A prepared in view 1 at replica 0; B prepared in view 2 at replica 1, pre-prepared there by 1 and 2.
    const plan = decided(
      planNewView(
        [
          vc(0, [claim(1, A, 1)]),
          vc(1, [claim(1, B, 2)], [claim(1, B, 2)]),
          vc(2, [], [claim(1, A, 1), claim(1, B, 2)]),
        ],
        q,
        NULL,
      ),
    );
    expect(plan.order).toEqual([{ seq: 1, digest: B }]);
  });

  it('a gap that no quorum prepared becomes the null request (B)', () => {
    const vcs = [vc(0, [claim(2, A, 0)]), vc(1, [claim(2, A, 0)]), vc(2)];
    expect(decided(planNewView(vcs, q, NULL)).order).toEqual([
      { seq: 1, digest: NULL },
      { seq: 2, digest: A },
    ]);
  });

  it('claims after the last ordered batch that B decides are left to the new primary (O ends there)', () => {
    const faultyClaim = vc(3, [claim(7, C, 3)]);
    const plan = decided(planNewView([vc(0, [claim(1, A, 0)]), vc(1, [claim(1, A, 0)]), vc(2), faultyClaim], q, NULL));
    expect(plan.order).toEqual([{ seq: 1, digest: A }]);
    expect(plan.maxSeq).toBe(1);
  });

  it('waits for more VIEW-CHANGEs when V decides neither A nor B', () => {
    // Only replica 0 claims A prepared: A2 fails (one pre-prepare), and only 2 < 3 messages lack a P claim.
    const three = [vc(0, [claim(1, A, 0)]), vc(1), vc(2)];
    const plan = planNewView(three, q, NULL);
    expect(plan).toEqual({ decided: false, undecidedSeq: 1 });
    // The fourth VIEW-CHANGE has no claim either: now 3 messages lack one, and B fills n=1 — nothing
    // could have committed there (that needs f+1 correct replicas that prepared it).
    expect(decided(planNewView([...three, vc(3)], q, NULL)).order).toEqual([]);
    // …or it has pre-prepared A as well: now A2 holds, and A is ordered.
    expect(decided(planNewView([...three, vc(3, [], [claim(1, A, 0)])], q, NULL)).order).toEqual([
      { seq: 1, digest: A },
    ]);
  });

  it('starts above the latest stable checkpoint in V (min-s); claims at or below it do not count', () => {
    const cp = (replica: number): Checkpoint => ({
      type: 'checkpoint',
      seq: 4,
      stateDigest: C,
      replica,
      sig: new Uint8Array(0),
    });
    const stable = vc(0, [claim(5, A, 1)], [claim(5, A, 1)], 4, [cp(0), cp(1), cp(2)]);
    const plan = decided(planNewView([stable, vc(1, [claim(3, B, 0), claim(5, A, 1)]), vc(2)], q, NULL));
    expect(plan.minSeq).toBe(4);
    expect(plan.minDigest).toBe(C);
    expect(plan.order).toEqual([{ seq: 5, digest: A }]);
  });

  it('is deterministic: the same V in another order gives the same O', () => {
    const vcs = [
      vc(0, [claim(1, A, 0), claim(3, B, 1)]),
      vc(1, [claim(1, A, 0)], [claim(1, A, 0), claim(3, B, 1)]),
      vc(2, [claim(3, B, 1)]),
      vc(3),
    ];
    const forward = decided(planNewView(vcs, q, NULL));
    expect(decided(planNewView([...vcs].reverse(), q, NULL))).toEqual(forward);
    expect(forward.order.map((o) => o.digest)).toEqual([A, NULL, B]);
  });
});
