/**
 * `node --import ./electron/test-support/register-electron-stub.ts out/main/index.js` runs the
 * built main process under Node, with `electron` resolved to electron-stub.ts. Every other import
 * resolves as it would in the packaged app: from out/main, through node_modules.
 */
import { registerHooks } from 'node:module';

const stubUrl = new URL('./electron-stub.ts', import.meta.url).href;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'electron') return { url: stubUrl, shortCircuit: true };
    return nextResolve(specifier, context);
  },
});
