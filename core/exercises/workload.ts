/**
 * The exercises' clients: closed-loop writers, each sending its requests one after the other with a
 * pause between them, and the history of what each sent and accepted — on the driver's clock, which
 * is one clock for every client (virtual ms in the simulator, this machine's in a live run), as a
 * linearizability checker wants (TEACHING.md §8c).
 */
import {
  decodeOp,
  decodeResult,
  encodeOp,
  encodeResult,
  type FileErrorCode,
  type FileOp,
  type FileResult,
} from '../app/file-ops.ts';
import { fileOpFromLab, labResultFromFile } from '../host/lab-ops.ts';
import type { LabFileStat, LabOp, LabResult } from '../host/lab-api.ts';
import type { ClientOp } from '../record/run-file.ts';
import type { Json } from '../record/values.ts';
import type { SimWorkload } from '../sim/simulation.ts';
import { ClientHistory, type HistoryEntry, type PlannedOp } from '../sim/workload.ts';

/** Pause between a client's requests when the exercise does not say. */
export const THINK_MS_DEFAULT = 100;

/** Client j's k-th write (k from 1): its own file, so every value is unique (a history checker wants that). */
export function writeOp(client: number, k: number): LabOp {
  return { kind: 'write', path: `/c${client}/w${k}`, text: `client ${client} write ${k}` };
}

export const base64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8 = (bytes: Uint8Array): string | null => {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
};

/**
 * The LabOp of a file operation (the JSON form a run file keeps); a revoke, which the LabApi sends by
 * its own call (revokeClient), as the file store's operation.
 */
export function labOpOf(op: FileOp): LabOp | { readonly kind: 'revoke'; readonly client: string } {
  switch (op.kind) {
    case 'write':
    case 'append': {
      const text = utf8(op.data);
      return text === null
        ? { kind: op.kind, path: op.path, base64: base64(op.data) }
        : { kind: op.kind, path: op.path, text };
    }
    case 'list':
      return { kind: 'list', dir: op.dir };
    case 'revoke':
      return { kind: 'revoke', client: op.client };
    default:
      return { kind: op.kind, path: op.path };
  }
}

/** A LabApi result as the file store's result (the bytes the replicas replied with). */
export function fileResultOf(result: LabResult): FileResult {
  const stat = (s: LabFileStat) => ({ path: s.path, size: s.size, version: s.version, modifiedSeq: s.modifiedSeq });
  switch (result.kind) {
    case 'written':
    case 'stat':
      return { kind: result.kind, stat: stat(result.stat) };
    case 'data':
      return { kind: 'data', stat: stat(result.stat), data: new Uint8Array(Buffer.from(result.base64, 'base64')) };
    case 'deleted':
      return { kind: 'deleted', path: result.path };
    case 'revoked':
      return { kind: 'revoked', client: result.client };
    case 'listing':
      return { kind: 'listing', dir: result.dir, entries: result.entries.map(stat) };
    case 'error':
      return { kind: 'error', code: result.code as FileErrorCode, message: result.message };
  }
}

/** Base64 of a LabOp's bytes, and of a LabResult's: what a run file keeps for the history checkers. */
export const labOpBytes = (op: LabOp): string => base64(encodeOp(fileOpFromLab(op)));
export const labResultBytes = (result: LabResult): string => base64(encodeResult(fileResultOf(result)));

/** The simulator's side: queues of writes per client, released when a client is free and its pause is over. */
export class ExerciseWorkload implements SimWorkload {
  readonly exempt = new Set<number>();
  private readonly queues: LabOp[][];
  private readonly thinkMs: number[];
  private readonly dueAt: number[];
  private readonly woken: boolean[];
  private readonly sent: number[];
  private readonly clients: ClientHistory;

  constructor(clients: number) {
    this.queues = Array.from({ length: clients }, () => []);
    this.thinkMs = Array.from({ length: clients }, () => THINK_MS_DEFAULT);
    this.dueAt = Array.from({ length: clients }, () => 0);
    this.woken = Array.from({ length: clients }, () => false);
    this.sent = Array.from({ length: clients }, () => 0);
    this.clients = new ClientHistory(clients);
  }

  /** `count` more writes for client j. */
  enqueue(client: number, count: number, thinkMs: number): void {
    for (let i = 0; i < count; i++) this.queues[client]!.push(writeOp(client, ++this.sent[client]!));
    this.thinkMs[client] = thinkMs;
  }

  /** Clients that have a request ready to go and have not been woken for it yet (the driver wakes them). */
  due(nowMs: number): number[] {
    const out: number[] = [];
    for (let j = 0; j < this.queues.length; j++) {
      if (this.woken[j] || this.clients.outstanding[j] || this.queues[j]!.length === 0 || nowMs < this.dueAt[j]!)
        continue;
      this.woken[j] = true;
      out.push(j);
    }
    return out;
  }

  /** Every correct client has sent everything and has its results. */
  get idle(): boolean {
    return this.queues.every((q, j) => this.exempt.has(j) || (q.length === 0 && this.clients.outstanding[j] === null));
  }

  get finished(): boolean {
    return this.idle;
  }

  next(client: number, nowMs: number): PlannedOp | null {
    this.woken[client] = false;
    if (this.clients.outstanding[client] || nowMs < this.dueAt[client]!) return null;
    const lab = this.queues[client]!.shift();
    if (!lab) return null;
    return { op: encodeOp(fileOpFromLab(lab)), description: lab.kind, readOnly: false };
  }

  submitted(client: number, timestamp: number, planned: PlannedOp, nowMs: number): void {
    this.clients.submitted(client, timestamp, planned, nowMs);
  }

  completed(client: number, timestamp: number, result: Uint8Array, nowMs: number): void {
    if (this.clients.completed(client, timestamp, result, nowMs)) this.dueAt[client] = nowMs + this.thinkMs[client]!;
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
    return this.queues.flatMap((q, j) => {
      const o = this.clients.outstanding[j];
      if (o) return [`client-${j} t=${o.timestamp} since ${o.invokedAtMs}ms`];
      return q.length > 0 ? [`client-${j} has ${q.length} not sent`] : [];
    });
  }

  /** The history as a run file keeps it. */
  clientOps(byzantineClient: boolean): ClientOp[] {
    return this.clients.entries.map((h) => {
      const client = Number(h.client.slice('client-'.length));
      const decodedOp = decodeOp(h.op);
      const decodedResult = h.result ? decodeResult(h.result) : null;
      return {
        k: 'op',
        client,
        clientId: h.client,
        ...(byzantineClient && client === 0 ? { byzantine: true } : {}),
        timestamp: h.timestamp,
        op: (decodedOp.ok ? labOpOf(decodedOp.op) : { kind: 'undecodable' }) as unknown as Json,
        opBytes: base64(h.op),
        invokedW: h.invokedAtMs,
        completedW: h.completedAtMs,
        result: (decodedResult?.ok ? labResultFromFile(decodedResult.result) : null) as unknown as Json,
        resultBytes: h.result ? base64(h.result) : null,
        outcome: h.completedAtMs === null ? 'info' : 'ok',
      };
    });
  }
}
