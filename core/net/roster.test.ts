import { describe, expect, it } from 'vitest';
import { parseHello, RosterFormation, type Hello } from './roster.ts';

const peers = ['peer-a', 'peer-b', 'peer-c', 'peer-d', 'peer-e'];
const make = (self: string, size = 4) => new RosterFormation({ self, cluster: 'lab', size });

/** Everyone hears everyone's current HELLO, until nothing changes. */
function gossip(machines: RosterFormation[]): void {
  for (let round = 0; round < 5; round++) {
    for (const from of machines) for (const to of machines) if (to !== from) to.onHello(from.self, from.hello());
    for (const m of machines) m.tryAdopt();
  }
}

describe('roster formation', () => {
  it('four machines that hear each other adopt the same roster, sorted by peer id', () => {
    const machines = peers
      .slice(0, 4)
      .reverse()
      .map((p) => make(p));
    gossip(machines);
    for (const m of machines) expect(m.adopted).toEqual(peers.slice(0, 4));
    expect(machines.map((m) => m.replicaId)).toEqual([3, 2, 1, 0]);
  });

  it('does not adopt while a member still announces another candidate', () => {
    const a = make('peer-a');
    for (const p of ['peer-b', 'peer-c', 'peer-d'])
      a.onHello(p, { cluster: 'lab', size: 4, candidate: null, adopted: null, role: 'member' });
    expect(a.tryAdopt()).toBeNull();
  });

  it('a fifth machine becomes an observer once f+1 members vouch for their roster', () => {
    const members = peers.slice(0, 4).map((p) => make(p));
    gossip(members);
    const late = make('peer-e');
    for (const m of members.slice(0, 1)) late.onHello(m.self, m.hello());
    expect(late.tryAdopt()).toBeNull();
    late.onHello(members[1]!.self, members[1]!.hello());
    expect(late.tryAdopt()).toEqual(peers.slice(0, 4));
    expect(late.replicaId).toBeNull();
  });

  it('refuses HELLOs of another cluster, another size, or with a malformed roster', () => {
    const a = make('peer-a');
    const hello: Hello = { cluster: 'lab', size: 4, candidate: null, adopted: null, role: 'member' };
    expect(a.onHello('x', { ...hello, cluster: 'other' })).toEqual({ ok: false, reason: 'cluster "other", not "lab"' });
    expect(a.onHello('x', { ...hello, size: 7 }).ok).toBe(false);
    expect(a.onHello('x', { ...hello, candidate: ['b', 'a', 'c', 'd'] }).ok).toBe(false);
    expect(a.knownPeers).toEqual([]);
  });

  it('clients take no part in forming the roster', () => {
    const machines = peers.slice(0, 3).map((p) => make(p));
    for (const m of machines)
      m.onHello('client-1', { cluster: 'lab', size: 4, candidate: null, adopted: null, role: 'client' });
    gossip(machines);
    for (const m of machines) expect(m.adopted).toBeNull();
  });

  it('parses HELLO JSON strictly', () => {
    expect(parseHello('{"cluster":"lab","size":4,"candidate":null,"adopted":null,"role":"member"}')).not.toBeNull();
    expect(parseHello('{"cluster":"lab","size":5,"candidate":null,"adopted":null,"role":"member"}')).toBeNull();
    expect(parseHello('not json')).toBeNull();
    expect(parseHello('{"cluster":"lab","size":4,"candidate":[1],"adopted":null,"role":"member"}')).toBeNull();
  });
});
