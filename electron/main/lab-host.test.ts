import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReplicaHost } from '../../core/host/replica-host.ts';
import type { ReplicaHostOptions } from '../../core/host/replica-host.ts';
import { DataDirError, openDataDir } from '../../core/host/storage.ts';
import { createQuitGuard, readLabHostSettings, startLabHost } from './lab-host.ts';
import type { LabHost, StartLabHostDeps } from './lab-host.ts';

const userDataDir = join('/home', 'student', '.config', 'PBFT Lab');
const electronArgv = ['/opt/PBFT Lab/pbft-lab', '--no-sandbox'];
const peerAddress = '/ip4/192.168.1.20/tcp/41234/p2p/12D3KooWCZd9RPuz7KD5Wq8bBXGvD8AmZkGhNvQVBBAoGb6eZnKx';
const otherAddress = '/ip4/192.168.1.21/tcp/41234';

function settingsFor(argv: string[], env: Record<string, string> = {}) {
  return readLabHostSettings({ argv: [...electronArgv, ...argv], env, userDataDir });
}

describe('readLabHostSettings', () => {
  it('defaults to cluster pbft-lab of 4, data in userData/replica, no joins', () => {
    expect(settingsFor([])).toEqual({
      dataDir: join(userDataDir, 'replica'),
      cluster: 'pbft-lab',
      size: 4,
      join: [],
      mdns: true,
    });
  });

  it('--no-mdns or PBFT_LAB_NO_MDNS=1 turns LAN discovery off', () => {
    expect(settingsFor(['--no-mdns']).mdns).toBe(false);
    expect(readLabHostSettings({ argv: electronArgv, env: { PBFT_LAB_NO_MDNS: '1' }, userDataDir }).mdns).toBe(false);
  });

  it('reads --cluster, --size and repeated --join, with a space or an =', () => {
    expect(
      settingsFor(['--cluster', 'room-204', '--size=7', '--join', peerAddress, `--join=${otherAddress}`]),
    ).toMatchObject({ cluster: 'room-204', size: 7, join: [peerAddress, otherAddress] });
  });

  it('falls back to PBFT_LAB_CLUSTER and PBFT_LAB_SIZE; a switch wins over the environment', () => {
    const env = { PBFT_LAB_CLUSTER: 'evening', PBFT_LAB_SIZE: '10' };
    expect(settingsFor([], env)).toMatchObject({ cluster: 'evening', size: 10 });
    expect(settingsFor(['--size', '4'], env)).toMatchObject({ cluster: 'evening', size: 4 });
    expect(settingsFor([], { PBFT_LAB_CLUSTER: '', PBFT_LAB_SIZE: '' })).toMatchObject({
      cluster: 'pbft-lab',
      size: 4,
    });
  });

  it.each([
    [['--size', '5'], {}, '--size must be 3f+1 (4, 7, 10, …), got "5"'],
    [['--size', 'four'], {}, '--size must be 3f+1 (4, 7, 10, …), got "four"'],
    [[], { PBFT_LAB_SIZE: '3' }, 'PBFT_LAB_SIZE must be 3f+1 (4, 7, 10, …), got "3"'],
    [['--size'], {}, '--size needs a value'],
    [['--cluster', '--size', '4'], {}, '--cluster must be 1–64 letters'],
    [['--cluster', 'room 204'], {}, '--cluster must be 1–64 letters'],
    [[], { PBFT_LAB_CLUSTER: 'a/b' }, 'PBFT_LAB_CLUSTER must be 1–64 letters'],
    [['--join', '192.168.1.20:41234'], {}, '--join 192.168.1.20:41234: not a multiaddr'],
  ])('refuses %j %j with a LabSettingsError', (argv, env, message) => {
    expect(() => settingsFor(argv, env)).toThrow(
      expect.objectContaining({ name: 'LabSettingsError', message: expect.stringContaining(message) }),
    );
  });
});

/** A host that records its life and fails where told to. */
function fakeHost(failStart?: Error) {
  const life: string[] = [];
  let options: ReplicaHostOptions | undefined;
  // startLabHost only starts and stops the host; the LabApi calls are not its business.
  const host = {
    async start() {
      life.push('start');
      if (failStart) throw failStart;
    },
    async stop() {
      life.push('stop');
    },
  } as Partial<LabHost> as LabHost;
  const createHost = (given: ReplicaHostOptions): LabHost => {
    options = given;
    return host;
  };
  return { host, life, createHost, options: () => options };
}

function deps(createHost: StartLabHostDeps['createHost']) {
  const dialogs: { title: string; content: string }[] = [];
  const logged: string[] = [];
  return {
    dialogs,
    logged,
    deps: {
      createHost,
      showErrorBox: (title: string, content: string) => dialogs.push({ title, content }),
      log: (line: string) => logged.push(line),
    } satisfies StartLabHostDeps,
  };
}

describe('startLabHost', () => {
  const launch = { argv: [...electronArgv, '--join', peerAddress], env: {}, userDataDir };

  it('starts a host with mDNS on, the data directory, and the joins; shows no dialog', async () => {
    const fake = fakeHost();
    const { deps: d, dialogs } = deps(fake.createHost);
    expect(await startLabHost(launch, d)).toBe(fake.host);
    expect(fake.life).toEqual(['start']);
    expect(fake.options()).toMatchObject({
      dataDir: join(userDataDir, 'replica'),
      cluster: 'pbft-lab',
      size: 4,
      join: [peerAddress],
      mdns: true,
    });
    expect(dialogs).toEqual([]);
  });

  it('shows a DataDirError with what to do, stops the half-started host, and resolves null', async () => {
    const marker = join(userDataDir, 'replica', 'pbft-lab.json');
    const fake = fakeHost(
      new DataDirError(marker, 'belongs to cluster "evening" of size 7, not cluster "pbft-lab" of size 4'),
    );
    const { deps: d, dialogs } = deps(fake.createHost);
    expect(await startLabHost(launch, d)).toBeNull();
    expect(fake.life).toEqual(['start', 'stop']);
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]!.title).toBe('PBFT Lab cannot use its data directory');
    expect(dialogs[0]!.content).toContain(`${marker}: belongs to cluster "evening" of size 7`);
    expect(dialogs[0]!.content).toContain("start PBFT Lab with that cluster's --cluster and --size");
    expect(dialogs[0]!.content).toContain('move that directory aside');
  });

  it('shows any other start failure with its name and message', async () => {
    const error = Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:41234'), {
      name: 'ListenError',
    });
    const fake = fakeHost(error);
    const { deps: d, dialogs, logged } = deps(fake.createHost);
    expect(await startLabHost(launch, d)).toBeNull();
    expect(dialogs).toEqual([
      {
        title: 'PBFT Lab could not start its replica',
        content: expect.stringMatching(/^ListenError: listen EADDRINUSE.*\n\nCluster "pbft-lab" of 4; data in /),
      },
    ]);
    expect(logged).toContain(
      'PBFT Lab could not start its replica: ListenError: listen EADDRINUSE: address already in use 0.0.0.0:41234',
    );
  });

  it('shows a bad setting without creating a host', async () => {
    const createHost = vi.fn(fakeHost().createHost);
    const { deps: d, dialogs } = deps(createHost);
    expect(await startLabHost({ ...launch, argv: [...electronArgv, '--size', '6'] }, d)).toBeNull();
    expect(createHost).not.toHaveBeenCalled();
    expect(dialogs).toEqual([
      {
        title: 'PBFT Lab: invalid setting',
        content: expect.stringContaining('--size must be 3f+1 (4, 7, 10, …), got "6"'),
      },
    ]);
  });

  describe('with a real ReplicaHost', () => {
    let dir: string | undefined;
    afterEach(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it("refuses another cluster's data directory before opening the network", async () => {
      dir = await mkdtemp(join(tmpdir(), 'pbft-lab-electron-'));
      const other = await openDataDir({ dir: join(dir, 'replica'), cluster: 'evening', size: 7 });
      await other.close();
      const { deps: d, dialogs } = deps((options) => new ReplicaHost({ ...options, mdns: false, log: () => {} }));

      expect(await startLabHost({ argv: electronArgv, env: {}, userDataDir: dir }, d)).toBeNull();
      expect(dialogs).toHaveLength(1);
      expect(dialogs[0]!.title).toBe('PBFT Lab cannot use its data directory');
      expect(dialogs[0]!.content).toContain('belongs to cluster "evening" of size 7, not cluster "pbft-lab" of size 4');
    });
  });
});

describe('createQuitGuard', () => {
  function guard(stopHost: () => Promise<void>, timeoutMs = 5_000) {
    const quits: number[] = [];
    const logged: string[] = [];
    const onBeforeQuit = createQuitGuard({
      stopHost,
      quit: () => quits.push(quits.length),
      log: (l) => logged.push(l),
      timeoutMs,
    });
    const beforeQuit = () => {
      const event = { prevented: false, preventDefault: () => (event.prevented = true) };
      onBeforeQuit(event);
      return event.prevented;
    };
    return { beforeQuit, quits, logged };
  }

  it('holds the first quit until the host has stopped, then quits for real', async () => {
    let finishStop: () => void = () => {};
    const stopHost = vi.fn(() => new Promise<void>((resolve) => (finishStop = resolve)));
    const { beforeQuit, quits } = guard(stopHost);

    expect(beforeQuit()).toBe(true);
    expect(beforeQuit()).toBe(true); // a second quit while stopping is held too, and stops nothing more
    expect(stopHost).toHaveBeenCalledTimes(1);
    expect(quits).toEqual([]);

    finishStop();
    await vi.waitFor(() => expect(quits).toHaveLength(1));
    expect(beforeQuit()).toBe(false); // the quit the guard itself asked for goes through
    expect(stopHost).toHaveBeenCalledTimes(1);
  });

  it('quits even when stopping fails, and logs why', async () => {
    const { beforeQuit, quits, logged } = guard(() => Promise.reject(new Error('data directory is closed')));
    beforeQuit();
    await vi.waitFor(() => expect(quits).toHaveLength(1));
    expect(logged).toEqual(['stopping the replica failed: Error: data directory is closed']);
  });

  it('quits after the timeout when the host does not stop', async () => {
    vi.useFakeTimers();
    try {
      const { beforeQuit, quits, logged } = guard(() => new Promise<void>(() => {}), 5_000);
      beforeQuit();
      await vi.advanceTimersByTimeAsync(4_999);
      expect(quits).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(quits).toHaveLength(1);
      expect(logged).toEqual(['the replica did not stop within 5000 ms; quitting anyway']);
    } finally {
      vi.useRealTimers();
    }
  });
});
