// Whether node_modules/electron holds a whole Electron binary, and getting one when it does not.
//
// The electron package's own check (install.js `isInstalled`) looks at three things: dist/version,
// path.txt and the executable. An interrupted download or extraction can leave all three in place and
// the rest missing or cut short (path.txt from an earlier version stays behind; an unzip stopped
// halfway leaves the files it reached), and `npm start` then dies in Chromium with an obscure error.
// So this also checks the files every Electron build of the platform ships, each non-empty, and its
// main binary of a plausible size (the executable; on macOS the framework, as the executable there is
// a launcher of a few hundred kilobytes); a dist that fails is removed before the download runs again, so
// install.js extracts it afresh (from its cache, where @electron/get keeps only checksum-verified zips).
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The executable inside dist/, as electron/install.js names it. */
export function platformPath(platform = process.platform) {
  switch (platform) {
    case 'darwin':
      return 'Electron.app/Contents/MacOS/Electron';
    case 'win32':
      return 'electron.exe';
    default:
      return 'electron';
  }
}

/** Files (beside the executable) every Electron build for the platform has in dist/. */
export function requiredDistFiles(platform = process.platform) {
  const common = ['version', 'LICENSES.chromium.html'];
  switch (platform) {
    case 'darwin':
      return [
        ...common,
        'Electron.app/Contents/Info.plist',
        'Electron.app/Contents/Resources/default_app.asar',
        MAC_FRAMEWORK_BINARY,
      ];
    case 'win32':
      return [
        ...common,
        'resources.pak',
        'icudtl.dat',
        'v8_context_snapshot.bin',
        'ffmpeg.dll',
        'locales/en-US.pak',
        'resources/default_app.asar',
      ];
    default:
      return [
        ...common,
        'chrome-sandbox',
        'resources.pak',
        'icudtl.dat',
        'v8_context_snapshot.bin',
        'libffmpeg.so',
        'locales/en-US.pak',
        'resources/default_app.asar',
      ];
  }
}

/** Where a macOS build keeps Chromium and Node (the executable only loads it). */
const MAC_FRAMEWORK_BINARY =
  'Electron.app/Contents/Frameworks/Electron Framework.framework/Versions/A/Electron Framework';

/**
 * The file that holds Electron's code: tens of megabytes, so a smaller one was cut short. On macOS
 * that is the framework; its executable is a small launcher.
 */
export function mainBinary(platform = process.platform) {
  return platform === 'darwin' ? MAC_FRAMEWORK_BINARY : platformPath(platform);
}

/** A main binary smaller than this was cut short. */
const MAIN_BINARY_MIN_BYTES = 1_000_000;

/**
 * @param {string} electronDir node_modules/electron
 * @param {{ version: string, platform?: NodeJS.Platform }} expected
 * @returns {{ state: 'complete' } | { state: 'missing' } | { state: 'incomplete', reason: string }}
 */
export function electronDistState(electronDir, expected) {
  const platform = expected.platform ?? process.platform;
  const dist = join(electronDir, 'dist');
  const pathTxt = join(electronDir, 'path.txt');
  if (!existsSync(pathTxt) && !existsSync(dist)) return { state: 'missing' };
  if (!existsSync(pathTxt))
    return { state: 'incomplete', reason: 'dist/ without path.txt (the extraction did not finish)' };
  const executable = readFileSync(pathTxt, 'utf8');
  if (executable !== platformPath(platform))
    return { state: 'incomplete', reason: `path.txt names ${executable}, not ${platformPath(platform)}` };
  let version = null;
  try {
    version = readFileSync(join(dist, 'version'), 'utf8').trim().replace(/^v/, '');
  } catch {
    // below
  }
  if (version !== expected.version)
    return { state: 'incomplete', reason: `dist/version is ${version ?? 'missing'}, not ${expected.version}` };
  for (const file of [executable, ...requiredDistFiles(platform)]) {
    let size;
    try {
      size = statSync(join(dist, file)).size;
    } catch {
      return { state: 'incomplete', reason: `dist/${file} is missing` };
    }
    if (size === 0) return { state: 'incomplete', reason: `dist/${file} is empty` };
    if (file === mainBinary(platform) && size < MAIN_BINARY_MIN_BYTES)
      return { state: 'incomplete', reason: `dist/${file} has only ${size} bytes` };
  }
  return { state: 'complete' };
}

/**
 * Makes sure a whole Electron binary is there: nothing to do if it is; otherwise removes an
 * incomplete one, runs the download (`runInstall`, electron's install.js), and checks the result.
 * @param {{ electronDir: string, version: string, platform?: NodeJS.Platform,
 *   runInstall: () => number | null, log: (line: string) => void }} options
 * @returns {{ ok: true } | { ok: false, reason: string }}
 */
export function ensureElectronDist(options) {
  const expected = { version: options.version, platform: options.platform };
  const before = electronDistState(options.electronDir, expected);
  if (before.state === 'complete') return { ok: true };
  if (before.state === 'incomplete') {
    options.log(
      `The Electron binary in ${options.electronDir} is incomplete (${before.reason}): downloading it again…`,
    );
    rmSync(join(options.electronDir, 'dist'), { recursive: true, force: true });
    rmSync(join(options.electronDir, 'path.txt'), { force: true });
  } else {
    options.log('Downloading the Electron binary (first start only)…');
  }
  const status = options.runInstall();
  if (status !== 0) return { ok: false, reason: `the download failed (exit code ${status})` };
  const after = electronDistState(options.electronDir, expected);
  if (after.state === 'complete') return { ok: true };
  return { ok: false, reason: after.state === 'missing' ? 'nothing was installed' : after.reason };
}
