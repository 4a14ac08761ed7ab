/**
 * Client ids on a network. A client node is one libp2p identity; it may run many logical PBFT
 * clients over that one node and its connections (a benchmark, a pool of workers). Logical client j
 * of peer P is `${P}/${j}`; a node that runs a single client uses its peer id itself.
 *
 * The peer is what the network authenticates (Noise) and what a replica shares a MAC key with, so
 * every logical client of a peer is that peer's to speak for: a replica accepts a request naming
 * `P` or `P/…` only from P, looks up P's key for it, sends its replies to P, and a revocation of P
 * covers them all. A libp2p peer id (base58btc or base32 text) never contains '/'.
 */
import type { ClientId } from '../pbft/messages.ts';

const SLASH = 0x2f;

/** The id of logical client `index` of the node `peer`. */
export function logicalClientId(peer: string, index: number): ClientId {
  return `${peer}/${index}`;
}

/** The peer a client id belongs to: the id up to its first '/', or the whole id. */
export function peerOfClient(client: ClientId): string {
  const slash = client.indexOf('/');
  return slash < 0 ? client : client.slice(0, slash);
}

/** Whether `peer` may speak for `client`: the client is the peer itself or one of its logical clients. */
export function isClientOf(client: ClientId, peer: string): boolean {
  return (
    client === peer ||
    (client.length > peer.length + 1 && client.charCodeAt(peer.length) === SLASH && client.startsWith(peer))
  );
}
