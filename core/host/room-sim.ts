/**
 * The simulator-backed room (issue 14): the unmodified sans-IO replicas of a small cluster, driven in
 * virtual time inside this process, each with the same Telemetry a machine's host has, feeding a
 * RoomModel. It is how a class sees what no LAN run may do without an explicit flag: more than f
 * replicas colluding (core/byzantine/coalition.ts), and the checker naming who broke agreement.
 *
 * Deliberately simple: messages are delivered in FIFO order one virtual millisecond apart, nothing is
 * lost, and records are not persisted (no restarts here). The seeded simulator (core/sim) is the place
 * for adversarial schedules; this run exists to be watched.
 */
import { encodeOp } from '../app/file-ops.ts';
import { FileStore } from '../app/file-store.ts';
import { equivocationCoalition } from '../byzantine/coalition.ts';
import { FaultyReplica } from '../byzantine/faulty-replica.ts';
import { simulatedCrypto } from '../crypto/node.ts';
import { Client } from '../pbft/client.ts';
import { defaultProtocolConfig, quorums } from '../pbft/config.ts';
import type { Message, ReplicaId } from '../pbft/messages.ts';
import { Replica } from '../pbft/replica.ts';
import type { FaultySoFar, MemberBehaviour } from './lab-api.ts';
import { labSnapshot } from './lab-snapshot.ts';
import { RoomModel } from './room-model.ts';
import { NULL_REQUEST_DIGEST } from './room-observer.ts';
import { TELEMETRY_SCHEMA } from './telemetry-events.ts';
import { Telemetry, type TelemetryQueue } from './telemetry.ts';
import type { TraceHeader } from './telemetry-trace.ts';

export const ROOM_SIM_SCENARIOS = ['equivocation-coalition', 'silent-primary', 'honest'] as const;
export type RoomSimScenario = (typeof ROOM_SIM_SCENARIOS)[number];

export interface RoomSimOptions {
  readonly scenario: RoomSimScenario;
  /** @default 4 */
  readonly n?: number;
  /** Write operations the client submits, one after the other. @default 6 */
  readonly ops?: number;
  /** @default 1 */
  readonly seed?: number;
}

interface InFlight {
  readonly at: number;
  readonly from: ReplicaId | string;
  readonly to: ReplicaId | string;
  readonly message: Message;
  readonly trace?: TraceHeader;
}

const TICK_MS = 10;
const CLIENT = 'student';

/** A small simulated cluster whose telemetry goes into `model`; `run` advances it in virtual time. */
export class RoomSimulation {
  readonly model: RoomModel;
  readonly n: number;
  private readonly replicas: FaultyReplica[] = [];
  private readonly telemetry: Telemetry[] = [];
  private readonly queues: TelemetryQueue[] = [];
  private readonly client: Client;
  private readonly inFlight: InFlight[] = [];
  private readonly faulty: readonly number[];
  private readonly behaviourName: string | null;
  private now = 0;
  private opsLeft: number;
  private opSeq = 0;
  private outstanding = false;

  constructor(options: RoomSimOptions) {
    const n = options.n ?? 4;
    this.n = n;
    const { f } = quorums(n);
    const crypto = simulatedCrypto(n, options.seed ?? 1);
    const config = defaultProtocolConfig(n, { checkpointInterval: 4, logWindow: 8 });
    this.model = new RoomModel({ nullDigest: NULL_REQUEST_DIGEST, now: () => this.now });
    for (let id = 0; id < n; id++) {
      const replica = new Replica({ id, config, crypto: crypto.replica(id), app: new FileStore(crypto.hasher) });
      this.replicas.push(new FaultyReplica(replica, crypto.replica(id), () => 0.5));
      const telemetry = new Telemetry({ replica: id, n, incarnation: id + 1, wallMs: () => this.now });
      this.telemetry.push(telemetry);
      this.queues.push(telemetry.subscribe(1_000_000));
    }
    this.client = new Client(CLIENT, { n, retransmitTicks: 50 }, crypto.client(CLIENT));
    this.opsLeft = options.ops ?? 6;
    switch (options.scenario) {
      case 'equivocation-coalition': {
        // f+1 colluding: the primary of view 0 and f more.
        const members = Array.from({ length: f + 1 }, (_, i) => i);
        for (const [id, behaviour] of equivocationCoalition(members)) this.replicas[id]!.use(behaviour);
        this.faulty = members;
        this.behaviourName = 'equivocation-coalition';
        break;
      }
      case 'silent-primary':
        this.replicas[0]!.setBehaviour('silent');
        this.faulty = [0];
        this.behaviourName = 'silent';
        break;
      case 'honest':
        this.faulty = [];
        this.behaviourName = null;
        break;
    }
    for (let id = 0; id < n; id++) {
      this.model.hello(this.peerOf(id), {
        schema: TELEMETRY_SCHEMA,
        peerId: this.peerOf(id),
        cluster: `simulated ${options.scenario}`,
        size: n,
        replica: id,
        incarnation: this.telemetry[id]!.incarnationText,
        roster: this.roster(),
      });
      if (this.faulty.includes(id)) this.telemetry[id]!.behaviour(this.behaviourName);
    }
    this.publish();
  }

  /** Advance virtual time by `ms`, delivering, ticking and submitting; then publish to the model. */
  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 1;
      if (!this.outstanding && this.opsLeft > 0) this.submit();
      while (this.inFlight.length > 0 && this.inFlight[0]!.at <= this.now) this.deliver(this.inFlight.shift()!);
      if (this.now % TICK_MS === 0) {
        for (let id = 0; id < this.n; id++) {
          this.replicas[id]!.tick();
          this.drain(id);
        }
        this.client.tick();
        this.drainClient();
      }
    }
    this.publish();
  }

  private peerOf(id: number): string {
    return `simulated-r${id}`;
  }

  private roster(): string[] {
    return Array.from({ length: this.n }, (_, id) => this.peerOf(id));
  }

  private submit(): void {
    this.opsLeft--;
    this.outstanding = true;
    const data = new TextEncoder().encode(`line ${++this.opSeq}`);
    this.client.submit(encodeOp({ kind: 'write', path: `/f${this.opSeq}`, data }));
    this.drainClient();
  }

  private send(from: ReplicaId | string, to: ReplicaId | string, message: Message, trace?: TraceHeader): void {
    const last = this.inFlight.at(-1)?.at ?? this.now;
    this.inFlight.push({ at: Math.max(this.now + 1, last), from, to, message, trace });
  }

  private deliver(m: InFlight): void {
    if (typeof m.to === 'string') {
      if (m.message.type === 'reply') this.client.onReply(m.from as number, m.message);
      this.drainClient();
      return;
    }
    const telemetry = this.telemetry[m.to]!;
    if (typeof m.from === 'string' && m.message.type === 'request') telemetry.clientRequest(m.from, m.message);
    else telemetry.receive(m.from as number, m.trace, m.message);
    this.replicas[m.to]!.step(m.from, m.message);
    this.drain(m.to);
  }

  private drain(id: number): void {
    const telemetry = this.telemetry[id]!;
    for (const out of this.replicas[id]!.takeOutputs()) {
      switch (out.kind) {
        case 'send':
          this.send(id, out.to, out.message, telemetry.send([out.to], out.message));
          break;
        case 'broadcast': {
          const others = Array.from({ length: this.n }, (_, r) => r).filter((r) => r !== id);
          const trace = telemetry.send(others, out.message);
          for (const r of others) this.send(id, r, out.message, trace);
          break;
        }
        case 'reply':
          telemetry.replies(out.client, [out.reply]);
          this.send(id, out.client, out.reply);
          break;
        case 'event':
          telemetry.state(out.event);
          break;
        case 'persist':
          break;
      }
    }
  }

  private drainClient(): void {
    for (const out of this.client.takeOutputs()) {
      if (out.kind === 'send') this.send(CLIENT, out.to, out.request);
      else if (out.kind === 'broadcast') for (let r = 0; r < this.n; r++) this.send(CLIENT, r, out.request);
      else this.outstanding = false;
    }
  }

  private publish(): void {
    for (let id = 0; id < this.n; id++) {
      const { events, lost } = this.queues[id]!.take();
      if (events.length > 0 || lost > 0) this.model.ingest(this.peerOf(id), lost, events);
      this.model.snapshot(this.peerOf(id), this.snapshotOf(id));
    }
  }

  private snapshotOf(id: number) {
    const zero = { executedRequests: 0, executedBatches: 0, viewChanges: 0, stateTransfers: 0, ignoredMessages: 0 };
    return labSnapshot({
      peerId: this.peerOf(id),
      cluster: 'simulated',
      size: this.n,
      listenAddresses: [],
      roster: this.roster(),
      proposedRoster: null,
      clusterKey: null,
      replicaId: id,
      replica: this.replicas[id]!.replica,
      behaviour: this.faulty.includes(id) ? this.behaviourName : null,
      faultySoFar: this.faultySoFar(),
      revokedClients: null,
      // Every simulated link is up.
      peers: this.roster()
        .filter((_, r) => r !== id)
        .map((peerId) => ({ peerId, replicaId: this.roster().indexOf(peerId), addresses: [], lastHeardAt: this.now })),
      transport: {
        framesIn: 0,
        bytesIn: 0,
        framesOut: 0,
        bytesOut: 0,
        dropped: {} as never,
        reconnects: 0,
        dialFailures: 0,
        inboundStreamsOpened: 0,
        inboundStreamsOpen: 0,
        partialFrameBytes: { members: 0, nonMembers: 0 },
        peers: Object.fromEntries(this.roster().map((peer) => [peer, { state: 'open' } as never])),
      },
      counters: zero,
      faults: { paused: false, disconnectedFrom: [], delayMs: 0 },
      uptimeMs: this.now,
      now: this.now,
    });
  }

  private faultySoFar(): FaultySoFar {
    const { f } = quorums(this.n);
    const members: MemberBehaviour[] = this.roster().map((peerId, replicaId) => {
      const byzantine = this.faulty.includes(replicaId);
      const history = byzantine ? [{ n: 1, atMs: 0, behaviour: this.behaviourName }] : [];
      return {
        replicaId,
        peerId,
        known: true,
        behaviour: byzantine ? this.behaviourName : null,
        firstByzantine: byzantine ? history[0]! : null,
        history,
      };
    });
    return { f, count: this.faulty.length, beyondBound: this.faulty.length > f, members };
  }
}
