/**
 * The network adversary (ADVERSARY.md §3–§5, §7): instead of random loss and delay alone, a seeded
 * scheduler that *targets* replicas. Before GST (the scenario's `healAt`) it owns every link: it delivers
 * a message to a chosen subset of its receivers, holds messages to one correct replica for up to that
 * replica's timeout, clogs and unclogs replicas in a staggered order, holds one kind of message, and
 * replays old messages across view boundaries. From GST on, links between correct replicas are timely
 * again (everything held is released by then), so liveness is still judged.
 *
 * The links *from a faulty replica* are the adversary's for the whole run — its own messages are its
 * to send when and to whom it likes. Its policy decides, per message and receiver, whether to include
 * that receiver now, later or never; a primary that picks, message by message, which correct replicas
 * it includes is the family in which censorship of one client hides from the view-change timers.
 *
 * The adversary is state-aware (LOKI, NDSS'23): it may look at the replicas' views, progress and
 * view-change timers (an oracle the real network lacks; a test adversary should be stronger than any
 * real one). Which strategies a run uses, with what targets and windows, is drawn from the seed: this
 * is a family explored by the seed, not a schedule written out.
 */
import type { Message, MessageType, ReplicaId } from '../pbft/messages.ts';
import type { Prng } from './prng.ts';

/** How a strategy picks the replica it targets, at the moment it decides. */
export type Selector =
  'fixed' | 'rotate' | 'next-timer' | 'most-advanced' | 'least-advanced' | 'primary' | 'next-primary';

export type Strategy =
  /** Hold messages to the target for up to `holdMsMax`. */
  | {
      readonly kind: 'lag';
      readonly selector: Selector;
      readonly fixed: ReplicaId;
      readonly periodMs: number;
      readonly holdMsMax: number;
      readonly from: number;
      readonly until: number;
    }
  /** Deliver each broadcast to exactly 2f others (a bare quorum with the sender) now; hold the rest. */
  | { readonly kind: 'quorum-only'; readonly holdMs: number; readonly from: number; readonly until: number }
  /** Cut the target off: messages to it, from it, or both are dropped. */
  | {
      readonly kind: 'isolate';
      readonly selector: Selector;
      readonly fixed: ReplicaId;
      readonly periodMs: number;
      readonly direction: 'in' | 'out' | 'both';
      readonly from: number;
      readonly until: number;
    }
  /** Hold messages of one type to a subset of receivers. */
  | {
      readonly kind: 'hold-type';
      readonly type: MessageType;
      readonly receivers: readonly ReplicaId[];
      readonly holdMsMax: number;
      readonly from: number;
      readonly until: number;
    }
  /** Swizzle-clog (FoundationDB): replicas clogged at staggered moments and unclogged in another order. */
  | {
      readonly kind: 'swizzle';
      readonly clogs: readonly { readonly replica: ReplicaId; readonly from: number; readonly until: number }[];
    }
  /** Deliver a copy of an earlier message again, later (old views, old sequence numbers). */
  | { readonly kind: 'replay'; readonly probability: number; readonly from: number; readonly until: number }
  /**
   * Clog the view-change traffic (VIEW-CHANGE, NEW-VIEW) to every correct replica but the target for
   * `durationMs` from the first VIEW-CHANGE sent after `from` (retransmissions too): one replica learns
   * of the view change on time, the others late — the new primary forms its view while the rest still
   * work in the old one.
   */
  | {
      readonly kind: 'hold-view-change';
      readonly selector: Selector;
      readonly fixed: ReplicaId;
      readonly periodMs: number;
      readonly durationMs: number;
      readonly from: number;
      readonly until: number;
    };

/** What the faulty replicas do with their own links, the whole run. */
export interface FaultyLinkPolicy {
  /** The message types it applies to. */
  readonly types: readonly MessageType[];
  /** exclude: the target does not get it; only: only the target gets it; delay: the target gets it late; subset: a random subset gets it. */
  readonly mode: 'exclude' | 'only' | 'delay' | 'subset';
  readonly selector: Selector;
  readonly fixed: ReplicaId;
  readonly periodMs: number;
  readonly holdMs: number;
  /** Chance that the policy acts on a given message. */
  readonly probability: number;
}

export interface AdversaryScenario {
  readonly strategies: readonly Strategy[];
  readonly faultyLinks: FaultyLinkPolicy | null;
  /**
   * Whether the strategies above spare the faulty replicas' own messages: the network colludes with
   * the liar, so a replica it keeps behind still hears the liar on time (optional: older scenarios lack it).
   */
  readonly faultyExempt?: boolean;
}

/** What the adversary may look at (the oracle). */
export interface ReplicaView {
  readonly up: boolean;
  readonly correct: boolean;
  readonly view: number;
  readonly normal: boolean;
  readonly lastExecuted: number;
  /** Ticks until its view-change timer fires, or null when it is not running. */
  readonly timerTicksLeft: number | null;
}

export type Decision = { readonly drop: true } | { readonly drop: false; readonly holdMs: number };

const DELIVER: Decision = { drop: false, holdMs: 0 };

export interface AdversaryCounters {
  held: number;
  dropped: number;
  replayed: number;
  faultyLinkDecisions: number;
}

const HOLDABLE_TYPES: readonly MessageType[] = [
  'pre-prepare',
  'prepare',
  'commit',
  'checkpoint',
  'view-change',
  'new-view',
  'status',
  'request',
  'state-chunk',
  'batch',
];

export function adversaryFromSeed(
  rng: Prng,
  n: number,
  f: number,
  healAt: number,
  timeoutMs: number,
  faulty: readonly ReplicaId[],
  /** A stream of its own for choices added later, so that every earlier choice of a seed stays as it was. */
  later?: Prng,
): AdversaryScenario {
  const correct = Array.from({ length: n }, (_, r) => r).filter((r) => !faulty.includes(r));
  const selector = (): Selector =>
    rng.pick([
      'fixed',
      'rotate',
      'next-timer',
      'next-timer',
      'most-advanced',
      'least-advanced',
      'primary',
      'next-primary',
    ]);
  const window = (): { from: number; until: number } => {
    const from = rng.int(0, Math.max(0, healAt - 200));
    return { from, until: Math.min(healAt, from + rng.int(200, Math.max(400, healAt))) };
  };
  const strategies: Strategy[] = [];
  const count = healAt > 0 ? rng.int(1, 3) : 0;
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(['lag', 'lag', 'quorum-only', 'isolate', 'hold-type', 'hold-type', 'swizzle', 'replay']);
    const w = window();
    const fixed = rng.pick(correct);
    const periodMs = rng.pick([200, 500, 1000, 3000]);
    switch (kind) {
      case 'lag':
        strategies.push({ kind, selector: selector(), fixed, periodMs, holdMsMax: rng.int(50, timeoutMs), ...w });
        break;
      case 'quorum-only':
        strategies.push({ kind, holdMs: rng.int(20, timeoutMs), ...w });
        break;
      case 'isolate':
        strategies.push({
          kind,
          selector: selector(),
          fixed,
          periodMs,
          direction: rng.pick(['in', 'out', 'both']),
          ...w,
        });
        break;
      case 'hold-type': {
        const receivers = correct.filter(() => rng.chance(0.5));
        strategies.push({
          kind,
          type: rng.pick(HOLDABLE_TYPES),
          receivers: receivers.length > 0 ? receivers : [fixed],
          holdMsMax: rng.int(20, timeoutMs),
          ...w,
        });
        break;
      }
      case 'swizzle': {
        const clogs = correct
          .filter(() => rng.chance(0.5))
          .map((replica) => {
            const mid = w.from + Math.floor((w.until - w.from) / 2);
            return { replica, from: rng.int(w.from, mid), until: rng.int(mid, w.until) };
          });
        strategies.push({ kind, clogs });
        break;
      }
      default:
        strategies.push({ kind: 'replay', probability: rng.pick([0.01, 0.05, 0.2]), ...w });
    }
  }
  let faultyLinks: FaultyLinkPolicy | null = null;
  if (faulty.length > 0 && rng.chance(0.8)) {
    const types = HOLDABLE_TYPES.filter(() => rng.chance(0.4));
    faultyLinks = {
      types: types.length > 0 ? types : [rng.pick(['pre-prepare', 'commit'] as const)],
      mode: rng.pick(['exclude', 'exclude', 'only', 'delay', 'subset']),
      selector: selector(),
      fixed: rng.pick(correct),
      periodMs: rng.pick([200, 500, 1000, 3000]),
      holdMs: rng.int(20, timeoutMs),
      probability: rng.pick([0.3, 0.7, 1]),
    };
  }
  const faultyExempt = faulty.length > 0 && strategies.length > 0 && (later?.chance(0.5) ?? false);
  if (later && healAt > 0 && later.chance(0.3)) {
    strategies.push({
      kind: 'hold-view-change',
      selector: later.pick(['primary', 'primary', 'next-primary', 'next-timer', 'rotate', 'fixed']),
      fixed: later.pick(correct),
      periodMs: later.pick([200, 500, 1000, 3000]),
      durationMs: later.int(100, 2 * timeoutMs),
      from: later.int(0, Math.max(0, healAt - 200)),
      until: healAt,
    });
  }
  return { strategies, faultyLinks, faultyExempt };
}

const REPLAY_RING = 256;

export class NetworkAdversary {
  readonly counters: AdversaryCounters = { held: 0, dropped: 0, replayed: 0, faultyLinkDecisions: 0 };
  private readonly scenario: AdversaryScenario;
  private readonly rng: Prng;
  private readonly n: number;
  private readonly f: number;
  private readonly healAt: number;
  private readonly faulty: ReadonlySet<ReplicaId>;
  private readonly observe: (r: ReplicaId) => ReplicaView;
  /** Per broadcast (message object) in a quorum-only window: the receivers it reaches now. */
  private readonly quorumPick = new WeakMap<object, Set<ReplicaId>>();
  private readonly seen: { readonly from: ReplicaId; readonly message: Message }[] = [];
  /** When each hold-view-change clog began (its first VIEW-CHANGE). */
  private readonly clogStart = new Map<Strategy, number>();

  constructor(
    scenario: AdversaryScenario,
    rng: Prng,
    cluster: { n: number; f: number; healAt: number; faulty: ReadonlySet<ReplicaId> },
    observe: (r: ReplicaId) => ReplicaView,
  ) {
    this.scenario = scenario;
    this.rng = rng;
    this.n = cluster.n;
    this.f = cluster.f;
    this.healAt = cluster.healAt;
    this.faulty = cluster.faulty;
    this.observe = observe;
  }

  /**
   * A message from replica `from` (or a client: `from` null) to replica `to`, now: deliver it now,
   * later, or never. Replies to clients are not the adversary's (a client's view of the world is judged).
   */
  decide(from: ReplicaId | null, to: ReplicaId, message: Message, now: number): Decision {
    let holdMs = 0;
    if (from !== null && this.faulty.has(from) && this.scenario.faultyLinks) {
      const d = this.faultyLink(this.scenario.faultyLinks, to, message, now);
      if (d.drop) return this.drop();
      holdMs = d.holdMs;
    }
    if (now >= this.healAt) return this.hold(holdMs);
    if (from !== null && this.faulty.has(from) && this.scenario.faultyExempt) return this.hold(holdMs);
    for (const s of this.scenario.strategies) {
      const d = this.strategy(s, from, to, message, now);
      if (d.drop) return this.drop();
      holdMs = Math.max(holdMs, d.holdMs);
    }
    if (from !== null && message.type !== 'reply' && this.seen.length < REPLAY_RING) this.seen.push({ from, message });
    else if (from !== null && message.type !== 'reply') this.seen[this.rng.int(0, REPLAY_RING - 1)] = { from, message };
    return this.hold(holdMs);
  }

  /** Replays due now (the replay strategy): old messages to deliver again, with their original sender. */
  replays(now: number): { from: ReplicaId; to: ReplicaId; message: Message }[] {
    if (now >= this.healAt || this.seen.length === 0) return [];
    const out: { from: ReplicaId; to: ReplicaId; message: Message }[] = [];
    for (const s of this.scenario.strategies) {
      if (s.kind !== 'replay' || now < s.from || now >= s.until || !this.rng.chance(s.probability)) continue;
      const old = this.seen[this.rng.int(0, this.seen.length - 1)]!;
      const to = this.rng.int(0, this.n - 1);
      if (to === old.from) continue;
      this.counters.replayed++;
      out.push({ from: old.from, to, message: old.message });
    }
    return out;
  }

  private drop(): Decision {
    this.counters.dropped++;
    return { drop: true };
  }

  private hold(holdMs: number): Decision {
    if (holdMs <= 0) return DELIVER;
    this.counters.held++;
    return { drop: false, holdMs };
  }

  private strategy(s: Strategy, from: ReplicaId | null, to: ReplicaId, message: Message, now: number): Decision {
    switch (s.kind) {
      case 'lag': {
        if (now < s.from || now >= s.until || to !== this.target(s.selector, s.fixed, s.periodMs, now)) return DELIVER;
        return { drop: false, holdMs: Math.min(s.until - now, this.rng.int(0, s.holdMsMax)) };
      }
      case 'quorum-only': {
        if (now < s.from || now >= s.until || from === null) return DELIVER;
        let pick = this.quorumPick.get(message);
        if (!pick) {
          const others = Array.from({ length: this.n }, (_, r) => r).filter((r) => r !== from);
          pick = new Set<ReplicaId>();
          while (pick.size < 2 * this.f && pick.size < others.length) pick.add(this.rng.pick(others));
          this.quorumPick.set(message, pick);
        }
        return pick.has(to) ? DELIVER : { drop: false, holdMs: Math.min(s.until - now, s.holdMs) };
      }
      case 'isolate': {
        if (now < s.from || now >= s.until) return DELIVER;
        const target = this.target(s.selector, s.fixed, s.periodMs, now);
        const cut = (s.direction !== 'out' && to === target) || (s.direction !== 'in' && from === target);
        return cut ? { drop: true } : DELIVER;
      }
      case 'hold-type': {
        if (now < s.from || now >= s.until || message.type !== s.type || !s.receivers.includes(to)) return DELIVER;
        return { drop: false, holdMs: Math.min(s.until - now, this.rng.int(0, s.holdMsMax)) };
      }
      case 'swizzle': {
        let holdMs = 0;
        for (const c of s.clogs)
          if (c.replica === to && now >= c.from && now < c.until) holdMs = Math.max(holdMs, c.until - now);
        return holdMs > 0 ? { drop: false, holdMs } : DELIVER;
      }
      case 'replay':
        return DELIVER;
      case 'hold-view-change': {
        if (now < s.from || now >= s.until || (message.type !== 'view-change' && message.type !== 'new-view'))
          return DELIVER;
        let start = this.clogStart.get(s);
        if (start === undefined) {
          if (message.type !== 'view-change') return DELIVER;
          this.clogStart.set(s, (start = now));
        }
        const end = Math.min(s.until, start + s.durationMs);
        if (now >= end || this.faulty.has(to) || to === this.target(s.selector, s.fixed, s.periodMs, now))
          return DELIVER;
        return { drop: false, holdMs: end - now };
      }
    }
  }

  private faultyLink(p: FaultyLinkPolicy, to: ReplicaId, message: Message, now: number): Decision {
    if (!p.types.includes(message.type) || !this.rng.chance(p.probability)) return DELIVER;
    this.counters.faultyLinkDecisions++;
    const target = this.target(p.selector, p.fixed, p.periodMs, now);
    switch (p.mode) {
      case 'exclude':
        return to === target ? { drop: true } : DELIVER;
      case 'only':
        return to === target ? DELIVER : { drop: true };
      case 'delay':
        return to === target ? { drop: false, holdMs: p.holdMs } : DELIVER;
      case 'subset':
        return this.rng.chance(0.5) ? DELIVER : { drop: true };
    }
  }

  /** The correct replica a selector points at now. */
  private target(selector: Selector, fixed: ReplicaId, periodMs: number, now: number): ReplicaId {
    const correct: ReplicaId[] = [];
    for (let r = 0; r < this.n; r++) if (!this.faulty.has(r)) correct.push(r);
    switch (selector) {
      case 'fixed':
        return fixed;
      case 'rotate':
        return correct[Math.floor(now / periodMs) % correct.length]!;
      case 'primary':
      case 'next-primary': {
        // The view most correct replicas are in (a faulty primary is targeted too: its links are cut).
        const view = Math.max(...correct.map((r) => this.observe(r).view));
        return (view + (selector === 'primary' ? 0 : 1)) % this.n;
      }
      case 'next-timer': {
        let best = -1;
        let left = Infinity;
        for (const r of correct) {
          const v = this.observe(r);
          if (v.up && v.timerTicksLeft !== null && v.timerTicksLeft < left) {
            left = v.timerTicksLeft;
            best = r;
          }
        }
        return best >= 0 ? best : fixed;
      }
      case 'most-advanced':
      case 'least-advanced': {
        let best = fixed;
        let value = selector === 'most-advanced' ? -Infinity : Infinity;
        for (const r of correct) {
          const v = this.observe(r);
          if (!v.up) continue;
          if (selector === 'most-advanced' ? v.lastExecuted > value : v.lastExecuted < value) {
            value = v.lastExecuted;
            best = r;
          }
        }
        return best;
      }
    }
  }
}

export function describeAdversary(a: AdversaryScenario): string {
  const parts = a.strategies.map((s) => {
    if (s.kind === 'swizzle') return `swizzle ${s.clogs.map((c) => `r${c.replica}@${c.from}–${c.until}`).join(' ')}`;
    const target = 'selector' in s ? ` ${s.selector === 'fixed' ? `r${s.fixed}` : s.selector}` : '';
    const extra =
      s.kind === 'hold-view-change'
        ? ` (view-change traffic to the others clogged ${s.durationMs}ms from the first VIEW-CHANGE)`
        : s.kind === 'hold-type'
          ? ` ${s.type}→{${s.receivers.map((r) => `r${r}`).join(',')}}`
          : s.kind === 'isolate'
            ? ` ${s.direction}`
            : '';
    return `${s.kind}${target}${extra} ${s.from}–${s.until}ms`;
  });
  if (a.faultyExempt) parts.push('faulty replicas exempt');
  if (a.faultyLinks) {
    const p = a.faultyLinks;
    parts.push(
      `faulty links: ${p.mode} ${p.selector === 'fixed' ? `r${p.fixed}` : p.selector} for ${p.types.join('/')} (p=${p.probability}${p.mode === 'delay' ? `, ${p.holdMs}ms` : ''})`,
    );
  }
  return parts.length > 0 ? parts.join('; ') : 'none';
}
