/**
 * Gathering a run's records: every replica's session files, from data directories on this machine
 * (the demo's, or copies from lab machines) or from each machine's dashboard API (`GET
 * /api/records`, behind its token), into one run file. A session belongs to the run if it overlaps
 * the run's time window; a replica's sessions are numbered in the order they started.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sessionsFromLines, type RecordEntry, type RecordSession } from './format.ts';
import type { ClientOp } from './run-file.ts';
import type { Json } from './values.ts';

export interface RecordSource {
  /** For messages: the directory or the URL without its token. */
  readonly label: string;
  list(): Promise<string[]>;
  read(name: string): Promise<string>;
}

export class CollectError extends Error {
  override readonly name = 'CollectError';
}

const RECORD_FILE = /^record-.*\.jsonl$/;

/** A data directory's records (`<dir>/records`), or a directory of record files. */
export function directorySource(dir: string): RecordSource {
  const recordsDir = async (): Promise<string> => {
    const inside = path.join(dir, 'records');
    return (await readdir(inside).then(
      () => true,
      () => false,
    ))
      ? inside
      : dir;
  };
  return {
    label: dir,
    list: async () => {
      const where = await recordsDir();
      try {
        return (await readdir(where)).filter((n) => RECORD_FILE.test(n)).sort();
      } catch (error) {
        throw new CollectError(`${dir}: ${(error as Error).message}`);
      }
    },
    read: async (name) => readFile(path.join(await recordsDir(), name), 'utf8'),
  };
}

/** A running replica's records through its dashboard API: the URL it printed, with its token. */
export function apiSource(dashboardUrl: string): RecordSource {
  const url = new URL(dashboardUrl);
  const token = url.searchParams.get('token') ?? '';
  const get = async (pathname: string): Promise<Response> => {
    const response = await fetch(new URL(pathname, url.origin), { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) throw new CollectError(`${url.origin}${pathname}: HTTP ${response.status}`);
    return response;
  };
  return {
    label: url.origin,
    list: async () => ((await (await get('/api/records')).json()) as { name: string }[]).map((f) => f.name).sort(),
    read: async (name) => (await get(`/api/records/${encodeURIComponent(name)}`)).text(),
  };
}

export interface CollectWindow {
  /** Keep sessions that were still recording at or after this time (the run's clock, wall ms). */
  readonly fromW?: number;
  /** Keep sessions that started at or before this time. */
  readonly untilW?: number;
}

/** Every session of every source overlapping the window, numbered per replica in the order they started. */
export async function collectSessions(
  sources: readonly RecordSource[],
  window: CollectWindow = {},
): Promise<RecordSession[]> {
  const found: RecordSession[] = [];
  for (const source of sources) {
    for (const name of await source.list()) {
      const text = await source.read(name);
      for (const session of sessionsFromLines(text.split('\n'), `${source.label}/${name}`)) {
        const first = session.entries[0]!.w;
        const last = session.entries.at(-1)!.w;
        if (window.fromW !== undefined && last < window.fromW) continue;
        if (window.untilW !== undefined && first > window.untilW) continue;
        found.push(session);
      }
    }
  }
  found.sort((a, b) => a.entries[0]!.w - b.entries[0]!.w);
  const counts = new Map<number, number>();
  return found.map((s) => {
    const session = counts.get(s.replica) ?? 0;
    counts.set(s.replica, session + 1);
    return { ...s, session };
  });
}

/** The hosts' own clients' operations (`note` lines with a client), as run-file client operations. */
export function opsFromNotes(
  sessions: readonly RecordSession[],
  opBytes: (op: Json) => string,
  resultBytes: (result: Json) => string | null,
): ClientOp[] {
  const ops: ClientOp[] = [];
  const clients = new Map<string, number>();
  for (const s of sessions)
    for (const e of s.entries as RecordEntry[]) {
      if (e.k !== 'note' || !e.client) continue;
      const note = e.client;
      const outcome = note.outcome as { timestamp?: number; result?: Json; matching?: number } | null;
      if (!clients.has(note.client)) clients.set(note.client, clients.size);
      ops.push({
        k: 'op',
        client: clients.get(note.client)!,
        clientId: note.client,
        timestamp: outcome?.timestamp ?? null,
        op: note.op,
        opBytes: opBytes(note.op),
        invokedW: note.invokedW,
        completedW: note.completedW,
        result: outcome?.result ?? null,
        resultBytes: outcome?.result ? resultBytes(outcome.result) : null,
        ...(outcome?.matching === undefined ? {} : { matching: outcome.matching }),
        outcome: 'ok',
      });
    }
  return ops.sort((a, b) => a.invokedW - b.invokedW);
}
