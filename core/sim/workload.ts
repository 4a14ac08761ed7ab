/**
 * Closed-loop clients' operations on the file store, drawn from the seed, and the history of what
 * each client invoked and accepted (the input of the linearizability checker).
 */
import { encodeOp, type FileOp } from '../app/file-ops.ts';
import type { ClientId } from '../pbft/messages.ts';
import type { Prng } from './prng.ts';

export interface PlannedOp {
  readonly op: Uint8Array;
  readonly description: string;
  /** Sent on the §5.1 read-only path (a read, stat or list): no ordering, 2f+1 matching replies. */
  readonly readOnly: boolean;
}

export interface HistoryEntry {
  readonly client: ClientId;
  readonly timestamp: number;
  readonly op: Uint8Array;
  readonly readOnly: boolean;
  readonly invokedAtMs: number;
  completedAtMs: number | null;
  result: Uint8Array | null;
}

const PATHS = ['/a', '/b', '/notes/c.txt', '/notes/d.txt', '/notes/deep/e'];

/**
 * The clients' history as the checkers judge it, one request outstanding per client (closed loop):
 * what each client submitted and when, and the result it accepted. Shared by the seeded workload
 * and the exercises' scripted one.
 */
export class ClientHistory {
  readonly entries: HistoryEntry[] = [];
  /** Per client: its request awaiting a result, or null. */
  readonly outstanding: (HistoryEntry | null)[];
  completedCount = 0;
  submittedCount = 0;

  constructor(clients: number) {
    this.outstanding = Array.from({ length: clients }, () => null);
  }

  submitted(client: number, timestamp: number, planned: PlannedOp, nowMs: number): void {
    const entry: HistoryEntry = {
      client: `client-${client}`,
      timestamp,
      op: planned.op,
      readOnly: planned.readOnly,
      invokedAtMs: nowMs,
      completedAtMs: null,
      result: null,
    };
    this.outstanding[client] = entry;
    this.entries.push(entry);
    this.submittedCount++;
  }

  /** The result of client `client`'s request `timestamp`; false if that is not the one outstanding. */
  completed(client: number, timestamp: number, result: Uint8Array, nowMs: number): boolean {
    const entry = this.outstanding[client];
    if (!entry || entry.timestamp !== timestamp) return false;
    entry.completedAtMs = nowMs;
    entry.result = result;
    this.outstanding[client] = null;
    this.completedCount++;
    return true;
  }
}

export class Workload {
  private readonly rng: Prng;
  private readonly remaining: number[];
  private readonly clients: ClientHistory;

  private readonly readRng: Prng | null;
  private readonly readOnlyShare: number;

  /**
   * `readOnly`: the share of reads, stats and lists sent read-only, drawn by `readRng` — a stream of its
   * own, so a seed's other operations are the same with or without read-only ones.
   */
  constructor(rng: Prng, clients: number, opsPerClient: number, readOnly?: { share: number; rng: Prng }) {
    this.rng = rng;
    this.readRng = readOnly?.rng ?? null;
    this.readOnlyShare = readOnly?.share ?? 0;
    this.remaining = Array.from({ length: clients }, () => opsPerClient);
    this.clients = new ClientHistory(clients);
  }

  /** Clients whose completion is not required (faulty ones). */
  readonly exempt = new Set<number>();

  get finished(): boolean {
    return (
      this.remaining.every((r, j) => r === 0 || this.exempt.has(j)) &&
      this.clients.outstanding.every((o, j) => o === null || this.exempt.has(j))
    );
  }

  next(client: number, _nowMs: number): PlannedOp | null {
    if (this.remaining[client] === 0 || this.clients.outstanding[client]) return null;
    this.remaining[client]!--;
    const op = this.randomOp();
    const reads = op.kind === 'read' || op.kind === 'stat' || op.kind === 'list';
    const readOnly = reads && this.readRng !== null && this.readRng.chance(this.readOnlyShare);
    return { op: encodeOp(op), description: readOnly ? `${op.kind} (read-only)` : op.kind, readOnly };
  }

  submitted(client: number, timestamp: number, planned: PlannedOp, nowMs: number): void {
    this.clients.submitted(client, timestamp, planned, nowMs);
  }

  completed(client: number, timestamp: number, result: Uint8Array, nowMs: number): void {
    this.clients.completed(client, timestamp, result, nowMs);
  }

  history(): readonly HistoryEntry[] {
    return this.clients.entries;
  }

  get completedCount(): number {
    return this.clients.completedCount;
  }

  get submittedCount(): number {
    return this.clients.submittedCount;
  }

  pendingDescriptions(): string[] {
    const out: string[] = [];
    this.clients.outstanding.forEach((o, j) => {
      if (o) out.push(`client-${j} t=${o.timestamp} since ${o.invokedAtMs}ms`);
      else if (this.remaining[j]! > 0) out.push(`client-${j} has ${this.remaining[j]} not submitted`);
    });
    return out;
  }

  private randomOp(): FileOp {
    const path = this.rng.pick(PATHS);
    const data = this.rng.bytes(this.rng.int(0, 24));
    switch (this.rng.int(0, 9)) {
      case 0:
      case 1:
      case 2:
        return { kind: 'write', path, data };
      case 3:
      case 4:
        return { kind: 'append', path, data };
      case 5:
      case 6:
        return { kind: 'read', path };
      case 7:
        return { kind: 'delete', path };
      case 8:
        return { kind: 'list', dir: this.rng.pick(['/', '/notes']) };
      default:
        return { kind: 'stat', path };
    }
  }
}
