/**
 * The main-process side of the bridge: one `ipcMain.handle` per channel of the shared map.
 * Takes `ipcMain` as a parameter (types only from `electron`), so it is tested with a fake.
 */
import type { IpcMain, IpcMainInvokeEvent } from 'electron';
import type { LabChannel, LabHandlers } from '../shared/ipc.ts';

/** A frame that is not the app's own page invoked a channel. */
export class UntrustedSenderError extends Error {
  override name = 'UntrustedSenderError';

  constructor(channel: LabChannel, senderUrl: string | undefined) {
    super(`refused ${channel}: sender ${senderUrl ?? '(no frame)'} is not the app`);
  }
}

/**
 * Registers every handler and returns a function that removes them again.
 * A call is answered only when `isTrustedSender` accepts the URL of the frame that sent it
 * (a navigated-away or embedded frame gets an UntrustedSenderError instead).
 *
 * Arguments arrive from the renderer as structured clones and are not trusted: once a channel
 * takes arguments, its handler validates them before use.
 */
export function registerLabHandlers(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: LabHandlers,
  isTrustedSender: (senderUrl: string) => boolean,
): () => void {
  const channels = Object.keys(handlers) as LabChannel[];
  for (const channel of channels) {
    const handler: (...args: never[]) => unknown = handlers[channel];
    ipcMain.handle(channel, (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      const senderUrl = event.senderFrame?.url;
      if (senderUrl === undefined || !isTrustedSender(senderUrl)) {
        throw new UntrustedSenderError(channel, senderUrl);
      }
      return handler(...(args as never[]));
    });
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
