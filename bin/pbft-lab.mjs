#!/usr/bin/env node
// The pbft-lab command. The sources are TypeScript run by Node's type stripping (Node ≥ 22.18);
// `npx pbft-lab` finds the project's Node 24 (the `node` devDependency) first on its PATH.
// `pbft-lab replica`, the long-running process, runs from the prebuilt bundle with memory-bounding
// V8 flags when it can (bin/replica-runtime.mjs).
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `pbft-lab needs Node ≥ 22.18 (this is ${process.version}). Run it through npx or an npm script, which use the project's Node 24.`,
  );
  process.exit(1);
}
const argv = process.argv.slice(2);
if (argv[0] === 'replica') {
  const { reexecWithReplicaFlags, replicaEntry } = await import('./replica-runtime.mjs');
  reexecWithReplicaFlags();
  const { entry, staleReason } = replicaEntry();
  if (staleReason !== null) console.error(`pbft-lab: running the TypeScript sources (more memory): ${staleReason}`);
  const { pathToFileURL } = await import('node:url');
  const { replicaMain } = await import(pathToFileURL(entry).href);
  process.exitCode = await replicaMain(argv.slice(1));
} else {
  const { main } = await import('../core/cli/main.ts');
  process.exitCode = await main(argv);
  // A client is done once it has printed its result (stdout to a pipe, file or terminal is written
  // synchronously on Linux). libp2p's address manager leaves a 1 s debounce timer armed after the
  // node has stopped, which would hold every one-shot call a second longer.
  if (argv[0] === 'client') process.exit();
}
