/**
 * This machine's own PBFT client, the one the dashboard submits through (LabApi `submit`): a
 * ClientSession with a MAC key per replica, its requests to the replicas as frames — to this
 * machine's own replica without the network — and their replies back.
 */
import { decodeResult, type FileOp } from '../app/file-ops.ts';
import type { Reply, ReplicaId, Request } from '../pbft/messages.ts';
import { ClientSession, type SubmitOptions } from './client-session.ts';
import type { LabOp, SubmitOutcome } from './lab-api.ts';
import { fileOpFromLab, labResultFromFile } from './lab-ops.ts';
import { encodeFrame, type WireFrame } from './wire.ts';

export interface OwnClientOptions {
  /** This machine's peer id: the client id replicas see. */
  readonly self: string;
  /** The agreed roster. */
  readonly roster: readonly string[];
  readonly sendFrame: (peer: string, frame: WireFrame) => void;
  readonly sendBytes: (peer: string, bytes: Uint8Array) => void;
  /** A request for this machine's own replica (when it is one): delivered without the network. */
  readonly toOwnReplica: (request: Request) => void;
  /** The key this machine's own replica checks our requests with (ClientGate.setKey). */
  readonly setOwnKey: (key: Uint8Array) => void;
}

export class OwnClient {
  private readonly options: OwnClientOptions;
  private readonly session: ClientSession;

  constructor(options: OwnClientOptions) {
    this.options = options;
    this.session = new ClientSession({
      id: options.self,
      n: options.roster.length,
      send: (to, request) => this.sendRequest(to, request),
    });
  }

  /**
   * Our MAC key to every replica. Sent again every second: a replica that restarted has forgotten
   * them, and without them it cannot accept a pre-prepare carrying our requests (the paper refreshes
   * keys periodically, §5.2).
   */
  sendKeys(): void {
    const { roster, self } = this.options;
    for (let r = 0; r < roster.length; r++) {
      const member = roster[r]!;
      const key = this.session.keys[r]!;
      if (member === self) this.options.setOwnKey(key);
      else this.options.sendFrame(member, { kind: 'client-key', key });
    }
  }

  async submit(op: LabOp): Promise<SubmitOutcome> {
    const readOnly = 'readOnly' in op && op.readOnly === true;
    return this.submitFileOp(fileOpFromLab(op), { readOnly });
  }

  /**
   * Order a revocation of `client` (its peer and all its logical clients): once executed, every
   * replica refuses its requests (FileStore's access rules). Throws if the replicas answer with an
   * error (e.g. NOT_ALLOWED) or do not agree within `timeoutMs`.
   */
  async revoke(client: string, timeoutMs: number): Promise<SubmitOutcome> {
    const outcome = await this.submitFileOp({ kind: 'revoke', client }, { timeoutMs });
    if (outcome.result.kind === 'error') {
      throw new Error(`revoke ${client}: ${outcome.result.code}: ${outcome.result.message}`);
    }
    return outcome;
  }

  private async submitFileOp(op: FileOp, options: SubmitOptions): Promise<SubmitOutcome> {
    const outcome = await this.session.submit(op, options);
    const decoded = decodeResult(outcome.result);
    if (!decoded.ok) throw new Error(`replicas agreed on a result that does not decode: ${decoded.reason}`);
    return {
      timestamp: outcome.timestamp,
      result: labResultFromFile(decoded.result),
      matching: outcome.matching,
      committed: outcome.committed,
      ...(outcome.readOnly ? { readOnly: true } : {}),
      latencyMs: outcome.latencyMs,
    };
  }

  onReply(from: ReplicaId, reply: Reply): void {
    this.session.onReply(from, reply);
  }

  refused(reason: string, from: ReplicaId): void {
    this.session.refused(reason, from);
  }

  tick(): void {
    this.session.tick();
  }

  close(reason: string): void {
    this.session.close(reason);
  }

  /** To ourselves without the network, to the others as a frame (encoded once). */
  private sendRequest(to: ReplicaId | 'all', request: Request): void {
    const { roster, self } = this.options;
    const frame = encodeFrame({ kind: 'client-request', request });
    for (const member of to === 'all' ? roster : [roster[to]!]) {
      if (member === self) this.options.toOwnReplica(request);
      else this.options.sendBytes(member, frame);
    }
  }
}
