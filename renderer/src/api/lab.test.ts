import { describe, expect, it, vi } from 'vitest';
import type { LabApiConnection } from '../../../core/host/api-client.ts';
import type { LabEvent } from '../../../core/host/lab-api.ts';
import { fakeBridge, FakeLabApi } from '../test-support/fake-lab-api.ts';
import { connectLab, labApiFromBridge, withoutToken, type LabEnvironment } from './lab.ts';

function environment(overrides: Partial<LabEnvironment>): LabEnvironment & { replaced: string[] } {
  const replaced: string[] = [];
  return {
    bridge: undefined,
    href: 'http://10.0.0.5:7400/?token=s3cret',
    replaceUrl: (url) => replaced.push(url),
    connect: () => Promise.reject(new Error('no server in this test')),
    ...overrides,
    replaced,
  };
}

function fakeConnection(): LabApiConnection {
  return Object.assign(new FakeLabApi(), { close: vi.fn() });
}

describe('transport selection', () => {
  it('uses the Electron bridge when the preload exposed one, and never opens a WebSocket', async () => {
    const fake = new FakeLabApi();
    const bridge = fakeBridge(fake, () => Promise.resolve('0.1.0'));
    const connect = vi.fn();
    const env = environment({ bridge, connect });
    const connection = await connectLab(env);
    expect(connection.transport).toBe('electron');
    await connection.api.snapshot();
    expect(fake.callsOf('snapshot')).toHaveLength(1);
    expect(connection.version).toBe('0.1.0');
    expect(connect).not.toHaveBeenCalled();
    expect(env.replaced).toEqual([]);
  });

  it('still connects through a bridge whose version call fails', async () => {
    const bridge = fakeBridge(new FakeLabApi(), () => Promise.reject(new Error('no')));
    const connection = await connectLab(environment({ bridge }));
    expect(connection.version).toBeNull();
  });

  it('headless, connects to the page URL (with its token) and then strips the token from the address bar', async () => {
    const socket = fakeConnection();
    const connect = vi.fn((_url: string) => Promise.resolve(socket));
    const env = environment({ connect, href: 'http://10.0.0.5:7400/?token=s3cret&x=1#log' });
    const onClose = vi.fn();
    const connection = await connectLab(env, { onClose });
    expect(connect).toHaveBeenCalledWith(
      'http://10.0.0.5:7400/?token=s3cret&x=1#log',
      expect.objectContaining({ onClose }),
    );
    expect(connection.transport).toBe('websocket');
    expect(env.replaced).toEqual(['http://10.0.0.5:7400/?x=1#log']);
    connection.close();
    expect(socket.close).toHaveBeenCalled();
  });

  it('keeps the token in the address bar when the connection fails, so a reload can retry', async () => {
    const env = environment({});
    await expect(connectLab(env)).rejects.toThrow('no server in this test');
    expect(env.replaced).toEqual([]);
  });

  it('leaves a URL without a token alone (a reload after stripping: the cookie authenticates)', async () => {
    const env = environment({ href: 'http://10.0.0.5:7400/', connect: () => Promise.resolve(fakeConnection()) });
    await connectLab(env);
    expect(env.replaced).toEqual([]);
  });

  it('withoutToken removes only the token', () => {
    expect(withoutToken('http://h:1/?token=a')).toBe('http://h:1/');
    expect(withoutToken('http://h:1/?a=1&token=b&c=2')).toBe('http://h:1/?a=1&c=2');
    expect(withoutToken('http://h:1/')).toBeNull();
  });
});

describe('labApiFromBridge', () => {
  const log = (atMs: number): LabEvent => ({ kind: 'log', atMs, line: `line ${atMs}` });

  it('takes events from the bridge a batch per call, and hands them to each listener in order', () => {
    const fake = new FakeLabApi();
    const bridge = fakeBridge(fake);
    const api = labApiFromBridge(bridge);
    const a: number[] = [];
    const b: number[] = [];
    const stopA = api.subscribe((e) => a.push(e.atMs));
    api.subscribe((e) => b.push(e.atMs));
    for (let i = 0; i < 500; i++) fake.emit(log(i));
    bridge.flush();
    stopA();
    fake.emit(log(500));
    bridge.flush();
    // Two batches crossed the bridge, to one page-side subscription, for 501 events and two listeners.
    expect(bridge.batches).toBe(2);
    expect(a).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(b).toHaveLength(501);
  });

  it('keeps delivering the batch when a listener throws', () => {
    const fake = new FakeLabApi();
    const bridge = fakeBridge(fake);
    const api = labApiFromBridge(bridge);
    const seen: number[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    api.subscribe(() => {
      throw new Error('bug');
    });
    api.subscribe((e) => seen.push(e.atMs));
    fake.emit(log(1));
    fake.emit(log(2));
    bridge.flush();
    expect(seen).toEqual([1, 2]);
    expect(error).toHaveBeenCalledTimes(2);
    error.mockRestore();
  });
});
