/**
 * The one channel map between the renderer and the main process.
 *
 * Every call the dashboard can make is a channel here: its arguments and its result. The preload
 * exposes one function per channel (the part after `lab:`), and the main process registers one
 * handler per channel; both are typed from this map, so a channel added here is a compile error
 * until both sides implement it. The calls are the LabApi's (core/host/lab-api.ts), plus `version`.
 *
 * This file is shared by main, preload and renderer: it must stay free of runtime imports
 * (no `electron`, no Node, no DOM); type imports are erased.
 */
import type {
  BehaviourInfo,
  FaultCommand,
  LabEvent,
  LabFaults,
  LabOp,
  LabSnapshot,
  RoomQuery,
  RoomState,
  SetBehaviourOptions,
  SubmitOutcome,
} from '../../core/host/lab-api.ts';

/**
 * What the preload exposes as `window.pbftLab`: the LabApi's calls, the app version, and the event
 * stream a batch at a time. The renderer makes a LabApi of it (renderer/src/api/lab.ts), so the
 * dashboard's components run on this bridge and on the headless host's WebSocket
 * (core/host/api-client.ts) alike.
 *
 * Events cross the contextBridge once per batch: every call of a page-world function from the
 * preload world copies its arguments, and one call per event per listener was up to ~40,000 copies
 * a second under a flood. The page fans a batch out to its own listeners.
 *
 * One difference from the WebSocket client: an Error that crosses Electron's contextBridge keeps
 * only its message, so a rejected call carries the host's message but not its error `name`.
 */
export type PbftLabBridge = LabInvokeBridge & {
  /**
   * Batches of events in the order the host emitted them (the first starts the stream: the host's
   * recent history, then live events). Returns the unsubscribe function.
   */
  subscribeBatches(listener: (events: readonly LabEvent[]) => void): () => void;
};

/** Request/response channels (`ipcRenderer.invoke` → `ipcMain.handle`), one per call. */
export interface LabIpc {
  /** The application version (package.json `version`). */
  'lab:version': { args: []; result: string };
  'lab:snapshot': { args: []; result: LabSnapshot };
  'lab:submit': { args: [op: LabOp]; result: SubmitOutcome };
  'lab:fault': { args: [command: FaultCommand]; result: LabFaults };
  'lab:revokeClient': { args: [clientId: string]; result: void };
  'lab:behaviours': { args: []; result: readonly BehaviourInfo[] };
  'lab:setBehaviour': { args: [id: string | null, options?: SetBehaviourOptions]; result: string | null };
  'lab:room': { args: [query?: RoomQuery]; result: RoomState };
}

export type LabChannel = keyof LabIpc;
export type LabChannelArgs<C extends LabChannel> = LabIpc[C]['args'];
export type LabChannelResult<C extends LabChannel> = LabIpc[C]['result'];

/** `lab:version` → `version`: the name the preload gives the channel on `window.pbftLab`. */
export type LabMethodName<C extends LabChannel> = C extends `lab:${infer Method}` ? Method : never;

/** The bridge's request/response part: one async function per channel. */
export type LabInvokeBridge = {
  [C in LabChannel as LabMethodName<C>]: (...args: LabChannelArgs<C>) => Promise<LabChannelResult<C>>;
};

/** What the main process implements: one handler per channel, sync or async, on validated arguments. */
export type LabHandlers = {
  readonly [C in LabChannel]: (...args: LabChannelArgs<C>) => LabChannelResult<C> | Promise<LabChannelResult<C>>;
};

/**
 * What a handled channel resolves to on the wire. Main catches the handler's error and sends its
 * name and message as data: an error thrown through `ipcMain.handle` reaches the renderer wrapped
 * as "Error invoking remote method 'lab:submit': BadRequestError: …". The preload unwraps the
 * reply and rejects with the host's own message.
 */
export type LabIpcReply<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: { readonly name: string; readonly message: string } };

/**
 * The event stream, which is not a call. A page asks for it once, with `lab:listen`, when its first
 * listener subscribes; main then subscribes to the host for that page (the host replays its recent
 * history first, as it does for a new WebSocket connection) and sends batches of LabEvents on
 * `lab:events` until the page goes away. A reloaded page asks again and gets the history again.
 */
export interface LabEventChannels {
  /** main → renderer (`webContents.send`): events in the order the host emitted them. */
  'lab:events': readonly LabEvent[];
  /** renderer → main (`ipcRenderer.send`, no payload): start sending `lab:events` to this page. */
  'lab:listen': [];
}

export const labEventsChannel = 'lab:events' satisfies keyof LabEventChannels;
export const labListenChannel = 'lab:listen' satisfies keyof LabEventChannels;

/** The name under which the preload exposes the bridge: `window.pbftLab`. */
export const labBridgeKey = 'pbftLab';
