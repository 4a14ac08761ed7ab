// `npm start` runs this first. The Electron npm package downloads its binary in an install script,
// which this project does not let npm run on install (package.json "allowScripts": some machines,
// CI among them, cannot reach the download). Here, on first start, it is fetched once; a binary an
// interrupted download or extraction left incomplete is detected and fetched again
// (electron-dist.mjs).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensureElectronDist } from './electron-dist.mjs';

const require = createRequire(import.meta.url);
const electronDir = dirname(require.resolve('electron/package.json'));
const { version } = JSON.parse(readFileSync(join(electronDir, 'package.json'), 'utf8'));
const result = ensureElectronDist({
  electronDir,
  version,
  runInstall: () => spawnSync(process.execPath, [join(electronDir, 'install.js')], { stdio: 'inherit' }).status,
  log: (line) => console.log(line),
});
if (!result.ok) {
  console.error(
    [
      '',
      `Could not download Electron (${result.reason}), so the desktop app cannot start. Everything else works without it:`,
      '',
      '  npx pbft-lab demo        four replicas on this machine, each with its dashboard in the browser',
      '',
      'To download Electron from a mirror, set ELECTRON_MIRROR and start again, e.g.',
      '',
      '  ELECTRON_MIRROR=https://mirror.example/electron/ npm start   (the mirror your site uses)',
      '',
      'See README.md ("The two commands").',
    ].join('\n'),
  );
  process.exit(1);
}
