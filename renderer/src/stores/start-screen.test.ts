import { describe, expect, it } from 'vitest';
import { FAKE_JOIN_CODE, lanCluster } from '../test-support/fake-app-bridge.ts';
import { clusterNameProblem, joinCodeProblem, lanRows } from './start-screen.ts';

describe('lanRows', () => {
  it('says how many members so far, or that the cluster has formed; lists each address once', () => {
    const machine = lanCluster().machines[0]!;
    const [forming, formed] = lanRows([
      lanCluster({ machines: [machine, { ...machine, peerId: 'other' }] }),
      lanCluster({ cluster: 'b', size: 7, members: 7, formed: true }),
    ]);
    expect(forming).toMatchObject({ members: '2 of 4 so far', f: 1, addresses: machine.addresses });
    expect(formed).toMatchObject({ members: 'formed: 7 of 7', f: 2 });
  });
});

describe('form checks', () => {
  it('names', () => {
    expect(clusterNameProblem('room-101')).toBeNull();
    expect(clusterNameProblem(' ')).toBe('give the cluster a name');
    expect(clusterNameProblem('room 101')).toContain('letters, digits');
    expect(clusterNameProblem('-x')).toContain('not starting with');
  });

  it('join codes: 56 letters and digits, in any case, with or without dashes and spaces', () => {
    expect(joinCodeProblem(FAKE_JOIN_CODE)).toBeNull();
    expect(joinCodeProblem(FAKE_JOIN_CODE.toLowerCase().replaceAll('-', ' '))).toBeNull();
    expect(joinCodeProblem('')).toContain('paste or type');
    expect(joinCodeProblem(FAKE_JOIN_CODE.slice(0, -1))).toBe('a join code has 56 letters and digits, this one 55');
    expect(joinCodeProblem(`${FAKE_JOIN_CODE.slice(0, -1)}!`)).toContain('letters and digits only');
  });
});
