/**
 * The clients' history for a linearizability checker (TEACHING.md §6, §8c), from the operations the
 * run's driver sent and saw — one clock for all of them.
 *
 * Porcupine (anishathalye/porcupine): a JSON array of operations {clientId, input, call, output,
 * return}, times in µs from the run's start; an operation without a result returns at the end of
 * time (its effect may or may not have happened, as Porcupine's etcd test does). Inputs and outputs
 * are the LabApi's JSON (a key-value model per path reads them).
 *
 * Jepsen/Knossos: EDN, one map per event — :invoke then :ok, or :info when no result came (the
 * process is then done for good: the client's next operation is a new process).
 */
import type { ClientOp, RunFile } from './run-file.ts';

export function porcupineHistory(run: RunFile): string {
  const t0 = startOf(run);
  const us = (w: number): number => Math.round((w - t0) * 1000);
  const end = Math.max(0, ...run.ops.map((o) => us(o.completedW ?? o.invokedW))) + 1;
  const ops = run.ops.map((o) => ({
    clientId: o.client,
    input: o.op,
    call: us(o.invokedW),
    output: o.outcome === 'ok' ? o.result : null,
    return: o.outcome === 'ok' && o.completedW !== null ? us(o.completedW) : end,
    ...(o.byzantine ? { byzantine: true } : {}),
  }));
  return JSON.stringify(ops, null, 1) + '\n';
}

export function jepsenHistory(run: RunFile): string {
  const t0 = startOf(run);
  const ns = (w: number): number => Math.round((w - t0) * 1e6);
  const events: { time: number; text: (index: number) => string }[] = [];
  const processOf = new Map<number, number>();
  let nextProcess = Math.max(-1, ...run.ops.map((o) => o.client)) + 1;
  for (const o of [...run.ops].sort((a, b) => a.invokedW - b.invokedW)) {
    const process = processOf.get(o.client) ?? o.client;
    const { f, value, done } = ednOp(o);
    events.push({
      time: ns(o.invokedW),
      text: (i) =>
        `{:type :invoke, :f ${f}, :value ${value}, :process ${process}, :time ${ns(o.invokedW)}, :index ${i}}`,
    });
    if (o.outcome === 'ok' && o.completedW !== null)
      events.push({
        time: ns(o.completedW),
        text: (i) =>
          `{:type :ok, :f ${f}, :value ${done}, :process ${process}, :time ${ns(o.completedW!)}, :index ${i}}`,
      });
    else {
      const at = ns(o.completedW ?? o.invokedW);
      events.push({
        time: at,
        text: (i) =>
          `{:type :info, :f ${f}, :value ${value}, :process ${process}, :time ${at}, :index ${i}, :error :no-result}`,
      });
      processOf.set(o.client, nextProcess++);
    }
  }
  events.sort((a, b) => a.time - b.time);
  return events.map((e, i) => e.text(i)).join('\n') + '\n';
}

function ednOp(o: ClientOp): { f: string; value: string; done: string } {
  const op = o.op as { kind?: string; path?: string; dir?: string; text?: string; base64?: string };
  const key = JSON.stringify(op.path ?? op.dir ?? '');
  const data =
    op.text !== undefined
      ? JSON.stringify(op.text)
      : op.base64 !== undefined
        ? JSON.stringify(`base64:${op.base64}`)
        : 'nil';
  const result = o.result as { kind?: string; text?: string | null } | null;
  const read = result?.kind === 'data' ? JSON.stringify(result.text ?? '') : 'nil';
  switch (op.kind) {
    case 'write':
    case 'append':
      return { f: `:${op.kind}`, value: `[${key} ${data}]`, done: `[${key} ${data}]` };
    case 'read':
      return { f: ':read', value: `[${key} nil]`, done: `[${key} ${read}]` };
    default:
      return { f: `:${op.kind ?? 'unknown'}`, value: `[${key} nil]`, done: `[${key} nil]` };
  }
}

function startOf(run: RunFile): number {
  const ws = [...run.marks.map((m) => m.w), ...run.ops.map((o) => o.invokedW)];
  return ws.length > 0 ? Math.min(...ws) : 0;
}
