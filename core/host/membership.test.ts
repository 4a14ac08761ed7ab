/**
 * Membership alone, with a fake transport and clock: HELLOs form the roster, strangers and clients
 * that go quiet are forgotten (members never), and the number of peers tracked is bounded.
 */
import { describe, expect, it } from 'vitest';
import type { Hello } from '../net/roster.ts';
import { MAX_TRACKED_PEERS, Membership } from './membership.ts';
import type { WireFrame } from './wire.ts';

const SELF = 'peer-a';
const OTHERS = ['peer-b', 'peer-c', 'peer-d'];
const ROSTER = [SELF, ...OTHERS];
const IDLE_MS = 1_000;

function setup(adopted: readonly string[] | null = null) {
  let clock = 0;
  const links = new Set<string>();
  const sent: { peer: string; frame: WireFrame }[] = [];
  const notes: string[] = [];
  const debugNotes: string[] = [];
  const adoptions: (readonly string[])[] = [];
  const forgotten: string[] = [];
  const membership = new Membership({
    self: SELF,
    cluster: 'lab',
    size: 4,
    adopted,
    peerIdleMs: IDLE_MS,
    transport: { addPeer: (peer) => void links.add(peer), removePeer: (peer) => void links.delete(peer) },
    node: {
      dial: () => Promise.reject(new Error('no network here')),
      peerStore: { get: () => Promise.reject(new Error('unknown')) } as never,
    },
    listenAddresses: () => ['/ip4/10.0.0.1/tcp/4001'],
    sendFrame: (peer, frame) => sent.push({ peer, frame }),
    note: (line, level) => void (level === 'debug' ? debugNotes : notes).push(line),
    onRosterAdopted: (roster) => adoptions.push(roster),
    onForget: (peer) => forgotten.push(peer),
    now: () => clock,
  });
  const advance = (ms: number) => (clock += ms);
  return { membership, links, sent, notes, debugNotes, adoptions, forgotten, advance };
}

const hello = (fields: Partial<Hello> = {}): string =>
  JSON.stringify({ cluster: 'lab', size: 4, candidate: ROSTER, adopted: null, role: 'member', ...fields });

describe('Membership', () => {
  it('shows the proposed roster, logged once per change, before it adopts it', () => {
    const { membership, notes } = setup();
    membership.onHello(OTHERS[0]!, hello());
    membership.onHello(OTHERS[1]!, hello());
    expect(membership.proposedRoster).toBeNull(); // three of four known: nothing to propose yet
    membership.onHello(OTHERS[2]!, hello({ candidate: null }));
    expect(membership.proposedRoster).toEqual(ROSTER);
    expect(membership.adopted).toBeNull(); // peer-d has not announced it yet
    membership.onHello(OTHERS[0]!, hello());
    const proposals = notes.filter((l) => l.startsWith('proposed roster:'));
    expect(proposals).toHaveLength(1);
    expect(proposals[0]).toContain('0=peer-a (this machine)');
    membership.onHello(OTHERS[2]!, hello());
    expect(membership.adopted).toEqual(ROSTER);
    expect(membership.proposedRoster).toBeNull();
    const proposedAt = notes.findIndex((l) => l.startsWith('proposed roster:'));
    expect(notes.findIndex((l) => l.startsWith('roster agreed:'))).toBeGreaterThan(proposedAt);
  });

  it('adopts the roster once every member announces it, links to the members and says so once', () => {
    const { membership, links, adoptions } = setup();
    for (const peer of OTHERS.slice(0, 2)) membership.onHello(peer, hello());
    expect(membership.adopted).toBeNull();
    membership.onHello(OTHERS[2]!, hello());
    expect(adoptions).toEqual([ROSTER]);
    expect(membership.adopted).toEqual(ROSTER);
    expect(membership.replicaId).toBe(0);
    expect([...links].sort()).toEqual(OTHERS);
    membership.onHello(OTHERS[0]!, hello({ adopted: ROSTER }));
    expect(adoptions).toHaveLength(1);
  });

  it('ignores a HELLO of another cluster or size, naming both', () => {
    const { membership, notes, links } = setup();
    membership.onHello('peer-x', hello({ cluster: 'physics' }));
    membership.onHello('peer-y', hello({ size: 7 }));
    expect(notes).toEqual([
      'HELLO from peer-x ignored: cluster "physics" of 4, not "lab" of 4',
      'HELLO from peer-y ignored: cluster "lab" of 7, not "lab" of 4',
    ]);
    expect(links.size).toBe(0);
  });

  it('tells a client where the members listen', () => {
    const { membership, sent } = setup(ROSTER);
    membership.onHello('client-1', hello({ role: 'client', candidate: null }));
    const answer = sent.find((s) => s.peer === 'client-1')!.frame;
    expect(answer.kind).toBe('hello');
    const addrs = JSON.parse((answer as { json: string }).json).addrs;
    expect(addrs[SELF]).toEqual(['/ip4/10.0.0.1/tcp/4001']);
    expect(Object.keys(addrs)).toEqual(ROSTER);
  });

  it('forgets a stranger and a client that go quiet, but never a member', () => {
    const { membership, links, forgotten, advance } = setup(ROSTER);
    membership.meet('peer-stranger', []);
    membership.onHello('client-1', hello({ role: 'client', candidate: null }));
    for (const member of OTHERS) membership.onHello(member, hello({ adopted: ROSTER }));
    advance(IDLE_MS / 2);
    membership.touchClient('client-1');
    advance(IDLE_MS / 2 + 1);
    membership.announce();
    expect(forgotten).toEqual(['peer-stranger']);
    advance(IDLE_MS);
    membership.announce();
    expect(forgotten).toEqual(['peer-stranger', 'client-1']);
    expect(membership.knownPeers().map((p) => p.peerId)).toEqual(OTHERS);
    expect(links.has('client-1') || links.has('peer-stranger')).toBe(false);
    expect(OTHERS.every((m) => membership.isKnown(m))).toBe(true);
  });

  it(`tracks at most ${MAX_TRACKED_PEERS} peers`, () => {
    const { membership, notes } = setup();
    for (let i = 0; i < MAX_TRACKED_PEERS + 3; i++) membership.meet(`peer-${String(i).padStart(4, '0')}`, []);
    expect(membership.knownPeers()).toHaveLength(MAX_TRACKED_PEERS);
    expect(notes.filter((line) => line.includes('already tracking'))).toHaveLength(3);
  });

  it('a client that left is no longer listed after a few seconds; one that stays is (issue 15, point 8)', () => {
    const { membership, advance } = setup(ROSTER);
    membership.rememberClient('one-shot');
    membership.rememberClient('shell');
    membership.heard('one-shot');
    membership.heard('shell');
    for (let s = 0; s < 6; s++) {
      advance(1_000);
      membership.heard('shell'); // its keys, every second
    }
    const listed = membership.knownPeers().map((p) => p.peerId);
    expect(listed).toContain('shell');
    expect(listed).not.toContain('one-shot');
    expect(listed).toEqual(expect.arrayContaining(OTHERS));
  });

  it('peers discovered after the roster formed (clients, strangers) are debug detail, not terminal lines', () => {
    const forming = setup();
    forming.membership.meet('peer-b', []);
    expect(forming.notes.some((l) => l.startsWith('discovered'))).toBe(true);
    const formed = setup(ROSTER);
    formed.membership.meet('a-client', []);
    expect(formed.notes.some((l) => l.startsWith('discovered'))).toBe(false);
    expect(formed.debugNotes.some((l) => l.startsWith('discovered'))).toBe(true);
  });
});
