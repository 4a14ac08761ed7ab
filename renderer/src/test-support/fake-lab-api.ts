/**
 * A LabApi that tests drive by hand: it answers from a snapshot the test sets, records every command,
 * and emits events on demand. Used by the store and component tests (never by the app).
 */
import { RoomModel } from '../../../core/host/room-model.ts';
import type { RoomQuery, RoomState } from '../../../core/host/room-types.ts';
import type {
  BehaviourInfo,
  BehaviourSwitch,
  FaultCommand,
  FaultySoFar,
  LabApi,
  LabEvent,
  LabFaults,
  LabOp,
  LabSnapshot,
  LogRowInfo,
  RoomExerciseCommand,
  RoomExerciseStatus,
  SetBehaviourOptions,
  SubmitOutcome,
} from '../../../core/host/lab-api.ts';
import { EXCEED_F_MESSAGE } from '../../../core/host/lab-api.ts';
import type { PbftLabBridge } from '../../../electron/shared/ipc.ts';

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
  /** Each member's behaviour switches, by replica id (absent: never switched). */
  readonly histories?: Readonly<Record<number, readonly BehaviourSwitch[]>>;
  /** Replica ids whose histories have not reached this machine. */
  readonly unknown?: readonly number[];
}

/** The tally a host would make of these histories (f = 1, four members). */
export function fakeFaultySoFar(
  histories: Readonly<Record<number, readonly BehaviourSwitch[]>> = {},
  unknown: readonly number[] = [],
): FaultySoFar {
  const members = PEER_IDS.map((peerId, replicaId) => {
    const history = histories[replicaId] ?? [];
    return {
      replicaId,
      peerId,
      known: !unknown.includes(replicaId),
      behaviour: history.at(-1)?.behaviour ?? null,
      firstByzantine: history.find((s) => s.behaviour !== null) ?? null,
      history,
    };
  });
  const count = members.filter((m) => m.firstByzantine !== null).length;
  return { f: 1, count, beyondBound: count > 1, members };
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
    faultySoFar: fakeFaultySoFar(options.histories, options.unknown),
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

  /** What `room` answers (its events filtered by `after`); set it in a test. */
  roomValue: RoomState = new RoomModel().state();

  async room(query?: RoomQuery): Promise<RoomState> {
    this.record('room', ...(query === undefined ? [] : [query]));
    const after = query?.after ?? 0;
    const events = this.roomValue.events.filter((e) => e.at > after);
    return { ...this.roomValue, events, cursor: events.at(-1)?.at ?? after };
  }

  /**
   * What `roomExercise` answers (a test moves it on by hand: the run's steps, its verdicts); null: a
   * host that is no room of its own, which refuses the call as the WebSocket server does.
   */
  roomExerciseStatus: RoomExerciseStatus | null = null;

  async roomExercise(command: RoomExerciseCommand): Promise<RoomExerciseStatus> {
    this.record('roomExercise', command);
    if (this.roomExerciseStatus === null) {
      const error = new Error('this host runs no exercises: it is no room of its own');
      error.name = 'NoRoomExercisesError';
      throw error;
    }
    return this.roomExerciseStatus;
  }

  /** Refuses a switch beyond f without exceedF, as the host does, by the snapshot's tally. */
  async setBehaviour(id: string | null, options?: SetBehaviourOptions): Promise<string | null> {
    this.record('setBehaviour', id, ...(options === undefined ? [] : [options]));
    const tally = this.snapshotValue.faultySoFar;
    const self = tally?.members[this.snapshotValue.self.replicaId ?? -1];
    if (id !== null && tally && self && !self.firstByzantine && tally.count + 1 > tally.f && !options?.exceedF)
      throw new Error(`${EXCEED_F_MESSAGE}. Byzantine so far: ${tally.count} of f = ${tally.f}.`);
    const histories: Record<number, BehaviourSwitch[]> = {};
    for (const m of tally?.members ?? []) histories[m.replicaId] = [...m.history];
    const own = (histories[this.snapshotValue.self.replicaId ?? 0] ??= []);
    own.push({ n: own.length + 1, atMs: Date.UTC(2026, 0, 1, 10, 0, own.length), behaviour: id });
    const unknown = tally?.members.filter((m) => !m.known).map((m) => m.replicaId);
    this.snapshotValue = { ...this.snapshotValue, behaviour: id, faultySoFar: fakeFaultySoFar(histories, unknown) };
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

/**
 * What the Electron preload would expose for this fake: its calls, `version`, and its events as
 * batches (`flush()` sends what was emitted since the last flush as one batch, as main does every
 * 50 ms). `batches` counts the calls that crossed the bridge.
 */
export function fakeBridge(
  api: FakeLabApi,
  version: () => Promise<string> = () => Promise.resolve('0.1.0'),
): PbftLabBridge & { flush(): void; readonly batches: number } {
  let pending: LabEvent[] = [];
  const batchListeners = new Set<(events: readonly LabEvent[]) => void>();
  let batches = 0;
  api.subscribe((event) => pending.push(event));
  return {
    version,
    snapshot: () => api.snapshot(),
    submit: (op) => api.submit(op),
    fault: (command) => api.fault(command),
    revokeClient: (clientId) => api.revokeClient(clientId),
    behaviours: () => api.behaviours(),
    setBehaviour: (id, options) => api.setBehaviour(id, options),
    room: (query) => api.room(query),
    subscribeBatches(listener) {
      batchListeners.add(listener);
      return () => batchListeners.delete(listener);
    },
    flush() {
      const batch = pending;
      pending = [];
      if (batch.length === 0) return;
      for (const listener of batchListeners) {
        batches++;
        listener(batch);
      }
    },
    get batches() {
      return batches;
    },
  };
}
