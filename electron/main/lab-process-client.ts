/**
 * Main's side of the lab process (electron/lab-process): forks it, and is the LabApi the IPC
 * handlers call, each call a message over the utility process's port and a reply. Events come back
 * in batches and are handed to main's listeners (the window's LabEventForwarder) in order. Takes
 * the fork as a function (types only from `electron`), so it is tested with a fake child.
 */
import type { LabApi, LabApiCall, LabEvent } from '../../core/host/lab-api.ts';
import type { LanCluster } from '../../core/net/lan-cluster-info.ts';
import type {
  FromLabProcess,
  LabProcessMethod,
  LabStartRequest,
  LabStarted,
  ToLabProcess,
} from '../lab-process/protocol.ts';

/** What main uses of Electron's UtilityProcess. */
export interface LabChild {
  postMessage(message: ToLabProcess): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
  kill(): boolean;
}

/** @default call timeouts: a start opens the data directory and may wait for ports; a submit waits for f+1 replies. */
export const CALL_TIMEOUT_MS: Readonly<Record<LabProcessMethod, number>> = {
  start: 120_000,
  stop: 15_000,
  scan: 10_000,
  unscan: 10_000,
  snapshot: 10_000,
  submit: 60_000,
  fault: 10_000,
  revokeClient: 15_000, // an ordered operation: the host waits up to 10 s for f+1 replicas
  behaviours: 10_000,
  setBehaviour: 15_000,
  room: 10_000,
};

/** How long close() waits for the lab process to exit after it was told to. */
const CHILD_EXIT_WAIT_MS = 6_000;

/** The lab process did not answer in time, or ended before it did. */
export class LabProcessUnavailableError extends Error {
  override name = 'LabProcessUnavailableError';
}

/** An error the lab process sent back: its name and message, as the host raised it. */
export class LabProcessCallError extends Error {
  constructor(remote: { readonly name: string; readonly message: string }) {
    super(remote.message);
    this.name = remote.name;
  }
}

export interface LabProcessClientOptions {
  /** `utilityProcess.fork(out/main/lab-process.js, [], { serviceName: 'PBFT Lab replica' })`. */
  readonly fork: () => LabChild;
  readonly log: (line: string) => void;
  /** @default CALL_TIMEOUT_MS */
  readonly timeoutsMs?: Partial<Record<LabProcessMethod, number>>;
}

type Pending = {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
};

export class LabProcessClient implements LabApi {
  private readonly options: LabProcessClientOptions;
  private child: LabChild | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: LabEvent) => void>();
  private readonly lanListeners = new Set<(clusters: readonly LanCluster[], error: string | null) => void>();
  private readonly exitListeners = new Set<(code: number) => void>();
  /** Set by close(): called when the process it ended exits. */
  private closing: (() => void) | null = null;
  private readyWaiters: (() => void)[] = [];
  private isReady = false;

  constructor(options: LabProcessClientOptions) {
    this.options = options;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Forks the lab process if it is not running, and waits until it is ready for calls. */
  async ensureStarted(): Promise<void> {
    if (this.child === null) this.fork();
    if (this.isReady) return;
    await new Promise<void>((resolve) => this.readyWaiters.push(resolve));
  }

  private fork(): void {
    const child = this.options.fork();
    this.child = child;
    this.isReady = false;
    child.on('message', (message) => this.onMessage(message));
    child.on('exit', (code) => this.childExited(child, code));
  }

  private onMessage(message: unknown): void {
    const m = message as FromLabProcess;
    if (typeof m !== 'object' || m === null) return;
    switch (m.type) {
      case 'ready':
        this.isReady = true;
        // A new process (after a crash) streams to the listeners main already has.
        if (this.listeners.size > 0) this.child?.postMessage({ type: 'listen' });
        for (const resolve of this.readyWaiters.splice(0)) resolve();
        return;
      case 'reply': {
        const pending = this.pending.get(m.id);
        if (!pending) return;
        this.pending.delete(m.id);
        clearTimeout(pending.timer);
        if (m.ok) pending.resolve(m.value);
        else pending.reject(new LabProcessCallError(m.error));
        return;
      }
      case 'events':
        for (const event of m.events) {
          for (const listener of this.listeners) {
            try {
              listener(event);
            } catch (error) {
              this.options.log(`an event listener threw: ${String(error)}`);
            }
          }
        }
        return;
      case 'lan':
        for (const listener of this.lanListeners) listener(m.clusters, m.error);
        return;
    }
  }

  private childExited(child: LabChild, code: number): void {
    if (this.child !== child) return;
    this.child = null;
    this.isReady = false;
    const error = new LabProcessUnavailableError(`the replica's process ended (exit code ${code})`);
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
    if (this.closing) {
      this.closing();
      this.closing = null;
      return;
    }
    // Anyone waiting for `ready` waits for the next fork.
    for (const listener of this.exitListeners) listener(code);
  }

  /** A call to the lab process; rejects after its timeout, or when the process ends. */
  call<T>(method: LabProcessMethod, ...args: unknown[]): Promise<T> {
    const child = this.child;
    if (child === null || !this.isReady)
      return Promise.reject(new LabProcessUnavailableError("the replica's process is not running"));
    const id = this.nextId++;
    const timeoutMs = this.options.timeoutsMs?.[method] ?? CALL_TIMEOUT_MS[method];
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new LabProcessUnavailableError(`the replica's process did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      child.postMessage({ type: 'call', id, method, args });
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The lab process's own calls

  async startReplica(request: LabStartRequest): Promise<LabStarted> {
    await this.ensureStarted();
    return this.call<LabStarted>('start', request);
  }

  /** Stops the replica (the process stays, for the start screen's scan). */
  async stopReplica(): Promise<void> {
    if (this.child === null) return;
    await this.call('stop');
  }

  async scan(): Promise<void> {
    await this.ensureStarted();
    await this.call('scan');
  }

  async unscan(): Promise<void> {
    if (this.child === null) return;
    await this.call('unscan');
  }

  /**
   * Stops the replica, then ends the process (quitting) and waits for it to exit, at most
   * CHILD_EXIT_WAIT_MS: its last lines and its data directory's lock are gone before the app is.
   */
  async close(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    // Quitting: its exit is expected, not news for the exit listeners (they would start it again).
    const exited = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CHILD_EXIT_WAIT_MS);
      this.closing = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    try {
      await this.call('stop');
    } finally {
      child.kill();
    }
    await exited;
  }

  onLan(listener: (clusters: readonly LanCluster[], error: string | null) => void): () => void {
    this.lanListeners.add(listener);
    return () => this.lanListeners.delete(listener);
  }

  onExit(listener: (code: number) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  // ---------------------------------------------------------------------------------------------
  // The LabApi

  snapshot = this.labCall('snapshot');
  submit = this.labCall('submit');
  fault = this.labCall('fault');
  revokeClient = this.labCall('revokeClient');
  behaviours = this.labCall('behaviours');
  setBehaviour = this.labCall('setBehaviour');
  room = this.labCall('room');

  private labCall<M extends LabApiCall>(method: M): LabApi[M] {
    return ((...args: unknown[]) => this.call(method, ...args)) as LabApi[M];
  }

  /**
   * Events of the replica. The first listener starts the lab process's stream (which replays the
   * host's recent history first, as for a new page); the last one to leave stops it.
   */
  subscribe(listener: (event: LabEvent) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.child?.postMessage({ type: 'listen' });
    return () => {
      if (!this.listeners.delete(listener)) return;
      if (this.listeners.size === 0) this.child?.postMessage({ type: 'unlisten' });
    };
  }
}
