/**
 * Exports of a run: the ShiViz log parses under ShiViz's rules with every receive's clock dominating
 * its send's; the JSON Lines and the client histories hold every event and operation.
 */
import { describe, expect, it } from 'vitest';
import { sha256Hasher } from '../crypto/node.ts';
import { exerciseById } from '../exercises/catalogue.ts';
import { runInSimulator } from '../exercises/sim-driver.ts';
import { causalOrder } from './causality.ts';
import { eventsJsonl } from './export-jsonl.ts';
import { jepsenHistory, porcupineHistory } from './export-history.ts';
import { shivizLog, SHIVIZ_REGEX } from './export-shiviz.ts';
import { checkShiviz, parseShiviz, ShivizFormatError } from './shiviz-check.ts';
import { buildTimeline } from './timeline.ts';

const runOf = (id: string) => runInSimulator(exerciseById(id)).run;

describe('the ShiViz export', () => {
  for (const id of ['normal-case', 'silent-primary', 'lagging-replica', 'colluding-replicas']) {
    it(`${id}: every line parses with the regex, and every clock is one ShiViz accepts`, () => {
      const timeline = buildTimeline(runOf(id), sha256Hasher);
      const log = shivizLog(causalOrder(timeline, sha256Hasher));
      expect(log.split('\n')[0]).toBe(SHIVIZ_REGEX);
      const events = parseShiviz(log);
      expect(() => checkShiviz(events)).not.toThrow();
      const receives = events.filter((e) => e.fields.type!.startsWith('recv-') && e.fields.msg !== '-');
      expect(receives.length).toBeGreaterThan(10);
      expect(new Set(events.map((e) => e.host))).toEqual(new Set(['r0', 'r1', 'r2', 'r3']));
    });
  }

  it('a clock that skips a step, or a receive that does not know its send, is refused', () => {
    const timeline = buildTimeline(runOf('normal-case'), sha256Hasher);
    const lines = shivizLog(causalOrder(timeline, sha256Hasher)).split('\n');
    const skipped = lines.map((l, i) =>
      i === 10 ? l.replace(/("r\d":)(\d+)/, (_, k, t) => `${k}${Number(t) + 5}`) : l,
    );
    expect(() => checkShiviz(parseShiviz(skipped.join('\n')))).toThrow(ShivizFormatError);
    const i = lines.findIndex((l, k) => k > 2 && / recv-prepare msg=r/.test(l));
    const ignorant = lines.map((l, k) =>
      k === i
        ? l.replace(/\{[^}]*\}/, (clock) =>
            JSON.stringify(
              Object.fromEntries(
                Object.entries(JSON.parse(clock) as Record<string, number>).filter(([h]) => l.startsWith(h + ' ')),
              ),
            ),
          )
        : l,
    );
    expect(() => checkShiviz(parseShiviz(ignorant.join('\n')))).toThrow(/dominate|impermissible/);
  });
});

describe('the JSON Lines and history exports', () => {
  const run = runOf('silent-primary');
  const timeline = buildTimeline(run, sha256Hasher);

  it('JSON Lines: a header, then one event per line with its vector clock and message id', () => {
    const lines = eventsJsonl(run, causalOrder(timeline, sha256Hasher))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ schema: 'pbft-lab/events/1', header: true, exercise: 'silent-primary' });
    const sends = new Map(lines.filter((l) => l.kind === 'send').map((l) => [l.event_id, l]));
    const recv = lines.find((l) => l.kind === 'recv' && l.type === 'recv-new-view')!;
    expect(sends.get(recv.msg_id)).toMatchObject({ kind: 'send', type: 'send-new-view' });
    expect(lines.some((l) => l.kind === 'state' && l.type === 'view-change-started')).toBe(true);
  });

  it('Porcupine: every operation with call and return times; Jepsen: an invoke and a completion each', () => {
    const ops = JSON.parse(porcupineHistory(run)) as { call: number; return: number; clientId: number }[];
    expect(ops).toHaveLength(run.ops.length);
    expect(ops.every((o) => o.return > o.call && o.clientId === 0)).toBe(true);
    const edn = jepsenHistory(run).trim().split('\n');
    expect(edn).toHaveLength(2 * run.ops.length);
    expect(edn[0]).toMatch(
      /^\{:type :invoke, :f :write, :value \["\/c0\/w1" "client 0 write 1"\], :process 0, :time \d+, :index 0\}$/,
    );
    expect(edn.filter((l) => l.startsWith('{:type :ok'))).toHaveLength(run.ops.length);
  });
});
