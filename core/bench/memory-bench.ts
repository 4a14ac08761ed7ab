/**
 * The protocol's own cost without sockets: n real replicas (Ed25519 + HMAC from node:crypto, the real
 * FileStore) and C closed-loop clients in one process. Every message is encoded when sent and decoded
 * when received, and waits in one FIFO queue; a real clock ticks every replica and client every 10 ms.
 * Persist records are dropped (no disk), so this is an upper bound for the network host.
 *
 * Each replica keeps its Telemetry as a host does (core/host/telemetry.ts: the vector clock and the
 * trace a frame carries, held in the envelope); `telemetrySubscriber` adds what one observer costs the
 * replica: its buffer of events, and every 100 ms the frame of them the feed would send (no stream, no
 * encryption: those are the libp2p transport's to measure).
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { FileStore } from '../app/file-store.ts';
import { encodeOp } from '../app/file-ops.ts';
import { ed25519ReplicaCrypto, generateEd25519Keys, hmacClientCrypto, sha256Hasher } from '../crypto/node.ts';
import { Client } from '../pbft/client.ts';
import { decodeMessage, encodeMessage } from '../pbft/codec.ts';
import { defaultProtocolConfig } from '../pbft/config.ts';
import type { ClientId, Message, ReplicaId } from '../pbft/messages.ts';
import { Replica } from '../pbft/replica.ts';
import { Telemetry, type TelemetryQueue } from '../host/telemetry.ts';
import type { TraceHeader } from '../host/telemetry-trace.ts';
import { describeOperation, percentiles, round, type BenchOptions, type BenchReport } from './report.ts';

const TICK_MS = 10;
/** Longest stretch of message delivery before the loop yields to timers. */
const SLICE_MS = 5;
const MAC_KEY_BYTES = 32;

interface Envelope {
  readonly from: ReplicaId | ClientId;
  readonly to: ReplicaId | ClientId;
  readonly bytes: Uint8Array;
  readonly trace?: TraceHeader;
}

interface BenchClient {
  readonly client: Client;
  readonly index: number;
  startedAt: number;
}

export async function runMemoryBench(options: BenchOptions): Promise<BenchReport> {
  const n = options.replicas;
  const config = defaultProtocolConfig(n);
  const keys = generateEd25519Keys(n);
  /** MAC keys by client, then by replica (a network client hands these over the encrypted channel). */
  const macKeys = new Map<ClientId, Uint8Array[]>();
  const replicas = keys.map(
    (k, id) =>
      new Replica({
        id,
        config,
        crypto: ed25519ReplicaCrypto(k, (client) => macKeys.get(client)?.[id]),
        app: new FileStore(sha256Hasher),
      }),
  );
  const telemetry = replicas.map((_, id) => new Telemetry({ replica: id, n }));
  const observed: TelemetryQueue[] = options.telemetrySubscriber ? telemetry.map((t) => t.subscribe()) : [];
  let telemetryEvents = 0;
  let telemetryBytes = 0;
  const flushTelemetry = (): void => {
    for (const queue of observed) {
      const taken = queue.takeFrame();
      if (!taken) continue;
      telemetryEvents += taken.events;
      telemetryBytes += taken.frame.length;
    }
  };
  const others = replicas.map((_, id) => replicas.map((__, r) => r).filter((r) => r !== id));
  const clients = new Map<ClientId, BenchClient>();
  for (let i = 0; i < options.clients; i++) {
    const id = `bench-client-${i}`;
    const clientKeys = Array.from({ length: n }, () => new Uint8Array(randomBytes(MAC_KEY_BYTES)));
    macKeys.set(id, clientKeys);
    clients.set(id, {
      client: new Client(id, { n, retransmitTicks: 50 }, hmacClientCrypto(clientKeys)),
      index: i,
      startedAt: 0,
    });
  }

  const nullOp = encodeOp({ kind: 'stat', path: '/bench-null' });
  const writeOps = Array.from({ length: options.clients }, (_, i) =>
    encodeOp({ kind: 'write', path: `/bench/c${i}`, data: new Uint8Array(options.payload).fill(0x61) }),
  );
  const readWriteOp = (index: number): Uint8Array => (options.payload === 0 ? nullOp : writeOps[index]!);

  let queue: Envelope[] = [];
  let head = 0;
  const send = (from: ReplicaId | ClientId, to: ReplicaId | ClientId, message: Message, trace?: TraceHeader): void => {
    queue.push({ from, to, bytes: encodeMessage(message), trace });
    schedule();
  };

  let measuring = false;
  let running = true;
  const latencies: number[] = [];
  let batches = 0;
  let batchedRequests = 0;
  let decodeFailures = 0;

  const drainReplica = (id: ReplicaId): void => {
    for (const out of replicas[id]!.takeOutputs()) {
      switch (out.kind) {
        case 'send':
          send(id, out.to, out.message, telemetry[id]!.send([out.to], out.message));
          break;
        case 'broadcast': {
          const trace = telemetry[id]!.send(others[id]!, out.message);
          for (let r = 0; r < n; r++) if (r !== id) send(id, r, out.message, trace);
          break;
        }
        case 'reply':
          telemetry[id]!.replies(out.client, [out.reply]);
          send(id, out.client, out.reply);
          break;
        case 'event':
          telemetry[id]!.state(out.event);
          if (measuring && id === 0 && out.event.type === 'executed') {
            batches++;
            batchedRequests += out.event.requests.length;
          }
          break;
        case 'persist':
          break;
      }
    }
  };

  const submit = (c: BenchClient): void => {
    const readOnly = options.readRatio > 0 && Math.random() < options.readRatio;
    c.startedAt = performance.now();
    c.client.submit(readOnly ? nullOp : readWriteOp(c.index), readOnly);
  };

  const drainClient = (id: ClientId): void => {
    const c = clients.get(id)!;
    for (const out of c.client.takeOutputs()) {
      if (out.kind === 'send') send(id, out.to, out.request);
      else if (out.kind === 'broadcast') for (let r = 0; r < n; r++) send(id, r, out.request);
      else {
        if (measuring) latencies.push(performance.now() - c.startedAt);
        if (running) {
          submit(c);
          // The new request's outputs are drained by this same loop (takeOutputs returned a copy).
          for (const next of c.client.takeOutputs())
            if (next.kind === 'send') send(id, next.to, next.request);
            else if (next.kind === 'broadcast') for (let r = 0; r < n; r++) send(id, r, next.request);
        }
      }
    }
  };

  const deliver = (e: Envelope): void => {
    const decoded = decodeMessage(e.bytes);
    if (!decoded.ok) {
      decodeFailures++;
      return;
    }
    const message = decoded.message;
    if (typeof e.to === 'number') {
      if (typeof e.from === 'number') telemetry[e.to]!.receive(e.from, e.trace, message);
      else if (message.type === 'request') telemetry[e.to]!.clientRequest(e.from, message);
      replicas[e.to]!.step(e.from, message);
      drainReplica(e.to);
    } else if (message.type === 'reply' && typeof e.from === 'number') {
      const c = clients.get(e.to);
      if (!c) return;
      c.client.onReply(e.from, message);
      drainClient(e.to);
    }
  };

  let scheduled = false;
  function schedule(): void {
    if (scheduled || !running) return;
    scheduled = true;
    setImmediate(pump);
  }
  function pump(): void {
    scheduled = false;
    const until = performance.now() + SLICE_MS;
    let count = 0;
    while (head < queue.length) {
      deliver(queue[head++]!);
      // Check the clock every 64 deliveries: performance.now() is not free.
      if ((++count & 63) === 0 && performance.now() > until) break;
    }
    if (head >= queue.length) {
      queue = [];
      head = 0;
    } else if (head > 65_536) {
      queue = queue.slice(head);
      head = 0;
    }
    if (head < queue.length) schedule();
  }

  const flusher = observed.length > 0 ? setInterval(flushTelemetry, 100) : null;
  const ticker = setInterval(() => {
    for (let id = 0; id < n; id++) {
      replicas[id]!.tick();
      drainReplica(id);
    }
    for (const [id, c] of clients) {
      c.client.tick();
      drainClient(id);
    }
  }, TICK_MS);

  const loadAverage = loadavg();
  for (const [id, c] of clients) {
    submit(c);
    drainClient(id);
  }
  await sleep(options.warmupS * 1000);
  measuring = true;
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  await sleep(options.durationS * 1000);
  measuring = false;
  const wallS = (performance.now() - wallStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  running = false;
  clearInterval(ticker);
  if (flusher) clearInterval(flusher);
  if (decodeFailures > 0) throw new Error(`the codec rejected ${decodeFailures} messages its own encoder produced`);

  const ops = latencies.length;
  const p = percentiles(latencies);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const memory = process.memoryUsage();
  return {
    transport: 'memory',
    ...(options.telemetrySubscriber ? { telemetry: { events: telemetryEvents, lost: 0, bytes: telemetryBytes } } : {}),
    replicas: n,
    clients: options.clients,
    durationS: round(wallS),
    warmupS: options.warmupS,
    payload: options.payload,
    readRatio: options.readRatio,
    operation: describeOperation(options),
    ops,
    opsPerSec: round(ops / wallS, 1),
    latencyMsP50: round(p.p50),
    latencyMsP90: round(p.p90),
    latencyMsP99: round(p.p99),
    latencyMsMax: round(p.max),
    batchSizeMean: round(batches === 0 ? 0 : batchedRequests / batches, 2),
    cpu: { seconds: round(cpuS), cores: round(cpuS / wallS), usPerOp: round(ops === 0 ? 0 : (cpuS * 1e6) / ops, 1) },
    memory: {
      peakRssMiB: round(process.resourceUsage().maxRSS / 1024, 1),
      heapUsedMiB: round(memory.heapUsed / 2 ** 20, 1),
    },
    loadAverage: loadAverage.map((x) => round(x, 2)),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
