/**
 * The LabApi over the headless host's WebSocket (api-server.ts), and the wire format both sides use.
 *
 * No Node imports here: this file only uses globals that exist in Node ≥ 22 and in browsers
 * (WebSocket, URL, JSON), so the dashboard can use the same client when it is served headless.
 */
import type {
  BehaviourInfo,
  FaultCommand,
  LabApi,
  LabEvent,
  LabFaults,
  LabOp,
  LabSnapshot,
  LabWsCall,
  RoomExerciseCommand,
  RoomExerciseStatus,
  RoomQuery,
  RoomState,
  SetBehaviourOptions,
  SubmitOutcome,
} from './lab-api.ts';

/** Path of the WebSocket endpoint on the headless host. */
export const LAB_WS_PATH = '/api/ws';

/** Client → server: one LabApi call. */
export interface LabWsRequest {
  readonly id: number;
  readonly call: LabWsCall;
  readonly args: readonly unknown[];
}

export interface LabWsError {
  readonly name: string;
  readonly message: string;
}

/**
 * Server → client. A reply carries the id of its request; `id` is null only on an error reply to a
 * frame the server could not read an id from (malformed JSON, say). `dropped` tells a slow client
 * how many events the server dropped for it instead of buffering them.
 */
export type LabWsServerMessage =
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number | null; readonly error: LabWsError }
  | { readonly event: LabEvent }
  | { readonly dropped: number };

/** The connection closed (or never opened) before the call got its reply. */
export class LabApiConnectionError extends Error {
  override readonly name = 'LabApiConnectionError';
}

export interface ConnectLabApiOptions {
  /** Give up connecting after this long. @default 10000 */
  readonly connectTimeoutMs?: number;
  /** A frame from the server that is not a valid LabWsServerMessage (it is otherwise ignored). */
  readonly onProtocolError?: (reason: string) => void;
  /** The server dropped this many events because this client read them too slowly. */
  readonly onEventsDropped?: (count: number) => void;
  /** The connection closed, by either side. Pending calls have been rejected by then. */
  readonly onClose?: (info: { readonly code: number; readonly reason: string }) => void;
}

export interface LabApiConnection extends LabApi {
  /** Always there on the client; a host that is no room answers NoRoomExercisesError. */
  roomExercise(command: RoomExerciseCommand): Promise<RoomExerciseStatus>;
  /** Close the connection; pending calls reject with LabApiConnectionError. */
  close(): void;
}

interface PendingCall {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * Connect to a headless host. `url` is the one the host prints: `http://HOST:PORT/?token=…`
 * (an `https:` URL maps to `wss:`). Resolves once the WebSocket is open.
 */
export function connectLabApi(url: string, options: ConnectLabApiOptions = {}): Promise<LabApiConnection> {
  const wsUrl = webSocketUrlFor(url);
  const socket = new WebSocket(wsUrl);
  const pending = new Map<number, PendingCall>();
  const listeners = new Set<(event: LabEvent) => void>();
  let nextId = 1;

  const rejectAllPending = (reason: string): void => {
    for (const call of pending.values()) call.reject(new LabApiConnectionError(reason));
    pending.clear();
  };

  const call = (name: LabWsCall, args: readonly unknown[]): Promise<unknown> => {
    if (socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new LabApiConnectionError(`cannot call ${name}: the connection is not open`));
    }
    const id = nextId++;
    const request: LabWsRequest = { id, call: name, args };
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify(request));
    });
  };

  const deliverEvent = (event: LabEvent): void => {
    // Every listener sees the event even if an earlier one throws; the first error is rethrown.
    let firstError: unknown = null;
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        firstError ??= error;
      }
    }
    if (firstError !== null) throw firstError;
  };

  const onMessage = (data: unknown): void => {
    const protocolError = options.onProtocolError ?? (() => {});
    if (typeof data !== 'string') return protocolError('binary frame from the server');
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return protocolError('malformed JSON from the server');
    }
    if (!isRecord(message)) return protocolError('a server message must be a JSON object');
    if ('event' in message) {
      if (!isRecord(message.event)) return protocolError('event without an object');
      return deliverEvent(message.event as unknown as LabEvent);
    }
    if ('dropped' in message) {
      if (typeof message.dropped === 'number') options.onEventsDropped?.(message.dropped);
      return;
    }
    if (message.id === null && isRecord(message.error)) {
      return protocolError(`the server could not read a request: ${String(message.error.message)}`);
    }
    const id = message.id;
    const target = typeof id === 'number' ? pending.get(id) : undefined;
    if (typeof id !== 'number' || target === undefined) return protocolError(`reply to unknown call ${String(id)}`);
    pending.delete(id);
    if ('error' in message) {
      const remote = isRecord(message.error) ? message.error : {};
      const error = new Error(typeof remote.message === 'string' ? remote.message : 'unknown server error');
      error.name = typeof remote.name === 'string' ? remote.name : 'Error';
      target.reject(error);
    } else {
      target.resolve(message.result);
    }
  };

  const api: LabApiConnection = {
    snapshot: () => call('snapshot', []) as Promise<LabSnapshot>,
    submit: (op: LabOp) => call('submit', [op]) as Promise<SubmitOutcome>,
    fault: (command: FaultCommand) => call('fault', [command]) as Promise<LabFaults>,
    revokeClient: async (clientId: string) => {
      await call('revokeClient', [clientId]);
    },
    behaviours: () => call('behaviours', []) as Promise<readonly BehaviourInfo[]>,
    setBehaviour: (id: string | null, options?: SetBehaviourOptions) =>
      call('setBehaviour', options === undefined ? [id] : [id, options]) as Promise<string | null>,
    room: (query?: RoomQuery) => call('room', query === undefined ? [] : [query]) as Promise<RoomState>,
    roomExercise: (command: RoomExerciseCommand) => call('roomExercise', [command]) as Promise<RoomExerciseStatus>,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    close() {
      rejectAllPending('the connection was closed by this client');
      socket.close(1000, 'client closed');
    },
  };

  return new Promise((resolve, reject) => {
    let opened = false;
    const timer = setTimeout(() => {
      reject(new LabApiConnectionError(`timed out connecting to ${describe(wsUrl)}`));
      socket.close();
    }, options.connectTimeoutMs ?? 10_000);
    socket.addEventListener('open', () => {
      opened = true;
      clearTimeout(timer);
      resolve(api);
    });
    socket.addEventListener('message', (event) => onMessage(event.data));
    socket.addEventListener('close', (event) => {
      clearTimeout(timer);
      rejectAllPending(`the connection closed (code ${event.code}${event.reason ? `: ${event.reason}` : ''})`);
      if (!opened) {
        // A browser does not tell why (a 401 looks like any other failure), so neither do we.
        reject(new LabApiConnectionError(`could not connect to ${describe(wsUrl)} (wrong token, or no server?)`));
      } else {
        options.onClose?.({ code: event.code, reason: event.reason });
      }
    });
  });
}

/** The WebSocket URL for a printed http(s) URL: same host, `/api/ws`, the token kept. */
export function webSocketUrlFor(httpUrl: string): string {
  const url = new URL(httpUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`expected an http(s) URL, got ${url.protocol}`);
  }
  const wsUrl = new URL(LAB_WS_PATH, url);
  wsUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = url.searchParams.get('token');
  if (token !== null) wsUrl.searchParams.set('token', token);
  return wsUrl.href;
}

/** A URL for error messages, without the secret token. */
function describe(wsUrl: string): string {
  const url = new URL(wsUrl);
  url.search = '';
  return url.href;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
