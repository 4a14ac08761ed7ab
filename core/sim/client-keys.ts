/**
 * Clients' MAC keys as the host distributes them (issue 19, finding 3). The simulator used to give
 * every replica every client's key; on a network the keys travel: a client sends its key for replica
 * i to replica i when it meets it and again every second (core/host/own-client.ts, membership.ts), a
 * replica forgets the key of a client it has not heard from for a while (a stranger's state is
 * bounded), and a restarted replica has forgotten them all. A correct client that cannot reach a
 * replica then looks, to that replica, exactly like Aardvark's bad-MAC client: every PRE-PREPARE with
 * its requests is ignored there.
 *
 * Two host behaviours since issue 13 (finding 6) are modelled too, so that a run can show the stall
 * without them: a replica that meets a request of a client whose key it lacks asks the client for it,
 * and a restarted replica listens on the address it had (before, it came back on a new port that a
 * client given fixed `--join` addresses never learnt). A client may also be cut off from some
 * replicas for a while before GST.
 */
import type { Prng } from './prng.ts';

export interface ClientKeyModel {
  /** A client re-sends its keys this often (the host's HELLO period). */
  readonly resendMs: number;
  /** A replica forgets the key of a client it has not heard from for this long. */
  readonly idleForgetMs: number;
  /** A replica asks a client for a key it lacks (the host since issue 13). */
  readonly askForKeys: boolean;
  /** A restarted replica keeps its address (the host since issue 13); otherwise clients lose it for good. */
  readonly keepAddress: boolean;
  /** Client j cannot reach replica r, nor r it, from `from` to `until` (before GST). */
  readonly cuts: readonly {
    readonly client: number;
    readonly replica: number;
    readonly from: number;
    readonly until: number;
  }[];
}

export function clientKeysFromSeed(
  rng: Prng,
  clients: number,
  n: number,
  phaseMs: number,
  fixed: boolean,
): ClientKeyModel {
  const cuts: ClientKeyModel['cuts'][number][] = [];
  const count = phaseMs > 0 ? rng.pick([0, 1, 1, 2, 3]) : 0;
  for (let i = 0; i < count; i++) {
    const from = rng.int(0, Math.max(0, phaseMs - 200));
    cuts.push({
      client: rng.int(0, clients - 1),
      replica: rng.int(0, n - 1),
      from,
      until: Math.min(phaseMs, from + rng.int(200, 4_000)),
    });
  }
  return { resendMs: 1_000, idleForgetMs: rng.pick([5_000, 30_000]), askForKeys: fixed, keepAddress: fixed, cuts };
}

/** One replica instance's keys: which clients it has, and when it last heard from each. */
export class KeyRing {
  private readonly heard = new Map<number, number>();
  private readonly asked = new Map<number, number>();

  has(client: number): boolean {
    return this.heard.has(client);
  }

  /** A key, or any message of the client, arrived now. */
  hear(client: number, now: number, withKey: boolean): void {
    if (withKey || this.heard.has(client)) this.heard.set(client, now);
  }

  /** Forget the keys of clients silent for `idleMs`. */
  forgetIdle(now: number, idleMs: number): void {
    for (const [client, at] of this.heard) if (now - at > idleMs) this.heard.delete(client);
  }

  /** Whether to ask `client` for its key now (at most once per `everyMs`). */
  shouldAsk(client: number, now: number, everyMs: number): boolean {
    const last = this.asked.get(client);
    if (last !== undefined && now - last < everyMs) return false;
    this.asked.set(client, now);
    return true;
  }
}

export function describeClientKeys(m: ClientKeyModel): string {
  const cuts = m.cuts.map((c) => `c${c.client}✕r${c.replica} ${c.from}–${c.until}ms`).join(', ');
  return `client keys (${m.keepAddress ? 'host since issue 13' : 'host before issue 13'}): resent every ${m.resendMs}ms, forgotten after ${m.idleForgetMs}ms${cuts ? `; ${cuts}` : ''}`;
}
