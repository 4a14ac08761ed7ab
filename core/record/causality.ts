/**
 * A run's space-time structure: each replica's events in its own order, every received message
 * paired with the send it came from, and a vector clock per event (Lamport/Fidge-Mattern: a receive
 * merges the sender's clock, then every event ticks its own entry by one). ShiViz's export, the JSON
 * Lines export and the scrubbing view read it.
 *
 * Pairing: a message from replica i received at replica j is matched to a send of the same bytes from
 * i to j (a broadcast counts as a send to each), first come first served. The k-th copy received was
 * sent no later than the k-th copy sent, so the pairing never puts a receive before its send, whatever
 * the machines' clocks say. Client traffic is not recorded on the client's side: requests received and
 * replies sent are local events of the replica.
 */
import { encodeMessage, describe } from '../pbft/codec.ts';
import type { Hasher } from '../pbft/crypto.ts';
import type { Timeline, TimelineEvent } from './timeline.ts';

export interface CausalEvent {
  readonly event: TimelineEvent;
  readonly host: string;
  /** 1, 2, 3… per replica (ShiViz's own clock entry). */
  readonly local: number;
  /** `r<replica>:<local>`: names the event, and a send's message (the receives carry it as `msg`). */
  readonly id: string;
  /** For a receive: the id of the send it pairs with. For a send: its own id. */
  readonly msg: string | null;
  readonly clock: Readonly<Record<string, number>>;
  readonly type: string;
  readonly view: number | null;
  readonly seq: number | null;
  readonly text: string;
}

export interface CausalOptions {
  /** Which timeline events to lay out (default: all but STATUS gossip). */
  readonly include?: (event: TimelineEvent) => boolean;
}

const hostOf = (replica: number): string => `r${replica}`;

/** STATUS is each replica's periodic gossip: off by default, it would outnumber everything else. */
export const withoutStatus = (e: TimelineEvent): boolean =>
  !((e.kind === 'send' || e.kind === 'recv') && e.message.type === 'status') && e.kind !== 'start' && e.kind !== 'end';

export function causalOrder(timeline: Timeline, hasher: Hasher, options: CausalOptions = {}): CausalEvent[] {
  const include = options.include ?? withoutStatus;
  const perReplica = new Map<number, TimelineEvent[]>();
  for (const e of timeline.events) {
    if (!include(e)) continue;
    let list = perReplica.get(e.replica);
    if (!list) perReplica.set(e.replica, (list = []));
    list.push(e);
  }
  // Sends by (from, to, bytes), in the sender's order; then each receive takes the first unclaimed one.
  const bytesKey = new Map<TimelineEvent, string>();
  const keyOf = (e: TimelineEvent & { message: Parameters<typeof encodeMessage>[0] }): string => {
    let k = bytesKey.get(e);
    if (!k) bytesKey.set(e, (k = hasher.digest(encodeMessage(e.message))));
    return k;
  };
  const sends = new Map<string, TimelineEvent[]>();
  for (const [replica, events] of perReplica)
    for (const e of events) {
      if (e.kind !== 'send') continue;
      const targets = e.to === 'all' ? Array.from({ length: timeline.n }, (_, r) => r) : [e.to];
      for (const to of targets) {
        if (to === replica) continue;
        const key = `${replica}>${to}#${keyOf(e)}`;
        let queue = sends.get(key);
        if (!queue) sends.set(key, (queue = []));
        queue.push(e);
      }
    }
  const pairedWith = new Map<TimelineEvent, TimelineEvent>();
  for (const [replica, events] of perReplica)
    for (const e of events) {
      if (e.kind !== 'recv' || typeof e.from !== 'number') continue;
      const send = sends.get(`${e.from}>${replica}#${keyOf(e)}`)?.shift();
      if (send) pairedWith.set(e, send);
    }

  // Lay the events out so that every receive comes after its send: each replica in its own order,
  // the earliest ready one first (by the replay's order).
  const out: CausalEvent[] = [];
  const done = new Map<TimelineEvent, CausalEvent>();
  const cursors = [...perReplica.entries()].map(([replica, events]) => ({ replica, events, next: 0 }));
  const clocks = new Map<number, Record<string, number>>();
  for (;;) {
    let best: (typeof cursors)[number] | null = null;
    let stalled: (typeof cursors)[number] | null = null;
    for (const c of cursors) {
      const e = c.events[c.next];
      if (!e) continue;
      const send = pairedWith.get(e);
      if (send && !done.has(send)) {
        stalled ??= c;
        continue;
      }
      if (!best || e.index < best.events[best.next]!.index) best = c;
    }
    if (!best) {
      // Only receives waiting for sends that wait on them: impossible for a real run; keep going unpaired.
      if (!stalled) break;
      pairedWith.delete(stalled.events[stalled.next]!);
      continue;
    }
    const e = best.events[best.next++]!;
    const host = hostOf(e.replica);
    const clock = { ...(clocks.get(e.replica) ?? {}) };
    const send = pairedWith.get(e);
    if (send) for (const [h, t] of Object.entries(done.get(send)!.clock)) clock[h] = Math.max(clock[h] ?? 0, t);
    clock[host] = (clock[host] ?? 0) + 1;
    clocks.set(e.replica, clock);
    const id = `${host}:${clock[host]}`;
    const causal: CausalEvent = {
      event: e,
      host,
      local: clock[host]!,
      id,
      msg: e.kind === 'send' ? id : send ? done.get(send)!.id : null,
      clock,
      ...describeEvent(e),
    };
    done.set(e, causal);
    out.push(causal);
  }
  return out;
}

export function describeEvent(e: TimelineEvent): Pick<CausalEvent, 'type' | 'view' | 'seq' | 'text'> {
  const fields = (m: object): { view: number | null; seq: number | null } => ({
    view:
      'view' in m && typeof m.view === 'number'
        ? m.view
        : 'newView' in m && typeof m.newView === 'number'
          ? m.newView
          : null,
    seq: 'seq' in m && typeof m.seq === 'number' ? m.seq : null,
  });
  switch (e.kind) {
    case 'recv':
      return {
        type: `recv-${e.message.type}`,
        ...fields(e.message),
        text: `received ${describe(e.message)}${typeof e.from === 'string' ? ` from client ${e.from.slice(-8)}` : ''}`,
      };
    case 'send':
      return {
        type: `send-${e.message.type}`,
        ...fields(e.message),
        text: `sent ${describe(e.message)} to ${e.to === 'all' ? 'all' : `replica ${e.to}`}`,
      };
    case 'reply':
      return {
        type: 'send-reply',
        view: e.reply.view,
        seq: null,
        text: `sent ${describe(e.reply)} to client ${e.client.slice(-8)}`,
      };
    case 'event': {
      const ev = e.event;
      const seq = 'seq' in ev ? ev.seq : null;
      const view = 'view' in ev ? ev.view : 'newView' in ev ? ev.newView : null;
      const detail =
        ev.type === 'ignored'
          ? `ignored ${ev.message.type} from ${ev.from}: ${ev.reason}`
          : ev.type === 'view-change-started'
            ? `view change to ${ev.newView}: ${ev.reason}`
            : ev.type === 'new-view'
              ? `new view ${ev.view}, primary ${ev.primary}`
              : `${ev.type}${seq === null ? '' : ` n=${seq}`}`;
      return { type: ev.type, view, seq, text: detail };
    }
    case 'behaviour':
      return {
        type: 'behaviour',
        view: null,
        seq: null,
        text: e.behaviour === null ? 'honest' : `Byzantine: ${e.behaviour}`,
      };
    case 'note':
      return {
        type: e.note.fault ? 'fault' : 'client',
        view: null,
        seq: null,
        text: e.note.fault ? `fault ${JSON.stringify(e.note.fault)}` : 'client operation',
      };
    case 'start':
      return { type: 'start', view: null, seq: null, text: `replica started (session ${e.session})` };
    case 'end':
      return { type: 'end', view: null, seq: null, text: 'replica stopped' };
  }
}
