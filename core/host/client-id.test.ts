import { describe, expect, it } from 'vitest';
import { isClientOf, logicalClientId, peerOfClient } from './client-id.ts';

const PEER = '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq';
const OTHER = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo';

describe('client ids of a node', () => {
  it('names logical client j of a peer `peer/j` and maps it back to the peer', () => {
    expect(logicalClientId(PEER, 7)).toBe(`${PEER}/7`);
    expect(peerOfClient(`${PEER}/7`)).toBe(PEER);
    expect(peerOfClient(PEER)).toBe(PEER);
  });

  it('lets a peer speak for itself and its logical clients only', () => {
    expect(isClientOf(PEER, PEER)).toBe(true);
    expect(isClientOf(`${PEER}/0`, PEER)).toBe(true);
    expect(isClientOf(`${OTHER}/0`, PEER)).toBe(false);
    expect(isClientOf(OTHER, PEER)).toBe(false);
    // A prefix of the peer id, the peer id with something glued on, or an empty logical name are not its clients.
    expect(isClientOf(PEER.slice(0, -1), PEER)).toBe(false);
    expect(isClientOf(`${PEER}x/0`, PEER)).toBe(false);
    expect(isClientOf(`${PEER}/`, PEER)).toBe(false);
  });
});
