/**
 * Deterministic replay: each recorded session rebuilt from its starting state and fed its recorded
 * calls in order, through the same sans-IO core and the same Byzantine switch. After every drain the
 * outputs' digest, the state summary and (where recorded) the state digest must be the recording's;
 * the first place they are not is the divergence, named by replica, session and line.
 *
 * Sessions are replayed interleaved in the run's order (the driver's global order when there is one,
 * else time), so that replicas sharing state — a colluding coalition in the simulator — see each
 * other's doings as they did; a replica's own calls always keep their recorded order.
 */
import { FileStore } from '../app/file-store.ts';
import type { StateMachine } from '../app/state-machine.ts';
import type { Behaviour } from '../byzantine/behaviour.ts';
import { EQUIVOCATION_COALITION, equivocationCoalition } from '../byzantine/coalition.ts';
import { FaultyReplica } from '../byzantine/faulty-replica.ts';
import { decodeMessage, describe } from '../pbft/codec.ts';
import type { Hasher } from '../pbft/crypto.ts';
import type { Message } from '../pbft/messages.ts';
import type { Output } from '../pbft/outputs.ts';
import type { PersistedState } from '../pbft/persistence.ts';
import { Replica } from '../pbft/replica.ts';
import { clusterFileStore } from '../host/cluster-file-store.ts';
import type { RecordEntry, RecordSession, StartEntry, StateSummary } from './format.ts';
import { OracleMismatch, OracleReplay } from './oracles.ts';
import { summaryOf } from './recording-replica.ts';
import { canonicalDigest, fromJson, type Json } from './values.ts';

/** A coalition of colluding replicas whose behaviours share state (the simulator's, core/byzantine/coalition.ts). */
export interface CoalitionSpec {
  readonly id: string;
  readonly members: readonly number[];
}

export interface ReplayOptions {
  readonly hasher: Hasher;
  readonly coalitions?: readonly CoalitionSpec[];
  /**
   * The application (default: the file store; for a host's session, the one it records a roster for,
   * the file store as a cluster runs it, whose roster's own clients may revoke: core/host/cluster-file-store.ts).
   */
  readonly app?: (hasher: Hasher) => StateMachine;
  readonly observer?: ReplayObserver;
  /** Stop after this many entries in the run's order (replayRun; a scrubber's position). */
  readonly stopAfter?: number;
}

/** What a replay shows an observer after each entry: the scrubber, the timeline, the exports. */
export interface ReplayStep {
  /** Position in the run's order, from 0. */
  readonly index: number;
  readonly session: RecordSession;
  /** Index of the entry within its session. */
  readonly at: number;
  readonly entry: RecordEntry;
  readonly replica: Replica;
  /** A step's message, decoded. */
  readonly message?: Message;
  /** A take's outputs (a quiet tick run has none). */
  readonly outputs?: readonly Output[];
}

export interface ReplayObserver {
  (step: ReplayStep): void;
}

export interface Divergence {
  readonly replica: number;
  readonly session: number;
  /** Index of the entry within its session, and its line in the file it came from (else in the session, the start line 1). */
  readonly entry: number;
  readonly line: number;
  /** Position in the run's order. */
  readonly index: number;
  readonly origin?: string;
  /** What differs, in one sentence. */
  readonly what: string;
  /** The recorded call this happened at, described. */
  readonly call: string;
}

export interface ReplayResult {
  readonly ok: boolean;
  /** Entries replayed, and drains whose outputs were compared. */
  readonly entries: number;
  readonly takes: number;
  readonly sessions: number;
  readonly divergence: Divergence | null;
}

class Diverged extends Error {
  override readonly name = 'Diverged';
}

interface Live {
  readonly session: RecordSession;
  readonly oracle: OracleReplay;
  faulty: FaultyReplica | null;
  summary: StateSummary;
  next: number;
}

export function replayRun(sessions: readonly RecordSession[], options: ReplayOptions): ReplayResult {
  const replayer = new Replayer(sessions, options);
  while (options.stopAfter === undefined || replayer.position < options.stopAfter) {
    const step = replayer.next();
    if (!step) break;
    options.observer?.(step);
  }
  return replayer.result;
}

/**
 * A replay one entry at a time (the scrubbing view moves it forward and starts a new one to go back).
 * `next()` applies the next entry in the run's order, or returns null at the end or at a divergence.
 */
export class Replayer {
  private readonly order: [number, number][];
  private readonly options: ReplayOptions;
  private readonly lives: Live[];
  private readonly coalitions = new Map<string, Map<number, Behaviour>>();
  private index = 0;
  private takes = 0;
  private diverged: Divergence | null = null;
  private readonly sessionCount: number;

  constructor(sessions: readonly RecordSession[], options: ReplayOptions) {
    this.options = options;
    this.order = runOrder(sessions);
    this.sessionCount = sessions.length;
    this.lives = sessions.map((session) => ({
      session,
      oracle: new OracleReplay(),
      faulty: null,
      summary: [0, 1, 0, 0],
      next: 0,
    }));
  }

  /** Entries applied so far: the position in the run's order of the next one. */
  get position(): number {
    return this.index;
  }

  /** Entries in the run. */
  get length(): number {
    return this.order.length;
  }

  get result(): ReplayResult {
    return {
      ok: this.diverged === null,
      entries: this.index,
      takes: this.takes,
      sessions: this.sessionCount,
      divergence: this.diverged,
    };
  }

  /** Each replica as it is now: its latest session started so far (null before its first). */
  current(replica: number): FaultyReplica | null {
    let found: FaultyReplica | null = null;
    for (const live of this.lives) if (live.session.replica === replica && live.faulty) found = live.faulty;
    return found;
  }

  next(): ReplayStep | null {
    if (this.diverged || this.index >= this.order.length) return null;
    const [s, at] = this.order[this.index]!;
    const live = this.lives[s]!;
    const entry = live.session.entries[at]!;
    try {
      const shown = apply(live, entry, this.options, this.coalitions);
      if (entry.k === 'take') this.takes++;
      return { index: this.index++, session: live.session, at, entry, replica: live.faulty!.replica, ...shown };
    } catch (error) {
      if (!(error instanceof Diverged || error instanceof OracleMismatch)) throw error;
      this.diverged = {
        replica: live.session.replica,
        session: live.session.session,
        entry: at,
        line: live.session.lines?.[at] ?? at + 1,
        index: this.index,
        ...(live.session.origin ? { origin: live.session.origin } : {}),
        what: error.message,
        call: describeEntry(entry),
      };
      return null;
    }
  }
}

/** One entry, replayed; throws Diverged where the replay parts from the recording. */
function apply(
  live: Live,
  entry: RecordEntry,
  options: ReplayOptions,
  coalitions: Map<string, Map<number, Behaviour>>,
): { message?: Message; outputs?: readonly Output[] } {
  const { oracle } = live;
  if (entry.k === 'start') {
    live.faulty = start(live, entry, options);
    return {};
  }
  const faulty = live.faulty;
  if (!faulty) throw new Diverged('the session has no start line');
  switch (entry.k) {
    case 'step': {
      const decoded = decodeMessage(new Uint8Array(Buffer.from(entry.m, 'base64')));
      if (!decoded.ok) throw new Diverged(`the recorded message does not decode: ${decoded.reason}`);
      oracle.begin(entry.o);
      faulty.step(entry.from, decoded.message);
      oracle.end();
      return { message: decoded.message };
    }
    case 'tick': {
      if (entry.x === undefined) {
        oracle.begin(entry.o);
        faulty.tick();
        oracle.end();
        return {};
      }
      for (let i = 0; i < entry.x; i++) {
        oracle.begin(undefined);
        faulty.tick();
        const outputs = faulty.takeOutputs();
        oracle.end();
        if (outputs.length > 0)
          throw new Diverged(
            `quiet tick ${i + 1} of ${entry.x} produced ${outputs.length} output(s) in the replay: ${describeOutputs(outputs)}`,
          );
        checkSummary(live, undefined);
      }
      return {};
    }
    case 'take': {
      oracle.begin(entry.o);
      const outputs = faulty.takeOutputs();
      oracle.end();
      const digest = canonicalDigest(outputs);
      if (digest !== entry.out || outputs.length !== entry.n)
        throw new Diverged(
          `outputs differ: the recording has ${entry.n} (digest ${entry.out}), the replay ${outputs.length} (digest ${digest})${outputs.length > 0 ? `: ${describeOutputs(outputs)}` : ''}`,
        );
      checkSummary(live, entry.st);
      if (entry.sd !== undefined) {
        const sd = faulty.replica.currentStateDigest().slice(0, 16);
        if (sd !== entry.sd)
          throw new Diverged(`state digest differs: the recording has ${entry.sd}, the replay ${sd}`);
      }
      return { outputs };
    }
    case 'use': {
      oracle.begin(entry.o);
      if (entry.b === EQUIVOCATION_COALITION.id) faulty.use(coalitionMember(live.session.replica, options, coalitions));
      else faulty.setBehaviour(entry.b);
      oracle.end();
      return {};
    }
    case 'note':
    case 'end':
      return {};
  }
}

/**
 * The application a session ran on: the file store, as a cluster's replicas run it when the session
 * records a roster (a host's: the roster's own clients may revoke, core/host/cluster-file-store.ts).
 */
export function recordedApp(entry: StartEntry): (hasher: Hasher) => FileStore {
  const roster = entry.roster;
  return roster ? (hasher) => clusterFileStore(hasher, roster) : (hasher) => new FileStore(hasher);
}

function start(live: Live, entry: StartEntry, options: ReplayOptions): FaultyReplica {
  const { oracle } = live;
  const crypto = oracle.crypto((data) => options.hasher.digest(data));
  const app = options.app ?? recordedApp(entry);
  oracle.begin(entry.o);
  const replica = new Replica({
    id: entry.replica,
    config: entry.config,
    crypto,
    app: app(crypto),
    persisted: entry.persisted === null ? undefined : (fromJson(entry.persisted as Json) as PersistedState),
  });
  oracle.end();
  const faulty = new FaultyReplica(
    replica,
    crypto,
    oracle.random(),
    entry.newApp ? () => app(options.hasher) : undefined,
  );
  live.summary = summaryOf(replica);
  if (!sameSummary(live.summary, entry.st))
    throw new Diverged(`starting state differs: the recording has ${show(entry.st)}, the replay ${show(live.summary)}`);
  const sd = replica.currentStateDigest().slice(0, 16);
  if (sd !== entry.sd) throw new Diverged(`starting state digest differs: recorded ${entry.sd}, replayed ${sd}`);
  return faulty;
}

function coalitionMember(
  replica: number,
  options: ReplayOptions,
  coalitions: Map<string, Map<number, Behaviour>>,
): Behaviour {
  const spec = options.coalitions?.find((c) => c.id === EQUIVOCATION_COALITION.id && c.members.includes(replica));
  if (!spec) throw new Diverged(`replica ${replica} joins a coalition the run file does not describe`);
  const key = spec.members.join(',');
  let members = coalitions.get(key);
  if (!members) coalitions.set(key, (members = equivocationCoalition(spec.members)));
  return members.get(replica)!;
}

function checkSummary(live: Live, recorded: StateSummary | undefined): void {
  const now = summaryOf(live.faulty!.replica);
  const expected = recorded ?? live.summary;
  if (!sameSummary(now, expected))
    throw new Diverged(`state differs: the recording has ${show(expected)}, the replay ${show(now)}`);
  live.summary = now;
}

const sameSummary = (a: StateSummary, b: StateSummary): boolean =>
  a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];

const show = (s: StateSummary): string =>
  `view ${s[0]}${s[1] ? '' : ' (changing)'}, executed ${s[2]}, stable checkpoint ${s[3]}`;

/**
 * The order entries are replayed (and scrubbed) in: by the driver's global order when every entry has
 * one, else by time; each session's own entries stay in their recorded order (a k-way merge).
 */
export function runOrder(sessions: readonly RecordSession[]): [number, number][] {
  const global = sessions.every((s) => s.entries.every((e) => e.g !== undefined));
  const key = (e: RecordEntry): number => (global ? e.g! : e.w);
  const heads = sessions.map(() => 0);
  const out: [number, number][] = [];
  const total = sessions.reduce((sum, s) => sum + s.entries.length, 0);
  // Few sessions (a replica and its restarts): a linear scan of the heads is plenty.
  while (out.length < total) {
    let best = -1;
    let bestKey = Infinity;
    for (let s = 0; s < sessions.length; s++) {
      const entry = sessions[s]!.entries[heads[s]!];
      if (entry === undefined) continue;
      const k = key(entry);
      if (best === -1 || k < bestKey) {
        best = s;
        bestKey = k;
      }
    }
    out.push([best, heads[best]!++]);
  }
  return out;
}

export function describeEntry(entry: RecordEntry): string {
  switch (entry.k) {
    case 'start':
      return `start of replica ${entry.replica} (${show(entry.st)})`;
    case 'step': {
      const decoded = decodeMessage(new Uint8Array(Buffer.from(entry.m, 'base64')));
      return `${decoded.ok ? describe(decoded.message) : 'an undecodable message'} from ${typeof entry.from === 'number' ? `replica ${entry.from}` : `client ${entry.from.slice(-8)}`}`;
    }
    case 'tick':
      return entry.x === undefined ? 'a tick' : `${entry.x} quiet tick(s)`;
    case 'take':
      return `drain (${entry.n} output(s) recorded)`;
    case 'use':
      return entry.b === null ? 'switch back to honest' : `switch to behaviour ${entry.b}`;
    case 'note':
      return 'a note';
    case 'end':
      return `end (${entry.why})`;
  }
}

export function describeOutputs(outputs: readonly Output[]): string {
  return outputs
    .map((o) => {
      switch (o.kind) {
        case 'send':
          return `→${o.to} ${describe(o.message)}`;
        case 'broadcast':
          return `→all ${describe(o.message)}`;
        case 'reply':
          return `→client ${describe(o.reply)}`;
        case 'persist':
          return `persist ${o.record.type}`;
        case 'event':
          return `event ${o.event.type}`;
      }
    })
    .join('; ');
}
