/**
 * The patches in patches/ (applied by patch-package at `npm install`) take three per-frame costs out
 * of libp2p's stream path (docs/networking.md, "Three patches"). They must be in place: without
 * them the transport does about a third of the round trips per second.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const NODE_MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));
const packageDir = (name: string): string => path.join(NODE_MODULES, name);

describe('libp2p patches (patches/, applied at npm install)', () => {
  it.each([
    [
      '@chainsafe/libp2p-yamux',
      'dist/src/stream.js',
      "like Go's yamux, send an update only once half the window is consumed",
    ],
    ['@libp2p/tcp', 'dist/src/socket-to-conn.js', 'one writev for the buffers of one message'],
    ['@libp2p/utils', 'dist/src/length-prefixed-decoder.js', 'an empty buffer has no length prefix'],
  ])('%s is patched (%s)', (name, file, marker) => {
    const source = readFileSync(path.join(packageDir(name), file), 'utf8');
    expect(source.includes(`pbft-lab patch: ${marker}`), `${name} is not patched: run npm install`).toBe(true);
  });
});
