/**
 * The generic Byzantine replica (`fuzz`), shaped after ByzzFuzz (Winter et al., OOPSLA 2023;
 * the team's ADVERSARY.md, §2 and the mutation table of §7). It runs the unmodified honest replica
 * and, during a seeded budget of *lying periods*, treats each message it would send as a process
 * fault with some probability: a small-scope structured mutation of it (view ±1, seq ±1, another
 * digest seen at that seq, a sub-batch or the null batch, amnesia in a VIEW-CHANGE, …), sent to a
 * random subset of the recipients — the original to some, the mutated copy to others, nothing to the
 * rest. Between lying periods it is honest. On top it replays signed messages it holds, injects
 * messages its key can build (a PRE-PREPARE at an old sequence number, a NEW-VIEW from any 2f+1
 * VIEW-CHANGEs it holds, a spurious VIEW-CHANGE), lies in STATUS and REPLY messages (a tentative reply
 * marked committed, read-only answers from a shadow copy of the application that lags the replica by
 * a seeded number of batches), and censors one client's requests now and then.
 *
 * What it cannot do: forge another replica's signature or a client's MAC, or make the authenticated
 * channel name another sender. Everything it emits is well formed (it encodes; checked before it
 * goes out), its own signed messages that it alters are re-signed with its own key, and others'
 * signed messages are only replayed as they are. Randomness comes only from `ctx.random`, so a run
 * is reproducible from its seed; every collection is capped.
 */
import type { StateMachine } from '../app/state-machine.ts';
import { batchBytes, bytesToHex, CodecError, encodeMessage } from '../pbft/codec.ts';
import { quorums, type Quorums } from '../pbft/config.ts';
import type {
  Checkpoint,
  ClientId,
  Commit,
  Digest,
  LogClaim,
  Message,
  NewView,
  NewViewOrder,
  PrePrepare,
  Prepare,
  Reply,
  ReplicaId,
  ReplicaMessage,
  Request,
  Status,
  ViewChange,
} from '../pbft/messages.ts';
import type { ExecutedRequest, Output } from '../pbft/outputs.ts';
import { planNewView, primaryOf, ProofChecker } from '../pbft/proofs.ts';
import type { Behaviour, BehaviourContext, BehaviourInfo } from './behaviour.ts';

/** Message kinds with a fault probability of their own ('other': FETCH-BATCH, BATCH, FETCH-STATE, STATE-CHUNK, relayed REQUEST). */
export const FAULTED_KINDS = [
  'pre-prepare',
  'prepare',
  'commit',
  'checkpoint',
  'view-change',
  'new-view',
  'status',
  'reply',
  'other',
] as const;
export type FaultedKind = (typeof FAULTED_KINDS)[number];

/**
 * How a faulted message reaches the others: the lie to a subset and the original to the rest
 * (ByzzFuzz), each recipient one of original / lie / nothing, the lie to all, the original to a
 * subset only, to one replica only, to nobody.
 */
export const SHAPES = ['lie-to-some', 'three-way', 'lie-to-all', 'some', 'one', 'none'] as const;
export type Shape = (typeof SHAPES)[number];
/** Shapes that need no lie: they only withhold. */
const WITHHOLDING: readonly Shape[] = ['some', 'one', 'none'];

export const REPLY_LIES = ['stale-read', 'committed', 'view', 'result', 'omit'] as const;
export type ReplyLie = (typeof REPLY_LIES)[number];

/**
 * What one run of the fuzz replica does, drawn from its random source when it first acts. Besides
 * ByzzFuzz's budget of lying views, it draws per run which kinds of message it lies in and how
 * (swarm testing, Groce et al., ISSTA 2012: a run that leaves most features out explores the others
 * harder — a run that lies in every NEW-VIEW and in nothing else reaches schedules a run that lies
 * a little in everything does not).
 */
export interface FuzzPlan {
  /**
   * The views in which it lies (ByzzFuzz's faulty rounds, round = view), or null: it may lie in every
   * view, each message with its kind's probability.
   */
  readonly lyingViews: readonly number[] | null;
  /** While lying: the chance that one message of a kind is faulted (mutated, sent to a subset, or withheld). */
  readonly messageProbability: Readonly<Record<FaultedKind, number>>;
  /** The shapes a faulted message may take in this run. */
  readonly shapes: readonly Shape[];
  /** The lies a faulted REPLY may tell in this run. */
  readonly replyLies: readonly ReplyLie[];
  /** While lying: the chance per tick of an extra message (a replay or an injected one). */
  readonly tickProbability: number;
  /** The shadow application runs this many committed batches behind the replica. */
  readonly shadowLag: number;
  /** While lying: the chance that a request of the censored client is dropped (0: no censorship). */
  readonly censorProbability: number;
  /** The censored client: the k-th client it hears from. */
  readonly censorIndex: number;
  /** A campaign of lies that work together (one run in two), or null. */
  readonly campaign: Campaign | null;
}

/**
 * A campaign: instead of independent small lies, a few that build on one another — the shape of the
 * attacks a reviewer writes by hand, as a family the seed explores. The liar hoards its CHECKPOINTs
 * (it alone, or it and one other, hold the 2f+1 proofs); starves state transfers it is asked for; as
 * the primary of a new view sends its NEW-VIEW only to some replicas (those its peers' STATUS shows
 * behind the view's stable checkpoint, one, or a random subset) and then pre-prepares other batches
 * at low sequence numbers to just those — numbers they have not executed, or any in its window; and
 * once a replica acknowledges such a lie (its PREPARE for it), backs the lie up in its later
 * VIEW-CHANGEs with P and Q claims and a stable checkpoint below it. Every part is drawn per run, and
 * each step is a chance, so the seed explores the family; it has its own random stream (drawn from
 * the plan's first draw), so a run without a campaign is exactly what it was before campaigns.
 */
export interface Campaign {
  /** Its own CHECKPOINTs: to nobody, to one replica only (`favoured`), or as usual. */
  readonly hoard: 'all' | 'all-but-one' | 'none';
  readonly favoured: ReplicaId;
  /** Withhold its answers to FETCH-STATE. */
  readonly starveTransfers: boolean;
  /** As the primary of a new view: who gets its NEW-VIEW. */
  readonly newViewTo: 'behind' | 'one' | 'some';
  /** Per tick, in a view whose NEW-VIEW went to a subset: the chance of a lie at a low sequence number. */
  readonly rewriteProbability: number;
  /** Where: a number the subset has not executed, at or below the view's min-s; or any in its own window. */
  readonly rewriteAt: 'their-gap' | 'any';
  /** The lie's batch: the null batch, or another one. */
  readonly nullBatch: boolean;
  /** Back up an acknowledged lie in every later VIEW-CHANGE, or in one of two. */
  readonly backUp: 'always' | 'sometimes';
  /** No other lies in this run (the campaign alone), or the plan's lies besides. */
  readonly quiet: boolean;
  /** Seed of its own random stream. */
  readonly seed: number;
}

/** A small seeded generator (mulberry32) for the campaign's own stream. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  };
}

/** A campaign for replica `id` in an `n`-replica cluster, or null (one run in two), from its own stream. */
export function drawCampaign(seed: number, id: ReplicaId, n: number): Campaign | null {
  const random = mulberry32(seed ^ 0xca4a1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  if (random() >= 0.5) return null;
  const others = Array.from({ length: n }, (_, r) => r).filter((r) => r !== id);
  return {
    hoard: pick(['all', 'all', 'all-but-one', 'none']),
    favoured: pick(others),
    starveTransfers: random() < 0.7,
    newViewTo: pick(['behind', 'behind', 'one', 'some']),
    rewriteProbability: pick([0.05, 0.2, 1]),
    rewriteAt: pick(['their-gap', 'their-gap', 'any']),
    nullBatch: random() < 0.5,
    backUp: pick(['always', 'always', 'sometimes']),
    quiet: random() < 0.5,
    seed: Math.floor(random() * 0x100000000),
  };
}

export interface FuzzOptions {
  /** Fix parts of the plan instead of drawing them (tests). */
  readonly plan?: Partial<FuzzPlan>;
}

export const FUZZ_INFO: BehaviourInfo = {
  id: 'fuzz',
  name: 'Fuzzing liar (ByzzFuzz)',
  description:
    'During a few seeded "lying" views (or with a seeded per-message probability) sends small, well-formed lies: a message with its view, sequence number or digest off by a little, a conflicting batch, a VIEW-CHANGE that forgets or bends its claims, a NEW-VIEW built from another quorum, a STATUS or REPLY that lies — each to a random subset of the replicas (the original to some, the lie to others, nothing to the rest); replays signed messages; answers reads from an old state; honest otherwise.',
  observe:
    'Most lies are caught by one check or another and show up as ignored messages, extra view changes and slower progress; the interesting runs are the ones where the checkers report a violation: the fuzzer found a schedule the hand-written behaviours did not. Its counters (mutated, replayed, omitted, lies) say what it did; replay a failing seed with --trace to see the messages.',
};

/** How a faulted message reaches each replica. */
type Fate = 'original' | 'mutated' | 'none';

interface Decision {
  /** The lie, or null when the message is only withheld from some recipients. */
  readonly mutated: ReplicaMessage | null;
  /** Per replica id (the entry for itself is unused). */
  readonly fates: readonly Fate[];
}

/** Caps: every collection the behaviour keeps is bounded. */
/** Lies remembered to back up later. */
const TOLD_MAX = 64;
const DECISIONS_MAX = 256;
const DIGEST_SEQS_MAX = 64;
const DIGESTS_PER_SEQ_MAX = 4;
const BATCHES_MAX = 32;
const REQUESTS_MAX = 32;
const SIGNED_MAX = 64;
const VIEW_CHANGE_VIEWS_MAX = 4;
const PROOFS_MAX = 8;
const READ_OPS_MAX = 256;
const CLIENTS_MAX = 16;
const NEW_VIEW_INJECTIONS_PER_VIEW = 2;

const EMPTY = new Uint8Array(0);

const readKey = (client: ClientId, timestamp: number): string => `${client}\u0000${timestamp}`;

/** Drop the oldest entries (insertion order) of a map beyond `max`. */
function cap<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as K);
}

/** Every kind of message faulted with probability `p` (tests, and a fixed plan). */
export function everyKind(p: number): Record<FaultedKind, number> {
  return Object.fromEntries(FAULTED_KINDS.map((k) => [k, p])) as Record<FaultedKind, number>;
}

/**
 * A seeded plan for replica `id`: 1–3 lying views among the first few — half of the time with the
 * first view it leads among them (Twins lets the twinned node lead) — or lying in every view with a
 * small per-message probability; then, per kind of message, never, always or that probability.
 */
export function drawPlan(draw: () => number, id: ReplicaId, fixed: Partial<FuzzPlan> = {}, n = 4): FuzzPlan {
  // The campaign's stream is seeded from the first draw, so that drawing it takes nothing from `draw`.
  let first: number | undefined;
  const random = (): number => {
    const x = draw();
    first ??= x;
    return x;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const some = <T>(xs: readonly T[], fallback: readonly T[]): T[] => {
    const chosen = xs.filter(() => random() < 0.6);
    return chosen.length > 0 ? chosen : [...fallback];
  };
  let lyingViews: number[] | null = null;
  let base: number;
  if (random() < 0.5) {
    lyingViews = [];
    const count = 1 + Math.floor(random() * 3);
    for (let i = 0; i < count; i++) {
      const r = random();
      const view = Math.floor(r * r * 6); // mostly the early views, which every run reaches
      if (!lyingViews.includes(view)) lyingViews.push(view);
    }
    if (random() < 0.5 && !lyingViews.includes(id)) lyingViews.push(id);
    lyingViews.sort((a, b) => a - b);
    base = pick([0.3, 0.6, 1]);
  } else {
    base = pick([0.05, 0.2, 0.5]);
  }
  const messageProbability = {} as Record<FaultedKind, number>;
  for (const kind of FAULTED_KINDS) {
    const r = random();
    messageProbability[kind] = r < 0.2 ? 0 : r < 0.4 ? 1 : base;
  }
  return {
    lyingViews,
    messageProbability,
    shapes: some(SHAPES, ['lie-to-some']),
    replyLies: some(REPLY_LIES, ['stale-read']),
    tickProbability: pick([0.01, 0.03, 0.1]),
    shadowLag: pick([1, 2, 3, 5, 8]),
    censorProbability: pick([0, 0, 0.5, 1]),
    censorIndex: Math.floor(random() * 3),
    campaign: drawCampaign(Math.floor((first ?? 0) * 0x100000000), id, n),
    ...fixed,
  };
}

/** The kind whose fault probability applies to a message. */
function faultedKind(m: Message): FaultedKind {
  switch (m.type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
    case 'checkpoint':
    case 'view-change':
    case 'new-view':
    case 'status':
    case 'reply':
      return m.type;
    default:
      return 'other';
  }
}

/** The fuzz replica. Each call makes a fresh one (state in the closure). */
export function fuzzBehaviour(options: FuzzOptions = {}): Behaviour {
  let plan: FuzzPlan | null = null;
  let checker: ProofChecker | null = null;
  let q: Quorums | null = null;
  let nullDigest: Digest | null = null;
  const counters: Record<string, number> = {};
  const count = (name: string, by = 1): void => {
    counters[name] = (counters[name] ?? 0) + by;
  };

  // What it has seen, to build lies from (all bounded).
  const decisions = new Map<string, Decision>();
  const digestsAt = new Map<number, Digest[]>();
  const batches = new Map<Digest, { readonly seq: number; readonly requests: readonly Request[] }>();
  const requests = new Map<string, Request>();
  const signed: (Checkpoint | ViewChange | NewView)[] = [];
  const signedKeys = new Set<string>();
  const viewChanges = new Map<number, Map<ReplicaId, ViewChange>>();
  const proofs = new Map<number, readonly Checkpoint[]>();
  const readOps = new Map<string, Uint8Array>();
  const clients: ClientId[] = [];
  const newViewsInjected = new Map<number, number>();
  /**
   * The pre-prepares it sent as lies (mutated or injected), by seq: a consistent liar backs them up
   * later, claiming in a VIEW-CHANGE that they prepared (mutateViewChange).
   */
  const told = new Map<number, LogClaim>();
  const tell = (pp: ReplicaMessage): void => {
    if (pp.type !== 'pre-prepare') return;
    told.set(pp.seq, { seq: pp.seq, digest: pp.digest, view: pp.view });
    cap(told, TOLD_MAX);
  };
  // The campaign (drawCampaign): its own random stream and what it has set up so far.
  let campaignRandom: () => number = () => 0;
  /** Peers' last executed sequence numbers, and the views they work normally in, from their STATUS. */
  const peerExecuted = new Map<ReplicaId, number>();
  const peerNormalIn = new Map<ReplicaId, number>();
  /** The view whose NEW-VIEW it sent to a subset only, and to whom. */
  let rewrite: { view: number; targets: ReplicaId[]; minSeq: number; lies: number } | null = null;
  /** Its campaign's lies (pre-prepares to the subset), and those a replica acknowledged with a PREPARE. */
  const campaignLies = new Map<string, LogClaim>();
  const acknowledged: LogClaim[] = [];
  const toldPrePrepares = new Map<string, PrePrepare>();
  /** The VIEW-CHANGE it sent for each view while backing up a lie (retransmissions tell the same story). */
  const backedUp = new Map<number, ViewChange | null>();
  const claimKey = (seq: number, digest: Digest, view: number): string => `${seq}:${digest}:${view}`;
  // The shadow application: committed batches replayed `shadowLag` batches late.
  let shadow: StateMachine | null | undefined;
  const shadowQueue: { readonly seq: number; readonly requests: readonly ExecutedRequest[] }[] = [];

  // -------------------------------------------------------------------------------------------
  // Randomness (only ctx.random)

  let random: () => number = () => 0;
  const chance = (p: number): boolean => p > 0 && random() < p;
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const randomDigest = (): Digest => {
    let hex = '';
    for (let i = 0; i < 64; i++) hex += Math.floor(random() * 16).toString(16);
    return hex;
  };

  function start(ctx: BehaviourContext): FuzzPlan {
    random = ctx.random;
    if (plan) return plan;
    plan = drawPlan(ctx.random, ctx.id, options.plan, ctx.n);
    if (plan.campaign) campaignRandom = mulberry32(plan.campaign.seed);
    q = quorums(ctx.n);
    checker = new ProofChecker(ctx.crypto, q);
    nullDigest = ctx.crypto.digest(batchBytes([]));
    return plan;
  }

  /** In a lying period now. */
  function lying(ctx: BehaviourContext): boolean {
    const p = plan!;
    if (p.campaign?.quiet) return false;
    return p.lyingViews === null || p.lyingViews.includes(ctx.replica.view);
  }

  const others = (ctx: BehaviourContext): ReplicaId[] => {
    const ids: ReplicaId[] = [];
    for (let r = 0; r < ctx.n; r++) if (r !== ctx.id) ids.push(r);
    return ids;
  };

  /** A random non-empty subset of the other replicas. */
  function someOthers(ctx: BehaviourContext): ReplicaId[] {
    const all = others(ctx);
    const chosen = all.filter(() => chance(0.5));
    return chosen.length > 0 ? chosen : [pick(all)];
  }

  // -------------------------------------------------------------------------------------------
  // Observation: what it learns from what it receives and sends

  function noteDigest(seq: number, digest: Digest): void {
    let list = digestsAt.get(seq);
    if (!list) {
      digestsAt.set(seq, (list = []));
      cap(digestsAt, DIGEST_SEQS_MAX);
    }
    if (!list.includes(digest)) {
      list.push(digest);
      if (list.length > DIGESTS_PER_SEQ_MAX) list.shift();
    }
  }

  function noteBatch(seq: number, digest: Digest, reqs: readonly Request[]): void {
    if (batches.has(digest)) return;
    batches.set(digest, { seq, requests: reqs });
    cap(batches, BATCHES_MAX);
  }

  /** Signed messages to replay, each once (retransmissions arrive again and again). */
  function noteSigned(m: Checkpoint | ViewChange | NewView): void {
    const key = `${m.replica}:${bytesToHex(m.sig.subarray(0, 16))}`;
    if (signedKeys.has(key)) return;
    signed.push(m);
    signedKeys.add(key);
    if (signed.length > SIGNED_MAX) {
      const old = signed.shift()!;
      signedKeys.delete(`${old.replica}:${bytesToHex(old.sig.subarray(0, 16))}`);
    }
  }

  function noteProof(seq: number, proof: readonly Checkpoint[]): void {
    if (seq <= 0 || proofs.has(seq)) return;
    proofs.set(seq, proof);
    cap(proofs, PROOFS_MAX);
  }

  function noteViewChange(ctx: BehaviourContext, vc: ViewChange): void {
    if (checker!.viewChange(vc, ctx.replica.config.logWindow) !== null) return;
    let forView = viewChanges.get(vc.newView);
    if (!forView) {
      viewChanges.set(vc.newView, (forView = new Map()));
      // Keep the highest views.
      while (viewChanges.size > VIEW_CHANGE_VIEWS_MAX) viewChanges.delete(Math.min(...viewChanges.keys()));
    }
    forView.set(vc.replica, vc);
    for (const c of [...vc.prepared, ...vc.prePrepared]) noteDigest(c.seq, c.digest);
    if (vc.stableSeq > 0) noteProof(vc.stableSeq, vc.checkpointProof);
  }

  function observe(ctx: BehaviourContext, m: Message, own: boolean): void {
    switch (m.type) {
      case 'request':
        if (!m.readOnly && !requests.has(readKey(m.client, m.timestamp))) {
          requests.set(readKey(m.client, m.timestamp), m);
          cap(requests, REQUESTS_MAX);
        }
        return;
      case 'pre-prepare':
      case 'batch':
        noteDigest(m.seq, m.digest);
        noteBatch(m.seq, m.digest, m.requests);
        return;
      case 'prepare':
      case 'commit':
        noteDigest(m.seq, m.digest);
        if (!own && m.type === 'prepare') noteAcknowledged(m);
        return;
      case 'status':
        if (!own) {
          peerExecuted.set(m.replica, m.lastExecuted);
          if (m.normal) peerNormalIn.set(m.replica, m.view);
          else peerNormalIn.delete(m.replica);
        }
        return;
      case 'checkpoint':
        noteSigned(m);
        return;
      case 'view-change':
        noteSigned(m);
        noteViewChange(ctx, m);
        return;
      case 'new-view':
        noteSigned(m);
        if (!own) for (const vc of m.viewChanges) noteViewChange(ctx, vc);
        for (const o of m.order) noteDigest(o.seq, o.digest);
        return;
      case 'state-chunk':
        if (m.chunk === 0 && checker!.checkpointProof(m.seq, m.stateDigest, m.proof) === null)
          noteProof(m.seq, m.proof);
        return;
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Mutations (ADVERSARY.md §7), each small-scope; null when none applies

  /** Another digest seen at `seq` than `digest`: the conflicting proposal, else the null batch's, else made up. */
  function otherDigest(seq: number, digest: Digest): Digest {
    const seen = (digestsAt.get(seq) ?? []).filter((d) => d !== digest);
    if (seen.length > 0 && chance(0.8)) return pick(seen);
    if (digest !== nullDigest && chance(0.7)) return nullDigest!;
    return randomDigest();
  }

  /** Another batch for a pre-prepare: the null batch, a sub-batch, the same requests reordered, an earlier batch, another request. */
  function otherBatch(seq: number, reqs: readonly Request[]): readonly Request[] | null {
    const choices: (() => readonly Request[] | null)[] = [
      () => (reqs.length > 0 ? [] : null),
      () => {
        if (reqs.length < 2) return null;
        const sub = reqs.filter(() => chance(0.5));
        return sub.length > 0 && sub.length < reqs.length ? sub : reqs.slice(0, -1);
      },
      () => (reqs.length >= 2 ? [...reqs].reverse() : null),
      () => {
        const earlier = [...batches.values()].filter((b) => b.seq !== seq && b.requests.length > 0);
        return earlier.length > 0 ? pick(earlier).requests : null;
      },
      () => {
        const inBatch = new Set(reqs);
        const others = [...requests.values()].filter((r) => !inBatch.has(r));
        return others.length > 0 ? [pick(others)] : null;
      },
    ];
    return tryInOrder(choices);
  }

  /** Try the choices starting from a random one, first that applies. */
  function tryInOrder<T>(choices: readonly (() => T | null)[]): T | null {
    const first = Math.floor(random() * choices.length);
    for (let i = 0; i < choices.length; i++) {
      const result = choices[(first + i) % choices.length]!();
      if (result !== null) return result;
    }
    return null;
  }

  function withBatch(pp: PrePrepare, reqs: readonly Request[], ctx: BehaviourContext): PrePrepare {
    return { ...pp, requests: reqs, digest: ctx.crypto.digest(batchBytes(reqs)) };
  }

  function mutatePrePrepare(ctx: BehaviourContext, pp: PrePrepare): PrePrepare | null {
    const window = ctx.replica.config.logWindow;
    return tryInOrder<PrePrepare>([
      () => ({ ...pp, view: pp.view + 1 }),
      () => (pp.view > 0 ? { ...pp, view: pp.view - 1 } : null),
      () => ({ ...pp, seq: pp.seq + 1 }),
      () => (pp.seq > 1 ? { ...pp, seq: pp.seq - 1 } : null),
      () => ({ ...pp, seq: pp.seq + int(2, Math.max(2, window)) }),
      () => {
        const reqs = otherBatch(pp.seq, pp.requests);
        return reqs ? withBatch(pp, reqs, ctx) : null;
      },
      () => {
        // Another batch at a lower sequence number, perhaps one already committed.
        const low = Math.max(1, ctx.replica.lastExecuted - window + 1);
        if (pp.seq <= low) return null;
        const seq = int(low, pp.seq - 1);
        return withBatch({ ...pp, seq }, otherBatch(seq, pp.requests) ?? [], ctx);
      },
    ]);
  }

  function mutateVote<T extends Prepare | Commit>(vote: T): ReplicaMessage | null {
    return tryInOrder<ReplicaMessage>([
      () => ({ ...vote, view: vote.view + 1 }),
      () => (vote.view > 0 ? { ...vote, view: vote.view - 1 } : null),
      () => ({ ...vote, seq: vote.seq + 1 }),
      () => (vote.seq > 1 ? { ...vote, seq: vote.seq - 1 } : null),
      () => ({ ...vote, digest: otherDigest(vote.seq, vote.digest) }),
      // COMMIT without PREPARE.
      () => (vote.type === 'prepare' ? ({ ...vote, type: 'commit' } satisfies Commit) : null),
    ]);
  }

  function mutateCheckpoint(ctx: BehaviourContext, cp: Checkpoint): Checkpoint | null {
    const k = ctx.replica.config.checkpointInterval;
    const mutated = tryInOrder<Checkpoint>([
      () => ({ ...cp, stateDigest: randomDigest() }),
      () => {
        const seen = signed.filter((m): m is Checkpoint => m.type === 'checkpoint' && m.stateDigest !== cp.stateDigest);
        return seen.length > 0 ? { ...cp, stateDigest: pick(seen).stateDigest } : null;
      },
      () => ({ ...cp, seq: cp.seq + k }),
      () => (cp.seq > k ? { ...cp, seq: cp.seq - k } : null),
    ]);
    return mutated ? ctx.sign<Checkpoint>(mutated) : null;
  }

  /** A VIEW-CHANGE its proof checker accepts: claims inside its watermarks, from earlier views, no duplicates. */
  function wellFormedViewChange(ctx: BehaviourContext, vc: ViewChange): ViewChange {
    const window = ctx.replica.config.logWindow;
    const fits = (c: LogClaim): boolean => c.seq > vc.stableSeq && c.seq <= vc.stableSeq + window;
    const clampView = (c: LogClaim): LogClaim =>
      c.view < vc.newView ? c : { ...c, view: Math.max(0, vc.newView - 1) };
    const unique = (claims: readonly LogClaim[], key: (c: LogClaim) => string): LogClaim[] => {
      const seen = new Set<string>();
      const kept: LogClaim[] = [];
      for (const c of claims.filter(fits).map(clampView)) {
        if (seen.has(key(c))) continue;
        seen.add(key(c));
        kept.push(c);
      }
      return kept;
    };
    return {
      ...vc,
      // One P claim per seq, one Q claim per (seq, digest).
      prepared: unique(vc.prepared, (c) => `${c.seq}`),
      prePrepared: unique(vc.prePrepared, (c) => `${c.seq}:${c.digest}`),
    };
  }

  function mutateViewChange(ctx: BehaviourContext, vc: ViewChange): ViewChange | null {
    const mutated = tryInOrder<ViewChange>([
      // Amnesia: forget what prepared (and maybe what pre-prepared).
      () => (vc.prepared.length > 0 ? { ...vc, prepared: [], prePrepared: chance(0.5) ? [] : vc.prePrepared } : null),
      () => {
        if (vc.prepared.length + vc.prePrepared.length === 0) return null;
        return {
          ...vc,
          prepared: vc.prepared.filter(() => chance(0.5)),
          prePrepared: vc.prePrepared.filter(() => chance(0.5)),
        };
      },
      // Another digest seen at a claimed seq, in P and Q alike.
      () => {
        const claims = [...vc.prepared, ...vc.prePrepared];
        if (claims.length === 0) return null;
        const c = pick(claims);
        const digest = otherDigest(c.seq, c.digest);
        const swap = (x: LogClaim): LogClaim => (x.seq === c.seq && x.digest === c.digest ? { ...x, digest } : x);
        return { ...vc, prepared: vc.prepared.map(swap), prePrepared: vc.prePrepared.map(swap) };
      },
      // A claim's view ±1.
      () => {
        const claims = [...vc.prepared, ...vc.prePrepared];
        if (claims.length === 0) return null;
        const c = pick(claims);
        const view = chance(0.5) ? c.view + 1 : Math.max(0, c.view - 1);
        const shift = (x: LogClaim): LogClaim => (x === c ? { ...x, view } : x);
        return { ...vc, prepared: vc.prepared.map(shift), prePrepared: vc.prePrepared.map(shift) };
      },
      // A claim for a digest seen where it claims nothing prepared.
      () => {
        const claimed = new Set(vc.prepared.map((c) => c.seq));
        const open = [...digestsAt.keys()].filter((s) => !claimed.has(s) && s > vc.stableSeq);
        if (open.length === 0 || vc.newView === 0) return null;
        const seq = pick(open);
        const claim: LogClaim = { seq, digest: pick(digestsAt.get(seq)!), view: vc.newView - 1 };
        return { ...vc, prepared: [...vc.prepared, claim], prePrepared: [...vc.prePrepared, claim] };
      },
      // A consistent liar: back up a pre-prepare it sent as a lie with P and Q claims for it, with a
      // stable checkpoint below it (one whose proof it holds, or none) so that the claim counts.
      () => {
        const lies = [...told.values()].filter((c) => c.view < vc.newView);
        if (lies.length === 0) return null;
        const backed = backUpLie(ctx, vc, pick(lies));
        if (backed) count('lies.backed-up');
        return backed;
      },
      // Another target view.
      () => ({ ...vc, newView: vc.newView + int(1, 2) }),
      // Another stable checkpoint, with any valid proof it holds (or none: stable at 0).
      () => {
        const candidates = [...proofs.entries()].filter(([seq]) => seq !== vc.stableSeq);
        const own = ctx.replica.stableCheckpoint;
        if (own.seq > 0 && own.seq !== vc.stableSeq) candidates.push([own.seq, own.proof]);
        if (vc.stableSeq > 0) candidates.push([0, []]);
        if (candidates.length === 0) return null;
        const [stableSeq, checkpointProof] = pick(candidates);
        return { ...vc, stableSeq, checkpointProof };
      },
    ]);
    return mutated ? ctx.sign<ViewChange>(wellFormedViewChange(ctx, mutated)) : null;
  }

  /** `vc` claiming that `lie` prepared (P and Q), over a stable checkpoint below it whose proof it holds (or none); null if it holds none. */
  function backUpLie(ctx: BehaviourContext, vc: ViewChange, lie: LogClaim): ViewChange | null {
    const window = ctx.replica.config.logWindow;
    const below: [number, readonly Checkpoint[]][] = [...proofs.entries()].filter(
      ([seq]) => seq < lie.seq && lie.seq <= seq + window,
    );
    const own = ctx.replica.stableCheckpoint;
    if (own.seq > 0 && own.seq < lie.seq && lie.seq <= own.seq + window) below.push([own.seq, own.proof]);
    if (lie.seq <= window) below.push([0, []]);
    if (below.length === 0) return null;
    const [stableSeq, checkpointProof] = pick(below);
    const others = (claims: readonly LogClaim[]): LogClaim[] => claims.filter((c) => c.seq !== lie.seq);
    return {
      ...vc,
      stableSeq,
      checkpointProof,
      prepared: [...others(vc.prepared), lie],
      prePrepared: [...others(vc.prePrepared), lie],
    };
  }

  /** O altered: an entry dropped, one digest changed, or one more entry. */
  function alterOrder(order: readonly NewViewOrder[], minSeq: number): NewViewOrder[] | null {
    return tryInOrder<NewViewOrder[]>([
      () => (order.length > 0 ? order.slice(0, -1) : null),
      () => {
        if (order.length === 0) return null;
        const i = int(0, order.length - 1);
        const o = order[i]!;
        const changed = [...order];
        changed[i] = { seq: o.seq, digest: otherDigest(o.seq, o.digest) };
        return changed;
      },
      () => {
        const last = order.length > 0 ? order[order.length - 1]!.seq : minSeq;
        const seen = digestsAt.get(last + 1);
        return [...order, { seq: last + 1, digest: seen && chance(0.5) ? pick(seen) : nullDigest! }];
      },
    ]);
  }

  /** A NEW-VIEW for `view` (unsigned) from a random 2f+1 or more of the valid VIEW-CHANGEs it holds, O as computed or altered. */
  function buildNewView(ctx: BehaviourContext, view: number, extra: readonly ViewChange[]): NewView | null {
    const byReplica = new Map<ReplicaId, ViewChange>();
    for (const vc of [...extra, ...(viewChanges.get(view)?.values() ?? [])])
      if (vc.newView === view && !byReplica.has(vc.replica)) byReplica.set(vc.replica, vc);
    const all = [...byReplica.values()];
    if (all.length < q!.strong) return null;
    // A random subset of size 2f+1..all.
    for (let i = all.length - 1; i > 0; i--) {
      const j = int(0, i);
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    const chosen = all.slice(0, int(q!.strong, all.length)).sort((a, b) => a.replica - b.replica);
    const plan = planNewView(chosen, q!, nullDigest!);
    if (!plan.decided) return null;
    const order = chance(0.3) ? (alterOrder(plan.order, plan.minSeq) ?? plan.order) : plan.order;
    return { type: 'new-view', view, viewChanges: chosen, order, replica: ctx.id, sig: EMPTY };
  }

  function mutateNewView(ctx: BehaviourContext, nv: NewView): NewView | null {
    const mutated = tryInOrder<NewView>([
      () => buildNewView(ctx, nv.view, nv.viewChanges),
      () => {
        const minSeq = Math.max(0, ...nv.viewChanges.map((vc) => vc.stableSeq));
        const order = alterOrder(nv.order, minSeq);
        return order ? { ...nv, order } : null;
      },
      () => (chance(0.3) ? { ...nv, view: nv.view + 1 } : null),
      () => (chance(0.3) && nv.view > 0 ? { ...nv, view: nv.view - 1 } : null),
    ]);
    return mutated ? ctx.sign<NewView>(mutated) : null;
  }

  function lieInStatus(ctx: BehaviourContext, st: Status): Status {
    const config = ctx.replica.config;
    let lie: Status = st;
    const lies = int(1, 2);
    for (let i = 0; i < lies; i++) {
      const next = tryInOrder<Status>([
        () => ({ ...lie, lastExecuted: lie.lastExecuted + int(1, config.logWindow) }),
        () => ({ ...lie, stableSeq: lie.stableSeq + config.checkpointInterval * int(1, 2) }),
        () => ({ ...lie, view: lie.view + 1 }),
        () => (lie.view > 0 ? { ...lie, view: lie.view - 1 } : null),
        () => ({ ...lie, normal: !lie.normal }),
        () => ({ ...lie, firstUncommitted: Math.max(0, lie.firstUncommitted + int(-2, 2)) }),
      ]);
      if (next) lie = next;
    }
    return lie;
  }

  /** The lie for one message it sends, or null when it can only be withheld. */
  function mutate(ctx: BehaviourContext, m: ReplicaMessage): ReplicaMessage | null {
    if (!('replica' in m) || m.replica !== ctx.id) return null; // others' messages: relay or withhold only
    switch (m.type) {
      case 'pre-prepare':
        return mutatePrePrepare(ctx, m);
      case 'prepare':
      case 'commit':
        return mutateVote(m);
      case 'checkpoint':
        return mutateCheckpoint(ctx, m);
      case 'view-change':
        return mutateViewChange(ctx, m);
      case 'new-view':
        return mutateNewView(ctx, m);
      case 'status':
        return lieInStatus(ctx, m);
      default:
        return null;
    }
  }

  /** Whether `m` encodes (every lie must pass the codec); a lie that does not is a bug here, counted and not sent. */
  function encodes(m: Message): boolean {
    try {
      encodeMessage(m);
      return true;
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      count('invalid');
      return false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Fates: who gets the original, who the lie, who nothing

  /** Per replica: the original, the lie or nothing, in one of the run's shapes (all originals when none fits). */
  function drawFates(ctx: BehaviourContext, canMutate: boolean): Fate[] {
    const ids = others(ctx);
    const fates: Fate[] = Array.from({ length: ctx.n }, () => 'original');
    const shapes = plan!.shapes.filter((s) => canMutate || WITHHOLDING.includes(s));
    if (shapes.length === 0) return fates;
    switch (pick(shapes)) {
      case 'lie-to-some': {
        // ByzzFuzz: the mutated copy to a random subset, the original to the others.
        for (const r of someOthers(ctx)) fates[r] = 'mutated';
        break;
      }
      case 'three-way':
        for (const r of ids) fates[r] = pick<Fate>(['original', 'mutated', 'none']);
        if (!ids.some((r) => fates[r] === 'mutated')) fates[pick(ids)] = 'mutated';
        break;
      case 'lie-to-all':
        for (const r of ids) fates[r] = 'mutated';
        break;
      case 'some': {
        for (const r of ids) fates[r] = 'none';
        for (const r of someOthers(ctx)) fates[r] = 'original';
        break;
      }
      case 'one':
        for (const r of ids) fates[r] = 'none';
        fates[pick(ids)] = 'original';
        break;
      case 'none':
        for (const r of ids) fates[r] = 'none';
        break;
    }
    return fates;
  }

  /** The key under which a decision sticks, so retransmissions tell the same story (a withheld checkpoint stays withheld). */
  function stickyKey(m: ReplicaMessage): string | null {
    switch (m.type) {
      case 'pre-prepare':
      case 'prepare':
      case 'commit':
        return `${m.type}:${m.replica}:${m.view}:${m.seq}`;
      case 'checkpoint':
        return `checkpoint:${m.replica}:${m.seq}`;
      case 'view-change':
        return `view-change:${m.replica}:${m.newView}`;
      case 'new-view':
        return `new-view:${m.replica}:${m.view}`;
      default:
        return null;
    }
  }

  function decide(ctx: BehaviourContext, m: ReplicaMessage): Decision {
    let mutated = mutate(ctx, m);
    if (mutated && !encodes(mutated)) mutated = null;
    return { mutated, fates: drawFates(ctx, mutated !== null) };
  }

  /** One send or broadcast of the honest replica, as it really goes out. */
  function send(ctx: BehaviourContext, o: Output & { kind: 'send' | 'broadcast' }): Output[] {
    const m = o.message;
    const key = stickyKey(m);
    let decision = key === null ? undefined : decisions.get(key);
    if (!decision) {
      if (!lying(ctx) || !chance(plan!.messageProbability[faultedKind(m)])) return [o];
      decision = decide(ctx, m);
      if (key !== null) {
        decisions.set(key, decision);
        cap(decisions, DECISIONS_MAX);
      }
    }
    const recipients = o.kind === 'broadcast' ? others(ctx) : [o.to];
    const fates = recipients.map((r) => decision.fates[r] ?? 'original');
    if (fates.every((f) => f === 'original')) return [o];
    const out: Output[] = [];
    recipients.forEach((to, i) => {
      const fate = fates[i]!;
      if (fate === 'original') out.push({ kind: 'send', to, message: m });
      else if (fate === 'mutated' && decision.mutated) out.push({ kind: 'send', to, message: decision.mutated });
    });
    if (fates.includes('mutated')) count(m.type === 'status' ? 'lies.status' : `mutated.${m.type}`);
    if (fates.includes('mutated') && decision.mutated) tell(decision.mutated);
    if (fates.every((f) => f === 'none')) count(`omitted.${m.type}`);
    else if (fates.includes('none')) count(`subset.${m.type}`);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // The campaign (see Campaign)

  function noteAcknowledged(p: Prepare): void {
    const lie = campaignLies.get(claimKey(p.seq, p.digest, p.view));
    if (!lie || acknowledged.includes(lie)) return;
    acknowledged.push(lie);
    if (acknowledged.length > TOLD_MAX) acknowledged.shift();
    count('campaign.acknowledged');
  }

  /** What the campaign does with one message it would send, or null when it leaves it to the plan. */
  function campaignSend(ctx: BehaviourContext, o: Output & { kind: 'send' | 'broadcast' }): Output[] | null {
    const c = plan!.campaign;
    if (!c) return null;
    const m = o.message;
    const recipients = o.kind === 'broadcast' ? others(ctx) : [o.to];
    const to = (keep: (r: ReplicaId) => boolean, message: ReplicaMessage = m): Output[] =>
      recipients.filter(keep).map((r) => ({ kind: 'send', to: r, message }));
    if (m.type === 'checkpoint' && m.replica === ctx.id && c.hoard !== 'none') {
      count('campaign.hoarded');
      return to((r) => c.hoard === 'all-but-one' && r === c.favoured);
    }
    if (m.type === 'state-chunk' && c.starveTransfers) {
      count('campaign.starved');
      return [];
    }
    if (m.type === 'new-view' && m.replica === ctx.id) {
      if (rewrite?.view !== m.view) {
        rewrite = { view: m.view, ...newViewTargets(ctx, c, m), lies: 0 };
        count('campaign.new-view');
      }
      const targets = rewrite.targets;
      return to((r) => targets.includes(r));
    }
    if (m.type === 'view-change' && m.replica === ctx.id) {
      if (!backedUp.has(m.newView)) {
        const lies = acknowledged.filter((l) => l.view < m.newView);
        const choose = lies.length > 0 && (c.backUp === 'always' || campaignRandom() < 0.5);
        const unsigned = choose ? backUpLie(ctx, m, lies[Math.floor(campaignRandom() * lies.length)]!) : null;
        const vc = unsigned ? ctx.sign<ViewChange>(wellFormedViewChange(ctx, unsigned)) : null;
        backedUp.set(m.newView, vc && encodes(vc) ? vc : null);
        cap(backedUp, VIEW_CHANGE_VIEWS_MAX);
        if (backedUp.get(m.newView)) count('campaign.backed-up');
      }
      const vc = backedUp.get(m.newView);
      return vc ? to(() => true, vc) : null;
    }
    return null;
  }

  /** Who gets its NEW-VIEW: the replicas behind the view's stable checkpoint (by their STATUS), one, or some. */
  function newViewTargets(ctx: BehaviourContext, c: Campaign, nv: NewView): { targets: ReplicaId[]; minSeq: number } {
    const minSeq = Math.max(0, ...nv.viewChanges.map((vc) => vc.stableSeq));
    const all = others(ctx);
    const one = (): ReplicaId[] => [all[Math.floor(campaignRandom() * all.length)]!];
    let targets: ReplicaId[] = [];
    if (c.newViewTo === 'behind') {
      targets = all.filter((r) => (peerExecuted.get(r) ?? 0) < minSeq);
      // None behind min-s: the one furthest behind.
      const last = Math.min(...all.map((r) => peerExecuted.get(r) ?? 0));
      if (targets.length === 0) targets = [all.find((r) => (peerExecuted.get(r) ?? 0) === last)!];
    } else if (c.newViewTo === 'some') targets = all.filter(() => campaignRandom() < 0.5);
    if (targets.length === 0 || targets.length === all.length) targets = one();
    return { targets, minSeq };
  }

  /** As the primary of a view whose NEW-VIEW went to a subset: another batch at a low sequence number, to that subset. */
  function campaignTick(ctx: BehaviourContext): Output[] {
    const c = plan!.campaign;
    const r = ctx.replica;
    const t = rewrite;
    if (!c || !t || t.view !== r.view || r.status !== 'normal' || primaryOf(r.view, ctx.n) !== ctx.id) return [];
    // Once a target says (STATUS) that it works in the view: a lie it will take.
    const inView = t.targets.filter((x) => peerNormalIn.get(x) === t.view);
    if (inView.length === 0 || campaignRandom() >= c.rewriteProbability) return [];
    // A lie told before and not yet acknowledged is told again (it may have been lost), up to three in all.
    const open = [...campaignLies.values()].filter((l) => l.view === t.view && !acknowledged.includes(l));
    if (t.lies >= 3 || (open.length > 0 && campaignRandom() < 0.5)) {
      const again = open.length > 0 ? open[Math.floor(campaignRandom() * open.length)]! : null;
      const pp = again ? toldPrePrepares.get(claimKey(again.seq, again.digest, again.view)) : undefined;
      if (!pp) return [];
      count('campaign.rewrite-again');
      return inView.map((to) => ({ kind: 'send', to, message: pp }));
    }
    let lo: number;
    let hi: number;
    if (c.rewriteAt === 'their-gap') {
      lo = Math.min(...t.targets.map((x) => peerExecuted.get(x) ?? 0)) + 1;
      hi = Math.max(lo, t.minSeq);
    } else {
      lo = Math.max(1, r.lastExecuted - r.config.logWindow + 1);
      hi = r.lastExecuted + 1;
    }
    const seq = lo + Math.floor(campaignRandom() * (hi - lo + 1));
    const known = (digestsAt.get(seq) ?? []).map((d) => batches.get(d)).find((b) => b !== undefined);
    const reqs = c.nullBatch ? [] : (otherBatch(seq, known?.requests ?? []) ?? []);
    const base: PrePrepare = {
      type: 'pre-prepare',
      view: r.view,
      seq,
      digest: nullDigest!,
      requests: [],
      replica: ctx.id,
    };
    const pp = withBatch(base, reqs, ctx);
    // What its own log holds there in this view (the NEW-VIEW's O) is no lie.
    const held = r.logRows().find((row) => row.seq === seq && row.view === r.view);
    if ((held && held.digest === pp.digest) || !encodes(pp)) return [];
    t.lies++;
    tell(pp);
    campaignLies.set(claimKey(pp.seq, pp.digest, pp.view), { seq: pp.seq, digest: pp.digest, view: pp.view });
    toldPrePrepares.set(claimKey(pp.seq, pp.digest, pp.view), pp);
    cap(campaignLies, TOLD_MAX);
    cap(toldPrePrepares, TOLD_MAX);
    count('campaign.rewrite');
    return inView.map((to) => ({ kind: 'send', to, message: pp }));
  }

  // -------------------------------------------------------------------------------------------
  // Replies and the shadow application

  function shadowApp(ctx: BehaviourContext): StateMachine | null {
    if (shadow === undefined) shadow = ctx.newApp ? ctx.newApp() : null;
    return shadow;
  }

  function onExecuted(ctx: BehaviourContext, seq: number, executed: readonly ExecutedRequest[]): void {
    const app = shadowApp(ctx);
    if (!app) return;
    shadowQueue.push({ seq, requests: executed });
    while (shadowQueue.length > plan!.shadowLag) {
      const batch = shadowQueue.shift()!;
      for (const r of batch.requests)
        if (r.executed) app.execute(r.op, { client: r.client, timestamp: r.timestamp, seq: batch.seq });
    }
  }

  function reply(ctx: BehaviourContext, o: Output & { kind: 'reply' }): Output | null {
    const r = o.reply;
    const p = plan!;
    if (!lying(ctx) || !chance(p.messageProbability.reply)) return o;
    const op = r.readOnly ? readOps.get(readKey(r.client, r.timestamp)) : undefined;
    const app = op ? shadowApp(ctx) : null;
    const lies: Record<ReplyLie, () => Reply | 'omit' | null> = {
      // A read answered from the lagging shadow: an earlier state (and, sometimes, marked committed).
      'stale-read': () =>
        op && app && app.isReadOnly(op)
          ? {
              ...r,
              result: app.execute(op, { client: r.client, timestamp: r.timestamp, seq: 0 }),
              tentative: chance(0.5) ? false : r.tentative,
            }
          : null,
      // A tentative (or read-only) reply passed off as committed: clients accept f+1 of those.
      committed: () => (r.tentative ? { ...r, tentative: false } : null),
      // A later view: the client sends its next request to another primary.
      view: () => ({ ...r, view: r.view + int(1, 3) }),
      // The result off by one in its last byte.
      result: () => {
        if (r.result.length === 0) return null;
        const result = r.result.slice();
        result[result.length - 1] = (result[result.length - 1]! + 1) & 0xff;
        return { ...r, result };
      },
      omit: () => 'omit',
    };
    const kinds = p.replyLies;
    const first = Math.floor(random() * kinds.length);
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(first + i) % kinds.length]!;
      const lie = lies[kind]();
      if (lie === null) continue;
      if (lie === 'omit') {
        count('omitted.reply');
        return null;
      }
      if (!encodes(lie)) return o;
      count(`lies.reply.${kind}`);
      return { ...o, reply: lie };
    }
    return o;
  }

  // -------------------------------------------------------------------------------------------
  // Extra messages: replays and injections

  function replay(ctx: BehaviourContext): Output[] {
    if (signed.length === 0) return [];
    const m = pick(signed);
    count(`replayed.${m.type}`);
    return toSome(ctx, m);
  }

  /** Extra messages go to a random non-empty subset of the others. */
  function toSome(ctx: BehaviourContext, m: ReplicaMessage): Output[] {
    const to = someOthers(ctx);
    if (to.length < ctx.n - 1) count(`subset.${m.type}`);
    return to.map((r) => ({ kind: 'send', to: r, message: m }));
  }

  /** As primary: another batch (the null batch, often) at a sequence number that may already be committed, to a subset. */
  function injectPrePrepare(ctx: BehaviourContext): Output[] {
    const r = ctx.replica;
    if (primaryOf(r.view, ctx.n) !== ctx.id || r.status !== 'normal') return [];
    const low = Math.max(1, r.lastExecuted - r.config.logWindow + 1);
    const seq = int(low, r.lastExecuted + 2);
    const base: PrePrepare = {
      type: 'pre-prepare',
      view: r.view,
      seq,
      digest: nullDigest!,
      requests: [],
      replica: ctx.id,
    };
    const known = (digestsAt.get(seq) ?? []).map((d) => batches.get(d)).find((b) => b !== undefined);
    const reqs = chance(0.5) ? [] : (otherBatch(seq, known?.requests ?? []) ?? []);
    const pp = withBatch(base, reqs, ctx);
    if (!encodes(pp)) return [];
    count('injected.pre-prepare');
    tell(pp);
    return toSome(ctx, pp);
  }

  /** As the primary of a view it holds 2f+1 VIEW-CHANGEs for: a NEW-VIEW of its own making, to a subset. */
  function injectNewView(ctx: BehaviourContext): Output[] {
    const views = [...viewChanges.keys()].filter(
      (v) =>
        primaryOf(v, ctx.n) === ctx.id &&
        v >= ctx.replica.view &&
        (newViewsInjected.get(v) ?? 0) < NEW_VIEW_INJECTIONS_PER_VIEW,
    );
    if (views.length === 0) return [];
    const view = pick(views);
    const unsigned = buildNewView(ctx, view, []);
    const nv = unsigned ? ctx.sign<NewView>(unsigned) : null;
    if (!nv || !encodes(nv)) return [];
    newViewsInjected.set(view, (newViewsInjected.get(view) ?? 0) + 1);
    cap(newViewsInjected, VIEW_CHANGE_VIEWS_MAX * 2);
    count('injected.new-view');
    return toSome(ctx, nv);
  }

  /** A VIEW-CHANGE nobody asked for (the next view or the one after), from its log, perhaps bent, to a subset. */
  function injectViewChange(ctx: BehaviourContext): Output[] {
    const r = ctx.replica;
    const stable = r.stableCheckpoint;
    const newView = r.view + int(1, 2);
    const prepared: LogClaim[] = [];
    const prePrepared: LogClaim[] = [];
    for (const row of r.logRows()) {
      if (row.digest === null || row.view === null || row.seq <= stable.seq) continue;
      const claim = { seq: row.seq, digest: row.digest, view: row.view };
      prePrepared.push(claim);
      if (row.phase === 'prepared' || row.phase === 'committed' || row.phase === 'executed') prepared.push(claim);
    }
    const honest = wellFormedViewChange(ctx, {
      type: 'view-change',
      newView,
      stableSeq: stable.seq,
      checkpointProof: stable.seq > 0 ? stable.proof : [],
      prepared,
      prePrepared,
      replica: ctx.id,
      sig: EMPTY,
    });
    const vc = (chance(0.5) ? mutateViewChange(ctx, honest) : null) ?? ctx.sign<ViewChange>(honest);
    if (!encodes(vc)) return [];
    noteViewChange(ctx, vc);
    count('injected.view-change');
    return toSome(ctx, vc);
  }

  // -------------------------------------------------------------------------------------------

  return {
    ...FUZZ_INFO,
    onInput: (ctx, from, m) => {
      start(ctx);
      observe(ctx, m, false);
      if (m.type !== 'request') return m;
      if (m.readOnly && typeof from === 'string') {
        readOps.set(readKey(m.client, m.timestamp), m.op);
        cap(readOps, READ_OPS_MAX);
      }
      if (!clients.includes(m.client) && clients.length < CLIENTS_MAX) clients.push(m.client);
      const p = plan!;
      if (m.client === clients[p.censorIndex] && lying(ctx) && chance(p.censorProbability)) {
        count('censored');
        return null;
      }
      return m;
    },
    onOutputs: (ctx, outputs) => {
      start(ctx);
      const out: Output[] = [];
      for (const o of outputs) {
        switch (o.kind) {
          case 'event':
            if (o.event.type === 'executed') onExecuted(ctx, o.event.seq, o.event.requests);
            out.push(o);
            break;
          case 'persist':
            out.push(o);
            break;
          case 'reply': {
            const r = reply(ctx, o);
            if (r) out.push(r);
            break;
          }
          case 'send':
          case 'broadcast':
            observe(ctx, o.message, true);
            out.push(...(campaignSend(ctx, o) ?? send(ctx, o)));
            break;
        }
      }
      return out;
    },
    onTick: (ctx) => {
      const p = start(ctx);
      const campaign = campaignTick(ctx);
      if (campaign.length > 0) return campaign;
      if (!lying(ctx) || !chance(p.tickProbability)) return [];
      // An injection when one applies, else a replay.
      const kind = pick(['replay', 'replay', 'pre-prepare', 'new-view', 'view-change']);
      const out =
        kind === 'pre-prepare'
          ? injectPrePrepare(ctx)
          : kind === 'new-view'
            ? injectNewView(ctx)
            : kind === 'view-change' && chance(0.3)
              ? injectViewChange(ctx)
              : [];
      return out.length > 0 ? out : replay(ctx);
    },
    counters: () => ({ ...counters }),
  };
}
