/** The connection to this machine's replica host: which transport, and whether it is up. */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { LabApi } from '../../../core/host/lab-api.ts';
import { browserEnvironment, connectLab, type LabConnection, type LabEnvironment, type Transport } from '../api/lab.ts';

export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'closed' | 'failed';

export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';
}

export const useConnectionStore = defineStore('connection', () => {
  const api = shallowRef<LabApi | null>(null);
  const transport = ref<Transport | null>(null);
  const version = ref<string | null>(null);
  const status = ref<ConnectionStatus>('idle');
  const error = ref<string | null>(null);
  /** Events the host dropped because this page read them too slowly (WebSocket only). */
  const eventsDropped = ref(0);
  let connection: LabConnection | null = null;

  async function connect(env: LabEnvironment = browserEnvironment()): Promise<void> {
    status.value = 'connecting';
    error.value = null;
    try {
      connection = await connectLab(env, {
        onClose: (info) => {
          status.value = 'closed';
          error.value = `the connection to the replica closed (code ${info.code}${info.reason ? `: ${info.reason}` : ''})`;
        },
        onEventsDropped: (count) => {
          eventsDropped.value += count;
        },
      });
      api.value = connection.api;
      transport.value = connection.transport;
      version.value = connection.version;
      status.value = 'connected';
    } catch (cause) {
      status.value = 'failed';
      error.value = cause instanceof Error ? cause.message : String(cause);
    }
  }

  /** Use an API that is already connected (tests, or a host that hands one over). */
  function attach(labApi: LabApi, kind: Transport = 'electron'): void {
    api.value = labApi;
    transport.value = kind;
    status.value = 'connected';
    error.value = null;
  }

  function requireApi(): LabApi {
    if (api.value === null) throw new NotConnectedError('not connected to a replica');
    return api.value;
  }

  function disconnect(): void {
    connection?.close();
    connection = null;
    api.value = null;
    status.value = 'idle';
  }

  return { api, transport, version, status, error, eventsDropped, connect, attach, requireApi, disconnect };
});

/** A thrown value as one line for the screen. */
export function errorText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
