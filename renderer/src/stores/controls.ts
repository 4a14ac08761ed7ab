/**
 * The Byzantine and Faults panels' commands: they change this replica, then refresh the snapshot.
 * A switch that would make more than f replicas Byzantine in the run waits for a person to confirm
 * it (`confirming`), whether the snapshot said so first or the host refused it (FaultBoundError).
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { EXCEED_F_MESSAGE, type BehaviourInfo, type FaultCommand } from '../../../core/host/lab-api.ts';
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
  /** A behaviour waiting for the confirmation that it may break PBFT's bound, with the host's words if it refused. */
  const confirming = ref<{ id: string; refusal: string | null } | null>(null);

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

  async function command(
    action: () => Promise<unknown>,
    onRefusedBeyondF?: (message: string) => void,
  ): Promise<boolean> {
    busy.value = true;
    error.value = null;
    try {
      await action();
      return true;
    } catch (cause) {
      const message = errorText(cause);
      // The name does not cross Electron's contextBridge; the words do.
      if (onRefusedBeyondF && message.includes(EXCEED_F_MESSAGE)) onRefusedBeyondF(message);
      else error.value = message;
      return false;
    } finally {
      busy.value = false;
      await replica.refresh();
    }
  }

  /**
   * Make this replica Byzantine (a catalogue id) or honest again (null). A switch beyond f is not
   * made: it waits in `confirming` for confirmBeyondF or cancelConfirmation.
   */
  async function setBehaviour(id: string | null): Promise<boolean> {
    if (id !== null && replica.faulty?.switchNeedsConfirmation) {
      confirming.value = { id, refusal: null };
      return false;
    }
    return command(
      () => connection.requireApi().setBehaviour(id),
      (refusal) => {
        if (id !== null) confirming.value = { id, refusal };
      },
    );
  }

  /** The person confirmed: switch anyway, knowing PBFT's assumption no longer holds. */
  async function confirmBeyondF(): Promise<boolean> {
    const pending = confirming.value;
    if (pending === null) return false;
    confirming.value = null;
    return command(() => connection.requireApi().setBehaviour(pending.id, { exceedF: true }));
  }

  function cancelConfirmation(): void {
    confirming.value = null;
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

  /**
   * Revoke a client peer: an ordered operation, so every replica refuses it from then on. Resolves
   * when f+1 replicas executed it (the host waits up to 10 s).
   */
  async function revokeClient(peerId: string): Promise<boolean> {
    return command(() => connection.requireApi().revokeClient(peerId));
  }

  return {
    revokeClient,
    catalogue,
    catalogueLoaded,
    catalogueError,
    busy,
    error,
    active,
    confirming,
    loadCatalogue,
    setBehaviour,
    confirmBeyondF,
    cancelConfirmation,
    fault,
  };
});
