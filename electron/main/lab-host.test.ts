import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ClusterKey } from '../../core/net/cluster-key.ts';
import { DataDirError } from '../../core/host/storage.ts';
import type { ClusterSettings } from '../shared/app-setup.ts';
import { NOTHING_REMEMBERED } from './app-settings.ts';
import type { RememberedSettings } from './app-settings.ts';
import { createQuitGuard, describeStartFailure, planLaunch } from './lab-host.ts';

const userDataDir = join('/home', 'student', '.config', 'PBFT Lab');
const electronArgv = ['/opt/PBFT Lab/pbft-lab', '--no-sandbox'];
const peerAddress = '/ip4/192.168.1.20/tcp/41234/p2p/12D3KooWCZd9RPuz7KD5Wq8bBXGvD8AmZkGhNvQVBBAoGb6eZnKx';
const otherAddress = '/ip4/192.168.1.21/tcp/41234';
const remembered: ClusterSettings = {
  cluster: 'room-204',
  size: 7,
  dataDir: join(userDataDir, 'clusters', 'room-204-0a1b2c3d'),
  local: false,
  join: [],
  mdns: true,
};

function plan(argv: string[], env: Record<string, string> = {}, memory: RememberedSettings = NOTHING_REMEMBERED) {
  return planLaunch({ argv: [...electronArgv, ...argv], env, userDataDir, cwd: '/home/student' }, memory);
}

describe('planLaunch', () => {
  it('shows the start screen when nothing is remembered and no switch chooses a cluster', () => {
    expect(plan([])).toEqual({ kind: 'choose' });
    expect(plan(['--no-mdns'])).toEqual({ kind: 'choose' });
  });

  it('starts the remembered cluster with the key its data directory holds, unless --start-screen', () => {
    const memory = { cluster: remembered, previous: null };
    expect(plan([], {}, memory)).toEqual({
      kind: 'start',
      settings: remembered,
      key: { kind: 'stored' },
      from: 'remembered',
    });
    expect(plan(['--start-screen'], {}, memory)).toEqual({ kind: 'choose' });
    expect(plan(['--no-mdns'], {}, memory)).toMatchObject({ settings: { ...remembered, mdns: false } });
  });

  it('any cluster switch chooses the cluster: defaults pbft-lab of 4, data in userData/replica, the key stored or new', () => {
    expect(plan(['--cluster', 'pbft-lab'], {}, { cluster: remembered, previous: null })).toEqual({
      kind: 'start',
      settings: {
        cluster: 'pbft-lab',
        size: 4,
        dataDir: join(userDataDir, 'replica'),
        local: false,
        join: [],
        mdns: true,
      },
      key: { kind: 'stored-or-new' },
      from: 'switches',
    });
  });

  it('reads --cluster, --size, --data-dir (relative to the working directory) and repeated --join', () => {
    expect(
      plan(['--cluster', 'room-204', '--size=7', '--data-dir', 'lab', '--join', peerAddress, `--join=${otherAddress}`]),
    ).toMatchObject({
      settings: { cluster: 'room-204', size: 7, dataDir: '/home/student/lab', join: [peerAddress, otherAddress] },
    });
  });

  it('--cluster-key joins (the code read as typed), --new-cluster creates', () => {
    const key = ClusterKey.generate();
    expect(plan(['--cluster-key', key.joinCode.toLowerCase().replaceAll('-', ' ')])).toMatchObject({
      key: { kind: 'join', joinCode: key.joinCode },
    });
    expect(plan(['--new-cluster'])).toMatchObject({ key: { kind: 'new' } });
  });

  it('--local: this machine only, no mDNS', () => {
    expect(plan(['--local'])).toMatchObject({ settings: { local: true, mdns: false } });
  });

  it('--no-mdns or PBFT_LAB_NO_MDNS=1 turns LAN discovery off', () => {
    expect(plan(['--cluster', 'x', '--no-mdns'])).toMatchObject({ settings: { mdns: false } });
    expect(plan(['--cluster', 'x'], { PBFT_LAB_NO_MDNS: '1' })).toMatchObject({ settings: { mdns: false } });
  });

  it('falls back to PBFT_LAB_CLUSTER and PBFT_LAB_SIZE; a switch wins over the environment', () => {
    const env = { PBFT_LAB_CLUSTER: 'evening', PBFT_LAB_SIZE: '10' };
    expect(plan([], env)).toMatchObject({ settings: { cluster: 'evening', size: 10 } });
    expect(plan(['--size', '4'], env)).toMatchObject({ settings: { cluster: 'evening', size: 4 } });
    expect(plan([], { PBFT_LAB_CLUSTER: '', PBFT_LAB_SIZE: '' })).toEqual({ kind: 'choose' });
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
    [['--cluster-key', 'ABCD-EFGH'], {}, '--cluster-key: a join code has 56 letters and digits'],
    [['--new-cluster', '--cluster-key', ClusterKey.generate().joinCode], {}, 'contradict each other'],
  ])('refuses %j %j with a LabSettingsError', (argv, env, message) => {
    expect(() => plan(argv, env)).toThrow(
      expect.objectContaining({ name: 'LabSettingsError', message: expect.stringContaining(message) }),
    );
  });
});

describe('describeStartFailure', () => {
  const settings = { ...remembered, dataDir: join(userDataDir, 'replica') };

  it('explains a data directory of another cluster, and what to do', () => {
    const marker = join(userDataDir, 'replica', 'pbft-lab.json');
    const error = new DataDirError(marker, 'belongs to cluster "evening" of size 7, not cluster "room-204" of size 7');
    const { title, content } = describeStartFailure(error, settings);
    expect(title).toBe('PBFT Lab cannot use its data directory');
    expect(content).toContain(`${marker}: belongs to cluster "evening" of size 7`);
    expect(content).toContain('choose a data directory of its own');
    expect(content).toContain('move that directory aside');
  });

  it('names any other failure, with the cluster and its data directory', () => {
    const error = Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:41234'), {
      name: 'ListenError',
    });
    expect(describeStartFailure(error, settings)).toEqual({
      title: 'PBFT Lab could not start its replica',
      content: expect.stringMatching(/^ListenError: listen EADDRINUSE.*\n\nCluster "room-204" of 7; data in /),
    });
  });

  it('lists the switches for a bad one', () => {
    const error = Object.assign(new Error('--size must be 3f+1'), { name: 'LabSettingsError' });
    expect(describeStartFailure(error, null).content).toContain('--user-data-dir DIR');
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
