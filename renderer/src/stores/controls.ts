/** The Byzantine and Faults panels' commands: they change this replica, then refresh the snapshot. */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type { BehaviourInfo, FaultCommand } from '../../../core/host/lab-api.ts';
import { errorText, useConnectionStore } from './connection.ts';
import { useReplicaStore } from './replica.ts';

export const useControlsStore = defineStore('controls', () => {
  const connection = useConnectionStore();
  const replica = useReplicaStore();
  const catalogue = shallowRef<readonly BehaviourInfo[]>([]);
  const catalogueLoaded = ref(false);
  const catalogueError = ref<string | null>(null);
  const busy = ref(false);
  const error = ref<string | null>(null);

  async function loadCatalogue(): Promise<void> {
    try {
      catalogue.value = await connection.requireApi().behaviours();
      catalogueError.value = null;
    } catch (cause) {
      catalogueError.value = errorText(cause);
    } finally {
      catalogueLoaded.value = true;
    }
  }

  async function command(action: () => Promise<unknown>): Promise<boolean> {
    busy.value = true;
    error.value = null;
    try {
      await action();
      return true;
    } catch (cause) {
      error.value = errorText(cause);
      return false;
    } finally {
      busy.value = false;
      await replica.refresh();
    }
  }

  /** Make this replica Byzantine (a catalogue id) or honest again (null). */
  function setBehaviour(id: string | null): Promise<boolean> {
    return command(() => connection.requireApi().setBehaviour(id));
  }

  function fault(faultCommand: FaultCommand): Promise<boolean> {
    return command(() => connection.requireApi().fault(faultCommand));
  }

  /** The catalogue entry of the behaviour this replica runs (by id from the snapshot). */
  const active = computed(() => {
    const id = replica.behaviour;
    if (id === null) return null;
    return catalogue.value.find((b) => b.id === id) ?? { id, name: id, description: '', observe: '' };
  });

  return { catalogue, catalogueLoaded, catalogueError, busy, error, active, loadCatalogue, setBehaviour, fault };
});
