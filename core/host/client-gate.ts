/**
 * The replica's door for clients: the MAC keys clients share with it (one per client peer, for all
 * its logical clients, client-id.ts), which peer may speak for which client, and revocation
 * (PBFT's "revoke access of faulty clients"). A request that passes goes on to the replica.
 *
 * Revocation itself is replicated state (a `revoke` operation ordered through PBFT, FileStore's
 * access rules): every replica refuses a revoked client's operations at execution, whichever replica
 * revoked it. The gate only reads that state, to turn such a client away early and tell it why.
 *
 * A replica without a client's key cannot authenticate its requests, neither those the client sends
 * nor those in a PRE-PREPARE, and then cannot help order them: with one replica down, one replica
 * lacking the key stalls that client (issue 13, finding 6). Clients send their keys every second,
 * but a replica that has just restarted has none of them: so whenever it meets a request of a client
 * whose key it lacks, it asks that client for it (at most once a second per client), and the client
 * answers at once.
 */
import type { ClientId, Request } from '../pbft/messages.ts';
import { isClientOf, peerOfClient } from './client-id.ts';
import { short } from './host-events.ts';

export interface ClientGateOptions {
  /** Whether frames from `peer` may set state here (a member, or a peer we track; Membership.isKnown). */
  readonly knows: (peer: string) => boolean;
  /** A well-formed request came from client peer `peer`: it is alive (Membership.touchClient). */
  readonly heardFrom: (peer: string) => void;
  /** The request is admitted: hand it to the replica. */
  readonly admit: (from: string, request: Request) => void;
  /** Tell `peer` its requests are refused. */
  readonly refuse: (peer: string, reason: string) => void;
  /** Why client peer `peer` is refused, if the replicated state revoked it. @default none is */
  readonly revokedReason?: (peer: string) => string | undefined;
  /** Ask client peer `peer` for its key (a HELLO, which a client answers with CLIENT-KEY). @default no asking */
  readonly askForKey?: (peer: string) => void;
  /** @default performance.now */
  readonly now?: () => number;
  readonly note: (line: string) => void;
}

/** A client is asked for its key at most this often. */
const ASK_INTERVAL_MS = 1_000;
/** Clients remembered as asked; beyond this, asking waits for old entries to expire. */
const ASKED_TRACKED = 1024;

export class ClientGate {
  private readonly options: ClientGateOptions;
  /** MAC keys by client peer: one per peer, for all its logical clients. */
  private readonly keys = new Map<string, Uint8Array>();
  /** When each client peer was last asked for its key (bounded: see wantKey). */
  private readonly asked = new Map<string, number>();

  constructor(options: ClientGateOptions) {
    this.options = options;
  }

  /** The MAC key of a client (the replica's crypto asks, to check a request's authenticator). */
  keyOf(client: ClientId): Uint8Array | undefined {
    return this.keys.get(peerOfClient(client));
  }

  /** A CLIENT-KEY frame from `peer` (or this machine's own client's key). */
  setKey(peer: string, key: Uint8Array): void {
    if (this.options.knows(peer)) {
      this.keys.set(peer, key);
      this.asked.delete(peer);
    }
  }

  /**
   * A request of `client` is here (sent by the client, or inside a PRE-PREPARE): if we lack its key,
   * ask the client for it.
   */
  wantKey(client: ClientId): void {
    const peer = peerOfClient(client);
    if (this.keys.has(peer) || !this.options.askForKey || this.options.revokedReason?.(peer)) return;
    const now = this.options.now?.() ?? performance.now();
    if (now - (this.asked.get(peer) ?? -Infinity) < ASK_INTERVAL_MS) return;
    if (this.asked.size >= ASKED_TRACKED) {
      for (const [p, at] of this.asked) if (now - at >= ASK_INTERVAL_MS) this.asked.delete(p);
      if (this.asked.size >= ASKED_TRACKED) return;
    }
    this.asked.set(peer, now);
    this.options.askForKey(peer);
  }

  /** A request from client node `from`. */
  onRequest(from: string, request: Request): void {
    // A peer speaks for itself and its logical clients `peer/j`, never for another peer's.
    const client = request.client;
    if (!isClientOf(client, from))
      return this.options.note(
        `request from ${short(from)} ignored: it names client ${JSON.stringify(client)}, not that peer or one of its logical clients`,
      );
    this.options.heardFrom(from);
    const refusal = this.options.revokedReason?.(from);
    if (refusal) return this.options.refuse(from, refusal);
    this.wantKey(client);
    this.options.admit(from, request);
  }

  /** A peer was forgotten (Membership): its key goes too. */
  forget(peer: string): void {
    this.keys.delete(peer);
    this.asked.delete(peer);
  }
}
