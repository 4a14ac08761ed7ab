/**
 * A live cluster as an exercise sees it: look at the replicas, switch behaviours, toggle faults, send
 * client requests, and gather the records at the end. `LabApiCluster` does it through each
 * replica's dashboard API (the URL each prints, with its token) — the one-machine demo and lab
 * machines alike. The room (issue 14) is to provide another, over its telemetry channel, for the
 * instructor's Exercises panel; the runner (live-run.ts) works with either.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { connectLabApi, type LabApiConnection } from '../host/api-client.ts';
import type { FaultCommand, LabOp, LabResult, LabSnapshot, SubmitOutcome } from '../host/lab-api.ts';
import { fileOpFromLab, labResultFromFile } from '../host/lab-ops.ts';
import { NetworkClient } from '../host/network-client.ts';
import { decodeResult } from '../app/file-ops.ts';
import { ClusterKey } from '../net/cluster-key.ts';
import { apiSource, collectSessions, type CollectWindow } from '../record/collect.ts';
import type { RecordSession } from '../record/format.ts';
import type { ReplicaProbe } from './script.ts';

export interface LiveCluster {
  readonly n: number;
  /** Peer ids by replica id. */
  readonly roster: readonly string[];
  /** What each replica shows now (null: paused or unreachable). */
  probe(): Promise<(ReplicaProbe | null)[]>;
  setBehaviour(replica: number, behaviour: string | null): Promise<void>;
  fault(replica: number, command: FaultCommand): Promise<void>;
  /** A request from the client of replica `host`'s machine (its dashboard's client). */
  submit(host: number, op: LabOp): Promise<SubmitOutcome>;
  /** A client of its own, running a Byzantine client behaviour: its submit function and client id. */
  byzantineClient(behaviour: string): Promise<{ readonly id: string; submit(op: LabOp): Promise<SubmitOutcome> }>;
  /** Every replica's sessions overlapping the window. */
  records(window: CollectWindow): Promise<RecordSession[]>;
  close(): Promise<void>;
}

export class LiveClusterError extends Error {
  override readonly name = 'LiveClusterError';
}

/** Requests of the Byzantine client are given up after this long (the replicas may ignore them for good). */
const BYZANTINE_SUBMIT_TIMEOUT_MS = 8_000;

export class LabApiCluster implements LiveCluster {
  readonly n: number;
  readonly roster: readonly string[];
  private readonly urls: readonly string[];
  private readonly apis: readonly LabApiConnection[];
  private readonly snapshots: readonly LabSnapshot[];
  private readonly networkClients: NetworkClient[] = [];

  private constructor(urls: string[], apis: LabApiConnection[], snapshots: LabSnapshot[]) {
    this.urls = urls;
    this.apis = apis;
    this.snapshots = snapshots;
    this.n = snapshots.length;
    this.roster = snapshots[0]!.roster;
  }

  /** Connects to every dashboard URL; they may be given in any order (each replica says its id). */
  static async connect(urls: readonly string[]): Promise<LabApiCluster> {
    const apis = await Promise.all(urls.map((url) => connectLabApi(url)));
    try {
      const snapshots = await Promise.all(apis.map((api) => api.snapshot()));
      const n = snapshots[0]!.self.size;
      if (urls.length !== n)
        throw new LiveClusterError(`the cluster has ${n} replicas; give all ${n} dashboard URLs (got ${urls.length})`);
      const order = snapshots
        .map((s, i) => ({ s, i }))
        .sort((a, b) => (a.s.self.replicaId ?? -1) - (b.s.self.replicaId ?? -1));
      order.forEach(({ s, i }, k) => {
        if (s.self.role !== 'replica' || s.self.replicaId !== k)
          throw new LiveClusterError(
            `${redact(urls[i]!)} is ${s.self.role === 'replica' ? `replica ${s.self.replicaId}` : `a machine still ${s.self.role}`}; each URL must be one replica of one formed cluster`,
          );
        if (s.roster.join() !== snapshots[0]!.roster.join())
          throw new LiveClusterError('the dashboards belong to different clusters (their rosters differ)');
      });
      return new LabApiCluster(
        order.map(({ i }) => urls[i]!),
        order.map(({ i }) => apis[i]!),
        order.map(({ s }) => s),
      );
    } catch (error) {
      for (const api of apis) api.close();
      throw error;
    }
  }

  /** Snapshots as connected (the runner checks the cluster is fresh). */
  get initial(): readonly LabSnapshot[] {
    return this.snapshots;
  }

  async probe(): Promise<(ReplicaProbe | null)[]> {
    return Promise.all(
      this.apis.map(async (api) => {
        const s = await api.snapshot().catch(() => null);
        if (!s?.view || !s.checkpoints || s.faults.paused) return null;
        return {
          view: s.view.view,
          normal: s.view.status === 'normal',
          executed: s.checkpoints.lastExecuted,
          stable: s.checkpoints.stableSeq,
        };
      }),
    );
  }

  async setBehaviour(replica: number, behaviour: string | null): Promise<void> {
    await this.apis[replica]!.setBehaviour(behaviour);
  }

  async fault(replica: number, command: FaultCommand): Promise<void> {
    await this.apis[replica]!.fault(command);
  }

  submit(host: number, op: LabOp): Promise<SubmitOutcome> {
    return this.apis[host]!.submit(op);
  }

  async byzantineClient(behaviour: string): Promise<{ id: string; submit(op: LabOp): Promise<SubmitOutcome> }> {
    const self = this.snapshots[0]!.self;
    const joinCode = self.clusterKey?.joinCode;
    const client = new NetworkClient({
      cluster: self.cluster,
      clusterKey: joinCode ? ClusterKey.fromJoinCode(joinCode) : null,
      size: this.n,
      join: this.snapshots.flatMap((s) => s.self.addresses.map((a) => multiaddr(a))),
      mdns: false,
      allowLoopback: true,
      clientBehaviour: behaviour,
    });
    this.networkClients.push(client);
    await client.start();
    return {
      id: client.peerId,
      submit: async (op) => {
        const startedAt = performance.now();
        const result = await client.submit(fileOpFromLab(op), { timeoutMs: BYZANTINE_SUBMIT_TIMEOUT_MS });
        const decoded = decodeResult(result.result);
        return {
          timestamp: result.timestamp,
          result: (decoded.ok
            ? labResultFromFile(decoded.result)
            : { kind: 'error', code: 'BAD_OP', message: decoded.reason }) as LabResult,
          matching: result.matching,
          committed: result.committed,
          latencyMs: performance.now() - startedAt,
        };
      },
    };
  }

  records(window: CollectWindow): Promise<RecordSession[]> {
    return collectSessions(this.urls.map(apiSource), window);
  }

  async close(): Promise<void> {
    for (const api of this.apis) api.close();
    for (const client of this.networkClients.splice(0)) await client.stop().catch(() => {});
  }
}

/** A dashboard URL without its token, for messages. */
export function redact(url: string): string {
  const u = new URL(url);
  u.search = '';
  return u.href;
}
