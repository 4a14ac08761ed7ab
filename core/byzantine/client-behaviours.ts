/**
 * Faulty clients: wrappers around the honest client that transform the requests it sends
 * (Aardvark, Clement et al. NSDI'09, for the authenticator attack). The checkers judge only correct
 * clients; these show what the replicas do about a faulty one.
 */
import { requestBytes } from '../pbft/codec.ts';
import type { Client } from '../pbft/client.ts';
import type { ClientCrypto } from '../pbft/crypto.ts';
import type { Reply, ReplicaId, Request } from '../pbft/messages.ts';
import type { ClientOutput } from '../pbft/outputs.ts';
import { primaryOf } from '../pbft/proofs.ts';
import type { BehaviourInfo } from './behaviour.ts';

export const CLIENT_CATALOGUE: readonly BehaviourInfo[] = [
  {
    id: 'aardvark-mac',
    name: 'Authenticator valid only for the primary',
    description:
      "A client's requests carry a MAC that only the primary can verify; the entries for the backups are garbage (Aardvark's attack on MAC authenticators).",
    observe:
      'The primary orders the request, every backup rejects that PRE-PREPARE ("not authentic"), the batch never prepares, and the backups replace the primary. The new primary cannot verify the request and ignores it; correct clients go on.',
  },
  {
    id: 'timestamp-replay',
    name: 'Timestamp replay',
    description: 'A client re-sends its old requests (older timestamps) every few ticks.',
    observe:
      'Replicas drop requests older than the last one they executed for that client and answer the last one from the reply cache: nothing executes twice.',
  },
  {
    id: 'malformed-op',
    name: 'Malformed operations',
    description: 'A client sends correctly authenticated requests whose operation bytes are garbage.',
    observe:
      'They are ordered like any request; the file store answers each with a deterministic BAD_OP error, identical at every replica, and the state is unchanged.',
  },
];

export class FaultyClient {
  readonly client: Client;
  readonly behaviour: string;
  private readonly crypto: ClientCrypto;
  private readonly n: number;
  private readonly random: () => number;
  private readonly sent: Request[] = [];
  private ticks = 0;
  private extra: ClientOutput[] = [];

  constructor(client: Client, crypto: ClientCrypto, behaviour: string, random: () => number) {
    if (!CLIENT_CATALOGUE.some((b) => b.id === behaviour)) {
      throw new Error(`no client behaviour "${behaviour}" (known: ${CLIENT_CATALOGUE.map((b) => b.id).join(', ')})`);
    }
    this.client = client;
    this.behaviour = behaviour;
    this.crypto = crypto;
    this.n = client.q.n;
    this.random = random;
  }

  get busy(): boolean {
    return this.client.busy;
  }

  submit(op: Uint8Array, readOnly = false): number {
    return this.client.submit(op, readOnly);
  }

  onReply(from: ReplicaId, reply: Reply): void {
    this.client.onReply(from, reply);
  }

  abandon(): void {
    this.client.abandon();
  }

  tick(): void {
    this.client.tick();
    this.ticks++;
    if (this.behaviour === 'timestamp-replay' && this.ticks % 20 === 0 && this.sent.length > 1) {
      const old = this.sent[Math.floor(this.random() * (this.sent.length - 1))]!;
      this.extra.push({ kind: 'broadcast', request: old });
    }
  }

  takeOutputs(): ClientOutput[] {
    const outputs = this.client
      .takeOutputs()
      .map((o) => (o.kind === 'result' ? o : { ...o, request: this.transform(o.request) }));
    for (const o of outputs) if (o.kind !== 'result' && this.sent.length < 64) this.sent.push(o.request);
    const all = this.extra.length > 0 ? [...outputs, ...this.extra] : outputs;
    this.extra = [];
    return all;
  }

  private transform(request: Request): Request {
    switch (this.behaviour) {
      case 'aardvark-mac': {
        const primary = primaryOf(this.client.knownView, this.n);
        return { ...request, auth: request.auth.map((mac, i) => (i === primary ? mac : new Uint8Array(mac.length))) };
      }
      case 'malformed-op': {
        const op = new Uint8Array(Math.max(1, request.op.length));
        for (let i = 0; i < op.length; i++) op[i] = Math.floor(this.random() * 256);
        op[0] = 0xee; // no operation has this tag
        const unauthenticated = { ...request, op, auth: [] };
        return { ...unauthenticated, auth: this.crypto.authenticator(requestBytes(unauthenticated)) };
      }
      default:
        return request;
    }
  }
}
