/**
 * The app shell's state in the desktop app: which cluster this instance runs, from main
 * (`window.pbftLabApp`, electron/shared/app-setup.ts), and the start screen's requests. Served
 * headless there is no bridge, and the dashboard shows at once.
 */
import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import type {
  CreateClusterRequest,
  JoinClusterRequest,
  PbftLabAppBridge,
  SetupState,
} from '../../../electron/shared/app-setup.ts';
import { errorText } from './connection.ts';

export const useAppSetupStore = defineStore('app-setup', () => {
  const bridge = shallowRef<PbftLabAppBridge | null>(null);
  const state = shallowRef<SetupState | null>(null);
  /** Why the last request failed (a mistyped code, a directory in use…), for the form that made it. */
  const requestError = ref<string | null>(null);
  const busy = ref(false);
  /** This window created the cluster: its join code stays on screen until the person moves on. */
  const created = ref(false);

  /** The desktop app, with its start screen (false headless and in tests). */
  const available = computed(() => bridge.value !== null);
  const phase = computed(() => state.value?.phase ?? null);
  /** The dashboard may connect: headless always; in the app once the replica runs and the code was seen. */
  const dashboardReady = computed(() => !available.value || (phase.value === 'running' && !created.value));

  function attach(appBridge: PbftLabAppBridge): void {
    bridge.value = appBridge;
  }

  async function refresh(): Promise<void> {
    if (!bridge.value) return;
    try {
      state.value = await bridge.value.state();
    } catch (cause) {
      requestError.value = errorText(cause);
    }
  }

  async function request(action: (b: PbftLabAppBridge) => Promise<SetupState>): Promise<boolean> {
    if (!bridge.value || busy.value) return false;
    busy.value = true;
    requestError.value = null;
    try {
      state.value = await action(bridge.value);
      return true;
    } catch (cause) {
      requestError.value = errorText(cause);
      return false;
    } finally {
      busy.value = false;
    }
  }

  async function create(options: CreateClusterRequest): Promise<boolean> {
    const ok = await request((b) => b.createCluster(options));
    if (ok) created.value = true;
    return ok;
  }

  const join = (options: JoinClusterRequest): Promise<boolean> => request((b) => b.joinCluster(options));
  const rejoin = (): Promise<boolean> => request((b) => b.rejoin());

  /** A folder from the system's dialog, or null. */
  async function chooseDataDir(): Promise<string | null> {
    if (!bridge.value) return null;
    try {
      return await bridge.value.chooseDataDir();
    } catch (cause) {
      requestError.value = errorText(cause);
      return null;
    }
  }

  /** From the new cluster's code to its dashboard. */
  function openDashboard(): void {
    created.value = false;
  }

  return {
    state,
    requestError,
    busy,
    created,
    available,
    phase,
    dashboardReady,
    attach,
    refresh,
    create,
    join,
    rejoin,
    chooseDataDir,
    openDashboard,
  };
});
