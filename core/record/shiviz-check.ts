/**
 * ShiViz's parser and graph rules, re-stated to check an export before anyone pastes it (and in the
 * tests): every line matches the regex (anchored), has the named groups host, clock and event, a
 * clock that parses as JSON and holds its own host; each host's own times are 1, 2, 3…; every host
 * named in a clock has that many lines; and no clock is "impermissible": an event that has seen
 * another host's t-th event has seen everything that one had. With `msg` fields, each receive's clock
 * must also dominate its send's.
 */
export interface ShivizEvent {
  readonly line: number;
  readonly host: string;
  readonly clock: Readonly<Record<string, number>>;
  readonly fields: Readonly<Record<string, string>>;
}

export class ShivizFormatError extends Error {
  override readonly name = 'ShivizFormatError';
}

export function parseShiviz(text: string): ShivizEvent[] {
  const lines = text.split('\n');
  const regex = new RegExp(`^${lines[0]}$`);
  for (const group of ['host', 'clock', 'event'])
    if (!lines[0]!.includes(`(?<${group}>`)) throw new ShivizFormatError(`the regex has no named group "${group}"`);
  const events: ShivizEvent[] = [];
  for (let i = 2; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const m = regex.exec(line);
    if (!m?.groups) throw new ShivizFormatError(`line ${i + 1} does not match the regex: ${line}`);
    let clock: Record<string, number>;
    try {
      clock = JSON.parse(m.groups.clock!) as Record<string, number>;
    } catch {
      throw new ShivizFormatError(`line ${i + 1}: the clock is not JSON`);
    }
    const host = m.groups.host!;
    if (!Object.hasOwn(clock, host))
      throw new ShivizFormatError(`line ${i + 1}: host "${host}" is missing from its clock`);
    for (const k of Object.keys(clock)) if (clock[k] === 0) delete clock[k];
    events.push({ line: i + 1, host, clock, fields: { ...m.groups } });
  }
  return events;
}

/** Throws ShivizFormatError at the first rule an export breaks. */
export function checkShiviz(events: readonly ShivizEvent[]): void {
  const byHost = new Map<string, ShivizEvent[]>();
  for (const e of events) {
    let list = byHost.get(e.host);
    if (!list) byHost.set(e.host, (list = []));
    list.push(e);
  }
  for (const [host, list] of byHost) {
    list.sort((a, b) => a.clock[host]! - b.clock[host]!);
    list.forEach((e, i) => {
      if (e.clock[host] !== i + 1)
        throw new ShivizFormatError(
          i === 0
            ? `line ${e.line}: host ${host}'s clock starts at ${e.clock[host]}, not 1`
            : `line ${e.line}: host ${host}'s clock goes from ${list[i - 1]!.clock[host]} to ${e.clock[host]}`,
        );
    });
  }
  for (const e of events)
    for (const [other, t] of Object.entries(e.clock)) {
      const theirs = byHost.get(other);
      if (!theirs) throw new ShivizFormatError(`line ${e.line}: the clock names host "${other}", which has no event`);
      if (t < 1 || t > theirs.length)
        throw new ShivizFormatError(`line ${e.line}: ${other}'s time ${t} is out of range`);
      const seen = theirs[t - 1]!;
      for (const [h, u] of Object.entries(seen.clock))
        if ((e.clock[h] ?? 0) < u)
          throw new ShivizFormatError(
            `line ${e.line}: impermissible clock: it has seen ${other}:${t} (line ${seen.line}) but not what that one saw of ${h}`,
          );
    }
  const sends = new Map<string, ShivizEvent>();
  for (const e of events)
    if (e.fields.type?.startsWith('send-') && e.fields.msg && e.fields.msg !== '-') sends.set(e.fields.msg, e);
  for (const e of events) {
    if (!e.fields.type?.startsWith('recv-') || !e.fields.msg || e.fields.msg === '-') continue;
    const send = sends.get(e.fields.msg);
    if (!send) throw new ShivizFormatError(`line ${e.line}: receives message ${e.fields.msg}, which no line sends`);
    for (const [h, u] of Object.entries(send.clock))
      if ((e.clock[h] ?? 0) < u)
        throw new ShivizFormatError(
          `line ${e.line}: the receive's clock does not dominate its send's (line ${send.line})`,
        );
  }
}
