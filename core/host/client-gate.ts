/**
 * The replica's door for clients: the MAC keys clients share with it (one per client peer, for all
 * its logical clients, client-id.ts), which peer may speak for which client, and revocation
 * (PBFT's "revoke access of faulty clients"). A request that passes goes on to the replica.
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
  readonly note: (line: string) => void;
}

export class ClientGate {
  private readonly options: ClientGateOptions;
  /** MAC keys by client peer: one per peer, for all its logical clients. */
  private readonly keys = new Map<string, Uint8Array>();
  /** Refusal reasons by revoked client peer. */
  private readonly revoked = new Map<string, string>();

  constructor(options: ClientGateOptions) {
    this.options = options;
  }

  /** The MAC key of a client (the replica's crypto asks, to check a request's authenticator). */
  keyOf(client: ClientId): Uint8Array | undefined {
    return this.keys.get(peerOfClient(client));
  }

  /** A CLIENT-KEY frame from `peer` (or this machine's own client's key). */
  setKey(peer: string, key: Uint8Array): void {
    if (this.options.knows(peer)) this.keys.set(peer, key);
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
    const refusal = this.revoked.get(from);
    if (refusal) return this.options.refuse(from, refusal);
    this.options.admit(from, request);
  }

  /**
   * Revocation is per peer: a logical client `peer/j` is not authenticated apart from its peer (which
   * could use any other j), so revoking one revokes the peer and all its logical clients.
   */
  revoke(clientId: string, byReplica: number | null): void {
    const peer = peerOfClient(clientId);
    this.revoked.set(peer, `client ${peer} was revoked by replica ${byReplica ?? '?'}`);
    this.options.note(
      `revoked client ${short(peer)}: its requests, and those of its logical clients ${short(peer)}/…, are refused`,
    );
  }

  /** A peer was forgotten (Membership): its key goes too. */
  forget(peer: string): void {
    this.keys.delete(peer);
  }
}
