/**
 * The release workflow's smoke test, run here against the built main with electron stubbed (the
 * packaged app cannot be built without the Electron binary): it passes when the replica listens,
 * and fails, saying why, when the app exits first or never gets there.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type BuiltApp } from '../test/helpers/stub-app.ts';
import { smoke } from './smoke-packaged.mjs';

const registerStub = join(import.meta.dirname, 'test-support', 'register-electron-stub.ts');

describe('electron/smoke-packaged.mjs', () => {
  let built: BuiltApp;
  beforeAll(async () => {
    built = await buildApp();
  });
  afterAll(async () => {
    await built?.remove();
  });

  it('passes once the app’s replica listens on loopback, and quits the app', async () => {
    const result = await smoke({
      command: process.execPath,
      args: ['--import', registerStub, built.mainFile],
      env: { PBFT_LAB_STUB_SCENARIO: 'remote' },
      timeoutMs: 30_000,
    });
    expect(result, result.output.join('\n')).toMatchObject({ ok: true, reason: 'the replica listens' });
    expect(result.output.join('\n')).toContain('SIGTERM: stopping the replica');
  });

  /** A stand-in "app": a script that ignores its switches. */
  const fakeApp = async (name: string, code: string): Promise<string> => {
    const file = join(built.dir, name);
    await writeFile(file, code);
    return file;
  };

  it('fails when the app exits before its replica listens', async () => {
    const app = await fakeApp('exits.mjs', 'console.log("starting"); process.exit(3);');
    const result = await smoke({ command: process.execPath, args: [app], timeoutMs: 10_000 });
    expect(result).toMatchObject({ ok: false, exitCode: 3, reason: expect.stringContaining('exited (3)') });
  });

  it('fails when the replica never listens', async () => {
    const app = await fakeApp(
      'hangs.mjs',
      'console.log("peer 12D3KooWx listening on /ip4/10.0.0.5/tcp/1"); setInterval(() => {}, 1000);',
    );
    const result = await smoke({ command: process.execPath, args: [app], timeoutMs: 1_000 });
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining('within 1000 ms') });
  });
});
