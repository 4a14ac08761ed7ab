/**
 * A run as a ShiViz log (DistributedClocks/shiviz; TEACHING.md §1): the parsing regex on the first
 * line, an empty delimiter line, then one line per event — host, vector clock as JSON, view, sequence
 * number, event type, the message id that pairs a receive with its send, and the event's text. ShiViz
 * rebuilds the edges from the clocks; view, seq, type and msg become fields to search (`type=send-commit`).
 *
 * ShiViz's rules (js/model/parser.js, vectorTimestamp.js, modelGraph.js): a host's own entry is in its
 * clock, starts at 1 and rises by exactly 1 per line of that host; every host a clock names has
 * lines; an event that knows another host's event knows what that one knew. The clocks here are
 * computed over the exported events only (causality.ts), so they hold by construction; shiviz-check.ts
 * checks them as ShiViz would.
 */
import type { CausalEvent } from './causality.ts';

/** Paste into ShiViz's "log parsing regular expression" box (it adds ^ and $ itself). */
export const SHIVIZ_REGEX =
  '(?<host>\\S+) (?<clock>\\{[^}]*\\}) v=(?<view>\\S+) n=(?<seq>\\S+) (?<type>\\S+) msg=(?<msg>\\S+) (?<event>.*)';

export function shivizLine(e: CausalEvent): string {
  return `${e.host} ${JSON.stringify(e.clock)} v=${e.view ?? '-'} n=${e.seq ?? '-'} ${e.type} msg=${e.msg ?? '-'} ${e.text.replace(/\s+/g, ' ')}`;
}

/** The whole file: regex, empty delimiter line, events. */
export function shivizLog(events: readonly CausalEvent[]): string {
  return [SHIVIZ_REGEX, '', ...events.map(shivizLine)].join('\n') + '\n';
}
