/**
 * "Faulty so far: k of f" as the dashboard shows it, from the snapshot's tally of the members'
 * signed behaviour histories (core/host/behaviour-ledger.ts): who has been Byzantine in this run,
 * since when (on that machine's clock), whether a switch of this replica would go beyond f, and
 * which roster members have been silent long enough to mention what that means.
 */
import type { BehaviourSwitch, FaultySoFar, LabSnapshot } from '../../../core/host/lab-api.ts';
import { shortPeerId } from './cluster-rows.ts';

/** A roster member not heard from for this long is called silent in the Cluster panel. */
export const SILENT_MS = 10_000;

export interface FaultyRow {
  readonly replicaId: number;
  /** Its history has reached this machine. */
  readonly known: boolean;
  readonly isSelf: boolean;
  /** What it runs now by its history (null: honest). */
  readonly behaviour: string | null;
  /** Its first switch to a Byzantine behaviour (null: never Byzantine). */
  readonly first: BehaviourSwitch | null;
  /** One line: what it has been, and when by its clock. */
  readonly text: string;
}

export interface FaultyView {
  readonly count: number;
  readonly f: number;
  readonly beyondBound: boolean;
  /** "faulty so far: k of f" */
  readonly label: string;
  /** 'ok' below f, 'warn' at f (one more breaks the bound), 'bad' beyond. */
  readonly tone: 'ok' | 'warn' | 'bad';
  /** The members that have been Byzantine, then those whose history has not arrived. */
  readonly rows: readonly FaultyRow[];
  /** Switching this replica to a Byzantine behaviour would make more than f faulty: ask first. */
  readonly switchNeedsConfirmation: boolean;
}

/** A time on a machine's own clock, as a person reads it. */
export function clockTime(atMs: number): string {
  return new Date(atMs).toLocaleTimeString('en-GB', { hour12: false });
}

export function faultyView(tally: FaultySoFar, selfReplicaId: number | null): FaultyView {
  const rows: FaultyRow[] = [];
  for (const m of tally.members) {
    const isSelf = m.replicaId === selfReplicaId;
    if (m.firstByzantine) {
      const now =
        m.behaviour === null
          ? 'honest again'
          : m.behaviour === m.firstByzantine.behaviour
            ? 'still on'
            : `now ${m.behaviour}`;
      rows.push({
        replicaId: m.replicaId,
        known: true,
        isSelf,
        behaviour: m.behaviour,
        first: m.firstByzantine,
        text: `${m.firstByzantine.behaviour} from ${clockTime(m.firstByzantine.atMs)} on its clock; ${now}`,
      });
    } else if (!m.known) {
      rows.push({
        replicaId: m.replicaId,
        known: false,
        isSelf,
        behaviour: null,
        first: null,
        text: 'its history has not reached this machine: it may have been Byzantine',
      });
    }
  }
  const self = tally.members.find((m) => m.replicaId === selfReplicaId);
  const tone = tally.count > tally.f ? 'bad' : tally.count === tally.f ? 'warn' : 'ok';
  return {
    count: tally.count,
    f: tally.f,
    beyondBound: tally.beyondBound,
    label: `faulty so far: ${tally.count} of f = ${tally.f}`,
    tone,
    rows,
    switchNeedsConfirmation: self !== undefined && self.firstByzantine === null && tally.count + 1 > tally.f,
  };
}

export interface SilentMember {
  readonly replicaId: number;
  readonly peerShortId: string;
  /** Seconds since it was last heard, or null if never (since this machine started). */
  readonly silentSeconds: number | null;
}

/** Roster members (not this machine) not heard from for SILENT_MS or more, or never. */
export function silentMembers(snapshot: LabSnapshot): SilentMember[] {
  const peers = new Map(snapshot.peers.map((p) => [p.peerId, p]));
  const silent: SilentMember[] = [];
  snapshot.roster.forEach((peerId, replicaId) => {
    if (peerId === snapshot.self.peerId) return;
    const heard = peers.get(peerId)?.lastHeardMsAgo ?? null;
    if (heard !== null && heard < SILENT_MS) return;
    silent.push({
      replicaId,
      peerShortId: shortPeerId(peerId),
      silentSeconds: heard === null ? null : Math.round(heard / 1000),
    });
  });
  return silent;
}
