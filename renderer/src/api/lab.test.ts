import { describe, expect, it, vi } from 'vitest';
import type { LabApiConnection } from '../../../core/host/api-client.ts';
import { FakeLabApi } from '../test-support/fake-lab-api.ts';
import { connectLab, withoutToken, type LabEnvironment, type PbftLabBridge } from './lab.ts';

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
    const bridge: PbftLabBridge = Object.assign(new FakeLabApi(), { version: () => Promise.resolve('0.1.0') });
    const connect = vi.fn();
    const env = environment({ bridge, connect });
    const connection = await connectLab(env);
    expect(connection.transport).toBe('electron');
    expect(connection.api).toBe(bridge);
    expect(connection.version).toBe('0.1.0');
    expect(connect).not.toHaveBeenCalled();
    expect(env.replaced).toEqual([]);
  });

  it('still connects through a bridge whose version call fails', async () => {
    const bridge: PbftLabBridge = Object.assign(new FakeLabApi(), { version: () => Promise.reject(new Error('no')) });
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
