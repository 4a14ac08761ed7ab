/**
 * The main-process side of the bridge: one `ipcMain.handle` per channel of the shared map, and the
 * `lab:listen` message that starts a page's event stream. Takes `ipcMain` as a parameter
 * (types only from `electron`), so it is tested with a fake.
 */
import type { IpcMain, IpcMainEvent, IpcMainInvokeEvent } from 'electron';
import {
  BadRequestError,
  parseBehaviourId,
  parseClientId,
  parseRoomQuery,
  parseSetBehaviourOptions,
  parseFaultCommand,
  parseLabOp,
} from '../../core/host/api-server-validate.ts';
import { errorInfo } from '../../core/host/api-server-ws.ts';
import type { LabApi } from '../../core/host/lab-api.ts';
import { labListenChannel } from '../shared/ipc.ts';
import type { LabChannel, LabChannelArgs, LabHandlers, LabIpcReply } from '../shared/ipc.ts';
import type { AppChannel, AppHandlers, AppIpc, CreateClusterRequest, JoinClusterRequest } from '../shared/app-setup.ts';

/** A frame that is not the app's own page invoked a channel. */
export class UntrustedSenderError extends Error {
  override name = 'UntrustedSenderError';

  constructor(channel: string, senderUrl: string | undefined) {
    super(`refused ${channel}: sender ${senderUrl ?? '(no frame)'} is not the app`);
  }
}

/**
 * Arguments arrive from the renderer as structured clones and are not trusted. Each channel's
 * parser checks the count and shape with the validators the headless host's HTTP/WebSocket server
 * uses (api-server-validate.ts), and returns fresh values holding only the declared fields.
 */
export type LabArgParsers = {
  readonly [C in LabChannel]: (args: readonly unknown[]) => LabChannelArgs<C>;
};

export const labArgParsers: LabArgParsers = {
  'lab:version': (args) => noArgs('version', args),
  'lab:snapshot': (args) => noArgs('snapshot', args),
  'lab:submit': (args) => [parseLabOp(oneArg('submit', args))],
  'lab:fault': (args) => [parseFaultCommand(oneArg('fault', args))],
  'lab:revokeClient': (args) => [parseClientId(oneArg('revokeClient', args))],
  'lab:behaviours': (args) => noArgs('behaviours', args),
  'lab:setBehaviour': (args) => {
    expectArgs('setBehaviour', args, 1, 2);
    return args.length === 1
      ? [parseBehaviourId(args[0])]
      : [parseBehaviourId(args[0]), parseSetBehaviourOptions(args[1])];
  },
  'lab:room': (args) => {
    expectArgs('room', args, 0, 1);
    return args.length === 0 ? [] : [parseRoomQuery(args[0])];
  },
};

function noArgs(call: string, args: readonly unknown[]): [] {
  expectArgs(call, args, 0);
  return [];
}

function oneArg(call: string, args: readonly unknown[]): unknown {
  expectArgs(call, args, 1);
  return args[0];
}

/** Same wording as the WebSocket server's arity check. */
function expectArgs(call: string, args: readonly unknown[], count: number, most = count): void {
  if (args.length < count || args.length > most)
    throw new BadRequestError(
      `${call}: expected ${count === most ? count : `${count} or ${most}`} argument(s), got ${args.length}`,
    );
}

/** The handlers for a host: each LabApi channel calls the method of the same name. */
export function labHandlersFor(api: LabApi, version: () => string): LabHandlers {
  return {
    'lab:version': version,
    'lab:snapshot': () => api.snapshot(),
    'lab:submit': (op) => api.submit(op),
    'lab:fault': (command) => api.fault(command),
    'lab:revokeClient': (clientId) => api.revokeClient(clientId),
    'lab:behaviours': () => api.behaviours(),
    'lab:setBehaviour': (id, options) => api.setBehaviour(id, options),
    'lab:room': (query) => api.room(query),
  };
}

/** What registerLabEventControl uses of ipcMain (its own `this`-returning signatures aside). */
export interface IpcMainListeners {
  on(channel: string, listener: (event: IpcMainEvent, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: IpcMainEvent, ...args: unknown[]) => void): unknown;
}

type SenderEvent = Pick<IpcMainInvokeEvent | IpcMainEvent, 'senderFrame'>;

function senderUrlOf(event: SenderEvent): string | undefined {
  // senderFrame is null once the frame has navigated away or been destroyed.
  return event.senderFrame?.url;
}

/**
 * Registers every handler and returns a function that removes them again.
 *
 * A call is answered only when `isTrustedSender` accepts the URL of the frame that sent it; other
 * frames get an UntrustedSenderError (a plain invoke rejection: they learn nothing else). A call
 * from the app resolves to a LabIpcReply: its arguments are parsed first, and a parse error or an
 * error of the host becomes `{ ok: false, error: { name, message } }` (never a stack).
 */
export function registerLabHandlers(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: LabHandlers,
  isTrustedSender: (senderUrl: string) => boolean,
  parsers: LabArgParsers = labArgParsers,
): () => void {
  return registerChannels(ipcMain, handlers, parsers, isTrustedSender);
}

/**
 * The start screen's calls, `app:*` (electron/shared/app-setup.ts), registered like the LabApi's:
 * trusted senders only, arguments parsed, errors as data.
 */
export function registerAppHandlers(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: AppHandlers,
  isTrustedSender: (senderUrl: string) => boolean,
): () => void {
  return registerChannels(ipcMain, handlers, appArgParsers, isTrustedSender);
}

/** The app's arguments: a request object for create and join (checked field by field in cluster-setup.ts), none else. */
export const appArgParsers: { readonly [C in AppChannel]: (args: readonly unknown[]) => AppIpc[C]['args'] } = {
  'app:state': (args) => noArgs('state', args),
  'app:createCluster': (args) => [requestObject('createCluster', args) as unknown as CreateClusterRequest],
  'app:joinCluster': (args) => [requestObject('joinCluster', args) as unknown as JoinClusterRequest],
  'app:rejoin': (args) => noArgs('rejoin', args),
  'app:changeCluster': (args) => noArgs('changeCluster', args),
  'app:chooseDataDir': (args) => noArgs('chooseDataDir', args),
};

function requestObject(call: string, args: readonly unknown[]): Record<string, unknown> {
  expectArgs(call, args, 1);
  const request = args[0];
  if (typeof request !== 'object' || request === null || Array.isArray(request))
    throw new BadRequestError(`${call}: expected a request object`);
  return request as Record<string, unknown>;
}

function registerChannels(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: object,
  parsers: object,
  isTrustedSender: (senderUrl: string) => boolean,
): () => void {
  const channels = Object.keys(handlers);
  for (const channel of channels) {
    const handler = (handlers as Record<string, (...args: unknown[]) => unknown>)[channel]!;
    const parse = (parsers as Record<string, (args: readonly unknown[]) => unknown[]>)[channel]!;
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]): Promise<LabIpcReply<unknown>> => {
      const senderUrl = senderUrlOf(event);
      if (senderUrl === undefined || !isTrustedSender(senderUrl)) {
        throw new UntrustedSenderError(channel, senderUrl);
      }
      try {
        return { ok: true, value: await handler(...parse(args)) };
      } catch (error) {
        return { ok: false, error: errorInfo(error) };
      }
    });
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}

/**
 * Listens for `lab:listen` from trusted frames and reports which renderer (`webContents.id`) asked
 * for events. Messages from other frames are ignored (and logged). Returns a function that stops
 * listening.
 */
export function registerLabEventControl(
  ipcMain: IpcMainListeners,
  isTrustedSender: (senderUrl: string) => boolean,
  onListen: (webContentsId: number) => void,
  log: (line: string) => void,
): () => void {
  const listener = (event: IpcMainEvent): void => {
    const senderUrl = senderUrlOf(event);
    if (senderUrl === undefined || !isTrustedSender(senderUrl)) {
      log(new UntrustedSenderError(labListenChannel, senderUrl).message);
      return;
    }
    onListen(event.sender.id);
  };
  ipcMain.on(labListenChannel, listener);
  return () => {
    ipcMain.removeListener(labListenChannel, listener);
  };
}
