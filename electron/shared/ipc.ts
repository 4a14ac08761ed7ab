/**
 * The one channel map between the renderer and the main process.
 *
 * Every call the dashboard can make is a channel here: its arguments and its result. The preload
 * exposes one function per channel (the part after `lab:`), and the main process registers one
 * handler per channel; both are typed from this map, so a channel added here is a compile error
 * until both sides implement it.
 *
 * This file is shared by main, preload and renderer: it must stay free of runtime imports
 * (no `electron`, no Node, no DOM).
 */
export interface LabIpc {
  /** The application version (package.json `version`). */
  'lab:version': { args: []; result: string };
}

export type LabChannel = keyof LabIpc;
export type LabArgs<C extends LabChannel> = LabIpc[C]['args'];
export type LabResult<C extends LabChannel> = LabIpc[C]['result'];

/** `lab:version` → `version`: the name the preload gives the channel on `window.pbftLab`. */
export type LabMethodName<C extends LabChannel> = C extends `lab:${infer Method}` ? Method : never;

/** What the preload exposes as `window.pbftLab`: one async function per channel. */
export type LabBridge = {
  readonly [C in LabChannel as LabMethodName<C>]: (...args: LabArgs<C>) => Promise<LabResult<C>>;
};

/** What the main process implements: one handler per channel, sync or async. */
export type LabHandlers = {
  readonly [C in LabChannel]: (...args: LabArgs<C>) => LabResult<C> | Promise<LabResult<C>>;
};

/** The name under which the preload exposes the bridge (renderer/src/env.d.ts types `window` from it). */
export const labBridgeKey = 'pbftLab';
