/**
 * The headless replica as one prebuilt JavaScript file (`npm run build:replica` → out/replica/main.mjs):
 * core/cli/replica-main.ts with every dependency bundled in. A replica process that loads it skips
 * Node's type stripping and hundreds of module files, most of its memory at rest (docs/performance.md,
 * Memory). Beside it, sources.json stamps every file the bundle was built from; bin/pbft-lab.mjs
 * runs the bundle only while they are all unchanged, and the TypeScript sources otherwise.
 */
import { relative, resolve, sep } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import { fileStamp, type FileStamp } from './bin/replica-runtime.mjs';

const root = import.meta.dirname;

function sourcesManifest(): Plugin {
  return {
    name: 'pbft-lab:replica-sources',
    generateBundle() {
      const files: Record<string, FileStamp> = {};
      for (const id of [...this.getModuleIds()].sort()) {
        // Real files only: not node: built-ins nor virtual modules (\0…).
        if (!id.startsWith(root + sep)) continue;
        files[relative(root, id).split(sep).join('/')] = fileStamp(id);
      }
      this.emitFile({ type: 'asset', fileName: 'sources.json', source: JSON.stringify({ files }, null, 1) });
    },
  };
}

export default defineConfig({
  publicDir: false,
  logLevel: 'warn',
  build: {
    ssr: resolve(root, 'core/cli/replica-main.ts'),
    outDir: resolve(root, 'out/replica'),
    emptyOutDir: true,
    target: 'node22',
    minify: false,
    sourcemap: true,
    reportCompressedSize: false,
    rolldownOptions: {
      output: {
        format: 'es',
        entryFileNames: 'main.mjs',
        // V8 keeps a module's source in memory: ASCII-only source is stored at one byte per character
        // instead of two, and without JSDoc it is ~20 % shorter (3.2 → 1.3 MiB of heap).
        charset: 'ascii',
        comments: { legal: true, annotation: true, jsdoc: false },
      },
    },
  },
  plugins: [sourcesManifest()],
  // Bundle the dependencies too (libp2p, noise, yamux, ws…): loading hundreds of small files costs
  // more memory than the code itself.
  ssr: { noExternal: true, target: 'node' },
});
