/**
 * Checks of relayed proofs, and the NEW-VIEW computation of §4.4. Everything a replica relays as
 * evidence (checkpoint proofs C, prepared certificates P, VIEW-CHANGE inside NEW-VIEW) carries Ed25519
 * signatures, so any receiver can check it (docs/authentication.md). Each check returns `null` when the
 * proof holds, or the reason it does not — the caller logs the reason and ignores the message.
 */
import { batchBytes, signingBytes } from './codec.ts';
import type { Quorums } from './config.ts';
import type { ReplicaCrypto } from './crypto.ts';
import type {
  Checkpoint,
  Digest,
  NewView,
  PrePrepare,
  Prepare,
  PreparedCertificate,
  ReplicaId,
  Request,
  ViewChange,
} from './messages.ts';

/** p = v mod n (§4). */
export function primaryOf(view: number, n: number): ReplicaId {
  return view % n;
}

type Signed = PrePrepare | Prepare | Checkpoint | ViewChange | NewView;

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

  /** A pre-prepare signed by its view's primary whose digest is its batch's. */
  prePrepare(pp: PrePrepare): string | null {
    if (pp.replica !== primaryOf(pp.view, this.q.n))
      return `pre-prepare from ${pp.replica}, not the primary of view ${pp.view}`;
    if (this.batchDigest(pp.requests) !== pp.digest) return 'pre-prepare digest does not match its batch';
    if (!this.signatureValid(pp)) return 'pre-prepare has a bad signature';
    return null;
  }

  /** A prepared certificate (§4.4, P): a pre-prepare and 2f matching prepares from distinct backups. */
  preparedCertificate(cert: PreparedCertificate): string | null {
    const pp = cert.prePrepare;
    const bad = this.prePrepare(pp);
    if (bad) return `certificate n=${pp.seq}: ${bad}`;
    const backups = new Set<ReplicaId>();
    for (const p of cert.prepares) {
      if (p.view !== pp.view || p.seq !== pp.seq || p.digest !== pp.digest)
        return `certificate n=${pp.seq}: prepare does not match`;
      if (p.replica === pp.replica) return `certificate n=${pp.seq}: prepare from the primary`;
      if (backups.has(p.replica)) return `certificate n=${pp.seq}: prepare repeated from ${p.replica}`;
      if (!this.signatureValid(p)) return `certificate n=${pp.seq}: bad prepare signature from ${p.replica}`;
      backups.add(p.replica);
    }
    return backups.size >= this.q.prepares
      ? null
      : `certificate n=${pp.seq}: ${backups.size} < ${this.q.prepares} prepares`;
  }

  /** A VIEW-CHANGE message: signature, C proves its stable checkpoint, every P entry is a valid certificate. */
  viewChange(vc: ViewChange, logWindow: number): string | null {
    if (!this.signatureValid(vc)) return 'view-change has a bad signature';
    if (vc.stableSeq > 0) {
      const digest = vc.checkpointProof[0]?.stateDigest ?? '';
      const bad = this.checkpointProof(vc.stableSeq, digest, vc.checkpointProof);
      if (bad) return bad;
    } else if (vc.checkpointProof.length > 0) {
      return 'view-change has a checkpoint proof for n=0';
    }
    const seqs = new Set<number>();
    for (const cert of vc.prepared) {
      const pp = cert.prePrepare;
      if (pp.seq <= vc.stableSeq || pp.seq > vc.stableSeq + logWindow)
        return `certificate n=${pp.seq} outside the watermarks`;
      if (pp.view >= vc.newView) return `certificate n=${pp.seq} from view ${pp.view} ≥ ${vc.newView}`;
      if (seqs.has(pp.seq)) return `two certificates for n=${pp.seq}`;
      seqs.add(pp.seq);
      const bad = this.preparedCertificate(cert);
      if (bad) return bad;
    }
    return null;
  }
}

/** One entry of O: what the new primary must pre-prepare at `seq` in the new view. */
export interface NewViewEntry {
  readonly seq: number;
  readonly digest: Digest;
  readonly requests: readonly Request[];
}

export interface NewViewPlan {
  /** min-s: the latest stable checkpoint in V, with its digest and proof. */
  readonly minSeq: number;
  readonly minDigest: Digest | null;
  readonly minProof: readonly Checkpoint[];
  /** max-s: the highest sequence number in a prepared certificate in V (≥ min-s). */
  readonly maxSeq: number;
  /** O, one entry per sequence number in (min-s, max-s]. */
  readonly entries: readonly NewViewEntry[];
}

/**
 * §4.4: from 2f+1 valid VIEW-CHANGE messages compute min-s, max-s and O. For each s in (min-s, max-s]
 * the batch of the certificate with the highest view wins; a gap becomes the null request (empty batch).
 * Deterministic: the new primary and every backup compute the same plan from the same V.
 */
export function planNewView(viewChanges: readonly ViewChange[], nullDigest: Digest): NewViewPlan {
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
  const best = new Map<number, PrePrepare>();
  let maxSeq = minSeq;
  for (const vc of viewChanges) {
    for (const { prePrepare: pp } of vc.prepared) {
      if (pp.seq <= minSeq) continue;
      const current = best.get(pp.seq);
      if (!current || pp.view > current.view) best.set(pp.seq, pp);
      if (pp.seq > maxSeq) maxSeq = pp.seq;
    }
  }
  const entries: NewViewEntry[] = [];
  for (let seq = minSeq + 1; seq <= maxSeq; seq++) {
    const pp = best.get(seq);
    entries.push(pp ? { seq, digest: pp.digest, requests: pp.requests } : { seq, digest: nullDigest, requests: [] });
  }
  return { minSeq, minDigest, minProof, maxSeq, entries };
}
