/**
 * Which cluster this app instance runs, and the start screen's part in choosing it: the state the
 * window shows (choosing, starting, running, failed), creating a cluster (its join code shown at
 * once), joining one from the LAN list or by code, going back from the menu, and remembering the
 * choice for the next start. The replica itself runs in the lab process; this only decides and asks.
 * Plain code with its I/O injected, tested under Node (cluster-setup.test.ts).
 */
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { BadRequestError } from '../../core/host/api-server-validate.ts';
import type { LanCluster } from '../../core/net/lan-cluster-info.ts';
import {
  CLUSTER_NAME_PATTERN,
  type ClusterSettings,
  type CreateClusterRequest,
  type JoinClusterRequest,
  type SetupState,
} from '../shared/app-setup.ts';
import type { ClusterKeyStart, LabStartRequest, LabStarted } from '../lab-process/protocol.ts';
import type { RememberedSettings } from './app-settings.ts';
import { CLUSTERS_DIR_NAME, describeStartFailure, type LaunchPlan } from './lab-host.ts';

/** What the setup needs of the lab process (LabProcessClient). */
export interface SetupLab {
  startReplica(request: LabStartRequest): Promise<LabStarted>;
  stopReplica(): Promise<void>;
  scan(): Promise<void>;
  onLan(listener: (clusters: readonly LanCluster[], error: string | null) => void): () => void;
  onExit(listener: (code: number) => void): () => void;
}

export interface ClusterSetupDeps {
  readonly lab: SetupLab;
  readonly settings: {
    load(): Promise<RememberedSettings>;
    save(settings: RememberedSettings): Promise<void>;
  };
  readonly userDataDir: string;
  /** A fresh cluster key's join code (ClusterKey.generate()). */
  readonly newJoinCode: () => string;
  /** The canonical code and the fingerprint of a typed one; throws ClusterKeyError when it does not check out. */
  readonly readJoinCode: (code: string) => { joinCode: string; fingerprint: string };
  /** A directory a new cluster may use: missing, or empty. */
  readonly isFreshDir: (dir: string) => Promise<boolean>;
  readonly log: (line: string) => void;
  /** Every change of the state (the window reloads when the replica stops running). */
  readonly onChange?: (state: SetupState, before: SetupState) => void;
}

export class ClusterSetup {
  private readonly deps: ClusterSetupDeps;
  private current: SetupState;
  private remembered: RememberedSettings = { cluster: null, previous: null };

  constructor(deps: ClusterSetupDeps) {
    this.deps = deps;
    this.current = {
      phase: 'choose',
      cluster: null,
      joinCode: null,
      fingerprint: null,
      error: null,
      previous: null,
      lan: { clusters: [], error: null },
      dataDirRoot: join(deps.userDataDir, CLUSTERS_DIR_NAME),
    };
    deps.lab.onLan((clusters, error) => this.update({ lan: { clusters, error } }));
    deps.lab.onExit((code) => {
      if (this.current.phase !== 'running' && this.current.phase !== 'starting') return;
      this.update({
        phase: 'failed',
        error: `The replica's process ended unexpectedly (exit code ${code}). Start it again, or choose another cluster.`,
      });
      void this.scan();
    });
  }

  state(): SetupState {
    return this.current;
  }

  /** The start: the launch plan's cluster, or the start screen. */
  async launch(plan: LaunchPlan, remembered: RememberedSettings): Promise<void> {
    this.remembered = remembered;
    this.update({ previous: remembered.previous });
    if (plan.kind === 'choose') return this.scan();
    this.startCluster(plan.settings, plan.key);
  }

  /** The start screen's "Create": a new key, its code shown at once, a data directory of its own. */
  async create(request: CreateClusterRequest): Promise<SetupState> {
    this.requireChoosing();
    const { cluster, size, local } = parseClusterChoice(request);
    const joinCode = this.deps.newJoinCode();
    const { fingerprint } = this.deps.readJoinCode(joinCode);
    const dataDir = await this.dataDirFor(request.dataDir, cluster, fingerprint, true);
    const settings: ClusterSettings = { cluster, size, dataDir, local, join: [], mdns: !local };
    this.startCluster(settings, { kind: 'created', joinCode }, fingerprint);
    return this.current;
  }

  /** The start screen's "Join": a cluster from the LAN list (its name, size and addresses) or typed, and its code. */
  async join(request: JoinClusterRequest): Promise<SetupState> {
    this.requireChoosing();
    const { cluster, size, local } = parseClusterChoice(request);
    if (typeof request.joinCode !== 'string' || request.joinCode.trim() === '')
      throw new BadRequestError('the join code is missing: the first machine shows it');
    let code: { joinCode: string; fingerprint: string };
    try {
      code = this.deps.readJoinCode(request.joinCode);
    } catch (error) {
      throw new BadRequestError(`join code: ${(error as Error).message}`);
    }
    const joins = parseJoinAddresses(request.join);
    const seen = this.current.lan.clusters.find((c) => c.cluster === cluster && c.size === size);
    if (seen && seen.fingerprint !== code.fingerprint && joins.length > 0)
      throw new BadRequestError(
        `this join code is for cluster key ${code.fingerprint}, but "${cluster}" on the LAN has key ${seen.fingerprint}: check the code`,
      );
    const dataDir = await this.dataDirFor(request.dataDir, cluster, code.fingerprint, false);
    const settings: ClusterSettings = { cluster, size, dataDir, local, join: joins, mdns: !local };
    this.startCluster(settings, { kind: 'join', joinCode: code.joinCode }, code.fingerprint);
    return this.current;
  }

  /** Back to the cluster before the last change (or the one that failed): its data directory has its key. */
  async rejoin(): Promise<SetupState> {
    this.requireChoosing();
    const settings =
      this.current.phase === 'failed' ? (this.current.cluster ?? this.current.previous) : this.current.previous;
    if (settings === null) throw new BadRequestError('there is no cluster to go back to');
    this.startCluster(settings, { kind: 'stored' });
    return this.current;
  }

  /** The menu's "Change cluster…": stop the replica, forget it as the one to start with, show the start screen. */
  async change(): Promise<SetupState> {
    if (this.current.phase === 'starting') throw new BadRequestError('the replica is starting: wait a moment');
    const leaving = this.current.phase === 'running' ? this.current.cluster : this.current.previous;
    if (this.current.phase === 'running') {
      this.deps.log(`stopping the replica of cluster "${this.current.cluster?.cluster}" to change cluster`);
      await this.deps.lab.stopReplica();
    }
    this.remembered = { cluster: null, previous: leaving };
    await this.deps.settings.save(this.remembered);
    this.update({ phase: 'choose', cluster: null, joinCode: null, fingerprint: null, error: null, previous: leaving });
    await this.scan();
    return this.current;
  }

  private requireChoosing(): void {
    if (this.current.phase === 'starting') throw new BadRequestError('a replica is starting already');
    if (this.current.phase === 'running')
      throw new BadRequestError('a replica is running: change cluster from the menu first');
  }

  /** The directory a chosen cluster uses: the one picked (a new cluster's must be empty), or its own. */
  private async dataDirFor(
    picked: string | null,
    cluster: string,
    fingerprint: string,
    fresh: boolean,
  ): Promise<string> {
    if (picked === null || picked === undefined) return join(this.current.dataDirRoot, `${cluster}-${fingerprint}`);
    if (typeof picked !== 'string' || picked === '') throw new BadRequestError('the data directory is not a path');
    if (fresh && !(await this.deps.isFreshDir(picked)))
      throw new BadRequestError(
        `${picked} is not empty: a new cluster needs an empty directory (or leave the choice to the app)`,
      );
    return picked;
  }

  private startCluster(settings: ClusterSettings, key: ClusterKeyStart, fingerprint: string | null = null): void {
    this.update({
      phase: 'starting',
      cluster: settings,
      joinCode: key.kind === 'created' || key.kind === 'join' ? key.joinCode : null,
      fingerprint,
      error: null,
    });
    this.deps.log(
      `starting the replica of cluster "${settings.cluster}" of ${settings.size}${settings.local ? ', this machine only' : ''}; data in ${settings.dataDir}`,
    );
    this.deps.lab.startReplica({ settings, key }).then(
      async (started) => {
        this.update({
          phase: 'running',
          joinCode: started.joinCode ?? this.current.joinCode,
          fingerprint: started.fingerprint ?? this.current.fingerprint,
        });
        this.deps.log(`replica of cluster "${settings.cluster}" (n = ${settings.size}) started as ${started.peerId}`);
        const previous =
          this.remembered.cluster !== null && this.remembered.cluster.dataDir !== settings.dataDir
            ? this.remembered.cluster
            : this.remembered.previous;
        this.remembered = { cluster: settings, previous };
        await this.deps.settings.save(this.remembered);
      },
      async (error: unknown) => {
        const { title, content } = describeStartFailure(error, settings);
        this.deps.log(`${title}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
        this.update({ phase: 'failed', error: content });
        await this.scan();
      },
    );
  }

  private async scan(): Promise<void> {
    try {
      await this.deps.lab.scan();
    } catch (error) {
      this.update({ lan: { clusters: [], error: `cannot scan the LAN: ${(error as Error).message}` } });
    }
  }

  private update(change: Partial<SetupState>): void {
    const before = this.current;
    this.current = { ...before, ...change };
    this.deps.onChange?.(this.current, before);
  }
}

/** A cluster name, size and local flag from the renderer, checked. */
function parseClusterChoice(request: unknown): { cluster: string; size: number; local: boolean } {
  if (typeof request !== 'object' || request === null) throw new BadRequestError('expected a cluster');
  const r = request as Record<string, unknown>;
  const cluster = typeof r['cluster'] === 'string' ? r['cluster'].trim() : '';
  if (!CLUSTER_NAME_PATTERN.test(cluster))
    throw new BadRequestError(
      `a cluster name is 1–64 letters, digits, '.', '_' or '-' (not starting with '-'), got "${cluster}"`,
    );
  const size = r['size'];
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 4 || size > 100 || (size - 1) % 3 !== 0)
    throw new BadRequestError(`a cluster's size is 3f+1 (4, 7, 10, …), got ${String(size)}`);
  if (typeof r['local'] !== 'boolean') throw new BadRequestError('expected local: true or false');
  return { cluster, size, local: r['local'] };
}

function parseJoinAddresses(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 16) throw new BadRequestError('expected up to 16 addresses to join');
  return value.map((address) => {
    if (typeof address !== 'string' || address.length > 300) throw new BadRequestError('an address is not text');
    try {
      multiaddr(address.trim());
    } catch {
      throw new BadRequestError(
        `"${address}" is not an address: expected something like /ip4/192.168.1.20/tcp/41234/p2p/12D3KooW…`,
      );
    }
    return address.trim();
  });
}
