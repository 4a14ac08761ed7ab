/**
 * Cluster formation: machines that announce the same cluster name and size agree on one roster —
 * which n peers are the replicas, and which replica id each has — before the protocol starts.
 *
 * Pure logic (no I/O): the host feeds it HELLOs and asks what to announce.
 *
 * - Each machine's candidate is the n smallest peer ids it knows (itself included), sorted; the
 *   replica id is the position in that list.
 * - A machine adopts its candidate R once every member of R announces R (as candidate or adopted):
 *   all members then hold the same roster. Discovery converging makes candidates equal.
 * - A machine that is not in an adopted roster (the (n+1)-th machine, or one that arrived late) adopts
 *   it as an **observer** once f+1 of its members announce it as adopted (one of them is correct).
 * - An adopted roster is final for this data directory (persisted by the host); later machines
 *   become observers.
 */

export interface Hello {
  readonly cluster: string;
  readonly size: number;
  /** What the sender would adopt now (null while it knows fewer than `size` peers). */
  readonly candidate: readonly string[] | null;
  /** The roster the sender has adopted, if any. */
  readonly adopted: readonly string[] | null;
  /** 'client' peers ask for the roster but take no part in forming it. */
  readonly role: 'member' | 'client';
}

export type HelloVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const PEER_ID_MAX = 128;

export class RosterFormation {
  readonly self: string;
  readonly cluster: string;
  readonly size: number;
  readonly f: number;
  private readonly hellos = new Map<string, Hello>();
  private adoptedRoster: readonly string[] | null;

  constructor(options: { self: string; cluster: string; size: number; adopted?: readonly string[] | null }) {
    this.self = options.self;
    this.cluster = options.cluster;
    this.size = options.size;
    this.f = (options.size - 1) / 3;
    this.adoptedRoster = options.adopted ?? null;
  }

  get adopted(): readonly string[] | null {
    return this.adoptedRoster;
  }

  /** The replica id of this machine, or null (forming, or an observer). */
  get replicaId(): number | null {
    const index = this.adoptedRoster?.indexOf(this.self) ?? -1;
    return index >= 0 ? index : null;
  }

  /** Peers known to belong to this cluster (members and candidates, not clients). */
  get knownPeers(): string[] {
    return [...this.hellos.entries()].filter(([, h]) => h.role === 'member').map(([peer]) => peer);
  }

  candidate(): string[] | null {
    const ids = [this.self, ...this.knownPeers].sort();
    return ids.length >= this.size ? ids.slice(0, this.size) : null;
  }

  /** What to announce now. */
  hello(): Hello {
    return {
      cluster: this.cluster,
      size: this.size,
      candidate: this.candidate(),
      adopted: this.adoptedRoster,
      role: 'member',
    };
  }

  /** Record a peer's HELLO. Returns why it was refused, if it was. */
  onHello(from: string, hello: Hello): HelloVerdict {
    if (hello.cluster !== this.cluster)
      return { ok: false, reason: `cluster "${hello.cluster}", not "${this.cluster}"` };
    if (hello.size !== this.size) return { ok: false, reason: `cluster size ${hello.size}, not ${this.size}` };
    for (const list of [hello.candidate, hello.adopted]) {
      if (list && !validRoster(list, this.size)) return { ok: false, reason: 'malformed roster in HELLO' };
    }
    if (hello.role === 'member' && from === this.self) return { ok: false, reason: 'HELLO from ourselves' };
    this.hellos.set(from, hello);
    return { ok: true };
  }

  forget(peer: string): void {
    this.hellos.delete(peer);
  }

  /** Try to adopt a roster; returns it the first time one is adopted. */
  tryAdopt(): readonly string[] | null {
    if (this.adoptedRoster) return null;
    const candidate = this.candidate();
    if (candidate && candidate.includes(this.self)) {
      const agreed = candidate.every((m) => m === this.self || announces(this.hellos.get(m), candidate));
      if (agreed) return (this.adoptedRoster = candidate);
    }
    // Observer (or a member who arrived after the others agreed): f+1 members vouch for their roster.
    const vouched = new Map<string, number>();
    for (const [peer, h] of this.hellos) {
      if (!h.adopted || !h.adopted.includes(peer)) continue;
      const key = h.adopted.join(',');
      vouched.set(key, (vouched.get(key) ?? 0) + 1);
    }
    for (const [key, count] of vouched) {
      if (count >= this.f + 1) return (this.adoptedRoster = key.split(','));
    }
    return null;
  }
}

function announces(hello: Hello | undefined, roster: readonly string[]): boolean {
  if (!hello || hello.role !== 'member') return false;
  return sameList(hello.adopted, roster) || (hello.adopted === null && sameList(hello.candidate, roster));
}

function sameList(a: readonly string[] | null, b: readonly string[]): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

function validRoster(list: readonly string[], size: number): boolean {
  if (!Array.isArray(list) || list.length !== size) return false;
  for (let i = 0; i < list.length; i++) {
    const id = list[i];
    if (typeof id !== 'string' || id.length === 0 || id.length > PEER_ID_MAX) return false;
    if (i > 0 && !(list[i - 1]! < id)) return false;
  }
  return true;
}

/** HELLO on the wire: UTF-8 JSON, validated field by field. */
export function parseHello(text: string): Hello | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const list = (x: unknown): readonly string[] | null | undefined =>
    x === null ? null : Array.isArray(x) && x.every((s) => typeof s === 'string') ? (x as string[]) : undefined;
  const candidate = list(v.candidate);
  const adopted = list(v.adopted);
  if (typeof v.cluster !== 'string' || v.cluster.length > 64) return null;
  if (typeof v.size !== 'number' || !Number.isInteger(v.size) || v.size < 4 || v.size > 256 || (v.size - 1) % 3 !== 0)
    return null;
  if (candidate === undefined || adopted === undefined) return null;
  if (v.role !== 'member' && v.role !== 'client') return null;
  return { cluster: v.cluster, size: v.size, candidate, adopted, role: v.role };
}
