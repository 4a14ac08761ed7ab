/** The simulator's environment on Node: node:crypto (fast keyed-hash signatures, or real Ed25519) and the file store. */
import { FileStore } from '../app/file-store.ts';
import { simulatedCrypto } from '../crypto/node.ts';
import type { SimEnvironment } from '../sim/simulation.ts';

export function nodeSimEnvironment(cryptoMode: 'fast' | 'ed25519' = 'fast'): SimEnvironment {
  return {
    crypto: (n, seed) => simulatedCrypto(n, seed, cryptoMode),
    app: (hasher) => new FileStore(hasher),
  };
}
