/**
 * A run as JSON Lines for other tools (docs/exercises.md, "The JSON Lines export"): a header line,
 * then one object per event in a causal order (every receive after its send), each with its vector
 * clock and the id of the message it sends or receives.
 */
import type { CausalEvent } from './causality.ts';
import type { RunFile } from './run-file.ts';

export const EVENTS_SCHEMA = 'pbft-lab/events/1';

export function eventsJsonl(run: RunFile, events: readonly CausalEvent[]): string {
  const lines = [
    JSON.stringify({
      schema: EVENTS_SCHEMA,
      header: true,
      run: run.header.createdAt,
      source: run.header.source,
      clock: run.header.clock,
      n: run.header.n,
      ...(run.header.exercise ? { exercise: run.header.exercise.id } : {}),
    }),
  ];
  for (const c of events) {
    const e = c.event;
    lines.push(
      JSON.stringify({
        schema: EVENTS_SCHEMA,
        replica: e.replica,
        session: e.session,
        local_seq: c.local,
        event_id: c.id,
        kind: e.kind === 'event' ? 'state' : e.kind === 'note' ? (e.note.fault ? 'fault' : 'client') : e.kind,
        type: c.type,
        msg_id: c.msg,
        ...(e.kind === 'recv' ? { from: e.from } : {}),
        ...(e.kind === 'send' ? { to: e.to === 'all' ? 'all' : [e.to] } : {}),
        ...(e.kind === 'reply' ? { to: [e.client] } : {}),
        vc: c.clock,
        view: c.view,
        seq: c.seq,
        ...('message' in e && 'digest' in e.message ? { digest: e.message.digest } : {}),
        ...(e.kind === 'event' && 'digest' in e.event ? { digest: e.event.digest } : {}),
        wall_ms: e.w,
        step: e.index,
        text: c.text,
      }),
    );
  }
  return lines.join('\n') + '\n';
}
