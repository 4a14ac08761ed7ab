/**
 * The PBFT messages (Castro & Liskov, OSDI'99 §4; TOCS'02 for state transfer), as plain data.
 *
 * Field names follow the paper: v = `view`, n = `seq`, d = `digest`, i = `replica`, t = `timestamp`,
 * c = `client`, o = `op`. Digests are lowercase hex SHA-256 strings in memory and 32 raw bytes on the
 * wire (see codec.ts). `sig` fields carry an Ed25519 signature over the message's signing bytes
 * (codec.ts `signingBytes`). Only what is relayed as proof is signed — checkpoints, VIEW-CHANGE and
 * NEW-VIEW; the normal case (pre-prepare, prepare, commit) rides on the authenticated channel and
 * costs no signature (docs/authentication.md).
 */

/** Replica ids are positions 0..n-1 in the agreed roster. */
export type ReplicaId = number;
/** A client's identity: its libp2p peer id on a network, a short name in the simulator. */
export type ClientId = string;
/** Lowercase hex SHA-256 (defined with the application, below the protocol: core/app/hashing.ts). */
export type { Digest } from '../app/hashing.ts';
import type { Digest } from '../app/hashing.ts';

/** ⟨REQUEST, o, t, c⟩ with an authenticator: one MAC per replica, index = replica id (§4.1, §5.2). */
export interface Request {
  readonly type: 'request';
  readonly client: ClientId;
  /** Strictly increasing per client; orders that client's requests and makes them exactly-once. */
  readonly timestamp: number;
  /** §5.1 read-only optimisation: execute at once, no ordering; the client needs 2f+1 matching replies. */
  readonly readOnly: boolean;
  /** The application operation, opaque to the protocol. */
  readonly op: Uint8Array;
  /** MAC_i for each replica i over the request's signing bytes; empty in a deployment with signed channels only. */
  readonly auth: readonly Uint8Array[];
}

/** ⟨PRE-PREPARE, v, n, d⟩ with the batch it orders (§4.2). d = digest of the batch. From the primary, over the authenticated channel. */
export interface PrePrepare {
  readonly type: 'pre-prepare';
  readonly view: number;
  readonly seq: number;
  readonly digest: Digest;
  /** The batch. An empty batch is the null request of §4.4. */
  readonly requests: readonly Request[];
  readonly replica: ReplicaId;
}

/** ⟨PREPARE, v, n, d, i⟩ (§4.2). Never relayed: the authenticated channel suffices. */
export interface Prepare {
  readonly type: 'prepare';
  readonly view: number;
  readonly seq: number;
  readonly digest: Digest;
  readonly replica: ReplicaId;
}

/** ⟨COMMIT, v, n, d, i⟩ (§4.2). Never relayed, so the authenticated channel suffices. */
export interface Commit {
  readonly type: 'commit';
  readonly view: number;
  readonly seq: number;
  readonly digest: Digest;
  readonly replica: ReplicaId;
}

/** ⟨REPLY, v, t, c, i, r⟩ (§4.1). */
export interface Reply {
  readonly type: 'reply';
  readonly view: number;
  readonly timestamp: number;
  readonly client: ClientId;
  readonly replica: ReplicaId;
  /**
   * True when what the replica executed is not committed: a §5.1 read-only execution, or a tentative
   * execution of a prepared batch. The client needs 2f+1 matching replies then (f+1 if committed).
   */
  readonly tentative: boolean;
  /** True for the answer to a read-only request executed without ordering (§5.1); always tentative. */
  readonly readOnly: boolean;
  readonly result: Uint8Array;
}

/** ⟨CHECKPOINT, n, d, i⟩ (§4.3). d = digest of the state after executing n. Signed: relayed as proof. */
export interface Checkpoint {
  readonly type: 'checkpoint';
  readonly seq: number;
  readonly stateDigest: Digest;
  readonly replica: ReplicaId;
  readonly sig: Uint8Array;
}

/**
 * ⟨n, d, v⟩: one entry of a VIEW-CHANGE's P or Q set (TOCS'02 §4.5). In P: the batch with digest d
 * prepared here at n, v the latest view it prepared in. In Q: d pre-prepared here at n, v the latest
 * view it was pre-prepared in. A claim, not a proof: the NEW-VIEW decision trusts only what 2f+1
 * (A1, B) or f+1 (A2) replicas claim alike (proofs.ts, `planNewView`).
 */
export interface LogClaim {
  readonly seq: number;
  readonly digest: Digest;
  readonly view: number;
}

/** ⟨VIEW-CHANGE, v+1, n, C, P, Q, i⟩ (§4.4; P and Q as in TOCS'02 §4.5). Signed: relayed inside NEW-VIEW. */
export interface ViewChange {
  readonly type: 'view-change';
  readonly newView: number;
  /** n: the sequence number of the replica's last stable checkpoint. */
  readonly stableSeq: number;
  /** C: 2f+1 CHECKPOINT messages proving the stable checkpoint (empty when stableSeq = 0). */
  readonly checkpointProof: readonly Checkpoint[];
  /** P: for every sequence number above stableSeq that prepared here, what prepared in the latest view. */
  readonly prepared: readonly LogClaim[];
  /** Q: for every sequence number above stableSeq, each digest pre-prepared here, with its latest view. */
  readonly prePrepared: readonly LogClaim[];
  readonly replica: ReplicaId;
  readonly sig: Uint8Array;
}

/** One entry of a NEW-VIEW's O: the batch (by digest) the new view orders at `seq`. */
export interface NewViewOrder {
  readonly seq: number;
  readonly digest: Digest;
}

/** ⟨NEW-VIEW, v+1, V, O⟩ (§4.4). Signed by the new primary: replicas relay it to peers that missed it. */
export interface NewView {
  readonly type: 'new-view';
  readonly view: number;
  /** V: the VIEW-CHANGE messages the decision used, at least 2f+1 (including the new primary's own). */
  readonly viewChanges: readonly ViewChange[];
  /**
   * O: for every sequence number in (min-s, max-s], the digest the new view pre-prepares there (the
   * null request's digest for a gap). Digests only: a replica that lacks a batch fetches it (FETCH-BATCH).
   */
  readonly order: readonly NewViewOrder[];
  readonly replica: ReplicaId;
  readonly sig: Uint8Array;
}

/** Ask a replica for the batch with digest d at n: a NEW-VIEW ordered a batch this replica never received. */
export interface FetchBatch {
  readonly type: 'fetch-batch';
  readonly seq: number;
  readonly digest: Digest;
  readonly replica: ReplicaId;
}

/** The batch with digest d, answering FETCH-BATCH. Self-certifying: the receiver checks that it hashes to d. */
export interface Batch {
  readonly type: 'batch';
  readonly seq: number;
  readonly digest: Digest;
  readonly requests: readonly Request[];
  readonly replica: ReplicaId;
}

/** State transfer (TOCS'02 §5.3.2, simplified): ask for the snapshot at a stable checkpoint. */
export interface FetchState {
  readonly type: 'fetch-state';
  /** The stable checkpoint the requester wants (0 = the sender's latest stable checkpoint). */
  readonly seq: number;
  /** First chunk wanted. */
  readonly chunk: number;
  readonly replica: ReplicaId;
}

/** One chunk of a snapshot taken at a checkpoint, with the checkpoint's proof on the first chunk. */
export interface StateChunk {
  readonly type: 'state-chunk';
  readonly seq: number;
  readonly stateDigest: Digest;
  /** 2f+1 signed CHECKPOINT messages for (seq, stateDigest). */
  readonly proof: readonly Checkpoint[];
  readonly chunk: number;
  readonly chunkCount: number;
  readonly data: Uint8Array;
  readonly replica: ReplicaId;
}

/**
 * A replica's periodic summary of where it is (the BFT library's status message, Castro's thesis
 * §5.2). Retransmission is driven by it: a peer that sees what the sender lacks sends it again —
 * log messages above `lastExecuted`, checkpoint proofs above `stableSeq`, the NEW-VIEW of a later view.
 * Point-to-point and never relayed, so unsigned.
 */
export interface Status {
  readonly type: 'status';
  readonly view: number;
  /** False while the sender waits for the NEW-VIEW of `view`. */
  readonly normal: boolean;
  readonly lastExecuted: number;
  /** The lowest sequence number not yet committed-local here in `view` (peers re-send their messages from there). */
  readonly firstUncommitted: number;
  readonly stableSeq: number;
  readonly replica: ReplicaId;
}

/** Everything replicas send to replicas. */
export type ReplicaMessage =
  | Request
  | PrePrepare
  | Prepare
  | Commit
  | Checkpoint
  | ViewChange
  | NewView
  | FetchBatch
  | Batch
  | FetchState
  | StateChunk
  | Status;

/** Everything on the wire, replica-to-replica and client-to-replica. */
export type Message = ReplicaMessage | Reply;

export type MessageType = Message['type'];
