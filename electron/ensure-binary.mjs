// `npm start` runs this first. The Electron npm package downloads its binary in an install script,
// which this project does not let npm run on install (package.json "allowScripts": some machines,
// CI among them, cannot reach the download). Here, on first start, it is fetched once.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const electronDir = dirname(require.resolve('electron/package.json'));
if (!existsSync(join(electronDir, 'path.txt'))) {
  console.log('Downloading the Electron binary (first start only)…');
  const result = spawnSync(process.execPath, [join(electronDir, 'install.js')], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(
      [
        '',
        'Could not download Electron, so the desktop app cannot start. Everything else works without it:',
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
    process.exit(result.status ?? 1);
  }
}
