/**
 * The host behind `pbft-lab room`: a libp2p node holding the cluster key, mDNS discovery (and the
 * addresses given or last seen), a RoomObserver subscribed to every replica it finds, and the LabApi
 * the dashboard page talks to (its `room` call; it runs no replica and no client of its own).
 * With `simulate`, the room watches a simulated cluster in this process instead (room-sim.ts).
 * Given its members' dashboards (`memberUrls`), it also runs the instructor's exercises on them
 * (its `roomExercise` call, core/exercises/room-exercises.ts); its telemetry stays read-only.
 */
import type { Multiaddr } from '@multiformats/multiaddr';
import { watchPeerDiscovery, type LabDiscovery } from '../net/discovery.ts';
import type { ClusterKey } from '../net/cluster-key.ts';
import { createLabNode, type LabNode } from '../net/node.ts';
import { RoomExercises } from '../exercises/room-exercises.ts';
import { quorums } from '../pbft/config.ts';
import type {
  BehaviourInfo,
  FaultCommand,
  LabApi,
  LabEvent,
  LabFaults,
  LabOp,
  LabSnapshot,
  RoomExerciseCommand,
  RoomExerciseStatus,
  RoomQuery,
  RoomState,
  SubmitOutcome,
} from './lab-api.ts';
import type { RoomModel } from './room-model.ts';
import { RoomObserver } from './room-observer.ts';
import { RoomSimulation, type RoomSimScenario } from './room-sim.ts';

/** The simulated cluster runs at this fraction of real time (slow enough to watch). */
export const SIMULATION_SPEED = 0.5;

export interface RoomHostOptions {
  /** Only replicas of this cluster name. */
  readonly cluster: string;
  readonly size: number;
  /** The cluster secret (null: an open cluster, measurements only). */
  readonly clusterKey: ClusterKey | null;
  /** Replica addresses to subscribe to (with their /p2p/ id), besides those mDNS finds. */
  readonly join?: readonly Multiaddr[];
  /** @default true */
  readonly mdns?: boolean;
  /** One-machine demo and loopback tests. @default false */
  readonly allowLoopback?: boolean;
  readonly log?: (line: string) => void;
  /** Watch a simulated cluster running this scenario instead of the LAN (no network at all). */
  readonly simulate?: RoomSimScenario;
  /**
   * Each member's dashboard URL with its token: the room runs exercises on them. None: the room's
   * Exercises panel steps on the screen only. @default []
   */
  readonly memberUrls?: readonly string[];
}

export class NotAReplicaError extends Error {
  override readonly name = 'NotAReplicaError';
}

export class RoomHost implements LabApi {
  private readonly options: RoomHostOptions;
  private node: LabNode | null = null;
  private discovery: LabDiscovery | null = null;
  private observer: RoomObserver | null = null;
  private simulation: RoomSimulation | null = null;
  private simulationTimer: ReturnType<typeof setInterval> | null = null;
  private readonly startedAt = performance.now();
  private readonly exercises: RoomExercises;

  constructor(options: RoomHostOptions) {
    this.options = options;
    this.exercises = new RoomExercises({
      cluster: options.cluster,
      // A simulated room has no members to command.
      memberUrls: options.simulate ? [] : (options.memberUrls ?? []),
      log: options.log,
    });
  }

  get peerId(): string {
    return this.node?.peerId.toString() ?? 'simulated-room';
  }

  private get model(): RoomModel {
    return (this.simulation?.model ?? this.observer?.model)!;
  }

  async start(): Promise<void> {
    const log = this.options.log ?? (() => {});
    if (this.options.simulate) {
      const simulation = new RoomSimulation({ scenario: this.options.simulate, n: this.options.size });
      this.simulation = simulation;
      this.simulationTimer = setInterval(() => simulation.run(100 * SIMULATION_SPEED), 100);
      return;
    }
    const node = await createLabNode({
      listen: ['/ip4/0.0.0.0/tcp/0'],
      clusterKey: this.options.clusterKey ?? undefined,
      mdns: this.options.mdns === false ? false : { intervalMs: 2_000 },
      allowLoopback: this.options.allowLoopback,
    });
    this.node = node;
    const observer = new RoomObserver({ node, cluster: this.options.cluster, note: log });
    this.observer = observer;
    this.discovery =
      this.options.mdns === false ? null : watchPeerDiscovery(node, { allowLoopback: this.options.allowLoopback });
    this.discovery?.onPeerDiscovered((peer, addrs) => observer.watch(peer, addrs));
    for (const address of this.options.join ?? []) {
      const peer = address.getComponents().find((c) => c.name === 'p2p')?.value;
      if (peer) observer.watch(peer, [address]);
      else log(`room: ${address.toString()} names no peer (/p2p/…): skipped`);
    }
  }

  async stop(): Promise<void> {
    await this.exercises.close();
    if (this.simulationTimer) clearInterval(this.simulationTimer);
    this.discovery?.stop();
    this.observer?.stop();
    await this.node?.stop();
  }

  /** Telemetry events taken in, and lost (by the replicas' queues) since the start. */
  telemetryCounts(): { events: number; lost: number } {
    const state = this.model.state({ limit: 0 });
    return { events: this.model.ingested, lost: state.replicas.reduce((sum, r) => sum + r.lost, 0) };
  }

  /** Replicas the room hears from (connected subscriptions with a replica id). */
  replicasHeard(): number {
    return this.model.state({ limit: 0 }).replicas.filter((r) => r.connected && r.view !== null).length;
  }

  async room(query: RoomQuery = {}): Promise<RoomState> {
    return this.model.state(query);
  }

  /** The instructor's exercises on the members (start, advance, stop, status). */
  roomExercise(command: RoomExerciseCommand): Promise<RoomExerciseStatus> {
    return this.exercises.command(command);
  }

  async snapshot(): Promise<LabSnapshot> {
    const room = this.model.state({ limit: 0 });
    const size = this.options.size;
    return {
      self: {
        peerId: this.peerId,
        cluster: this.options.cluster,
        size,
        f: quorums(size).f,
        role: 'observer',
        replicaId: null,
        addresses: this.node?.getMultiaddrs().map(String) ?? [],
        clusterKey: this.options.clusterKey ? { fingerprint: this.options.clusterKey.fingerprint, joinCode: '' } : null,
        roomOnly: true,
      },
      roster: room.replicas.map((r) => r.peerId),
      view: null,
      log: [],
      checkpoints: null,
      peers: [],
      metrics: {
        uptimeMs: Math.round(performance.now() - this.startedAt),
        executedRequests: 0,
        executedBatches: 0,
        viewChanges: 0,
        stateTransfers: 0,
        ignoredMessages: 0,
        framesIn: 0,
        framesOut: 0,
        bytesIn: 0,
        bytesOut: 0,
        framesDropped: 0,
      },
      faults: { paused: false, disconnectedFrom: [], delayMs: 0 },
      behaviour: null,
      faultySoFar: room.faultySoFar,
    };
  }

  subscribe(_listener: (event: LabEvent) => void): () => void {
    return () => {};
  }

  async submit(_op: LabOp): Promise<SubmitOutcome> {
    throw new NotAReplicaError('the room observer runs no client: submit from a replica dashboard or pbft-lab client');
  }

  async fault(_command: FaultCommand): Promise<LabFaults> {
    throw new NotAReplicaError('the room observer runs no replica: set faults on a replica dashboard');
  }

  async revokeClient(_clientId: string): Promise<void> {
    throw new NotAReplicaError('the room observer runs no replica');
  }

  async behaviours(): Promise<readonly BehaviourInfo[]> {
    return [];
  }

  async setBehaviour(_id: string | null): Promise<string | null> {
    throw new NotAReplicaError('the room observer runs no replica: switch behaviours on a replica dashboard');
  }
}
