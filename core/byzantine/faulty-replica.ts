/**
 * A replica that may be switched to a Byzantine behaviour at run time. It holds the honest replica
 * and puts the behaviour between it and the world: inputs pass `onInput`, outputs pass `onOutputs`,
 * and `onTick` may add messages of its own. With no behaviour it is exactly the honest replica.
 */
import type { StateMachine } from '../app/state-machine.ts';
import type { ReplicaCrypto } from '../pbft/crypto.ts';
import type { ClientId, Message, ReplicaId } from '../pbft/messages.ts';
import type { Output } from '../pbft/outputs.ts';
import type { Replica } from '../pbft/replica.ts';
import { signWith, type Behaviour, type BehaviourContext } from './behaviour.ts';
import { createBehaviour } from './catalogue.ts';

export class FaultyReplica {
  readonly replica: Replica;
  private readonly crypto: ReplicaCrypto;
  private readonly random: () => number;
  private readonly newApp: (() => StateMachine) | undefined;
  private behaviour: Behaviour | null = null;
  private ticks = 0;
  private extra: Output[] = [];

  /** `newApp`, when the host can make fresh instances of the application, lets a behaviour keep a shadow copy. */
  constructor(replica: Replica, crypto: ReplicaCrypto, random: () => number, newApp?: () => StateMachine) {
    this.replica = replica;
    this.crypto = crypto;
    this.random = random;
    this.newApp = newApp;
  }

  /** The active behaviour's id, or null when honest. */
  get behaviourId(): string | null {
    return this.behaviour?.id ?? null;
  }

  /** Switch to a behaviour from the catalogue (fresh state each time), or back to honest with null. */
  setBehaviour(id: string | null): void {
    this.use(id === null ? null : createBehaviour(id));
  }

  /** Switch to a behaviour object (a coalition member's, which shares state with the others). */
  use(behaviour: Behaviour | null): void {
    this.behaviour = behaviour;
    this.ticks = 0;
    this.extra = [];
  }

  step(from: ReplicaId | ClientId, message: Message): void {
    const behaviour = this.behaviour;
    const input = behaviour?.onInput ? behaviour.onInput(this.context(), from, message) : message;
    if (input) this.replica.step(from, input);
  }

  tick(): void {
    this.replica.tick();
    const behaviour = this.behaviour;
    if (!behaviour) return;
    this.ticks++;
    if (behaviour.onTick) this.extra.push(...behaviour.onTick(this.context()));
  }

  takeOutputs(): Output[] {
    const outputs = this.replica.takeOutputs();
    const behaviour = this.behaviour;
    const sent = behaviour?.onOutputs ? behaviour.onOutputs(this.context(), outputs) : outputs;
    if (this.extra.length === 0) return sent;
    const all = [...sent, ...this.extra];
    this.extra = [];
    return all;
  }

  private context(): BehaviourContext {
    return {
      replica: this.replica,
      id: this.replica.id,
      n: this.replica.q.n,
      crypto: this.crypto,
      random: this.random,
      ticks: this.ticks,
      sign: signWith(this.crypto),
      newApp: this.newApp,
    };
  }
}
