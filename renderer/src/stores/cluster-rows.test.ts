import { describe, expect, it } from 'vitest';
import { fakeSnapshot } from '../test-support/fake-lab-api.ts';
import { joinAddresses, linkState, otherPeerRows, rosterRows, shortPeerId } from './cluster-rows.ts';

describe('cluster rows', () => {
  it('lists the roster by replica id with the primary and this machine marked', () => {
    const rows = rosterRows(fakeSnapshot({ selfId: 2, primary: 1 }));
    expect(rows.map((r) => r.replicaId)).toEqual([0, 1, 2, 3]);
    expect(rows.filter((r) => r.isPrimary).map((r) => r.replicaId)).toEqual([1]);
    expect(rows.filter((r) => r.isSelf).map((r) => r.replicaId)).toEqual([2]);
    expect(rows[2]!.link).toBe('self');
    expect(rows[0]!.link).toBe('connected');
  });

  it('shows a peer cut off by a fault as cut, and one without a stream as unreachable', () => {
    const base = { peerId: 'p', replicaId: 1, addresses: [], connected: true, lastHeardMsAgo: 10, disconnected: false };
    expect(linkState({ ...base, disconnected: true })).toBe('cut');
    expect(linkState({ ...base, connected: false, lastHeardMsAgo: 60_000 })).toBe('unreachable');
    expect(linkState({ ...base, connected: false, lastHeardMsAgo: null })).toBe('unreachable');
    expect(linkState({ ...base, connected: false, lastHeardMsAgo: 200 })).toBe('connected');
    expect(linkState(undefined)).toBe('unreachable');
  });

  it('lists peers outside the roster separately', () => {
    const snapshot = fakeSnapshot({ selfId: 0 });
    const withObserver = {
      ...snapshot,
      peers: [
        ...snapshot.peers,
        {
          peerId: '12D3KooWObserverObserverXYZ',
          replicaId: null,
          addresses: [],
          connected: true,
          lastHeardMsAgo: 5,
          disconnected: false,
        },
      ],
    };
    expect(otherPeerRows(withObserver)).toEqual([
      { peerId: '12D3KooWObserverObserverXYZ', peerShort: '…erverXYZ', link: 'connected', revoked: false },
    ]);
    expect(otherPeerRows({ ...withObserver, revokedClients: ['12D3KooWObserverObserverXYZ'] })[0]!.revoked).toBe(true);
  });

  it('puts LAN addresses before loopback ones', () => {
    const snapshot = fakeSnapshot({ selfId: 0 });
    const s = {
      ...snapshot,
      self: { ...snapshot.self, addresses: ['/ip4/127.0.0.1/tcp/1/p2p/x', '/ip4/10.0.0.5/tcp/1/p2p/x'] },
    };
    expect(joinAddresses(s)).toEqual(['/ip4/10.0.0.5/tcp/1/p2p/x', '/ip4/127.0.0.1/tcp/1/p2p/x']);
  });

  it('shortens peer ids to their tail', () => {
    expect(shortPeerId('12D3KooWAbCdEfGhIjKlMn')).toBe('…GhIjKlMn');
    expect(shortPeerId('short')).toBe('short');
  });
});
