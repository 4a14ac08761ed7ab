/**
 * Who has been Byzantine in this run (issue 19, finding 2): four ledgers, one per member, passing
 * their signed histories to each other as the hosts' BEHAVIOUR-HISTORY frames would (a fake
 * transport: a function call with the authenticated sender), and what they count against f.
 */
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { beforeAll, describe, expect, it } from 'vitest';
import { signingKeyFromLibp2p } from '../crypto/libp2p-keys.ts';
import {
  BEHAVIOUR_HISTORY_MAX,
  readSignedHistory,
  signHistory,
  SIGNATURE_BYTES,
  verifyHistory,
  withSwitch,
} from './behaviour-history.ts';
import { BehaviourLedger, FaultBoundError } from './behaviour-ledger.ts';
import { EXCEED_F_MESSAGE, type BehaviourSwitch } from './lab-api.ts';
import type { StoredBehaviours } from './storage-behaviours.ts';
import type { KeyObject } from 'node:crypto';

const CLUSTER = 'lab';
const N = 4;

interface Member {
  readonly peerId: string;
  readonly key: KeyObject;
}

let members: Member[];
let roster: string[];
/** A key and peer id outside the roster. */
let stranger: Member;

beforeAll(async () => {
  const made = await Promise.all(
    Array.from({ length: N + 1 }, async () => {
      const privateKey = await generateKeyPair('Ed25519');
      return { peerId: peerIdFromPrivateKey(privateKey).toString(), key: signingKeyFromLibp2p(privateKey) };
    }),
  );
  stranger = made.pop()!;
  members = made.sort((a, b) => (a.peerId < b.peerId ? -1 : 1));
  roster = members.map((m) => m.peerId);
});

interface TestLedger {
  readonly ledger: BehaviourLedger;
  readonly saved: StoredBehaviours[];
  readonly notes: string[];
  readonly switches: string[];
}

function ledgerFor(id: number, stored: StoredBehaviours | null = null, failSaves = false): TestLedger {
  const saved: StoredBehaviours[] = [];
  const notes: string[] = [];
  const switches: string[] = [];
  let clock = Date.UTC(2026, 11, 7, 9, 0, 0) + id * 1_000;
  const ledger = new BehaviourLedger({
    cluster: CLUSTER,
    size: N,
    self: roster[id]!,
    roster,
    signingKey: members[id]!.key,
    stored,
    save: async (s) => {
      if (failSaves) throw new Error('disk full');
      saved.push(s);
    },
    onSwitch: (member, change, tally) =>
      switches.push(`r${member.replicaId} #${change.n} ${change.behaviour ?? 'honest'} → ${tally.count}/${tally.f}`),
    note: (line) => notes.push(line),
    now: () => (clock += 60_000),
  });
  return { ledger, saved, notes, switches };
}

/** Every member sends its signed history to every other (a round of the periodic send). */
function gossip(ledgers: readonly TestLedger[]): (string | null)[] {
  const reasons: (string | null)[] = [];
  for (const [from, sender] of ledgers.entries()) {
    const signed = sender.ledger.signedOwn()!;
    for (const [to, receiver] of ledgers.entries())
      if (to !== from) reasons.push(receiver.ledger.accept(roster[from]!, signed));
  }
  return reasons;
}

function flip(bytes: Uint8Array, at: number, bits: number): void {
  bytes[at] = bytes[at]! ^ bits;
}

/** Writes the ledger queued without waiting (histories received) have landed. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 0));

const counts = (ledgers: readonly TestLedger[]) => ledgers.map((l) => l.ledger.tally().count);

function signedBy(member: Member, entries: readonly BehaviourSwitch[], peerId = member.peerId, cluster = CLUSTER) {
  return signHistory({ cluster, size: N, peerId, entries }, member.key);
}

describe('the behaviour history', () => {
  it('is signed by the replica’s identity key and checks against its peer id only', () => {
    const entries = withSwitch([], 'silent', 1_000);
    const signed = signedBy(members[0]!, entries);
    expect(verifyHistory(signed, roster[0]!)).toBe(true);
    expect(verifyHistory(signed, roster[1]!)).toBe(false);
    const opened = readSignedHistory(signed);
    expect(opened.ok && opened.history.entries).toEqual([{ n: 1, atMs: 1_000, behaviour: 'silent' }]);
    // One bit of the payload changed (silent → silenu): the signature no longer holds.
    const forged = signed.slice();
    flip(forged, forged.length - 6, 1);
    expect(readSignedHistory(forged).ok).toBe(true);
    expect(verifyHistory(forged, roster[0]!)).toBe(false);
  });

  it(`keeps at most ${BEHAVIOUR_HISTORY_MAX} switches: the first Byzantine one and the latest`, () => {
    let entries: BehaviourSwitch[] = [];
    for (let i = 0; i < 200; i++) entries = withSwitch(entries, i % 2 === 0 ? 'flood' : null, i);
    expect(entries).toHaveLength(BEHAVIOUR_HISTORY_MAX);
    expect(entries[0]).toEqual({ n: 1, atMs: 0, behaviour: 'flood' });
    expect(entries[1]!.n).toBe(200 - BEHAVIOUR_HISTORY_MAX + 2);
    expect(entries.at(-1)!.n).toBe(200);
    expect(signedBy(members[0]!, entries).length).toBeLessThan(8 * 1024);
  });
});

describe('faulty so far, across four members', () => {
  it('counts each replica that has ever been Byzantine once, on every member, against f', async () => {
    const ledgers = [0, 1, 2, 3].map((id) => ledgerFor(id));
    gossip(ledgers);
    expect(counts(ledgers)).toEqual([0, 0, 0, 0]);
    expect(ledgers[0]!.ledger.tally().members.every((m) => m.known)).toBe(true);

    // Replica 0 Byzantine, then honest, then Byzantine again: one faulty replica.
    await ledgers[0]!.ledger.record('corrupt-reply');
    await ledgers[0]!.ledger.record(null);
    await ledgers[0]!.ledger.record('silent');
    gossip(ledgers);
    expect(counts(ledgers)).toEqual([1, 1, 1, 1]);
    const seen = ledgers[3]!.ledger.tally().members[0]!;
    expect(seen.behaviour).toBe('silent');
    expect(seen.firstByzantine?.behaviour).toBe('corrupt-reply');
    expect(seen.history.map((s) => s.behaviour)).toEqual(['corrupt-reply', null, 'silent']);
    expect(ledgers[3]!.switches).toEqual(['r0 #1 corrupt-reply → 1/1', 'r0 #2 honest → 1/1', 'r0 #3 silent → 1/1']);

    // Replica 0 honest again still counts: replica 1 would be the second faulty replica of the run, f = 1.
    await ledgers[0]!.ledger.record(null);
    gossip(ledgers);
    expect(() => ledgers[1]!.ledger.checkBound()).toThrow(FaultBoundError);
    expect(() => ledgers[1]!.ledger.checkBound()).toThrow(EXCEED_F_MESSAGE);
    expect(() => ledgers[1]!.ledger.checkBound()).toThrow(/replica 0 \(corrupt-reply/);
    // Replica 0 itself may switch again: it is counted already.
    expect(() => ledgers[0]!.ledger.checkBound()).not.toThrow();

    // Confirmed (the host skips checkBound with exceedF): two of f = 1, beyond the bound, everywhere.
    await ledgers[1]!.ledger.record('equivocate');
    gossip(ledgers);
    expect(counts(ledgers)).toEqual([2, 2, 2, 2]);
    expect(ledgers.every((l) => l.ledger.tally().beyondBound)).toBe(true);
  });

  it('ignores a forged history, one from another member, an old copy, and one rewritten to clear a replica', async () => {
    const [a, b] = [ledgerFor(0), ledgerFor(1)];
    await b.ledger.record('silent');
    await b.ledger.record(null);
    const current = b.ledger.signedOwn()!;
    expect(a.ledger.accept(roster[1]!, current)).toBeNull();
    expect(a.ledger.tally().count).toBe(1);

    // Forged: a newer history of replica 1 where it was never Byzantine, signed with another member's key.
    const honest: BehaviourSwitch[] = [1, 2, 3].map((n) => ({ n, atMs: n, behaviour: null }));
    const forged = signedBy(members[2]!, honest, roster[1]!);
    expect(a.ledger.accept(roster[1]!, forged)).toBe('bad signature');
    // Forged in transit: a bit flipped in a genuine one.
    const flipped = current.slice();
    flip(flipped, SIGNATURE_BYTES + 3, 0x20);
    expect(a.ledger.accept(roster[1]!, flipped)).toMatch(/bad signature|malformed/);
    // Replica 1's own genuine history relayed by replica 2: a member speaks only for itself.
    expect(a.ledger.accept(roster[2]!, current)).toMatch(/history of .*, not of its sender/);
    // A stranger's history, even one signed by itself.
    expect(a.ledger.accept(stranger.peerId, signedBy(stranger, withSwitch([], 'silent', 1)))).toBe(
      'not a member of the roster',
    );
    // Another cluster's.
    const elsewhere = signedBy(
      members[1]!,
      withSwitch(withSwitch(withSwitch([], 'silent', 1), null, 2), null, 3),
      roster[1]!,
      'other',
    );
    expect(a.ledger.accept(roster[1]!, elsewhere)).toMatch(/of cluster "other"/);

    // Replayed: the older copy (only the switch on) after the newer one.
    const b2 = ledgerFor(1);
    await b2.ledger.record('silent');
    const older = b2.ledger.signedOwn()!;
    expect(a.ledger.accept(roster[1]!, older)).toMatch(/not newer than the one held .*an old copy/);

    // Rewritten: a newer history, genuinely signed, that no longer has the Byzantine switch 1.
    const rewritten = signedBy(members[1]!, [
      { n: 1, atMs: 1, behaviour: null },
      { n: 2, atMs: 2, behaviour: null },
      { n: 3, atMs: 3, behaviour: null },
    ]);
    expect(a.ledger.accept(roster[1]!, rewritten)).toMatch(/rewrites switch 1/);
    const dropped = signedBy(members[1]!, [{ n: 5, atMs: 5, behaviour: null }]);
    expect(a.ledger.accept(roster[1]!, dropped)).toMatch(/drops switch 1, its first to a Byzantine behaviour/);

    const seen = a.ledger.tally().members[1]!;
    expect(seen.firstByzantine?.behaviour).toBe('silent');
    expect(seen.history).toHaveLength(2);
    expect(a.ledger.tally().count).toBe(1);
  });

  it('keeps its own history and the others’ across a restart (what the data directory holds)', async () => {
    const [a, b] = [ledgerFor(0), ledgerFor(1)];
    await a.ledger.record('flood');
    await b.ledger.record('replay');
    a.ledger.accept(roster[1]!, b.ledger.signedOwn()!);
    await settled();
    const onDisk = a.saved.at(-1)!;
    expect(onDisk.own.map((s) => s.behaviour)).toEqual(['flood']);
    expect(Object.keys(onDisk.members)).toEqual([roster[1]]);

    const restarted = ledgerFor(0, onDisk);
    expect(restarted.ledger.own.map((s) => s.behaviour)).toEqual(['flood']);
    expect(restarted.ledger.tally().count).toBe(2);
    expect(restarted.ledger.tally().members[1]!.known).toBe(true);
    // Numbers go on from where they were, so the others take the new history as newer.
    await restarted.ledger.record(null, true);
    expect(restarted.ledger.own.at(-1)).toMatchObject({ n: 2, behaviour: null, restart: true });
    expect(b.ledger.accept(roster[0]!, restarted.ledger.signedOwn()!)).toBeNull();
    expect(b.ledger.tally().members[0]!.behaviour).toBeNull();

    // A stored history that no longer checks (edited on disk) is dropped, with a note.
    const edited = onDisk.members[roster[1]!]!.slice();
    flip(edited, edited.length - 4, 1);
    const reloaded = ledgerFor(0, { ...onDisk, members: { [roster[1]!]: edited } });
    expect(reloaded.ledger.tally().members[1]!.known).toBe(false);
    expect(reloaded.notes.join('\n')).toMatch(/from the data directory ignored: (bad signature|malformed)/);
  });

  it('a switch is shared and counted only once it is on disk', async () => {
    let land: () => void = () => {};
    const written: StoredBehaviours[] = [];
    const ledger = new BehaviourLedger({
      cluster: CLUSTER,
      size: N,
      self: roster[0]!,
      roster,
      signingKey: members[0]!.key,
      stored: null,
      save: (stored) => {
        written.push(stored);
        return new Promise((resolve) => (land = resolve));
      },
      onSwitch: () => {},
      note: () => {},
    });
    const recorded = ledger.record('silent');
    await settled();
    expect(written.at(-1)!.own.map((s) => s.behaviour)).toEqual(['silent']);
    const opened = readSignedHistory(ledger.signedOwn()!);
    expect(opened.ok && opened.history.entries).toEqual([]);
    expect(ledger.tally().count).toBe(0);
    land();
    await recorded;
    expect(ledger.tally().count).toBe(1);
    const after = readSignedHistory(ledger.signedOwn()!);
    expect(after.ok && after.history.entries.map((s) => s.behaviour)).toEqual(['silent']);
  });

  it('a switch that cannot be written is not recorded', async () => {
    const a = ledgerFor(0, null, true);
    await expect(a.ledger.record('silent')).rejects.toThrow('disk full');
    expect(a.ledger.own).toEqual([]);
    expect(a.ledger.tally().count).toBe(0);
  });

  it('an observer (not in the roster) counts the members’ histories and has none to send', async () => {
    const b = ledgerFor(1);
    await b.ledger.record('silent');
    const observer = new BehaviourLedger({
      cluster: CLUSTER,
      size: N,
      self: stranger.peerId,
      roster,
      signingKey: stranger.key,
      stored: null,
      save: async () => {},
      onSwitch: () => {},
      note: () => {},
    });
    expect(observer.signedOwn()).toBeNull();
    expect(observer.accept(roster[1]!, b.ledger.signedOwn()!)).toBeNull();
    expect(observer.tally()).toMatchObject({ count: 1, f: 1, beyondBound: false });
    expect(
      observer
        .tally()
        .members.filter((m) => m.known)
        .map((m) => m.replicaId),
    ).toEqual([1]);
  });
});
