/**
 * The host's recorder: every replica process records its inputs (core/record) to its data directory,
 * one file per session, so that a live run can be gathered (`pbft-lab record collect`) and replayed
 * deterministically (`pbft-lab replay`).
 *
 *   <data dir>/records/record-<start time>-r<replica>.jsonl
 *
 * Bounded and rotated: a session's file stops at `fileBytesMax` with an `end` line that says so (what
 * was recorded still replays: it is a prefix of the session); when a session starts, the oldest files
 * go until at most `filesMax` files and `totalBytesMax` bytes are left. A replica cannot restart from
 * the middle of its record, so the record is never cut at its beginning while it runs.
 *
 * Lines are written in batches every 100 ms, and at stop: a process killed at once loses at most the
 * last batch, and the record it leaves replays up to there.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { FaultyReplica } from '../byzantine/faulty-replica.ts';
import { Replica } from '../pbft/replica.ts';
import type { RecordEntry } from '../record/format.ts';
import { recordedReplica, type RecordedReplicaParts, type RecordingReplica } from '../record/recording-replica.ts';

export interface HostRecorderOptions {
  /** Where the session files go. */
  readonly dir: string;
  /** A session's file stops growing here. @default 64 MiB */
  readonly fileBytesMax?: number;
  /** Session files kept. @default 20 */
  readonly filesMax?: number;
  /** Bytes of session files kept. @default 512 MiB */
  readonly totalBytesMax?: number;
}

export interface RecordFileInfo {
  readonly name: string;
  readonly bytes: number;
  readonly modifiedMs: number;
}

/** The records a host keeps, as the API and `record collect` read them. */
export interface RecordStore {
  list(): Promise<RecordFileInfo[]>;
  /** A session's file, or null if there is none of that name. */
  read(name: string): Promise<string | null>;
}

const FILE = /^record-[0-9TZ-]+-r\d+\.jsonl$/;
const FLUSH_MS = 100;

/** Wall-clock ms with fractions: comparable between the processes of one machine (the demo). */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export class HostRecorder implements RecordStore {
  private readonly options: Required<HostRecorderOptions>;
  private stream: WriteStream | null = null;
  private pending: string[] = [];
  private bytes = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private current: RecordingReplica | null = null;

  constructor(options: HostRecorderOptions) {
    this.options = {
      fileBytesMax: 64 * 1024 * 1024,
      filesMax: 20,
      totalBytesMax: 512 * 1024 * 1024,
      ...options,
    };
  }

  /** Make the directory and delete the oldest sessions beyond the bounds (one more is about to start). */
  async open(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const files = (await this.list()).sort((a, b) => a.name.localeCompare(b.name));
    let total = files.reduce((sum, f) => sum + f.bytes, 0);
    while (files.length > 0 && (files.length >= this.options.filesMax || total > this.options.totalBytesMax)) {
      const oldest = files.shift()!;
      total -= oldest.bytes;
      await unlink(path.join(this.options.dir, oldest.name)).catch(() => {});
    }
  }

  /** The replica behind its Byzantine switch, recording from its start into a new session file. */
  replica(
    parts: RecordedReplicaParts,
    identity: { readonly peerId: string; readonly roster: readonly string[]; readonly cluster: string },
  ): FaultyReplica {
    const name = `record-${new Date().toISOString().replace(/[:.]/g, '-')}-r${parts.id}.jsonl`;
    this.stream = createWriteStream(path.join(this.options.dir, name), { flags: 'a', mode: 0o600 });
    this.stream.on('error', () => this.current?.detach());
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref?.();
    this.current = recordedReplica(parts, {
      sink: (entry) => this.write(entry),
      clock: wallNow,
      peerId: identity.peerId,
      roster: identity.roster,
      cluster: identity.cluster,
    });
    return this.current;
  }

  /** A fault toggled on this machine, or what its own client did: kept in the record for reading. */
  note(note: { fault?: unknown; client?: unknown }): void {
    this.current?.note(note);
  }

  async close(): Promise<void> {
    this.current?.end('stopped');
    this.current = null;
    if (this.timer) clearInterval(this.timer);
    this.flush();
    const stream = this.stream;
    this.stream = null;
    if (stream) await new Promise<void>((resolve) => stream.end(() => resolve()));
  }

  async list(): Promise<RecordFileInfo[]> {
    const names = await readdir(this.options.dir).catch(() => [] as string[]);
    const files: RecordFileInfo[] = [];
    for (const name of names.filter((n) => FILE.test(n))) {
      const s = await stat(path.join(this.options.dir, name)).catch(() => null);
      if (s) files.push({ name, bytes: s.size, modifiedMs: s.mtimeMs });
    }
    return files;
  }

  async read(name: string): Promise<string | null> {
    if (!FILE.test(name)) return null;
    return readFile(path.join(this.options.dir, name), 'utf8').catch(() => null);
  }

  private write(entry: RecordEntry): void {
    const line = JSON.stringify(entry) + '\n';
    if (this.bytes + line.length > this.options.fileBytesMax && entry.k !== 'end') {
      const replica = this.current;
      this.current = null;
      replica?.end('truncated', `the record reached its limit of ${this.options.fileBytesMax} bytes`);
      replica?.detach();
      return;
    }
    this.bytes += line.length;
    this.pending.push(line);
  }

  private flush(): void {
    if (this.pending.length === 0 || !this.stream) return;
    this.stream.write(this.pending.join(''));
    this.pending = [];
  }
}

/** The replica behind its Byzantine switch, not recorded (`record: false`). */
export function unrecordedReplica(parts: RecordedReplicaParts): FaultyReplica {
  const replica = new Replica({
    id: parts.id,
    config: parts.config,
    crypto: parts.crypto,
    app: parts.app(parts.crypto),
    persisted: parts.persisted,
  });
  return new FaultyReplica(replica, parts.crypto, parts.random, parts.newApp);
}
