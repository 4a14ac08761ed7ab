/**
 * An exercise's checks, judged over the recorded run (its timeline, core/record/timeline.ts). Each
 * gives a verdict in one sentence that says why, and the step of the run that shows it (the scrubber
 * jumps there) — DSLabs' and Porcupine's lesson: a bare "FAIL" teaches nothing (TEACHING.md §0).
 * "Correct replicas" are those never switched to a Byzantine behaviour in the run.
 */
import { equalBytes } from '../pbft/bytes.ts';
import { quorums } from '../pbft/config.ts';
import type { Hasher } from '../pbft/crypto.ts';
import type { Digest } from '../pbft/messages.ts';
import type { ReplicaEvent } from '../pbft/outputs.ts';
import { FileStore } from '../app/file-store.ts';
import { markOf, type Timeline, type TimelineEvent } from '../record/timeline.ts';
import { recordedApp } from '../record/replay.ts';
import { Checkers } from '../sim/checkers.ts';
import type { HistoryEntry } from '../sim/workload.ts';
import type { Check, Exercise, Interval } from './schema.ts';

export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
  /** The run's step (replay order) that shows the verdict best. */
  readonly witness?: number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const list = (xs: readonly (number | string)[]): string =>
  xs.length === 0 ? 'none' : xs.length === 1 ? String(xs[0]) : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`;
const bytesOf = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

type Of<K extends TimelineEvent['kind']> = Extract<TimelineEvent, { kind: K }>;
type EventOf<T extends ReplicaEvent['type']> = Of<'event'> & { readonly event: Extract<ReplicaEvent, { type: T }> };

function replicaEvents<T extends ReplicaEvent['type']>(t: Timeline, type: T, replica?: number): EventOf<T>[] {
  return t.events.filter(
    (e): e is EventOf<T> =>
      e.kind === 'event' && e.event.type === type && (replica === undefined || e.replica === replica),
  );
}

/** Replicas paused when the run ended, by the actions of the steps it reached. */
function pausedAtEnd(exercise: Exercise, t: Timeline): Set<number> {
  const paused = new Set<number>();
  for (const step of exercise.steps) {
    if (markOf(t, step.id) === undefined) break;
    for (const a of step.actions ?? []) {
      if (a.do === 'pause') paused.add(a.replica);
      if (a.do === 'resume') paused.delete(a.replica);
    }
  }
  return paused;
}

class NotReached extends Error {}

function during(t: Timeline, interval: Interval): { from: number; to: number; label: string } {
  const from = markOf(t, interval.from);
  if (from === undefined) throw new NotReached(`the run never reached step "${interval.from}"`);
  const to = interval.to === undefined ? t.endW : (markOf(t, interval.to) ?? t.endW);
  return {
    from,
    to,
    label: `from step "${interval.from}"${interval.to ? ` to step "${interval.to}"` : ' to the end'}`,
  };
}

export function evaluateCheck(check: Check, exercise: Exercise, t: Timeline, hasher: Hasher): CheckResult {
  try {
    return evaluate(check, exercise, t, hasher);
  } catch (error) {
    if (error instanceof NotReached) return { ok: false, detail: error.message };
    throw error;
  }
}

function evaluate(check: Check, exercise: Exercise, t: Timeline, hasher: Hasher): CheckResult {
  const correct = [...t.correct];
  const q = quorums(t.n);
  switch (check.check) {
    case 'agreement': {
      const conflicts = agreementConflicts(t);
      const expect = check.expect ?? 'holds';
      if (conflicts.length === 0)
        return expect === 'holds'
          ? {
              ok: true,
              detail: `the correct replicas (${list(correct)}) executed the same batch at every sequence number`,
            }
          : { ok: false, detail: 'every correct replica executed the same batches: agreement was not broken' };
      const c = conflicts[0]!;
      const detail = `n=${c.seq}: replica ${c.a.replica} executed batch ${c.a.digest.slice(0, 8)}, replica ${c.b.replica} executed ${c.b.digest.slice(0, 8)}`;
      return expect === 'violated'
        ? { ok: true, detail: `agreement broken, as expected: ${detail}`, witness: c.b.index }
        : { ok: false, detail: `agreement violated: ${detail}`, witness: c.b.index };
    }
    case 'linearizable':
      return linearizable(t, hasher);
    case 'clients-complete': {
      const clients = check.clients ?? clientsOf(exercise).filter((j) => !(j === 0 && exercise.clients.byzantine));
      const requested = requestedCounts(exercise, t);
      const short: string[] = [];
      let accepted = 0;
      for (const j of clients) {
        const ops = t.run.ops.filter((o) => o.client === j);
        const done = ops.filter((o) => o.outcome === 'ok').length;
        accepted += done;
        const wanted = requested.get(j) ?? 0;
        if (done < wanted) {
          const stuck = ops.find((o) => o.outcome !== 'ok');
          short.push(
            `client ${j}: ${done} of ${wanted} accepted${stuck ? ` (t=${stuck.timestamp ?? '?'} has no result)` : ''}`,
          );
        }
      }
      return short.length === 0
        ? { ok: true, detail: `every request of client(s) ${list(clients)} got its result (${accepted} in all)` }
        : { ok: false, detail: short.join('; ') };
    }
    case 'view-change': {
      const t0 = markOf(t, check.after);
      if (t0 === undefined) return { ok: false, detail: `the run never reached step "${check.after}"` };
      const paused = pausedAtEnd(exercise, t);
      const who = correct.filter((r) => !paused.has(r));
      const late: string[] = [];
      const times: string[] = [];
      let witness: number | undefined;
      let primary: number | null = null;
      for (const r of who) {
        const nv = replicaEvents(t, 'new-view', r).find((e) => e.w >= t0 && e.event.view >= check.toView);
        if (!nv) {
          late.push(`replica ${r} never installed view ${check.toView}`);
          continue;
        }
        primary = nv.event.primary;
        const after = nv.w - t0;
        times.push(`${r}: ${seconds(after)}`);
        if (after > check.withinMs) late.push(`replica ${r} installed it after ${seconds(after)}`);
        witness = Math.max(witness ?? 0, nv.index);
      }
      if (late.length > 0)
        return { ok: false, detail: `${late.join('; ')} (limit ${seconds(check.withinMs)})`, witness };
      return {
        ok: true,
        detail: `replicas ${list(who)} installed view ${check.toView} or later (new primary: replica ${primary}) after ${times.join(', ')} (limit ${seconds(check.withinMs)})`,
        witness,
      };
    }
    case 'no-view-change': {
      const span = check.during ? during(t, check.during) : { from: -Infinity, to: Infinity, label: 'in the run' };
      const started = replicaEvents(t, 'view-change-started').filter(
        (e) => t.correct.has(e.replica) && e.w >= span.from && e.w < span.to,
      );
      if (started.length === 0)
        return {
          ok: true,
          detail: `no correct replica started a view change ${span.label}; every one stayed in its view`,
        };
      const first = started[0]!;
      return {
        ok: false,
        detail: `replica ${first.replica} started a view change to view ${first.event.newView} (${first.event.reason}); ${started.length} in all ${span.label}`,
        witness: first.index,
      };
    }
    case 'progress': {
      const span = during(t, check.during);
      const paused = pausedAtEnd(exercise, t);
      const who = check.replicas ?? correct.filter((r) => !paused.has(r));
      const counts = who.map((r) => ({
        r,
        seqs: new Set(
          replicaEvents(t, 'executed', r)
            .filter((e) => e.w >= span.from && e.w < span.to)
            .map((e) => e.event.seq),
        ).size,
      }));
      const slow = counts.filter((c) => c.seqs < check.atLeast);
      const shown = counts.map((c) => `${c.r}: ${c.seqs}`).join(', ');
      return slow.length === 0
        ? { ok: true, detail: `sequence numbers executed ${span.label}: ${shown} (at least ${check.atLeast} each)` }
        : {
            ok: false,
            detail: `too few sequence numbers executed ${span.label}: ${shown} (wanted ${check.atLeast} each)`,
          };
    }
    case 'no-progress': {
      const span = during(t, check.during);
      const from = span.from + (check.graceMs ?? 0);
      const executed = replicaEvents(t, 'executed').filter(
        (e) => t.correct.has(e.replica) && e.w >= from && e.w < span.to,
      );
      if (executed.length === 0)
        return {
          ok: true,
          detail: `no correct replica executed anything ${span.label}${check.graceMs ? ` (after a grace of ${seconds(check.graceMs)})` : ''}`,
        };
      const first = executed[0]!;
      return {
        ok: false,
        detail: `replica ${first.replica} executed n=${first.event.seq} ${seconds(first.w - span.from)} into the interval (${executed.length} executions in all)`,
        witness: first.index,
      };
    }
    case 'phases':
      return phases(t, check.seq);
    case 'quorums':
      return quorumsOf(t, check.seq, q);
    case 'state-transfer': {
      const t0 = markOf(t, check.after);
      if (t0 === undefined) return { ok: false, detail: `the run never reached step "${check.after}"` };
      const done = replicaEvents(t, 'state-transfer-completed', check.replica).find((e) => e.w >= t0);
      if (!done) {
        const started = replicaEvents(t, 'state-transfer-started', check.replica).find((e) => e.w >= t0);
        return {
          ok: false,
          detail: started
            ? `replica ${check.replica} started a state transfer (checkpoint ${started.event.seq}) but did not complete it`
            : `replica ${check.replica} never fetched a checkpoint's state after step "${check.after}"`,
        };
      }
      const began = replicaEvents(t, 'state-transfer-started', check.replica).find(
        (e) => e.w >= t0 && e.index <= done.index,
      );
      return {
        ok: true,
        detail: `replica ${check.replica} fetched the state of stable checkpoint ${done.event.seq}${began ? ` from replica ${began.event.from}` : ''}, ${seconds(done.w - t0)} after step "${check.after}" began`,
        witness: done.index,
      };
    }
    case 'caught-up': {
      const executed = (r: number): number =>
        highest([
          ...replicaEvents(t, 'executed', r).map((e) => e.event.seq),
          ...replicaEvents(t, 'state-transfer-completed', r).map((e) => e.event.seq),
        ]);
      const stable = (r: number): number => highest(replicaEvents(t, 'checkpoint-stable', r).map((e) => e.event.seq));
      const others = correct.filter((r) => r !== check.replica);
      const target = highest(others.map(stable));
      const reached = executed(check.replica);
      return reached >= target
        ? {
            ok: true,
            detail: `replica ${check.replica} reached sequence number ${reached}; the others' latest stable checkpoint is ${target}`,
          }
        : {
            ok: false,
            detail: `replica ${check.replica} stopped at sequence number ${reached}, behind the others' stable checkpoint ${target}`,
          };
    }
    case 'wrong-replies-outvoted':
      return wrongRepliesOutvoted(t, check.replica, q.weak);
    case 'ignored': {
      const by = check.by ?? correct;
      const pattern = new RegExp(check.reason);
      const hits = replicaEvents(t, 'ignored').filter(
        (e) =>
          by.includes(e.replica) &&
          pattern.test(e.event.reason) &&
          (check.type === undefined || e.event.message.type === check.type),
      );
      const atLeast = check.atLeast ?? 1;
      if (hits.length >= atLeast) {
        const first = hits[0]!;
        return {
          ok: true,
          detail: `${hits.length} message(s) ignored, e.g. replica ${first.replica} ignored a ${first.event.message.type} from ${first.event.from}: "${first.event.reason}"`,
          witness: first.index,
        };
      }
      return { ok: false, detail: `${hits.length} message(s) ignored for /${check.reason}/ (wanted ${atLeast})` };
    }
    case 'latency': {
      const span = during(t, check.during);
      const latencies = t.run.ops
        .filter((o) => !o.byzantine && o.completedW !== null && o.invokedW >= span.from && o.invokedW < span.to)
        .map((o) => o.completedW! - o.invokedW)
        .sort((a, b) => a - b);
      if (latencies.length === 0) return { ok: false, detail: `no request completed ${span.label}` };
      const median = latencies[Math.floor(latencies.length / 2)]!;
      const low = check.medianAtLeastMs !== undefined && median < check.medianAtLeastMs;
      const high = check.medianAtMostMs !== undefined && median > check.medianAtMostMs;
      const bounds = [
        check.medianAtLeastMs !== undefined ? `≥ ${check.medianAtLeastMs} ms` : null,
        check.medianAtMostMs !== undefined ? `≤ ${check.medianAtMostMs} ms` : null,
      ]
        .filter(Boolean)
        .join(' and ');
      return {
        ok: !low && !high,
        detail: `median latency ${Math.round(median)} ms over ${latencies.length} request(s) ${span.label} (wanted ${bounds})`,
      };
    }
  }
}

const highest = (xs: readonly number[]): number => xs.reduce((m, x) => (x > m ? x : m), 0);

function clientsOf(exercise: Exercise): number[] {
  return Array.from({ length: exercise.clients.count }, (_, j) => j);
}

/** Writes each client was asked for, by the steps the run reached. */
function requestedCounts(exercise: Exercise, t: Timeline): Map<number, number> {
  const counts = new Map<number, number>();
  for (const step of exercise.steps) {
    if (markOf(t, step.id) === undefined) break;
    for (const a of step.actions ?? [])
      if (a.do === 'requests') counts.set(a.client, (counts.get(a.client) ?? 0) + a.count);
  }
  return counts;
}

interface Executed {
  readonly replica: number;
  readonly digest: Digest;
  readonly index: number;
}

export function agreementConflicts(t: Timeline): { seq: number; a: Executed; b: Executed }[] {
  const first = new Map<number, Executed>();
  const conflicts: { seq: number; a: Executed; b: Executed }[] = [];
  for (const e of replicaEvents(t, 'executed')) {
    if (!t.correct.has(e.replica)) continue;
    const known = first.get(e.event.seq);
    const mine = { replica: e.replica, digest: e.event.digest, index: e.index };
    if (!known) first.set(e.event.seq, mine);
    else if (known.digest !== e.event.digest) conflicts.push({ seq: e.event.seq, a: known, b: mine });
  }
  return conflicts;
}

/**
 * The simulator's linearizability checker (core/sim/checkers.ts) over the recorded run: the agreed
 * order, replayed on a fresh file store, must give the results the clients accepted, in real time.
 * Requests of clients the run did not drive (a student's dashboard) execute but are not judged.
 */
function linearizable(t: Timeline, hasher: Hasher): CheckResult {
  const driven = new Set(t.run.ops.map((o) => o.clientId));
  const executedClients = new Set(replicaEvents(t, 'executed').flatMap((e) => e.event.requests.map((r) => r.client)));
  const exempt = new Set([
    ...[...executedClients].filter((c) => !driven.has(c)),
    ...t.run.ops.filter((o) => o.byzantine).map((o) => o.clientId),
  ]);
  const faulty = new Set(Array.from({ length: t.n }, (_, r) => r).filter((r) => !t.correct.has(r)));
  // The file store the replicas ran: a live cluster's lets the replicas' own clients revoke.
  const start = t.run.sessions.map((s) => s.entries[0]).find((e) => e?.k === 'start');
  const app = start?.k === 'start' ? recordedApp(start) : (h: Hasher) => new FileStore(h);
  const checkers = new Checkers((t.n - 1) / 3, () => app(hasher), faulty, exempt);
  for (const o of t.run.ops) if (o.timestamp !== null) checkers.issued(o.clientId, o.timestamp, bytesOf(o.opBytes));
  for (const e of t.events) {
    if (e.kind === 'start' && e.session > 0) checkers.forgetReplica(e.replica);
    if (e.kind === 'event') checkers.onReplicaEvent(e.replica, e.event);
  }
  const history: HistoryEntry[] = t.run.ops
    .filter((o) => o.timestamp !== null)
    .map((o) => ({
      client: o.clientId,
      timestamp: o.timestamp!,
      op: bytesOf(o.opBytes),
      readOnly: false,
      invokedAtMs: o.invokedW,
      completedAtMs: o.outcome === 'ok' ? o.completedW : null,
      result: o.outcome === 'ok' && o.resultBytes ? bytesOf(o.resultBytes) : null,
    }));
  if (checkers.violations.length === 0) checkers.finish(history);
  const v = checkers.violations[0];
  const judged = t.run.ops.filter((o) => o.outcome === 'ok' && !exempt.has(o.clientId)).length;
  return v
    ? { ok: false, detail: `${v.property}: ${v.detail}` }
    : {
        ok: true,
        detail: `the ${judged} accepted result(s) are those of the agreed order, replayed on a fresh file store, and respect real time`,
      };
}

function phases(t: Timeline, seq: number): CheckResult {
  const order = ['pre-prepared', 'prepared', 'committed-local', 'executed'] as const;
  const lines: string[] = [];
  let ok = true;
  let witness: number | undefined;
  for (const r of t.correct) {
    const at = order.map((type) => replicaEvents(t, type, r).find((e) => e.event.seq === seq));
    const missing = order.filter((_, i) => !at[i]);
    if (missing.length > 0) {
      ok = false;
      lines.push(`replica ${r}: no ${missing.join(', ')} for n=${seq}`);
      continue;
    }
    const indexes = at.map((e) => e!.index);
    if (indexes.some((x, i) => i > 0 && x < indexes[i - 1]!)) {
      ok = false;
      lines.push(`replica ${r}: phases out of order`);
    }
    witness = Math.max(witness ?? 0, indexes.at(-1)!);
    const t0 = at[0]!.w;
    lines.push(`replica ${r}: ${order.map((type, i) => `${type} +${Math.round(at[i]!.w - t0)} ms`).join(' → ')}`);
  }
  return { ok, detail: lines.join('; '), witness };
}

function quorumsOf(t: Timeline, seq: number, q: ReturnType<typeof quorums>): CheckResult {
  const lines: string[] = [];
  let ok = true;
  let witness: number | undefined;
  for (const r of t.correct) {
    const prepared = replicaEvents(t, 'prepared', r).find((e) => e.event.seq === seq);
    const committed = replicaEvents(t, 'committed-local', r).find((e) => e.event.seq === seq);
    if (!prepared || !committed) {
      ok = false;
      lines.push(`replica ${r} did not ${prepared ? 'commit' : 'prepare'} n=${seq}`);
      continue;
    }
    const votes = (type: 'prepare' | 'commit', before: number, view: number, digest: Digest): Set<number> => {
      const from = new Set<number>();
      for (const e of t.events) {
        if (e.index > before || e.replica !== r) continue;
        const m = e.kind === 'recv' || e.kind === 'send' ? e.message : null;
        if (m?.type !== type || m.seq !== seq || m.view !== view || m.digest !== digest) continue;
        // Its own vote counts too (sent), the others' as received.
        from.add(e.kind === 'send' ? r : m.replica);
      }
      return from;
    };
    const p = votes('prepare', prepared.index, prepared.event.view, prepared.event.digest);
    const c = votes('commit', committed.index, committed.event.view, committed.event.digest);
    if (p.size < q.prepares || c.size < q.strong) ok = false;
    witness = Math.max(witness ?? 0, committed.index);
    lines.push(
      `replica ${r} prepared n=${seq} with PREPAREs of ${list([...p].sort())} (2f = ${q.prepares} needed) and committed it with COMMITs of ${list([...c].sort())} (2f+1 = ${q.strong})`,
    );
  }
  return { ok, detail: lines.join('; '), witness };
}

function wrongRepliesOutvoted(t: Timeline, liar: number, weak: number): CheckResult {
  const byRequest = new Map<string, { correct: Uint8Array | null; wrong: Of<'reply'> | null }>();
  for (const e of t.events) {
    if (e.kind !== 'reply' || e.reply.readOnly) continue;
    const key = `${e.client}\u0000${e.reply.timestamp}`;
    let seen = byRequest.get(key);
    if (!seen) byRequest.set(key, (seen = { correct: null, wrong: null }));
    if (t.correct.has(e.replica)) seen.correct = e.reply.result;
    else if (e.replica === liar) seen.wrong = e;
  }
  let wrongCount = 0;
  let witness: number | undefined;
  for (const seen of byRequest.values()) {
    if (seen.wrong === null || seen.correct === null) continue;
    if (!equalBytes(seen.wrong.reply.result, seen.correct)) {
      wrongCount++;
      witness ??= seen.wrong.index;
    }
  }
  if (wrongCount === 0) return { ok: false, detail: `replica ${liar} sent no wrong result the run shows` };
  const accepted = t.run.ops.filter((o) => !o.byzantine && o.outcome === 'ok' && o.resultBytes !== null);
  const fooled = accepted.filter((o) => {
    const seen = byRequest.get(`${o.clientId}\u0000${o.timestamp}`);
    return seen?.correct && !equalBytes(seen.correct, bytesOf(o.resultBytes!));
  });
  if (fooled.length > 0)
    return {
      ok: false,
      detail: `client ${fooled[0]!.client} accepted a wrong result for t=${fooled[0]!.timestamp}`,
      witness,
    };
  return {
    ok: true,
    detail: `replica ${liar} sent ${wrongCount} wrong result(s); all ${accepted.length} result(s) the clients accepted were the correct replicas' (f+1 = ${weak} matching replies needed)`,
    witness,
  };
}
