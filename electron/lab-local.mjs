// `npm run lab:local`: the lab on one laptop, with no network at all. Starts four desktop instances
// (or --size 7 or 10), each with a user-data directory of its own (its own identity, settings and
// single-instance lock), all in one local-only cluster: they listen on 127.0.0.1 and find each other
// on ports derived from the cluster key (electron/lab-process/local-ports.ts), without mDNS.
//
//   npm run lab:local                 four instances; the same cluster again next time
//   npm run lab:local -- --size 7     seven
//   npm run lab:local -- --fresh      a new cluster (forgets the old one's data)
//   npm run lab:local -- --dir DIR    keep the instances' data in DIR
//
// Ctrl-C quits them all (each stops its replica first). Closing one window quits that instance only;
// run the command again to bring it back (it rejoins as the same replica).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const projectDir = resolve(import.meta.dirname, '..');

/**
 * The command line of each instance of a local cluster: its user-data directory and the app's
 * switches. The tests start the stubbed app with exactly these (test/desktop-local-cluster.test.ts).
 * @param {{ dir: string, cluster: string, size: number, joinCode: string }} lab
 * @returns {{ machine: number, userDataDir: string, args: string[] }[]}
 */
export function labLocalInstances(lab) {
  return Array.from({ length: lab.size }, (_, i) => ({
    machine: i + 1,
    userDataDir: join(lab.dir, `machine-${i + 1}`),
    args: ['--cluster', lab.cluster, '--size', String(lab.size), '--cluster-key', lab.joinCode, '--local'],
  }));
}

/** @param {NodeJS.ProcessEnv} env */
export function defaultLabLocalDir(env = process.env) {
  const cache = env.PBFT_LAB_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'pbft-lab');
  return join(cache, 'lab-local');
}

/**
 * The lab's cluster: the one in DIR/cluster.json, or a new one (written there, mode 0600: it holds
 * the join code).
 * @param {string} dir
 * @param {number} size
 * @returns {Promise<{ dir: string, cluster: string, size: number, joinCode: string }>}
 */
export async function labLocalCluster(dir, size) {
  const file = join(dir, 'cluster.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    if (saved.size === size) return { dir, ...saved };
    throw new Error(`${dir} holds a cluster of ${saved.size}, not ${size}: add --fresh for a new one, or --dir DIR`);
  }
  const { ClusterKey } = await import(pathToFileURL(join(projectDir, 'core', 'net', 'cluster-key.ts')).href);
  const lab = {
    cluster: `local-${Math.random().toString(16).slice(2, 8)}`,
    size,
    joinCode: ClusterKey.generate().joinCode,
  };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(lab, null, 2) + '\n', { mode: 0o600 });
  return { dir, ...lab };
}

async function main() {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '4' },
      dir: { type: 'string' },
      fresh: { type: 'boolean', default: false },
    },
  });
  const size = Number(values.size);
  if (![4, 7, 10].includes(size)) throw new Error(`--size must be 4, 7 or 10, got "${values.size}"`);
  const dir = resolve(values.dir ?? defaultLabLocalDir());
  if (values.fresh) rmSync(dir, { recursive: true, force: true });

  const ensure = spawnSync(process.execPath, [join(projectDir, 'electron', 'ensure-binary.mjs')], { stdio: 'inherit' });
  if (ensure.status !== 0) process.exit(ensure.status ?? 1);
  console.log('Building the app (electron-vite build)…');
  const build = spawnSync(
    process.execPath,
    [join(projectDir, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'],
    {
      cwd: projectDir,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);

  const lab = await labLocalCluster(dir, size);
  const require = createRequire(import.meta.url);
  /** @type {string} */
  const electron = require('electron');
  console.log(`cluster "${lab.cluster}" of ${size} on this machine only; data in ${dir}`);
  console.log(`join code: ${lab.joinCode}`);
  const children = labLocalInstances(lab).map(({ machine, userDataDir, args }) => {
    const child = spawn(electron, [projectDir, `--user-data-dir=${userDataDir}`, ...args], {
      cwd: projectDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream.setEncoding('utf8');
      stream.on('data', (/** @type {string} */ chunk) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) console.log(`[${machine}] ${line}`);
      });
    }
    child.on('exit', (code, signal) => console.log(`[${machine}] exited (${signal ?? code})`));
    return child;
  });
  const stop = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
