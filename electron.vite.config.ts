import { resolve } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { contentSecurityPolicy } from './electron/main/csp.ts';

const root = import.meta.dirname;

/** Injects the renderer's CSP as a <meta> tag, so the built page carries it whoever serves it (csp.ts). */
function contentSecurityPolicyMeta(): Plugin {
  return {
    name: 'pbft-lab:csp-meta',
    transformIndexHtml: {
      order: 'pre',
      handler: (_html, context) => [
        {
          tag: 'meta',
          attrs: {
            'http-equiv': 'Content-Security-Policy',
            content: contentSecurityPolicy(context.server ? 'development' : 'production'),
          },
          injectTo: 'head-prepend',
        },
      ],
    },
  };
}

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      // libp2p 3 is ESM-only: main is an ES module (package.json "type": "module", "main": out/main/index.js).
      // Dependencies stay external and are loaded from node_modules at run time.
      externalizeDeps: true,
      rolldownOptions: {
        // Main, and the lab process it forks as a utility process (the replica runs there, not in main).
        input: {
          index: resolve(root, 'electron/main/index.ts'),
          'lab-process': resolve(root, 'electron/lab-process/index.ts'),
        },
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      // A sandboxed preload is CommonJS and may require only `electron`: bundle everything else.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [vue(), contentSecurityPolicyMeta()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      // The headless replica serves this bundle over the LAN: keep it small.
      minify: true,
      rolldownOptions: {
        input: { index: resolve(root, 'renderer/index.html') },
      },
    },
  },
});
