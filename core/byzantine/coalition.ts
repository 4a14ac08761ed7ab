/**
 * Colluding coalitions: more than f faulty replicas that coordinate, to let a class *see* safety
 * break when the n ≥ 3f+1 assumption is violated (PBFT.md, last section).
 *
 * The equivocation coalition: the faulty primary sends batch A to the even-numbered replicas and
 * batch B to the odd ones (both with their true digests), and every member of the
 * coalition votes — PREPARE and COMMIT — for A towards the even replicas and for B towards the odd
 * ones. With f+1 members, a correct even replica gathers 2f prepares and 2f+1 commits for A, a correct
 * odd replica the same for B: two correct replicas commit different batches at one sequence number.
 */
import { batchBytes } from '../pbft/codec.ts';
import type { Commit, PrePrepare, Prepare, ReplicaMessage } from '../pbft/messages.ts';
import type { Output } from '../pbft/outputs.ts';
import type { Behaviour, BehaviourContext } from './behaviour.ts';

/** What the coalition's members share: the two versions of every pre-prepare the primary made. */
interface CoalitionState {
  readonly versions: Map<number, { readonly a: PrePrepare; readonly b: PrePrepare }>;
  readonly voted: Set<string>;
}

export const EQUIVOCATION_COALITION = {
  id: 'equivocation-coalition',
  name: 'Equivocation coalition (f+1 colluding)',
  description:
    'The primary sends conflicting PRE-PREPAREs to the two halves of the backups, and f+1 colluding replicas vote for each side towards that side.',
  observe:
    'With f+1 faulty replicas the quorums no longer intersect in a correct replica: two correct replicas commit different batches at one sequence number, and the checker reports an agreement violation.',
} as const;

const sideOf = (replica: number): 'a' | 'b' => (replica % 2 === 0 ? 'a' : 'b');

/** One Behaviour per coalition member, sharing state. The primary of view 0 must be among the members. */
export function equivocationCoalition(members: readonly number[]): Map<number, Behaviour> {
  const state: CoalitionState = { versions: new Map(), voted: new Set() };
  const behaviours = new Map<number, Behaviour>();
  for (const member of members) {
    behaviours.set(member, {
      ...EQUIVOCATION_COALITION,
      onOutputs: (ctx, outputs) => coalitionOutputs(ctx, state, outputs),
      onTick: (ctx) => coalitionVotes(ctx, state),
    });
  }
  return behaviours;
}

function coalitionOutputs(ctx: BehaviourContext, state: CoalitionState, outputs: Output[]): Output[] {
  const out: Output[] = [];
  for (const o of outputs) {
    if (
      (o.kind === 'send' || o.kind === 'broadcast') &&
      o.message.type === 'pre-prepare' &&
      o.message.replica === ctx.id
    ) {
      const a = o.message;
      const requests = a.requests.length > 1 ? a.requests.slice(0, -1) : [];
      const b: PrePrepare = { ...a, requests, digest: ctx.crypto.digest(batchBytes(requests)) };
      state.versions.set(a.seq, { a, b });
      for (let r = 0; r < ctx.n; r++)
        if (r !== ctx.id) out.push({ kind: 'send', to: r, message: sideOf(r) === 'a' ? a : b });
      continue;
    }
    // The members' own honest votes would only confuse the split: they vote through coalitionVotes.
    if ((o.kind === 'send' || o.kind === 'broadcast') && (o.message.type === 'prepare' || o.message.type === 'commit'))
      continue;
    out.push(o);
  }
  return out;
}

/** Each member votes for each side's version towards that side, once per sequence number. */
function coalitionVotes(ctx: BehaviourContext, state: CoalitionState): Output[] {
  const out: Output[] = [];
  for (const [seq, versions] of state.versions) {
    const key = `${ctx.id}:${seq}`;
    if (state.voted.has(key)) continue;
    state.voted.add(key);
    for (let r = 0; r < ctx.n; r++) {
      if (r === ctx.id) continue;
      const pp = sideOf(r) === 'a' ? versions.a : versions.b;
      const messages: ReplicaMessage[] = [];
      if (ctx.id !== pp.replica) {
        messages.push({ type: 'prepare', view: pp.view, seq, digest: pp.digest, replica: ctx.id } satisfies Prepare);
      }
      messages.push({ type: 'commit', view: pp.view, seq, digest: pp.digest, replica: ctx.id } satisfies Commit);
      for (const message of messages) out.push({ kind: 'send', to: r, message });
    }
  }
  return out;
}
