/**
 * Shape checks for what a dashboard sends to the headless host (HTTP bodies and WebSocket calls).
 * Each parser either returns a fresh object holding only the fields the LabApi types declare, or
 * throws BadRequestError with a reason a developer can act on. Semantics (is this path legal, is
 * that peer known) stay with the host behind the LabApi.
 */
import type { LabWsRequest } from './api-client.ts';
import { LAB_API_CALLS, LAB_WS_ONLY_CALLS } from './lab-api.ts';
import type { FaultCommand, LabOp, LabWsCall, RoomExerciseCommand, RoomQuery, SetBehaviourOptions } from './lab-api.ts';

export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

type Json = Record<string, unknown>;

export function parseLabOp(value: unknown): LabOp {
  const op = expectObject(value, 'op');
  switch (op.kind) {
    case 'write':
    case 'append': {
      const path = expectString(op, 'path', 'op');
      const text = optionalString(op, 'text', 'op');
      const base64 = optionalString(op, 'base64', 'op');
      if (text !== undefined && base64 !== undefined) throw new BadRequestError('op: give text or base64, not both');
      if (base64 !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) {
        throw new BadRequestError('op.base64: not base64');
      }
      return {
        kind: op.kind,
        path,
        ...(text !== undefined ? { text } : {}),
        ...(base64 !== undefined ? { base64 } : {}),
      };
    }
    case 'delete':
      return { kind: op.kind, path: expectString(op, 'path', 'op') };
    case 'read':
    case 'stat':
      return { kind: op.kind, path: expectString(op, 'path', 'op'), ...readOnlyOf(op) };
    case 'list':
      return { kind: 'list', dir: expectString(op, 'dir', 'op'), ...readOnlyOf(op) };
    default:
      throw new BadRequestError(`op.kind: expected write, append, read, delete, stat or list`);
  }
}

/** `readOnly: true` kept, `false` or absent dropped; anything else refused. */
function readOnlyOf(op: Record<string, unknown>): { readOnly?: true } {
  if (op.readOnly === undefined || op.readOnly === false) return {};
  if (op.readOnly === true) return { readOnly: true };
  throw new BadRequestError('op.readOnly: expected true or false');
}

export function parseFaultCommand(value: unknown): FaultCommand {
  const command = expectObject(value, 'fault');
  switch (command.kind) {
    case 'pause':
    case 'resume':
      return { kind: command.kind };
    case 'disconnect':
    case 'reconnect':
      return { kind: command.kind, peerId: expectNonEmptyString(command, 'peerId', 'fault') };
    case 'delay': {
      const ms = command.ms;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        throw new BadRequestError('fault.ms: expected a finite number ≥ 0');
      }
      return { kind: 'delay', ms };
    }
    default:
      throw new BadRequestError('fault.kind: expected pause, resume, disconnect, reconnect or delay');
  }
}

export function parseClientId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new BadRequestError('clientId: expected a non-empty string');
  return value;
}

/** A behaviour id from the catalogue, or null for honest. */
export function parseBehaviourId(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value !== 'string' || !/^[a-z][a-z0-9-]{0,39}$/.test(value)) {
    throw new BadRequestError('behaviour: expected a catalogue id (lowercase letters, digits, -) or null');
  }
  return value;
}

/** setBehaviour's options: `{ exceedF?: boolean }` (`exceedF: true` kept, `false` or absent dropped). */
export function parseSetBehaviourOptions(value: unknown): SetBehaviourOptions {
  if (value === undefined) return {};
  return exceedFOf(expectObject(value, 'options'), 'options');
}

function exceedFOf(object: Json, what: string): SetBehaviourOptions {
  if (object.exceedF === undefined || object.exceedF === false) return {};
  if (object.exceedF === true) return { exceedF: true };
  throw new BadRequestError(`${what}.exceedF: expected true or false`);
}

/** The `POST /api/behaviour` body: `{ "id": "silent" | null, "exceedF"?: true }`. */
export function parseBehaviourBody(value: unknown): { id: string | null; options: SetBehaviourOptions } {
  const body = expectObject(value, 'body');
  return { id: parseBehaviourId(body.id), options: exceedFOf(body, 'body') };
}

/** The `POST /api/revoke` body: `{ "clientId": "…" }`. */
export function parseRevokeBody(value: unknown): string {
  return parseClientId(expectObject(value, 'body').clientId);
}

/**
 * The id of a WebSocket request, or null when it has none (then the error reply carries id null).
 * Read separately from the rest so that a request with a good id and bad arguments gets an error
 * reply the client can match to its call.
 */
export function requestIdOf(value: unknown): number | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const id = (value as Json).id;
  return typeof id === 'number' && Number.isSafeInteger(id) ? id : null;
}

export type ParsedCall =
  | { readonly call: 'snapshot' }
  | { readonly call: 'submit'; readonly op: LabOp }
  | { readonly call: 'fault'; readonly command: FaultCommand }
  | { readonly call: 'revokeClient'; readonly clientId: string }
  | { readonly call: 'behaviours' }
  | { readonly call: 'setBehaviour'; readonly id: string | null; readonly options: SetBehaviourOptions }
  | { readonly call: 'room'; readonly query: RoomQuery }
  | { readonly call: 'roomExercise'; readonly command: RoomExerciseCommand };

/** A WebSocket request `{ id, call, args }` whose id has already been read with requestIdOf. */
export function parseWsRequest(value: unknown): ParsedCall {
  const request = expectObject(value, 'request') as Partial<Record<keyof LabWsRequest, unknown>>;
  const call = request.call;
  const calls: readonly string[] = [...LAB_API_CALLS, ...LAB_WS_ONLY_CALLS];
  if (typeof call !== 'string' || !calls.includes(call)) {
    throw new BadRequestError(`call: expected one of ${calls.join(', ')}`);
  }
  const args = request.args ?? [];
  if (!Array.isArray(args)) throw new BadRequestError('args: expected an array');
  const expectArgs = (count: number, most = count): void => {
    if (args.length < count || args.length > most)
      throw new BadRequestError(
        `${call}: expected ${count === most ? count : `${count} or ${most}`} argument(s), got ${args.length}`,
      );
  };
  switch (call as LabWsCall) {
    case 'snapshot':
      expectArgs(0);
      return { call: 'snapshot' };
    case 'submit':
      expectArgs(1);
      return { call: 'submit', op: parseLabOp(args[0]) };
    case 'fault':
      expectArgs(1);
      return { call: 'fault', command: parseFaultCommand(args[0]) };
    case 'revokeClient':
      expectArgs(1);
      return { call: 'revokeClient', clientId: parseClientId(args[0]) };
    case 'behaviours':
      expectArgs(0);
      return { call: 'behaviours' };
    case 'setBehaviour':
      expectArgs(1, 2);
      return { call: 'setBehaviour', id: parseBehaviourId(args[0]), options: parseSetBehaviourOptions(args[1]) };
    case 'room':
      expectArgs(0, 1);
      return { call: 'room', query: parseRoomQuery(args[0]) };
    case 'roomExercise':
      expectArgs(1);
      return { call: 'roomExercise', command: parseRoomExerciseCommand(args[0]) };
  }
}

/** `{ kind: 'status' | 'advance' | 'stop' }` or `{ kind: 'start', exerciseId }` (an id's shape only). */
export function parseRoomExerciseCommand(value: unknown): RoomExerciseCommand {
  const command = expectObject(value, 'command');
  switch (command.kind) {
    case 'status':
    case 'advance':
    case 'stop':
      return { kind: command.kind };
    case 'start': {
      const exerciseId = expectString(command, 'exerciseId', 'command');
      if (!/^[a-z][a-z0-9-]{0,63}$/.test(exerciseId))
        throw new BadRequestError('command.exerciseId: expected an exercise id (lowercase letters, digits, -)');
      return { kind: 'start', exerciseId };
    }
    default:
      throw new BadRequestError('command.kind: expected status, start, advance or stop');
  }
}

/** `{ after?, limit? }`: non-negative integers. */
export function parseRoomQuery(value: unknown): RoomQuery {
  if (value === undefined || value === null) return {};
  const object = expectObject(value, 'query');
  const count = (key: string): number | undefined => {
    const v = object[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw new BadRequestError(`query.${key}: expected a non-negative integer`);
    return v;
  };
  return { after: count('after'), limit: count('limit') };
}

function expectObject(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BadRequestError(`${what}: expected a JSON object`);
  }
  return value as Json;
}

function expectString(object: Json, key: string, what: string): string {
  const value = object[key];
  if (typeof value !== 'string') throw new BadRequestError(`${what}.${key}: expected a string`);
  return value;
}

function expectNonEmptyString(object: Json, key: string, what: string): string {
  const value = expectString(object, key, what);
  if (value.length === 0) throw new BadRequestError(`${what}.${key}: expected a non-empty string`);
  return value;
}

function optionalString(object: Json, key: string, what: string): string | undefined {
  return object[key] === undefined ? undefined : expectString(object, key, what);
}
