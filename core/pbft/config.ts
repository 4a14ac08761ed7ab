/**
 * Replica and client configuration. Times are in ticks: the host calls `tick()` at a fixed rate
 * (the network host every 10 ms; the simulator every 10 virtual ms), so timeouts are logical.
 */

export interface ProtocolConfig {
  /** Number of replicas, n = 3f + 1 (§4). */
  readonly n: number;
  /**
   * K: a checkpoint every K executed sequence numbers (§4.3; the paper uses 100–128 requests). A
   * sequence number orders a batch, and under load a batch holds hundreds of requests, so the log
   * above h holds up to L batches: 32 keeps a replica's memory flat with a thousand clients
   * (docs/performance.md) for one signed checkpoint per 32 batches. @default 32
   */
  readonly checkpointInterval: number;
  /** L: the log window; the high watermark is H = h + L (§4.3; "a small multiple of K"). @default 2K */
  readonly logWindow: number;
  /** Most requests the primary puts in one batch (one PRE-PREPARE). @default 256 */
  readonly batchSizeMax: number;
  /** Most batches the primary keeps in flight (pre-prepared, not yet executed) within the watermarks. @default 8 */
  readonly batchesInFlightMax: number;
  /** View-change timer T: a backup waiting this long for a request to execute starts a view change (§4.4). @default 100 */
  readonly viewChangeTimeoutTicks: number;
  /** Retransmission period for a replica's own messages to peers that have not answered. @default 20 */
  readonly retransmitTicks: number;
  /** Grace before a replica that learned of a stable checkpoint above its state fetches that state. @default 20 */
  readonly stateTransferDelayTicks: number;
  /** Snapshot chunk size for state transfer. @default 256 KiB */
  readonly stateChunkBytes: number;
  /**
   * The largest state (snapshot) a replica accepts by state transfer: the file store's 64 MiB of data
   * with its paths, and the reply table. A source that claims more chunks or sends more bytes is
   * refused at once (issue 18). @default 256 MiB
   */
  readonly stateBytesMax: number;
  /** §5.1 tentative execution: execute a batch when it prepares, before it commits (one round trip less). @default true */
  readonly tentativeExecution: boolean;
}

export interface ClientConfig {
  readonly n: number;
  /** A client with no accepted result this long after sending broadcasts the request to all replicas (§4.1). @default 50 */
  readonly retransmitTicks: number;
}

export function faultsTolerated(n: number): number {
  if (!Number.isInteger(n) || n < 4 || (n - 1) % 3 !== 0) {
    throw new RangeError(`n must be 3f+1 with f ≥ 1 (4, 7, 10, …), got ${n}`);
  }
  return (n - 1) / 3;
}

export function defaultProtocolConfig(n: number, overrides: Partial<ProtocolConfig> = {}): ProtocolConfig {
  faultsTolerated(n);
  const checkpointInterval = overrides.checkpointInterval ?? 32;
  const config: ProtocolConfig = {
    n,
    checkpointInterval,
    logWindow: 2 * checkpointInterval,
    batchSizeMax: 256,
    batchesInFlightMax: 8,
    viewChangeTimeoutTicks: 100,
    retransmitTicks: 20,
    stateTransferDelayTicks: 20,
    stateChunkBytes: 256 * 1024,
    stateBytesMax: 256 * 1024 * 1024,
    tentativeExecution: true,
    ...overrides,
  };
  if (config.logWindow < config.checkpointInterval || config.logWindow % config.checkpointInterval !== 0) {
    throw new RangeError(
      `logWindow (${config.logWindow}) must be a positive multiple of checkpointInterval (${checkpointInterval})`,
    );
  }
  return config;
}

/** Quorum sizes for n = 3f+1 (§4.2, §4.3). */
export interface Quorums {
  readonly n: number;
  readonly f: number;
  /** 2f: matching prepares needed, with the pre-prepare, for prepared. */
  readonly prepares: number;
  /** 2f+1: matching commits for committed-local; matching checkpoints for a stable checkpoint; view changes for a new view. */
  readonly strong: number;
  /** f+1: matching replies a client accepts; view changes that make a replica join a higher view. */
  readonly weak: number;
}

export function quorums(n: number): Quorums {
  const f = faultsTolerated(n);
  return { n, f, prepares: 2 * f, strong: 2 * f + 1, weak: f + 1 };
}
