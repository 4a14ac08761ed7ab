// `npm run measure:asar`: what the packaged app's app.asar holds, without the Electron binary.
//
// electron-builder packages the built app (out/, after `npm run build`) for Linux into a directory,
// exactly as `electron-builder --dir` would, except that the Electron it copies is a stand-in
// directory (electronDist): the binary cannot be downloaded everywhere, and the asar does not depend
// on it. Fuses are left out for the same reason (flipping them needs the real binary). Then the
// asar's own header is read, and its size printed with the largest packages in it.
//
// A worktree whose node_modules is a symbolic link confuses electron-builder's dependency walk (it
// finds packages under the link's target, not the project): then the project is staged in a
// temporary directory with a real copy of node_modules first.
import { cpSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const projectDir = resolve(import.meta.dirname, '..');

/**
 * The files in an asar archive with their sizes, from its header (Chromium's pickle: a 4-byte
 * size, the header's size, then a JSON tree of files).
 * @param {string} file
 * @returns {{ path: string, size: number }[]}
 */
export function asarFiles(file) {
  const bytes = readFileSync(file);
  const jsonLength = bytes.readUInt32LE(12);
  const header = JSON.parse(bytes.subarray(16, 16 + jsonLength).toString('utf8'));
  /** @type {{ path: string, size: number }[]} */
  const files = [];
  /** @param {any} node @param {string} path */
  const walk = (node, path) => {
    if (node.files)
      for (const [name, child] of Object.entries(node.files)) walk(child, path ? `${path}/${name}` : name);
    else files.push({ path, size: node.size ?? 0 });
  };
  walk(header, '');
  return files;
}

/** @param {{ path: string, size: number }[]} files */
export function bySizeOfPackage(files) {
  /** @type {Map<string, number>} */
  const sizes = new Map();
  for (const { path, size } of files) {
    const parts = path.split('/');
    const key =
      parts[0] === 'node_modules' ? (parts[1]?.startsWith('@') ? parts.slice(1, 3).join('/') : parts[1]) : parts[0];
    sizes.set(key ?? path, (sizes.get(key ?? path) ?? 0) + size);
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'pbft-lab-asar-'));
  try {
    let dir = projectDir;
    if (lstatSync(join(projectDir, 'node_modules')).isSymbolicLink()) {
      dir = join(scratch, 'project');
      mkdirSync(dir);
      for (const entry of ['package.json', 'package-lock.json', 'electron-builder.yml', 'resources', 'out'])
        cpSync(join(projectDir, entry), join(dir, entry), { recursive: true });
      console.log('node_modules is a link: copying it to a staging directory…');
      cpSync(realpathSync(join(projectDir, 'node_modules')), join(dir, 'node_modules'), {
        recursive: true,
        verbatimSymlinks: true,
      });
    }
    const fakeElectron = join(scratch, 'electron-dist');
    mkdirSync(join(fakeElectron, 'resources'), { recursive: true });
    writeFileSync(join(fakeElectron, 'electron'), '#!/bin/sh\n', { mode: 0o755 });
    const require = createRequire(join(dir, 'package.json'));
    const electronVersion = require('electron/package.json').version;
    writeFileSync(join(fakeElectron, 'version'), electronVersion);
    const builder = require('electron-builder');
    const yaml = require('js-yaml');
    const config = yaml.load(readFileSync(join(dir, 'electron-builder.yml'), 'utf8'));
    const output = join(scratch, 'release');
    await builder.build({
      projectDir: dir,
      targets: builder.Platform.LINUX.createTarget('dir'),
      config: {
        ...config,
        electronFuses: null,
        electronDist: fakeElectron,
        electronVersion,
        directories: { ...config.directories, output },
      },
    });
    const asar = join(output, 'linux-unpacked', 'resources', 'app.asar');
    const files = asarFiles(asar);
    const total = lstatSync(asar).size;
    console.log(`app.asar: ${(total / 1e6).toFixed(1)} MB (${total} bytes), ${files.length} files`);
    for (const [name, size] of bySizeOfPackage(files).slice(0, 15))
      console.log(`  ${(size / 1024).toFixed(0).padStart(7)} KiB  ${name}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
