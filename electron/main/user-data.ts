/**
 * Where this app instance keeps its user data (Electron's `userData`: the remembered cluster, the
 * start screen's data directories, Chromium's profile) and so which single-instance lock it takes.
 *
 * - `--user-data-dir DIR`: that directory. Several instances on one machine each need their own
 *   (`npm run lab:local` gives each one); the lock is per user-data directory.
 * - `npm start` (not packaged): `<appData>/PBFT Lab (development)`, so a development run never
 *   shares an identity, a cluster or the lock with the installed app.
 * - the installed app: Electron's default, `<appData>/PBFT Lab` (package.json `productName`).
 */
import { isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const DEVELOPMENT_USER_DATA_NAME = 'PBFT Lab (development)';

/** The directory to give `app.setPath('userData', …)` before anything else, or null for Electron's default. */
export function userDataDirFor(options: {
  readonly argv: readonly string[];
  readonly isPackaged: boolean;
  readonly appDataDir: string;
  /** @default process.cwd() */
  readonly cwd?: string;
}): string | null {
  const { values } = parseArgs({
    args: [...options.argv],
    options: { 'user-data-dir': { type: 'string' } },
    strict: false,
    allowPositionals: true,
  });
  const given = values['user-data-dir'];
  if (typeof given === 'string' && given !== '')
    return isAbsolute(given) ? given : resolve(options.cwd ?? process.cwd(), given);
  if (!options.isPackaged) return join(options.appDataDir, DEVELOPMENT_USER_DATA_NAME);
  return null;
}

/** What a second launch on the same user data prints before it quits (the first one comes forward). */
export function secondInstanceMessage(userDataDir: string): string {
  return (
    `PBFT Lab is already running with the user data in ${userDataDir}; its window has been brought forward. ` +
    'To run another instance on this machine, give it user data of its own: --user-data-dir DIR ' +
    '(npm run lab:local starts four that way).'
  );
}
