/**
 * The file store as a cluster's replicas run it: the replicas' own clients (their peer ids, and the
 * logical clients of those peers) may revoke other clients and cannot be revoked; a revocation names
 * a client peer and covers all its logical clients (client-id.ts). The host builds its replica's
 * application with it, and a replay of a host's record rebuilds the same one from the recorded roster.
 */
import { FileStore, type FileStoreAccess } from '../app/file-store.ts';
import type { Hasher } from '../pbft/crypto.ts';
import { peerOfClient } from './client-id.ts';

export function clusterFileStoreAccess(roster: readonly string[]): FileStoreAccess {
  const members = new Set(roster);
  return { mayRevoke: (client) => members.has(peerOfClient(client)), principalOf: peerOfClient };
}

export function clusterFileStore(hasher: Hasher, roster: readonly string[]): FileStore {
  return new FileStore(hasher, clusterFileStoreAccess(roster));
}
