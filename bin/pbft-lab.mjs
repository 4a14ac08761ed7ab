#!/usr/bin/env node
// The pbft-lab command. The sources are TypeScript run by Node's type stripping (Node ≥ 22.18);
// `npx pbft-lab` finds the project's Node 24 (the `node` devDependency) first on its PATH.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `pbft-lab needs Node ≥ 22.18 (this is ${process.version}). Run it through npx or an npm script, which use the project's Node 24.`,
  );
  process.exit(1);
}
const { main } = await import('../core/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
