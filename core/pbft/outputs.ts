/**
 * What the sans-IO replica asks its host to do (etcd/raft's `Ready`): the host drains these after
 * every input and sends, replies, persists and shows them. Nothing here performs I/O.
 */
import type {
  Checkpoint,
  ClientId,
  Digest,
  Message,
  NewView,
  NewViewOrder,
  Reply,
  ReplicaId,
  ReplicaMessage,
  Request,
} from './messages.ts';

/** Replica status (TigerBeetle style: explicit, one comment per value). */
export type ReplicaStatus =
  /** Taking part in the three-phase protocol of `view`. */
  | 'normal'
  /** Sent VIEW-CHANGE for `view` and waits for its NEW-VIEW; normal-case messages are not accepted (§4.4). */
  | 'view-change';

/** Records the host persists so a restarted replica can rejoin, remembering what it did (§4.3, §4.4; persistence.ts). */
export type PersistRecord =
  /**
   * The view, and whether it is installed (`normal`) or the replica is still changing to it. An installed
   * view carries what its NEW-VIEW bound (TOCS'02 §4.4–4.5): nothing is accepted at n ≤ `minSeq` in this
   * view, and at the sequence numbers of `order` only its digest — across restarts too.
   */
  | {
      readonly type: 'view';
      readonly view: number;
      readonly normal: boolean;
      readonly newView?: {
        readonly minSeq: number;
        readonly order: readonly NewViewOrder[];
        /** The NEW-VIEW itself (signed): a restarted replica relays it to peers still waiting for it. */
        readonly message?: NewView;
      };
    }
  | {
      readonly type: 'stable-checkpoint';
      readonly seq: number;
      readonly stateDigest: Digest;
      readonly proof: readonly Checkpoint[];
      readonly snapshot: Uint8Array;
    }
  /** A batch pre-prepared here (its Q claim); `requests` null while a NEW-VIEW-ordered batch is being fetched. */
  | {
      readonly type: 'pre-prepared';
      readonly view: number;
      readonly seq: number;
      readonly digest: Digest;
      readonly requests: readonly Request[] | null;
    }
  /** A batch prepared here (its P claim). */
  | { readonly type: 'prepared'; readonly seq: number; readonly digest: Digest; readonly view: number };

/** One executed request inside a batch: `executed` is false when exactly-once skipped it (§4.1). */
export interface ExecutedRequest {
  readonly client: ClientId;
  readonly timestamp: number;
  readonly op: Uint8Array;
  readonly executed: boolean;
  readonly result: Uint8Array | null;
}

/** Observability events: the dashboard's log, view and checkpoint panels, and the simulator's checkers. */
export type ReplicaEvent =
  | {
      readonly type: 'pre-prepared';
      readonly view: number;
      readonly seq: number;
      readonly digest: Digest;
      readonly batchSize: number;
    }
  | { readonly type: 'prepared'; readonly view: number; readonly seq: number; readonly digest: Digest }
  | { readonly type: 'committed-local'; readonly view: number; readonly seq: number; readonly digest: Digest }
  | {
      readonly type: 'executed';
      readonly view: number;
      readonly seq: number;
      readonly digest: Digest;
      readonly requests: readonly ExecutedRequest[];
    }
  /** §5.1: a prepared batch executed before it committed; final when it commits (then `executed`), undone if the view changes. */
  | { readonly type: 'executed-tentatively'; readonly view: number; readonly seq: number; readonly digest: Digest }
  | { readonly type: 'tentative-rolled-back'; readonly seq: number; readonly reason: string }
  | { readonly type: 'checkpoint'; readonly seq: number; readonly stateDigest: Digest }
  | {
      readonly type: 'checkpoint-stable';
      readonly seq: number;
      readonly stateDigest: Digest;
      readonly lowWatermark: number;
      readonly highWatermark: number;
    }
  | {
      readonly type: 'view-change-started';
      readonly newView: number;
      readonly reason: string;
      readonly timeoutTicks: number;
    }
  | {
      readonly type: 'new-view';
      readonly view: number;
      readonly primary: ReplicaId;
      readonly minSeq: number;
      readonly maxSeq: number;
      /** O: the digest the new view orders at each sequence number in (minSeq, maxSeq]. */
      readonly order: readonly NewViewOrder[];
    }
  | {
      readonly type: 'state-transfer-started';
      readonly seq: number;
      readonly stateDigest: Digest;
      readonly from: ReplicaId;
    }
  | { readonly type: 'state-transfer-completed'; readonly seq: number; readonly stateDigest: Digest }
  | {
      readonly type: 'state-transfer-rejected';
      readonly seq: number;
      readonly from: ReplicaId;
      readonly reason: string;
    }
  | {
      readonly type: 'ignored';
      readonly from: ReplicaId | ClientId;
      readonly message: Message;
      readonly reason: string;
    };

export type Output =
  | { readonly kind: 'send'; readonly to: ReplicaId; readonly message: ReplicaMessage }
  /** To every other replica. */
  | { readonly kind: 'broadcast'; readonly message: ReplicaMessage }
  | { readonly kind: 'reply'; readonly client: ClientId; readonly reply: Reply }
  | { readonly kind: 'persist'; readonly record: PersistRecord }
  | { readonly kind: 'event'; readonly event: ReplicaEvent };

/** What a client asks its host to do. */
export type ClientOutput =
  | { readonly kind: 'send'; readonly to: ReplicaId; readonly request: Request }
  | { readonly kind: 'broadcast'; readonly request: Request }
  | {
      readonly kind: 'result';
      readonly timestamp: number;
      readonly op: Uint8Array;
      readonly result: Uint8Array;
      /** How many replicas sent this same result. */
      readonly matching: number;
      readonly readOnly: boolean;
      /** Accepted on f+1 committed replies (true), or on 2f+1 tentative or read-only ones (false, §5.1). */
      readonly committed: boolean;
    };
