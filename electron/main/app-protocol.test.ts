import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ENTRY_URL, appScheme, createAppProtocolHandler } from './app-protocol.ts';

/** A built renderer in miniature, and a secret beside it that must never be served. */
let projectDir: string;
let rendererDir: string;
let handle: (request: Request) => Promise<Response>;

beforeAll(async () => {
  projectDir = await mkdtemp(join(tmpdir(), 'pbft-lab-app-protocol-'));
  rendererDir = join(projectDir, 'out', 'renderer');
  await mkdir(join(rendererDir, 'assets'), { recursive: true });
  await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>PBFT Lab</title>');
  await writeFile(join(rendererDir, 'assets', 'index-abc.js'), 'console.log(1);');
  await writeFile(join(rendererDir, 'assets', 'index-abc.css'), 'body{}');
  await writeFile(join(projectDir, 'out', 'secret.txt'), 'the identity key');
  await writeFile(join(rendererDir, '.env'), 'HIDDEN=1');
  // A link inside the directory that leads out of it.
  await symlink(join(projectDir, 'out', 'secret.txt'), join(rendererDir, 'assets', 'secret-link.txt'));
  handle = createAppProtocolHandler(rendererDir);
});

afterAll(async () => {
  await rm(projectDir, { recursive: true, force: true });
});

const get = (url: string, init?: RequestInit) => handle(new Request(url, init));

describe('the app scheme', () => {
  it('is standard and secure (an origin of its own, like https), and grants nothing it does not need', () => {
    expect(appScheme).toEqual({
      scheme: 'app',
      privileges: { standard: true, secure: true, supportFetchAPI: true },
    });
    expect(APP_ENTRY_URL).toBe('app://pbft-lab/index.html');
  });
});

describe('createAppProtocolHandler', () => {
  it('serves the built index with the production CSP as a header', async () => {
    const response = await get(APP_ENTRY_URL);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(await response.text()).toContain('<title>PBFT Lab</title>');
  });

  it('serves / as the index', async () => {
    expect(await (await get('app://pbft-lab/')).text()).toContain('<title>PBFT Lab</title>');
  });

  it('serves assets with the types a module script and a stylesheet need', async () => {
    const script = await get('app://pbft-lab/assets/index-abc.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('content-security-policy')).toBeNull();
    expect(await script.text()).toBe('console.log(1);');
    const style = await get('app://pbft-lab/assets/index-abc.css');
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers HEAD with the headers and no body', async () => {
    const response = await get(APP_ENTRY_URL, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.body).toBeNull();
  });

  it('refuses every way out of the renderer directory', async () => {
    for (const url of [
      'app://pbft-lab/..%2Fsecret.txt',
      'app://pbft-lab/%2e%2e%2fsecret.txt',
      'app://pbft-lab/assets/..%2F..%2Fsecret.txt',
      'app://pbft-lab/assets%2F..%2F..%2Fsecret.txt',
      'app://pbft-lab/..%5Csecret.txt',
      'app://pbft-lab/index.html%00.js',
      'app://pbft-lab/%E0%A4%A',
      'app://pbft-lab/assets/secret-link.txt',
      'app://pbft-lab/.env',
    ]) {
      const response = await get(url);
      expect(response.status, url).toBe(400);
      expect(await response.text(), url).not.toContain('identity key');
    }
  });

  it('cannot be led out by dot segments: the URL resolves them inside the origin first', async () => {
    // `app://pbft-lab/../secret.txt` is `app://pbft-lab/secret.txt` by the time it is a URL.
    const response = await get('app://pbft-lab/../secret.txt');
    expect(response.status).toBe(404);
  });

  it('serves only its own host, and only GET and HEAD', async () => {
    expect((await get('app://evil.example/index.html')).status).toBe(404);
    expect((await get('app://pbft-lab:8080/index.html')).status).toBe(404);
    expect((await get(APP_ENTRY_URL, { method: 'POST', body: 'x' })).status).toBe(405);
  });

  it('answers 404 for what is not there, directories included', async () => {
    expect((await get('app://pbft-lab/nothing.js')).status).toBe(404);
    expect((await get('app://pbft-lab//etc/passwd')).status).toBe(404);
    expect((await get('app://pbft-lab/assets')).status).toBe(404);
    expect((await get('app://pbft-lab/index.html/x')).status).toBe(404);
  });

  it('passes on a read error that is not a missing file', async () => {
    const failing = createAppProtocolHandler(rendererDir, () =>
      Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })),
    );
    await expect(failing(new Request(APP_ENTRY_URL))).rejects.toThrow('EACCES');
  });
});

describe('the handler without a built renderer', () => {
  it('answers 404 for everything', async () => {
    const empty = createAppProtocolHandler(join(projectDir, 'not-built'));
    expect((await empty(new Request(APP_ENTRY_URL))).status).toBe(404);
  });
});
