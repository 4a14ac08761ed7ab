/**
 * Checks of relayed proofs, and the NEW-VIEW decision of §4.4. What a replica relays as evidence is
 * signed with Ed25519 so that any receiver can check it: checkpoint proofs C (2f+1 CHECKPOINTs), and
 * VIEW-CHANGE messages inside NEW-VIEW (docs/authentication.md). The normal case is not signed, so a
 * VIEW-CHANGE carries no prepared certificates: its P and Q sets are the sender's signed *claims*,
 * and the decision (`planNewView`, TOCS'02 §4.5) believes only what enough replicas claim alike.
 * Each check returns `null` when the proof holds, or the reason it does not — the caller logs the
 * reason and ignores the message.
 */
import { batchBytes, signingBytes } from './codec.ts';
import type { Quorums } from './config.ts';
import type { ReplicaCrypto } from './crypto.ts';
import type {
  Checkpoint,
  Digest,
  LogClaim,
  NewView,
  NewViewOrder,
  ReplicaId,
  Request,
  ViewChange,
} from './messages.ts';

/** p = v mod n (§4). */
export function primaryOf(view: number, n: number): ReplicaId {
  return view % n;
}

type Signed = Checkpoint | ViewChange | NewView;

/** Remembers signatures already verified, so retransmitted proofs are not re-verified (bounded). */
const VERIFIED_CACHE_MAX = 8192;

export class ProofChecker {
  private readonly crypto: ReplicaCrypto;
  private readonly q: Quorums;
  private readonly verified = new Set<string>();

  constructor(crypto: ReplicaCrypto, q: Quorums) {
    this.crypto = crypto;
    this.q = q;
  }

  batchDigest(requests: readonly Request[]): Digest {
    return this.crypto.digest(batchBytes(requests));
  }

  /** The signature of a signed message, checked against the signer named in it. */
  signatureValid(m: Signed): boolean {
    if (m.replica >= this.q.n) return false;
    const data = signingBytes(m);
    const key = `${m.replica}:${this.crypto.digest(data)}:${this.crypto.digest(m.sig)}`;
    if (this.verified.has(key)) return true;
    if (!this.crypto.verify(m.replica, data, m.sig)) return false;
    if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.clear();
    this.verified.add(key);
    return true;
  }

  /** 2f+1 signed CHECKPOINTs from distinct replicas for (seq, digest) (§4.3). */
  checkpointProof(seq: number, stateDigest: Digest, proof: readonly Checkpoint[]): string | null {
    const signers = new Set<ReplicaId>();
    for (const cp of proof) {
      if (cp.seq !== seq || cp.stateDigest !== stateDigest) return `checkpoint proof mixes checkpoints (n=${cp.seq})`;
      if (signers.has(cp.replica)) return `checkpoint proof repeats replica ${cp.replica}`;
      if (!this.signatureValid(cp)) return `checkpoint proof has a bad signature from ${cp.replica}`;
      signers.add(cp.replica);
    }
    return signers.size >= this.q.strong ? null : `checkpoint proof has ${signers.size} < ${this.q.strong} checkpoints`;
  }

  /**
   * A VIEW-CHANGE message: its signature, C proves its stable checkpoint, and its claims are well
   * formed — inside its watermarks, from views before the new one, one P claim per sequence number and
   * one Q claim per (sequence number, digest). Whether the claims are *true* is not checkable; the
   * NEW-VIEW decision does not need them to be (planNewView).
   */
  viewChange(vc: ViewChange, logWindow: number): string | null {
    if (!this.signatureValid(vc)) return 'view-change has a bad signature';
    if (vc.stableSeq > 0) {
      const digest = vc.checkpointProof[0]?.stateDigest ?? '';
      const bad = this.checkpointProof(vc.stableSeq, digest, vc.checkpointProof);
      if (bad) return bad;
    } else if (vc.checkpointProof.length > 0) {
      return 'view-change has a checkpoint proof for n=0';
    }
    const inRange = (c: LogClaim, set: string): string | null => {
      if (c.seq <= vc.stableSeq || c.seq > vc.stableSeq + logWindow)
        return `${set} claim n=${c.seq} outside the watermarks`;
      if (c.view >= vc.newView) return `${set} claim n=${c.seq} from view ${c.view} ≥ ${vc.newView}`;
      return null;
    };
    const preparedSeqs = new Set<number>();
    for (const c of vc.prepared) {
      const bad = inRange(c, 'P');
      if (bad) return bad;
      if (preparedSeqs.has(c.seq)) return `two P claims for n=${c.seq}`;
      preparedSeqs.add(c.seq);
    }
    const prePrepared = new Set<string>();
    for (const c of vc.prePrepared) {
      const bad = inRange(c, 'Q');
      if (bad) return bad;
      const key = `${c.seq}:${c.digest}`;
      if (prePrepared.has(key)) return `two Q claims for n=${c.seq} d=${c.digest.slice(0, 6)}`;
      prePrepared.add(key);
    }
    return null;
  }
}

/** What the NEW-VIEW decision found. */
export type NewViewPlan =
  | {
      readonly decided: true;
      /** min-s: the latest stable checkpoint in V, with its digest and proof. */
      readonly minSeq: number;
      readonly minDigest: Digest | null;
      readonly minProof: readonly Checkpoint[];
      /** max-s: the last sequence number O orders (≥ min-s). */
      readonly maxSeq: number;
      /** O, one entry per sequence number in (min-s, max-s]. */
      readonly order: readonly NewViewOrder[];
    }
  | {
      readonly decided: false;
      /** The first sequence number V does not decide yet: the new primary waits for more VIEW-CHANGEs. */
      readonly undecidedSeq: number;
    };

/**
 * The new primary's decision (§4.4, in the form of TOCS'02 §4.5 for unsigned normal-case messages):
 * from the VIEW-CHANGE messages V (≥ 2f+1, all valid), choose min-s and, for every s above it, the
 * digest the new view orders at s.
 *
 * - min-s is the latest stable checkpoint proven in V (C is signed, OSDI'99 style).
 * - For each s, a P claim ⟨s, d, v⟩ is chosen if
 *   A1: 2f+1 messages in V claim at s nothing prepared, or prepared in a view before v, or d in v; and
 *   A2: f+1 messages in V claim d pre-prepared at s in view v or later (so a correct replica did).
 *   Among several, the highest view wins (then the smallest digest, to be deterministic).
 * - Otherwise, if 2f+1 messages claim nothing prepared at s (B), the null request fills s.
 * - Otherwise s is undecided: V is not enough yet, and the new primary waits for more VIEW-CHANGEs.
 *
 * Why it is safe: a batch that committed at s in view v prepared at f+1 correct replicas, so any 2f+1
 * messages include one of them: that one refutes A1 for any other digest in a view ≤ v and refutes B;
 * A2 refutes other digests in later views, which no correct replica pre-prepared at s (by induction,
 * every NEW-VIEW since chose d). So d, and only d, is chosen. Why it terminates: with the VIEW-CHANGEs
 * of all 2f+1 correct replicas in V, the highest-view correct P claim satisfies A1 and A2, and a
 * sequence number no correct replica prepared satisfies B.
 *
 * O ends at the last sequence number chosen by A (a gap before it is a null request); the B-decided
 * sequence numbers after it are left to the new primary to assign. Deterministic: the new primary and
 * every backup compute the same plan from the same V.
 */
export function planNewView(viewChanges: readonly ViewChange[], q: Quorums, nullDigest: Digest): NewViewPlan {
  let minSeq = 0;
  let minDigest: Digest | null = null;
  let minProof: readonly Checkpoint[] = [];
  for (const vc of viewChanges) {
    if (vc.stableSeq > minSeq) {
      minSeq = vc.stableSeq;
      minDigest = vc.checkpointProof[0]?.stateDigest ?? null;
      minProof = vc.checkpointProof;
    }
  }
  // Per sequence number above min-s: each message's P claim, and its Q claims by digest.
  const preparedAt = new Map<number, Map<ViewChange, LogClaim>>();
  const prePreparedAt = new Map<number, Map<Digest, Map<ViewChange, number>>>();
  let lastClaimed = minSeq;
  for (const vc of viewChanges) {
    for (const c of vc.prepared) {
      if (c.seq <= minSeq) continue;
      let at = preparedAt.get(c.seq);
      if (!at) preparedAt.set(c.seq, (at = new Map()));
      at.set(vc, c);
      if (c.seq > lastClaimed) lastClaimed = c.seq;
    }
    for (const c of vc.prePrepared) {
      if (c.seq <= minSeq) continue;
      let at = prePreparedAt.get(c.seq);
      if (!at) prePreparedAt.set(c.seq, (at = new Map()));
      let byVc = at.get(c.digest);
      if (!byVc) at.set(c.digest, (byVc = new Map()));
      byVc.set(vc, c.view);
    }
  }
  const order: NewViewOrder[] = [];
  let maxSeq = minSeq;
  for (let seq = minSeq + 1; seq <= lastClaimed; seq++) {
    const claims = preparedAt.get(seq) ?? new Map<ViewChange, LogClaim>();
    const candidates = [...claims.values()].sort((a, b) => b.view - a.view || (a.digest < b.digest ? -1 : 1));
    let chosen: Digest | null = null;
    for (const candidate of candidates) {
      let a1 = 0;
      for (const vc of viewChanges) {
        if (vc.stableSeq >= seq) continue;
        const own = claims.get(vc);
        if (!own || own.view < candidate.view || (own.view === candidate.view && own.digest === candidate.digest)) a1++;
      }
      if (a1 < q.strong) continue;
      let a2 = 0;
      for (const view of prePreparedAt.get(seq)?.get(candidate.digest)?.values() ?? [])
        if (view >= candidate.view) a2++;
      if (a2 < q.weak) continue;
      chosen = candidate.digest;
      break;
    }
    if (chosen !== null) {
      order.push({ seq, digest: chosen });
      maxSeq = seq;
      continue;
    }
    let b = 0;
    for (const vc of viewChanges) if (vc.stableSeq < seq && !claims.has(vc)) b++;
    if (b < q.strong) return { decided: false, undecidedSeq: seq };
    order.push({ seq, digest: nullDigest });
  }
  // B-decided sequence numbers after the last one A chose are not ordered: nothing can have committed there.
  order.length = maxSeq - minSeq;
  return { decided: true, minSeq, minDigest, minProof, maxSeq, order };
}
