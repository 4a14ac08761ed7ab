/**
 * A LabApi that tests drive by hand: it answers from a snapshot the test sets, records every command,
 * and emits events on demand. Used by the store and component tests (never by the app).
 */
import type {
  BehaviourInfo,
  FaultCommand,
  LabApi,
  LabEvent,
  LabFaults,
  LabOp,
  LabSnapshot,
  LogRowInfo,
  SubmitOutcome,
} from '../../../core/host/lab-api.ts';

export const PEER_IDS = [
  '12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaReplica0',
  '12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbReplica1',
  '12D3KooWCccccccccccccccccccccccccccccccccccccccccReplica2',
  '12D3KooWDdddddddddddddddddddddddddddddddddddddddReplica3',
] as const;

export interface FakeSnapshotOptions {
  readonly selfId?: number;
  readonly view?: number;
  readonly primary?: number;
  readonly status?: 'normal' | 'view-change';
  readonly log?: readonly LogRowInfo[];
  readonly stableSeq?: number;
  readonly lastExecuted?: number;
  readonly executedRequests?: number;
  readonly uptimeMs?: number;
  readonly behaviour?: string | null;
  readonly faults?: Partial<LabFaults>;
}

export function fakeSnapshot(options: FakeSnapshotOptions = {}): LabSnapshot {
  const selfId = options.selfId ?? 0;
  const view = options.view ?? 0;
  const stableSeq = options.stableSeq ?? 0;
  return {
    self: {
      peerId: PEER_IDS[selfId]!,
      cluster: 'lab-test',
      size: 4,
      f: 1,
      role: 'replica',
      replicaId: selfId,
      addresses: [`/ip4/127.0.0.1/tcp/4001/p2p/${PEER_IDS[selfId]}`],
    },
    roster: [...PEER_IDS],
    view: { view, primary: options.primary ?? view % 4, status: options.status ?? 'normal' },
    log: options.log ?? [],
    checkpoints: {
      stableSeq,
      stableDigest: stableSeq === 0 ? '0'.repeat(64) : 'c0ffee'.padEnd(64, '0'),
      proofFrom: stableSeq === 0 ? [] : [0, 1, 2],
      lowWatermark: stableSeq,
      highWatermark: stableSeq + 256,
      lastExecuted: options.lastExecuted ?? stableSeq,
    },
    peers: PEER_IDS.filter((_, i) => i !== selfId).map((peerId) => ({
      peerId,
      replicaId: PEER_IDS.indexOf(peerId),
      addresses: [],
      connected: true,
      lastHeardMsAgo: 12,
      disconnected: options.faults?.disconnectedFrom?.includes(peerId) ?? false,
    })),
    metrics: {
      uptimeMs: options.uptimeMs ?? 10_000,
      executedRequests: options.executedRequests ?? 0,
      executedBatches: options.executedRequests ?? 0,
      viewChanges: view,
      stateTransfers: 0,
      ignoredMessages: 0,
      framesIn: 0,
      framesOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      framesDropped: 0,
    },
    faults: { paused: false, disconnectedFrom: [], delayMs: 0, ...options.faults },
    behaviour: options.behaviour ?? null,
  };
}

export const FAKE_BEHAVIOURS: readonly BehaviourInfo[] = [
  {
    id: 'silent',
    name: 'Silent',
    description: 'Sends nothing at all.',
    observe: 'If it is the primary, the backups time out and change view.',
  },
  {
    id: 'equivocate',
    name: 'Equivocate',
    description: 'As primary, sends different pre-prepares to different backups.',
    observe: 'No request prepares; a view change follows.',
  },
];

export class FakeLabApi implements LabApi {
  snapshotValue: LabSnapshot = fakeSnapshot();
  catalogue: readonly BehaviourInfo[] = FAKE_BEHAVIOURS;
  readonly calls: { name: string; args: unknown[] }[] = [];
  readonly listeners = new Set<(event: LabEvent) => void>();
  /** What submit resolves with; a function to decide per op. */
  submitOutcome: (op: LabOp) => SubmitOutcome = (op) => ({
    timestamp: this.calls.length,
    result:
      op.kind === 'list'
        ? { kind: 'listing', dir: op.dir, entries: [] }
        : { kind: 'written', stat: { path: op.path, size: 5, version: 1, modifiedSeq: 3 } },
    matching: 3,
    latencyMs: 42,
  });
  failNext: Error | null = null;

  private record(name: string, ...args: unknown[]): void {
    this.calls.push({ name, args });
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
  }

  callsOf(name: string): unknown[][] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args);
  }

  async snapshot(): Promise<LabSnapshot> {
    this.record('snapshot');
    return this.snapshotValue;
  }

  subscribe(listener: (event: LabEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: LabEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  async submit(op: LabOp): Promise<SubmitOutcome> {
    this.record('submit', op);
    return this.submitOutcome(op);
  }

  async fault(command: FaultCommand): Promise<LabFaults> {
    this.record('fault', command);
    return this.snapshotValue.faults;
  }

  async revokeClient(clientId: string): Promise<void> {
    this.record('revokeClient', clientId);
  }

  async behaviours(): Promise<readonly BehaviourInfo[]> {
    this.record('behaviours');
    return this.catalogue;
  }

  async setBehaviour(id: string | null): Promise<string | null> {
    this.record('setBehaviour', id);
    this.snapshotValue = { ...this.snapshotValue, behaviour: id };
    return id;
  }
}

/** A message event as the host emits it. */
export function messageEvent(
  atMs: number,
  direction: 'in' | 'out',
  peer: number | string,
  type: string,
): Extract<LabEvent, { kind: 'message' }> {
  return { kind: 'message', atMs, direction, peer, type, view: 0, seq: 1, text: `${type.toUpperCase()} at ${atMs}` };
}
