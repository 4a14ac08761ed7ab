/**
 * Twins (Bano, Sonnino, Chursin, Perelman, Li, Ching, Malkhi; OPODIS 2021): a faulty replica is two
 * instances of the *unmodified* honest replica with one identity and one key, wired to different
 * partitions that change over the run. Because the two copies see different messages, the identity as
 * a whole equivocates (both copies lead, with different proposals), votes twice, and forgets (one copy
 * never saw what the other voted for) — every message type, without an attack written by hand.
 *
 * A scenario is a partition of all instances per round; a round is a PBFT view (ADVERSARY.md §1, §7:
 * "round = view", the leader of round v is the view's primary v mod n). A message travels under the
 * partition of *its* view — a VIEW-CHANGE for v+1 under round v+1's — and a message that names no view
 * (a checkpoint, a state chunk, a relayed request) under its sender's current view. Instances in
 * different blocks of that round do not hear each other; clients reach every instance. After the last
 * round, and in any case from GST on (the scenario's `healAt`), everyone is connected again, so the
 * liveness phase judges the protocol with the twins still lying.
 *
 * Instance numbering: instance i < n is identity i (the first copy of a twinned identity); instance
 * n + k is the second copy of `identities[k]`.
 */
import type { Message } from '../pbft/messages.ts';
import type { Prng } from './prng.ts';

export interface TwinsScenario {
  /** The twinned identities (at most f). */
  readonly identities: readonly number[];
  /** Per round (view 0, 1, …): the blocks of the partition, each a list of instances. */
  readonly rounds: readonly (readonly (readonly number[])[])[];
}

/** The identity an instance runs as. */
export function identityOf(instance: number, n: number, twins: TwinsScenario | null): number {
  return instance < n ? instance : twins!.identities[instance - n]!;
}

/** The view whose partition a message travels under. */
export function roundOf(message: Message, senderView: number): number {
  switch (message.type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
    case 'new-view':
    case 'status':
      return message.view;
    case 'view-change':
      return message.newView;
    default:
      return senderView;
  }
}

/** Whether instances `a` and `b` hear each other in `round` (before GST). */
export function twinsConnected(twins: TwinsScenario, round: number, a: number, b: number): boolean {
  const blocks = twins.rounds[round];
  if (!blocks || blocks.length <= 1) return true;
  for (const block of blocks) {
    const hasA = block.includes(a);
    if (hasA) return block.includes(b);
  }
  return true;
}

/**
 * A Twins scenario from the seed: K twinned identities (identity 0, the first primary, is among them
 * half the time), R rounds, each a partition of the n + K instances into one to three blocks. As in
 * relab/hotstuff and era-consensus, a partition in which no block holds a quorum (2f+1 distinct
 * identities) is mostly redrawn — nothing at all can happen in such a round — and the two copies of a
 * twin land in different blocks whenever there is more than one.
 */
export function twinsFromSeed(rng: Prng, n: number, f: number, count: number): TwinsScenario {
  const identities: number[] = [];
  if (rng.chance(0.5)) identities.push(0);
  while (identities.length < count) {
    const r = rng.int(0, n - 1);
    if (!identities.includes(r)) identities.push(r);
  }
  identities.sort((a, b) => a - b);
  const instances = n + identities.length;
  const rounds: number[][][] = [];
  const roundCount = rng.int(3, 10);
  for (let round = 0; round < roundCount; round++) {
    const blockCount = rng.pick([1, 2, 2, 3, 3]);
    let blocks: number[][] = [Array.from({ length: instances }, (_, i) => i)];
    for (let attempt = 0; attempt < 20 && blockCount > 1; attempt++) {
      const candidate: number[][] = Array.from({ length: blockCount }, () => []);
      for (let i = 0; i < instances; i++) candidate[rng.int(0, blockCount - 1)]!.push(i);
      for (let k = 0; k < identities.length; k++) {
        // The copies of a twin in different blocks: move the second copy out of the first's block.
        const first = candidate.findIndex((b) => b.includes(identities[k]!));
        const secondInstance = n + k;
        const second = candidate.findIndex((b) => b.includes(secondInstance));
        if (first === second) {
          candidate[second]!.splice(candidate[second]!.indexOf(secondInstance), 1);
          candidate[(second + 1 + rng.int(0, blockCount - 2)) % blockCount]!.push(secondInstance);
        }
      }
      const nonEmpty = candidate.filter((b) => b.length > 0);
      const quorum = nonEmpty.some(
        (b) => new Set(b.map((i) => identityOf(i, n, { identities, rounds: [] }))).size >= 2 * f + 1,
      );
      if (quorum || rng.chance(0.1)) {
        blocks = nonEmpty.map((b) => b.sort((x, y) => x - y));
        break;
      }
    }
    rounds.push(blocks);
  }
  return { identities, rounds };
}

export function describeTwins(twins: TwinsScenario, n: number): string {
  const name = (i: number): string => (i < n ? `r${i}` : `r${twins.identities[i - n]}'`);
  const rounds = twins.rounds
    .map((blocks, v) => `v${v}:${blocks.map((b) => `{${b.map(name).join(',')}}`).join('')}`)
    .join(' ');
  return `twins ${twins.identities.map((r) => `r${r}/r${r}'`).join(' ')}; ${rounds}`;
}
