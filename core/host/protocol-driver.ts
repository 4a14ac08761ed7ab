/**
 * The protocol driver: the sans-IO replica, behind its Byzantine switch, driven by the host. Inputs go
 * in (`input`, `tick`); after each, its outputs are drained: messages become frames to the roster,
 * replies become frames to client nodes (one frame per node per drain), records go to the data
 * directory, events to the lab.
 */
import type { FaultyReplica } from '../byzantine/faulty-replica.ts';
import type { ClientId, Message, Reply, ReplicaId, ReplicaMessage } from '../pbft/messages.ts';
import type { Output, ReplicaEvent } from '../pbft/outputs.ts';
import type { Replica } from '../pbft/replica.ts';
import { peerOfClient } from './client-id.ts';
import type { DataDir } from './storage.ts';
import { encodeFrame, encodeGroupedFrames } from './wire.ts';

export interface ProtocolDriverOptions {
  /** The replica behind its Byzantine switch: every input and output goes through it. */
  readonly replica: FaultyReplica;
  /** The agreed roster: peer ids by replica id. */
  readonly roster: readonly string[];
  /** This machine's peer id (its own client's id). */
  readonly self: string;
  /** Where persist records go. */
  readonly data: Pick<DataDir, 'persist'>;
  /** A frame to a peer (through the faults). */
  readonly sendBytes: (peer: string, bytes: Uint8Array) => void;
  /** A reply for this machine's own client: delivered without the network. */
  readonly replyToOwnClient: (reply: Reply) => void;
  readonly onEvent: (event: ReplicaEvent) => void;
  /** A message leaves, to one replica or to all the others. */
  readonly onMessageOut: (to: ReplicaId | 'all', message: ReplicaMessage) => void;
  readonly note: (line: string) => void;
}

export class ProtocolDriver {
  private readonly options: ProtocolDriverOptions;
  private readonly faulty: FaultyReplica;
  /** Replies to other nodes' clients from the outputs being drained, by client node (flushReplies). */
  private readonly pendingReplies = new Map<string, Reply[]>();

  constructor(options: ProtocolDriverOptions) {
    this.options = options;
    this.faulty = options.replica;
  }

  /** The honest replica inside (for the snapshot). */
  get replica(): Replica {
    return this.faulty.replica;
  }

  get behaviourId(): string | null {
    return this.faulty.behaviourId;
  }

  setBehaviour(id: string | null): void {
    this.faulty.setBehaviour(id);
  }

  /** An authenticated input; call `drain` after (once for several inputs). */
  input(from: ReplicaId | ClientId, message: Message): void {
    this.faulty.step(from, message);
  }

  tick(): void {
    this.faulty.tick();
    this.drain();
  }

  drain(): void {
    for (const out of this.faulty.takeOutputs()) this.onOutput(out);
    this.flushReplies();
  }

  /** The replies of one drain (a batch executed), grouped by client node: one frame per node, not per request. */
  private flushReplies(): void {
    for (const [peer, replies] of this.pendingReplies) {
      for (const frame of encodeGroupedFrames('replies', replies)) this.options.sendBytes(peer, frame);
    }
    this.pendingReplies.clear();
  }

  private onOutput(out: Output): void {
    const { roster, self } = this.options;
    switch (out.kind) {
      case 'send':
        this.options.onMessageOut(out.to, out.message);
        return this.options.sendBytes(roster[out.to]!, encodeFrame({ kind: 'replica', message: out.message }));
      case 'broadcast': {
        const frame = encodeFrame({ kind: 'replica', message: out.message });
        this.options.onMessageOut('all', out.message);
        for (const member of roster) if (member !== self) this.options.sendBytes(member, frame);
        return;
      }
      case 'reply':
        if (out.client === self) this.options.replyToOwnClient(out.reply);
        else {
          const peer = peerOfClient(out.client);
          const replies = this.pendingReplies.get(peer);
          if (replies) replies.push(out.reply);
          else this.pendingReplies.set(peer, [out.reply]);
        }
        return;
      case 'persist':
        void this.options.data
          .persist(out.record)
          .catch((error: Error) => this.options.note(`could not persist ${out.record.type}: ${error.message}`));
        return;
      case 'event':
        return this.options.onEvent(out.event);
    }
  }
}
