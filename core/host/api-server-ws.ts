/**
 * One dashboard's WebSocket session: LabApi calls as `{ id, call, args }` messages, replies by id,
 * and the host's events pushed as `{ event }` (see LabWsServerMessage in api-client.ts).
 */
import type { RawData, WebSocket } from 'ws';
import type { LabWsError, LabWsServerMessage } from './api-client.ts';
import { parseWsRequest, requestIdOf } from './api-server-validate.ts';
import type { ParsedCall } from './api-server-validate.ts';
import type { LabApi, LabEvent } from './lab-api.ts';

/** Above this many unsent bytes on a socket, events for it are dropped (and counted), not queued. */
export const EVENT_BACKLOG_LIMIT_BYTES = 4 * 1024 * 1024;
/** Calls one connection may have running at once; more get TooManyCallsError. */
export const MAX_PENDING_CALLS_PER_CONNECTION = 256;
/** A connection that does not answer a ping within this interval is dropped. */
export const HEARTBEAT_INTERVAL_MS = 30_000;

export interface LabSocketOptions {
  readonly api: LabApi;
  readonly log: (line: string) => void;
  /** Names the connection in log lines. */
  readonly label: string;
}

export function serveLabApiSocket(socket: WebSocket, { api, log, label }: LabSocketOptions): void {
  let pendingCalls = 0;
  let droppedEvents = 0;

  const send = (message: LabWsServerMessage): void => {
    if (socket.readyState !== socket.OPEN) return;
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch (error) {
      log(`${label}: cannot encode a reply as JSON: ${describeError(error)}`);
      if (!('id' in message)) return;
      text = JSON.stringify({ id: message.id, error: { name: 'InternalError', message: 'reply is not JSON' } });
    }
    socket.send(text, (error) => {
      if (error) log(`${label}: send failed: ${error.message}`);
    });
  };

  const refuse = (id: number | null, error: LabWsError): void => {
    if (id === null) log(`${label}: ignored a message: ${error.message}`);
    send({ id, error });
  };

  const onEvent = (event: LabEvent): void => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > EVENT_BACKLOG_LIMIT_BYTES) {
      if (droppedEvents === 0) log(`${label}: client reads too slowly, dropping events`);
      droppedEvents++;
      return;
    }
    if (droppedEvents > 0) {
      log(`${label}: dropped ${droppedEvents} events`);
      send({ dropped: droppedEvents });
      droppedEvents = 0;
    }
    send({ event });
  };

  const onMessage = (data: RawData, isBinary: boolean): void => {
    if (isBinary) return refuse(null, badRequest('binary frames are not supported; send JSON text'));
    let message: unknown;
    try {
      message = JSON.parse(rawDataToString(data));
    } catch {
      return refuse(null, badRequest('malformed JSON'));
    }
    const id = requestIdOf(message);
    if (id === null) return refuse(null, badRequest('a request needs an integer "id"'));
    let call: ParsedCall;
    try {
      call = parseWsRequest(message);
    } catch (error) {
      return refuse(id, errorInfo(error));
    }
    if (pendingCalls >= MAX_PENDING_CALLS_PER_CONNECTION) {
      return refuse(id, {
        name: 'TooManyCallsError',
        message: `more than ${MAX_PENDING_CALLS_PER_CONNECTION} calls running`,
      });
    }
    pendingCalls++;
    void perform(api, call)
      .then(
        (result): LabWsServerMessage => ({ id, result: result ?? null }),
        (error: unknown): LabWsServerMessage => ({ id, error: errorInfo(error) }),
      )
      .then((reply) => {
        pendingCalls--;
        send(reply);
      })
      .catch((error: unknown) => log(`${label}: error replying to call ${id}: ${describeError(error)}`));
  };

  // ws emits 'error' (then 'close') for protocol violations such as a frame over maxPayload.
  socket.on('error', (error) => log(`${label}: ${error.message}`));

  let unsubscribe: () => void = () => {};
  try {
    unsubscribe = api.subscribe(onEvent);
  } catch (error) {
    log(`${label}: subscribe failed: ${describeError(error)}`);
    socket.close(1011, 'subscribe failed');
    return;
  }

  let alive = true;
  const heartbeat = setInterval(() => {
    if (!alive) {
      log(`${label}: no pong, dropping the connection`);
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();

  socket.on('pong', () => {
    alive = true;
  });
  socket.on('message', (data, isBinary) => {
    try {
      onMessage(data, isBinary);
    } catch (error) {
      // Nothing above should throw; if it does, this connection's message is lost, not the server.
      log(`${label}: error handling a message: ${describeError(error)}`);
    }
  });
  socket.on('close', (code) => {
    clearInterval(heartbeat);
    unsubscribe();
    log(`${label}: closed (${code})`);
  });
}

async function perform(api: LabApi, parsed: ParsedCall): Promise<unknown> {
  switch (parsed.call) {
    case 'snapshot':
      return api.snapshot();
    case 'submit':
      return api.submit(parsed.op);
    case 'fault':
      return api.fault(parsed.command);
    case 'revokeClient':
      return api.revokeClient(parsed.clientId);
    case 'behaviours':
      return api.behaviours();
    case 'setBehaviour':
      return api.setBehaviour(parsed.id, parsed.options);
    case 'room':
      return api.room(parsed.query);
    case 'roomExercise':
      if (!api.roomExercise) throw new NoRoomExercisesError('this host runs no exercises: it is no room of its own');
      return api.roomExercise(parsed.command);
  }
}

class NoRoomExercisesError extends Error {
  override readonly name = 'NoRoomExercisesError';
}

function badRequest(message: string): LabWsError {
  return { name: 'BadRequestError', message };
}

/** What a client learns about a failed call: the error's name and message, never its stack. */
export function errorInfo(error: unknown): LabWsError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function rawDataToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
