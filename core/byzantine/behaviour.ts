/**
 * Byzantine behaviours as wrappers around the honest replica (DESIGN.md: "a wrapper, not a fork of
 * the honest code"). A behaviour sees what the honest replica would receive and send, and may drop,
 * alter, delay, duplicate or add messages — signing what it alters with its own key, as a real faulty
 * replica could (only checkpoints, VIEW-CHANGEs and NEW-VIEWs carry signatures; the rest rides on the
 * authenticated channel, which names the real sender). The honest code in core/pbft does not know
 * behaviours exist.
 */
import type { StateMachine } from '../app/state-machine.ts';
import { signingBytes } from '../pbft/codec.ts';
import type { ReplicaCrypto } from '../pbft/crypto.ts';
import type { Message, ReplicaId, ClientId, Checkpoint, ViewChange, NewView } from '../pbft/messages.ts';
import type { Output } from '../pbft/outputs.ts';
import type { Replica } from '../pbft/replica.ts';

/** What a behaviour may use: the replica it wraps (read only), its own key, and seeded randomness. */
export interface BehaviourContext {
  readonly replica: Replica;
  readonly id: ReplicaId;
  readonly n: number;
  readonly crypto: ReplicaCrypto;
  /** Uniform in [0, 1), from the host's seeded source (the simulator's PRNG; on a machine, any). */
  readonly random: () => number;
  /** Ticks since the behaviour was switched on. */
  readonly ticks: number;
  /** Sign a message with this replica's own key. */
  sign<T extends Checkpoint | ViewChange | NewView>(unsigned: T): T;
  /**
   * A fresh instance of the replicated application, in its initial state, when the host can make one
   * (the simulator can; a machine's host may not): a behaviour may keep a shadow copy of the state.
   */
  readonly newApp?: () => StateMachine;
}

export interface BehaviourInfo {
  readonly id: string;
  readonly name: string;
  /** One line: what the faulty replica does. */
  readonly description: string;
  /** What a student should see, on this replica's and the others' dashboards. */
  readonly observe: string;
}

export interface Behaviour extends BehaviourInfo {
  /** An incoming message, before the honest replica sees it: return it (maybe altered) or null to drop it. */
  readonly onInput?: (ctx: BehaviourContext, from: ReplicaId | ClientId, message: Message) => Message | null;
  /** The honest replica's outputs after one input: return what is really sent. */
  readonly onOutputs?: (ctx: BehaviourContext, outputs: Output[]) => Output[];
  /** Once per tick: extra outputs (replays, floods, delayed messages coming due). */
  readonly onTick?: (ctx: BehaviourContext) => Output[];
  /** What the behaviour did so far, by kind (e.g. `mutated.prepare`, `omitted.checkpoint`): hosts report it. */
  readonly counters?: () => Readonly<Record<string, number>>;
}

export function signWith(crypto: ReplicaCrypto) {
  return <T extends Checkpoint | ViewChange | NewView>(unsigned: T): T => ({
    ...unsigned,
    sig: crypto.sign(signingBytes(unsigned)),
  });
}
