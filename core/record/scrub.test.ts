/**
 * The scrubbing view's model: the steps of a run, its chapters and checks, and every replica's state
 * at any step, forwards and backwards alike; and the server that hands them to the dashboard.
 */
import { describe, expect, it } from 'vitest';
import { sha256Hasher } from '../crypto/node.ts';
import { exerciseById } from '../exercises/catalogue.ts';
import { judgeRun } from '../exercises/judge.ts';
import { runInSimulator } from '../exercises/sim-driver.ts';
import { serveReplay } from './replay-server.ts';
import { ScrubModel } from './scrub.ts';

const exercise = exerciseById('lagging-replica');
const run = runInSimulator(exercise).run;
const verdicts = judgeRun(exercise, run).verdicts;

describe('the scrubbing model', () => {
  const model = new ScrubModel(run, sha256Hasher, { name: 'lagging', verdicts });
  const summary = model.summary();

  it('lists the steps worth a stop, the chapters, the checks and where each sequence number executed', () => {
    expect(summary.replay.ok).toBe(true);
    expect(summary.steps.length).toBeGreaterThan(500);
    expect(summary.chapters.map((c) => c.step)).toEqual(['warm-up', 'away', 'back', 'together']);
    expect(summary.seqs[0]).toMatchObject({ seq: 1 });
    expect(summary.verdicts.every((v) => v.ok)).toBe(true);
  });

  it("shows each replica's view, log and checkpoints at a step, as the dashboard's panels read them", () => {
    const back = summary.chapters.find((c) => c.step === 'back')!.index;
    const before = model.stateAt(back);
    const lagging = before.replicas[3]!;
    const other = before.replicas[1]!;
    expect(lagging.checkpoints!.lastExecuted).toBeLessThan(other.checkpoints!.stableSeq);
    expect(other.checkpoints!.stableSeq).toBeGreaterThanOrEqual(20);
    expect(other.log.every((row) => row.seq > other.checkpoints!.lowWatermark)).toBe(true);
    const end = model.stateAt(summary.steps.at(-1)!);
    expect(end.replicas[3]!.checkpoints!.lastExecuted).toBe(end.replicas[1]!.checkpoints!.lastExecuted);
    expect(end.replicas[3]!.metrics.stateTransfers).toBe(1);
  });

  it('going back gives the same state as getting there afresh', () => {
    const at = summary.steps[Math.floor(summary.steps.length / 3)]!;
    model.stateAt(summary.steps.at(-1)!);
    const back = model.stateAt(at);
    const fresh = new ScrubModel(run, sha256Hasher, { name: 'fresh' }).stateAt(at);
    expect(back).toEqual(fresh);
  });

  it('names the events of a range of steps', () => {
    const events = model.eventsBetween(0, 30);
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]).toMatchObject({ replica: expect.any(Number), text: expect.any(String) });
  });
});

describe('the replay server', () => {
  it('serves the summary and the state behind the token, and the page in its replay mode', async () => {
    const server = await serveReplay(run, { port: 0, name: 'lagging', verdicts });
    try {
      const url = new URL(server.url);
      expect(url.searchParams.get('replay')).toBe('1');
      const get = (path: string, token = url.searchParams.get('token')!) =>
        fetch(`${url.origin}${path}`, { headers: { Authorization: `Bearer ${token}` } });
      expect((await get('/api/replay/summary', 'wrong')).status).toBe(401);
      const summary = (await (await get('/api/replay/summary')).json()) as { chapters: unknown[] };
      expect(summary.chapters).toHaveLength(4);
      const state = (await (await get('/api/replay/state?index=100')).json()) as { replicas: unknown[] };
      expect(state.replicas).toHaveLength(4);
      expect((await get('/api/snapshot')).status).toBe(500);
    } finally {
      await server.close();
    }
  });
});
