/**
 * The record of one replica process (a "session": from its start to its stop or crash), one JSON
 * object per line. It holds exactly what the sans-IO core was given, in order, so a fresh core fed
 * the same lines does the same (DESIGN.md "Recording and replay"):
 *
 *   start  identity, roster, protocol configuration and the persisted state it started from
 *   step   a message and its authenticated sender (a replica id, or a client id)
 *   tick   logical time; `x` folds a run of quiet ticks (each followed by an empty take) into one line
 *   take   the replica was drained: a digest of what it output, and its state when that changed
 *   use    a Byzantine behaviour switched on (its catalogue id) or off (null)
 *   note   what the host did around the replica (a fault toggle, a client operation), for reading
 *   end    the session stopped (or its record was truncated at the size limit)
 *
 * Answers the core asked of the world outside its code travel with the call that asked (`o`):
 * signatures it made, signature and MAC checks, random draws of a Byzantine behaviour. The keys stay
 * on the machine; a replay checks that it asks the same questions in the same order.
 */
import type { ProtocolConfig } from '../pbft/config.ts';
import type { Json } from './values.ts';

export const RECORD_SCHEMA = 'pbft-lab/record/1';

/** What the core asked outside itself during one call. */
export interface Oracles {
  /** Signatures made: [first 8 hex digits of SHA-256 of the signed bytes, signature base64]. */
  readonly sig?: readonly (readonly [string, string])[];
  /** Signature checks, '1' valid or '0' not, in order. */
  readonly ver?: string;
  /** Client MAC checks, the same way. */
  readonly mac?: string;
  /** Draws of the Byzantine behaviour's random source, in [0, 1). */
  readonly rnd?: readonly number[];
}

/**
 * The replica's state in short after an input: [view, 1 normal / 0 changing views, last executed,
 * stable checkpoint]. Recorded on a take when it changed.
 */
export type StateSummary = readonly [number, 0 | 1, number, number];

interface Timed {
  /** When, in ms: since 1970 by the host's clock (fractions kept), or virtual ms in the simulator. */
  readonly w: number;
  /** The driver's global order of calls, when it has one (the simulator). */
  readonly g?: number;
}

export interface StartEntry extends Timed {
  readonly k: 'start';
  readonly schema: typeof RECORD_SCHEMA;
  readonly replica: number;
  readonly config: ProtocolConfig;
  /** The persisted state the replica started from (null: a fresh replica). */
  readonly persisted: Json;
  /** Whether its Byzantine switch could make fresh copies of the application (a behaviour's shadow). */
  readonly newApp: boolean;
  readonly st: StateSummary;
  /** The state digest it started with (16 hex digits). */
  readonly sd: string;
  readonly peerId?: string;
  /** Peer ids by replica id. */
  readonly roster?: readonly string[];
  readonly cluster?: string;
  readonly o?: Oracles;
}

export interface StepEntry extends Timed {
  readonly k: 'step';
  readonly from: number | string;
  /** The message in the wire codec, base64. */
  readonly m: string;
  readonly o?: Oracles;
}

export interface TickEntry extends Timed {
  readonly k: 'tick';
  /** This many ticks, each drained with nothing out and nothing changed; absent: one tick, its take on the next line. */
  readonly x?: number;
  readonly o?: Oracles;
}

export interface TakeEntry extends Timed {
  readonly k: 'take';
  /** Digest of the outputs' canonical form (values.ts) and how many there were. */
  readonly out: string;
  readonly n: number;
  readonly st?: StateSummary;
  /** State digest, when the stable checkpoint moved, and every tenth sequence number executed. */
  readonly sd?: string;
  readonly o?: Oracles;
}

export interface UseEntry extends Timed {
  readonly k: 'use';
  /** The behaviour's id, or null: honest. */
  readonly b: string | null;
  readonly o?: Oracles;
}

/** A client operation as the host's own client (the dashboard's submit) saw it. */
export interface ClientNote {
  /** The client's id: the machine's peer id. */
  readonly client: string;
  /** The LabOp submitted. */
  readonly op: Json;
  readonly invokedW: number;
  readonly completedW: number;
  /** The LabApi's SubmitOutcome: the request's timestamp, the result, how many replicas matched. */
  readonly outcome: Json;
}

export interface NoteEntry extends Timed {
  readonly k: 'note';
  readonly fault?: Json;
  readonly client?: ClientNote;
  readonly text?: string;
}

export interface EndEntry extends Timed {
  readonly k: 'end';
  readonly why: 'stopped' | 'truncated';
  readonly detail?: string;
}

export type RecordEntry = StartEntry | StepEntry | TickEntry | TakeEntry | UseEntry | NoteEntry | EndEntry;

/** The record entries of one session, the start first. */
export interface RecordSession {
  readonly replica: number;
  /** 0, 1, 2… for the replica's sessions in the order they started. */
  readonly session: number;
  readonly entries: readonly RecordEntry[];
  /** Where it came from (a file name), for messages, and each entry's line there. */
  readonly origin?: string;
  readonly lines?: readonly number[];
}

export class RecordFormatError extends Error {
  override readonly name = 'RecordFormatError';
}

/** One line of a replica's record file, read. */
export function parseRecordLine(line: string, where: string): RecordEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RecordFormatError(`${where}: not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new RecordFormatError(`${where}: not a JSON object`);
  const entry = value as { k?: unknown; w?: unknown; schema?: unknown };
  if (!['start', 'step', 'tick', 'take', 'use', 'note', 'end'].includes(entry.k as string))
    throw new RecordFormatError(`${where}: unknown entry kind ${JSON.stringify(entry.k)}`);
  if (typeof entry.w !== 'number') throw new RecordFormatError(`${where}: no time (w)`);
  if (entry.k === 'start' && entry.schema !== RECORD_SCHEMA)
    throw new RecordFormatError(`${where}: schema ${JSON.stringify(entry.schema)}, expected ${RECORD_SCHEMA}`);
  return value as RecordEntry;
}

/** Sessions from record lines (one file or several concatenated): a `start` opens each. */
export function sessionsFromLines(lines: readonly string[], origin: string): RecordSession[] {
  const sessions: { replica: number; entries: RecordEntry[]; lines: number[]; origin: string }[] = [];
  const last = lines.findLastIndex((line) => line.trim() !== '');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let entry: RecordEntry;
    try {
      entry = parseRecordLine(line, `${origin}:${i + 1}`);
    } catch (error) {
      // A process killed in the middle of a write leaves half a line at the end: the record ends before it.
      if (i === last && sessions.length > 0 && !line.trimEnd().endsWith('}')) return;
      throw error;
    }
    if (entry.k === 'start') sessions.push({ replica: entry.replica, entries: [entry], lines: [i + 1], origin });
    else if (sessions.length === 0) throw new RecordFormatError(`${origin}:${i + 1}: an entry before any start`);
    else {
      sessions.at(-1)!.entries.push(entry);
      sessions.at(-1)!.lines.push(i + 1);
    }
  });
  return sessions.map((s) => ({ ...s, session: 0 }));
}
