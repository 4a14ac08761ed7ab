/** The Client panel: operations submitted as this machine's client, and the file browser's listing. */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { LabFileStat, LabOp, SubmitOutcome } from '../../../core/host/lab-api.ts';
import { isMutating } from './client-ops.ts';
import { errorText, useConnectionStore } from './connection.ts';
import { useMetricsStore } from './metrics.ts';

export interface SubmitRecord {
  readonly id: number;
  readonly op: LabOp;
  readonly outcome: SubmitOutcome | null;
  /** Why the submit failed (no roster yet, the connection closed…); null when it has an outcome. */
  readonly error: string | null;
}

const HISTORY_KEPT = 6;

export const useClientStore = defineStore('client', () => {
  const connection = useConnectionStore();
  const metrics = useMetricsStore();
  const pending = ref(0);
  const last = shallowRef<SubmitRecord | null>(null);
  const history = shallowRef<SubmitRecord[]>([]);
  const files = shallowRef<LabFileStat[] | null>(null);
  const filesError = ref<string | null>(null);
  const filesLoading = ref(false);
  let nextId = 1;

  async function run(op: LabOp): Promise<SubmitRecord> {
    const id = nextId++;
    pending.value++;
    try {
      const outcome = await connection.requireApi().submit(op);
      metrics.recordSubmit(outcome);
      return { id, op, outcome, error: null };
    } catch (cause) {
      return { id, op, outcome: null, error: errorText(cause) };
    } finally {
      pending.value--;
    }
  }

  /** Submit an operation from the form; the file browser follows changes to the file system. */
  async function submit(op: LabOp): Promise<SubmitRecord> {
    const record = await run(op);
    last.value = record;
    history.value = [record, ...history.value].slice(0, HISTORY_KEPT);
    if (record.outcome?.result.kind === 'listing' && record.outcome.result.dir === '/') {
      files.value = [...record.outcome.result.entries];
    } else if (isMutating(op.kind) && record.outcome !== null) {
      void refreshFiles();
    }
    return record;
  }

  /**
   * `list /` as a §5.1 read-only request: every replica answers from its state, 2f+1 matching
   * answers are accepted, and nothing is ordered, so browsing adds no row to any replica's log (an
   * ordered `list /` on every dashboard that opened did). Called when the cluster forms and when
   * this replica executes something; a refresh asked for while one runs follows it.
   */
  let refreshAgain = false;
  async function refreshFiles(): Promise<void> {
    if (filesLoading.value) {
      refreshAgain = true;
      return;
    }
    filesLoading.value = true;
    try {
      const record = await run({ kind: 'list', dir: '/', readOnly: true });
      const result = record.outcome?.result;
      if (result?.kind === 'listing') {
        files.value = [...result.entries];
        filesError.value = null;
      } else {
        filesError.value = record.error ?? (result?.kind === 'error' ? result.message : 'unexpected result');
      }
    } finally {
      filesLoading.value = false;
    }
    if (refreshAgain) {
      refreshAgain = false;
      await refreshFiles();
    }
  }

  return { pending, last, history, files, filesError, filesLoading, submit, refreshFiles };
});
