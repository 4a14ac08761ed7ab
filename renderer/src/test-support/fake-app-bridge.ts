/**
 * A `window.pbftLabApp` that tests drive by hand: it answers from a state the test sets and records
 * every request. Used by the start screen's tests (never by the app).
 */
import type {
  CreateClusterRequest,
  JoinClusterRequest,
  LanCluster,
  PbftLabAppBridge,
  SetupState,
} from '../../../electron/shared/app-setup.ts';

export const FAKE_JOIN_CODE = 'D4E6-85K1-ZKF9-8VSJ-TNFC-FX2X-XVRD-SNJB-6AKQ-YYDE-C4EQ-EJX6-A7TW-DJZZ';

export function lanCluster(overrides: Partial<LanCluster> = {}): LanCluster {
  return {
    cluster: 'room-101',
    size: 4,
    fingerprint: '099b930e',
    members: 2,
    formed: false,
    machines: [
      {
        peerId: '12D3KooWA1nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8A',
        role: 'forming',
        addresses: ['/ip4/10.0.0.5/tcp/4001/p2p/12D3KooWA1nBuQJ2pCC3YtLdnWKL2L6SgCcpRZFkPR3dTgz6Vr8A'],
        lastHeardMsAgo: 400,
      },
    ],
    ...overrides,
  };
}

export class FakeAppBridge implements PbftLabAppBridge {
  current: SetupState = {
    phase: 'choose',
    cluster: null,
    joinCode: null,
    fingerprint: null,
    error: null,
    previous: null,
    lan: { clusters: [], error: null },
    dataDirRoot: '/home/student/.config/PBFT Lab/clusters',
  };
  readonly requests: { name: string; args: unknown[] }[] = [];
  /** The next create or join fails with this message. */
  failNext: string | null = null;
  pickedDir: string | null = '/media/usb/pbft';

  set(change: Partial<SetupState>): void {
    this.current = { ...this.current, ...change };
  }

  private answer(name: string, args: unknown[], next: Partial<SetupState>): Promise<SetupState> {
    this.requests.push({ name, args });
    if (this.failNext) {
      const message = this.failNext;
      this.failNext = null;
      return Promise.reject(new Error(message));
    }
    this.set(next);
    return Promise.resolve(this.current);
  }

  async state(): Promise<SetupState> {
    return this.current;
  }

  createCluster(request: CreateClusterRequest): Promise<SetupState> {
    return this.answer('createCluster', [request], {
      phase: 'starting',
      cluster: {
        cluster: request.cluster,
        size: request.size,
        dataDir: request.dataDir ?? `${this.current.dataDirRoot}/${request.cluster}-099b930e`,
        local: request.local,
        join: [],
        mdns: !request.local,
      },
      joinCode: FAKE_JOIN_CODE,
      fingerprint: '099b930e',
    });
  }

  joinCluster(request: JoinClusterRequest): Promise<SetupState> {
    return this.answer('joinCluster', [request], {
      phase: 'starting',
      cluster: {
        cluster: request.cluster,
        size: request.size,
        dataDir: request.dataDir ?? `${this.current.dataDirRoot}/${request.cluster}-099b930e`,
        local: request.local,
        join: request.join,
        mdns: !request.local,
      },
    });
  }

  rejoin(): Promise<SetupState> {
    return this.answer('rejoin', [], { phase: 'starting', cluster: this.current.cluster ?? this.current.previous });
  }

  changeCluster(): Promise<SetupState> {
    return this.answer('changeCluster', [], { phase: 'choose', cluster: null });
  }

  async chooseDataDir(): Promise<string | null> {
    this.requests.push({ name: 'chooseDataDir', args: [] });
    return this.pickedDir;
  }
}
