/**
 * Tools for the hostile-peer tests (test/hostile-peers.test.ts): an in-process cluster of ReplicaHosts on
 * loopback, a bounded log tap per host, raw-stream writes for what a FrameTransport refuses to send,
 * authenticated client requests built by hand, and heap measurement with a forced GC.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { encodeOp, type FileOp } from '../../core/app/file-ops.ts';
import { hmacClientCrypto } from '../../core/crypto/node.ts';
import { ReplicaHost, type ReplicaHostOptions } from '../../core/host/replica-host.ts';
import { CLIENT_KEY_BYTES } from '../../core/host/wire.ts';
import { ClusterKey } from '../../core/net/cluster-key.ts';
import { REPLICA_PROTOCOL_ID } from '../../core/net/frames.ts';
import { requestBytes } from '../../core/pbft/codec.ts';
import type { LabNode } from '../../core/net/node.ts';
import type { LabSnapshot } from '../../core/host/lab-api.ts';
import type { Request } from '../../core/pbft/messages.ts';
import type { ClientCrypto } from '../../core/pbft/crypto.ts';
import type { Stream, StreamCloseEvent } from '@libp2p/interface';

/** Log lines of one host; keeps the last `cap` lines so a flood of ignored frames cannot grow it without end. */
export class LogTap {
  private readonly lines: string[] = [];
  /** Lines ever written. */
  total = 0;
  private readonly cap: number;

  constructor(cap = 20_000) {
    this.cap = cap;
  }

  readonly write = (line: string): void => {
    this.total++;
    this.lines.push(line);
    if (this.lines.length > this.cap) this.lines.splice(0, this.lines.length - this.cap);
  };

  /** A position to read from later with `since`. */
  mark(): number {
    return this.total;
  }

  /** Lines written after `mark` (those still kept). */
  since(mark: number): string[] {
    const dropped = this.total - this.lines.length;
    return this.lines.slice(Math.max(0, mark - dropped));
  }
}

export interface TestCluster {
  readonly name: string;
  /** The cluster's own secret: a node needs it to connect to any host at all. */
  readonly key: ClusterKey;
  readonly hosts: ReplicaHost[];
  readonly logs: LogTap[];
  readonly baseDir: string;
  stop(): Promise<void>;
}

/** Polls `probe` until it returns a value other than undefined/false. */
export async function eventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
  what: string | (() => string),
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${lastError ? ` (last error: ${String(lastError)})` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Rejects after `ms` with a message naming `what`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * n ReplicaHosts on 127.0.0.1 without mDNS: host i joins hosts 0..i-1 by multiaddr, so every pair is
 * introduced once and the HELLOs make everyone know everyone.
 */
export async function startCluster(size: number, protocol: ReplicaHostOptions['protocol']): Promise<TestCluster> {
  const name = `hostile-${randomBytes(4).toString('hex')}`;
  const key = ClusterKey.generate();
  const baseDir = await mkdtemp(join(tmpdir(), 'pbft-lab-hostile-'));
  const hosts: ReplicaHost[] = [];
  const logs: LogTap[] = [];
  const cluster: TestCluster = {
    name,
    key,
    hosts,
    logs,
    baseDir,
    async stop() {
      await Promise.allSettled(hosts.map((h) => h.stop()));
      await rm(baseDir, { recursive: true, force: true });
    },
  };
  try {
    const joinable: string[] = [];
    for (let i = 0; i < size; i++) {
      const log = new LogTap();
      const host = new ReplicaHost({
        dataDir: join(baseDir, `r${i}`),
        cluster: name,
        clusterKey: key,
        size,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        join: [...joinable],
        mdns: false,
        allowLoopback: true,
        protocol,
        peerIdleMs: 3_000,
        log: log.write,
      });
      hosts.push(host);
      logs.push(log);
      await host.start();
      joinable.push(...(await host.snapshot()).self.addresses);
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** All hosts run a replica with the same roster. */
export async function waitForRoster(hosts: readonly ReplicaHost[], timeoutMs: number): Promise<LabSnapshot[]> {
  return eventually(
    async () => {
      const snaps = await Promise.all(hosts.map((h) => h.snapshot()));
      const roster = snaps[0]!.roster.join();
      const agreed = snaps.every(
        (s) => s.self.role === 'replica' && s.roster.length === hosts.length && s.roster.join() === roster,
      );
      return agreed ? snaps : undefined;
    },
    timeoutMs,
    'all hosts to adopt one roster',
    100,
  );
}

/** Dial addresses of a host, with its peer id, for another node. */
export async function addressesOf(host: ReplicaHost): Promise<Multiaddr[]> {
  return (await host.snapshot()).self.addresses.map((a) => multiaddr(a));
}

// ---------------------------------------------------------------------------------------------
// Raw streams: what a well-behaved FrameTransport would never send

/** Opens a replica-protocol stream to `host` from `node`, bypassing any framing. */
export async function openRawStream(node: LabNode, host: ReplicaHost): Promise<Stream> {
  const [address] = await addressesOf(host);
  return node.dialProtocol(address!, REPLICA_PROTOCOL_ID, { signal: AbortSignal.timeout(10_000) });
}

/** Resolves with the stream's close event (or its status if it already closed). */
export function streamClosed(stream: Stream): Promise<{ error?: Error; status: string }> {
  if (stream.status !== 'open') return Promise.resolve({ status: stream.status });
  return new Promise((resolve) => {
    stream.addEventListener(
      'close',
      (event: StreamCloseEvent) => resolve({ error: event.error, status: stream.status }),
      { once: true },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// A client built by hand: MAC keys, authenticated requests

export class HandmadeClient {
  readonly id: string;
  readonly keys: Uint8Array[];
  private readonly crypto: ClientCrypto;

  constructor(id: string, n: number) {
    this.id = id;
    this.keys = Array.from({ length: n }, () => new Uint8Array(randomBytes(CLIENT_KEY_BYTES)));
    this.crypto = hmacClientCrypto(this.keys);
  }

  request(op: FileOp, timestamp: number, readOnly = false): Request {
    const unauthenticated: Request = {
      type: 'request',
      client: this.id,
      timestamp,
      readOnly,
      op: encodeOp(op),
      auth: [],
    };
    return { ...unauthenticated, auth: this.crypto.authenticator(requestBytes(unauthenticated)) };
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

let gcFunction: (() => void) | null | undefined;

/** Forces a full GC when the runtime lets us (V8 flag set at run time); otherwise does nothing. */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gcFunction = runInNewContext('gc') as () => void;
    } catch {
      gcFunction = null;
    }
  }
  gcFunction?.();
}

/** JS heap plus ArrayBuffer memory (frames live in the latter), after a GC. */
export function liveBytes(gc = true): number {
  if (gc) {
    collectGarbage();
    collectGarbage();
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

export const MB = 1024 * 1024;
