/**
 * The start screen's decisions with a fake lab process: create (its code at once, a data directory
 * of its own), join (from the LAN list or typed; the code checked), a failed start, the menu's
 * change and the way back, the replica's process ending, and what is remembered.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ClusterKey } from '../../core/net/cluster-key.ts';
import type { LanCluster } from '../../core/net/lan-cluster-info.ts';
import type { ClusterSettings } from '../shared/app-setup.ts';
import type { LabStartRequest, LabStarted } from '../lab-process/protocol.ts';
import type { RememberedSettings } from './app-settings.ts';
import { ClusterSetup } from './cluster-setup.ts';

const userDataDir = '/home/student/.config/PBFT Lab';

function fakeLab() {
  const starts: LabStartRequest[] = [];
  let finish: { resolve: (s: LabStarted) => void; reject: (e: Error) => void } | null = null;
  let lanListener: (clusters: readonly LanCluster[], error: string | null) => void = () => {};
  let exitListener: (code: number) => void = () => {};
  const lab = {
    startReplica: vi.fn(
      (request: LabStartRequest) =>
        new Promise<LabStarted>((resolve, reject) => {
          starts.push(request);
          finish = { resolve, reject };
        }),
    ),
    stopReplica: vi.fn(async () => {}),
    scan: vi.fn(async () => {}),
    onLan: (listener: typeof lanListener) => ((lanListener = listener), () => {}),
    onExit: (listener: typeof exitListener) => ((exitListener = listener), () => {}),
  };
  return {
    lab,
    starts,
    started: (joinCode: string | null = null) =>
      finish!.resolve({ peerId: '12D3KooWself', joinCode, fingerprint: null, listenAddresses: [] }),
    failed: (error: Error) => finish!.reject(error),
    lan: (clusters: LanCluster[]) => lanListener(clusters, null),
    exit: (code: number) => exitListener(code),
  };
}

function setup(options: { fresh?: boolean } = {}) {
  const fake = fakeLab();
  const saved: RememberedSettings[] = [];
  const states: string[] = [];
  const s = new ClusterSetup({
    lab: fake.lab,
    settings: { load: async () => ({ cluster: null, previous: null }), save: async (r) => void saved.push(r) },
    userDataDir,
    newJoinCode: () => ClusterKey.generate().joinCode,
    readJoinCode: (code) => {
      const key = ClusterKey.fromJoinCode(code);
      return { joinCode: key.joinCode, fingerprint: key.fingerprint };
    },
    isFreshDir: async () => options.fresh ?? true,
    log: () => {},
    onChange: (state) => states.push(state.phase),
  });
  return { s, fake, saved, states };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('ClusterSetup', () => {
  it('shows the start screen and scans the LAN when nothing is chosen', async () => {
    const { s, fake } = setup();
    await s.launch({ kind: 'choose' }, { cluster: null, previous: null });
    expect(s.state()).toMatchObject({ phase: 'choose', dataDirRoot: join(userDataDir, 'clusters') });
    expect(fake.lab.scan).toHaveBeenCalled();
  });

  it('creates a cluster: its join code at once, a data directory named after it, remembered once it runs', async () => {
    const { s, fake, saved, states } = setup();
    await s.launch({ kind: 'choose' }, { cluster: null, previous: null });
    const state = await s.create({ cluster: 'room-101', size: 7, local: false, dataDir: null });
    const code = ClusterKey.fromJoinCode(state.joinCode!);
    expect(state).toMatchObject({ phase: 'starting', fingerprint: code.fingerprint });
    const settings: ClusterSettings = {
      cluster: 'room-101',
      size: 7,
      dataDir: join(userDataDir, 'clusters', `room-101-${code.fingerprint}`),
      local: false,
      join: [],
      mdns: true,
    };
    expect(fake.starts).toEqual([{ settings, key: { kind: 'created', joinCode: code.joinCode } }]);
    fake.started(code.joinCode);
    await settled();
    expect(s.state()).toMatchObject({ phase: 'running', joinCode: code.joinCode });
    expect(saved).toEqual([{ cluster: settings, previous: null }]);
    expect(states).toEqual(['choose', 'starting', 'running']);
  });

  it('a local cluster: no mDNS', async () => {
    const { s, fake } = setup();
    await s.create({ cluster: 'solo', size: 4, local: true, dataDir: null });
    expect(fake.starts[0]!.settings).toMatchObject({ local: true, mdns: false });
  });

  it('refuses a picked directory that is not empty for a new cluster, and bad names and sizes', async () => {
    const { s } = setup({ fresh: false });
    await expect(s.create({ cluster: 'a', size: 4, local: false, dataDir: '/home/student/old' })).rejects.toThrow(
      'is not empty',
    );
    await expect(s.create({ cluster: 'room 101', size: 4, local: false, dataDir: null })).rejects.toMatchObject({
      name: 'BadRequestError',
    });
    await expect(s.create({ cluster: 'a', size: 5, local: false, dataDir: null })).rejects.toThrow('3f+1');
  });

  it('joins a cluster from the LAN list: its addresses dialled, the code checked against its key', async () => {
    const { s, fake } = setup();
    const key = ClusterKey.generate();
    const address = '/ip4/10.0.0.5/tcp/4001/p2p/12D3KooWA1nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8A';
    fake.lan([{ cluster: 'room-101', size: 4, fingerprint: key.fingerprint, members: 1, formed: false, machines: [] }]);
    const wrong = ClusterKey.generate();
    await expect(
      s.join({ cluster: 'room-101', size: 4, joinCode: wrong.joinCode, join: [address], local: false, dataDir: null }),
    ).rejects.toThrow('check the code');
    const typed = key.joinCode.toLowerCase();
    await s.join({ cluster: 'room-101', size: 4, joinCode: typed, join: [address], local: false, dataDir: null });
    expect(fake.starts[0]).toEqual({
      settings: {
        cluster: 'room-101',
        size: 4,
        dataDir: join(userDataDir, 'clusters', `room-101-${key.fingerprint}`),
        local: false,
        join: [address],
        mdns: true,
      },
      key: { kind: 'join', joinCode: key.joinCode },
    });
  });

  it('says what is wrong with a mistyped code or address', async () => {
    const { s } = setup();
    const request = { cluster: 'x', size: 4, join: [], local: false, dataDir: null };
    await expect(s.join({ ...request, joinCode: '' })).rejects.toThrow('the join code is missing');
    await expect(s.join({ ...request, joinCode: 'ABCD' })).rejects.toThrow('join code: a join code has 56');
    await expect(
      s.join({ ...request, joinCode: ClusterKey.generate().joinCode, join: ['10.0.0.5:4001'] }),
    ).rejects.toThrow('is not an address');
  });

  it('shows a failed start on the start screen, scans again, and refuses a second start while one runs', async () => {
    const { s, fake } = setup();
    await s.create({ cluster: 'a', size: 4, local: false, dataDir: null });
    await expect(s.create({ cluster: 'b', size: 4, local: false, dataDir: null })).rejects.toThrow('starting already');
    fake.failed(Object.assign(new Error('EACCES: permission denied'), { name: 'DataDirError' }));
    await settled();
    expect(s.state()).toMatchObject({ phase: 'failed', error: expect.stringContaining('EACCES') });
    expect(fake.lab.scan).toHaveBeenCalled();
  });

  it('changes cluster from the menu: stops the replica, forgets it as the one to start, offers it back', async () => {
    const { s, fake, saved } = setup();
    const first = await s.create({ cluster: 'a', size: 4, local: false, dataDir: null });
    fake.started(first.joinCode);
    await settled();
    const running = s.state().cluster!;
    await s.change();
    expect(fake.lab.stopReplica).toHaveBeenCalled();
    expect(s.state()).toMatchObject({ phase: 'choose', cluster: null, previous: running });
    expect(saved.at(-1)).toEqual({ cluster: null, previous: running });
    await s.rejoin();
    expect(fake.starts.at(-1)).toEqual({ settings: running, key: { kind: 'stored' } });
  });

  it('starts the launch plan’s cluster, and shows the start screen with the error when its process ends', async () => {
    const { s, fake } = setup();
    const settings: ClusterSettings = { cluster: 'a', size: 4, dataDir: '/d', local: false, join: [], mdns: true };
    await s.launch(
      { kind: 'start', settings, key: { kind: 'stored' }, from: 'remembered' },
      {
        cluster: settings,
        previous: null,
      },
    );
    fake.started();
    await settled();
    expect(s.state().phase).toBe('running');
    await expect(s.create({ cluster: 'b', size: 4, local: false, dataDir: null })).rejects.toThrow('change cluster');
    fake.exit(134);
    expect(s.state()).toMatchObject({ phase: 'failed', error: expect.stringContaining('exit code 134') });
    await s.rejoin();
    expect(fake.starts.at(-1)).toEqual({ settings, key: { kind: 'stored' } });
  });
});
