/**
 * The catalogue of replica behaviours a student can switch on (docs/byzantine.md). Each is drawn
 * from the literature: Castro & Liskov's faulty primary and backups, Aardvark's slow and censoring
 * primaries (Clement et al., NSDI'09), Twins-style equivocation (Bano et al., 2020), and the
 * replay/flood/forgery defences of production BFT systems.
 *
 * A behaviour never edits the honest code: it transforms what the honest replica receives and sends
 * (faulty-replica.ts). State lives in the closure, fresh each time a behaviour is switched on.
 */
import { batchBytes } from '../pbft/codec.ts';
import type {
  Checkpoint,
  Commit,
  Digest,
  Message,
  PrePrepare,
  Prepare,
  ReplicaMessage,
  ViewChange,
} from '../pbft/messages.ts';
import type { Output } from '../pbft/outputs.ts';
import type { Behaviour, BehaviourContext, BehaviourInfo } from './behaviour.ts';
import { fuzzBehaviour } from './fuzz.ts';

type Factory = () => Behaviour;

/** Outputs that only describe (events, records to persist) pass through every behaviour. */
const isCommunication = (o: Output): boolean => o.kind === 'send' || o.kind === 'broadcast' || o.kind === 'reply';

/** A broadcast as one send per other replica, so a behaviour can treat receivers differently. */
function perReceiver(ctx: BehaviourContext, outputs: Output[]): Output[] {
  const out: Output[] = [];
  for (const o of outputs) {
    if (o.kind !== 'broadcast') out.push(o);
    else for (let r = 0; r < ctx.n; r++) if (r !== ctx.id) out.push({ kind: 'send', to: r, message: o.message });
  }
  return out;
}

function mapMessages(outputs: Output[], f: (m: ReplicaMessage) => ReplicaMessage | null): Output[] {
  const out: Output[] = [];
  for (const o of outputs) {
    if (o.kind !== 'send' && o.kind !== 'broadcast') {
      out.push(o);
      continue;
    }
    const m = f(o.message);
    if (m) out.push({ ...o, message: m });
  }
  return out;
}

function randomDigest(ctx: BehaviourContext): Digest {
  let hex = '';
  for (let i = 0; i < 64; i++) hex += Math.floor(ctx.random() * 16).toString(16);
  return hex;
}

const silent: Factory = () => ({
  id: 'silent',
  name: 'Silent',
  description:
    'Stops taking part: receives nothing, sends nothing (a crashed or disconnected replica that still looks alive).',
  observe:
    'If it is the primary, the backups time out and a view change installs the next primary. If it is a backup, the others still commit: 2f+1 of the remaining replicas are enough, and its prepare/commit counts are missing from every Log row.',
  onInput: () => null,
  onOutputs: (_ctx, outputs) => outputs.filter((o) => !isCommunication(o)),
});

const equivocate: Factory = () => ({
  id: 'equivocate',
  name: 'Equivocating primary',
  description:
    'As primary, sends one PRE-PREPARE to half of the backups and a conflicting one (another batch) for the same sequence number to the other half.',
  observe:
    'Neither batch collects 2f matching PREPAREs, so nothing commits at that sequence number; the backups time out and replace the primary. No two correct replicas ever commit different batches (agreement holds).',
  onOutputs: (ctx, outputs) =>
    perReceiver(ctx, outputs).map((o) => {
      if (o.kind !== 'send' || o.message.type !== 'pre-prepare' || o.message.replica !== ctx.id || o.to % 2 === 0)
        return o;
      const pp = o.message;
      const requests = pp.requests.length > 1 ? pp.requests.slice(0, -1) : [];
      // The conflicting batch carries its real digest: backups must not reject it for a mere mismatch.
      const other: PrePrepare = { ...pp, requests, digest: ctx.crypto.digest(batchBytes(requests)) };
      return { ...o, message: other };
    }),
});

const wrongDigest: Factory = () => ({
  id: 'wrong-digest',
  name: 'Wrong digest',
  description: 'Sends PREPAREs and COMMITs for a made-up digest instead of the batch it received.',
  observe:
    "Its votes never match anyone's, so they are not counted: the Log rows show one vote fewer. With at most f such replicas, everything still commits.",
  onOutputs: (ctx, outputs) =>
    mapMessages(outputs, (m) => {
      if (m.type === 'prepare' && m.replica === ctx.id) return { ...m, digest: randomDigest(ctx) } satisfies Prepare;
      if (m.type === 'commit' && m.replica === ctx.id) return { ...m, digest: randomDigest(ctx) } satisfies Commit;
      return m;
    }),
});

const corruptReply: Factory = () => ({
  id: 'corrupt-reply',
  name: 'Corrupt replies',
  description: 'Executes correctly but sends clients a wrong result.',
  observe:
    'Clients wait for f+1 matching replies, so the wrong one is outvoted: the Client panel shows the correct result with one matching reply fewer.',
  onOutputs: (_ctx, outputs) =>
    outputs.map((o) => {
      if (o.kind !== 'reply') return o;
      const result = o.reply.result.slice();
      // Deterministic, so that f+1 colluding liars agree on the same wrong result.
      if (result.length === 0) return { ...o, reply: { ...o.reply, result: Uint8Array.of(0x42) } };
      result[result.length - 1] = result[result.length - 1]! ^ 0xff;
      return { ...o, reply: { ...o.reply, result } };
    }),
});

const delayPrePrepare: Factory = () => {
  const held: { due: number; output: Output }[] = [];
  return {
    id: 'delay-preprepare',
    name: 'Slow primary',
    description:
      'As primary, holds every PRE-PREPARE for just under the view-change timeout before sending it (Aardvark\'s "pre-prepare delay" attack).',
    observe:
      "Latency jumps to nearly the view-change timeout and throughput collapses. A backup's timer runs per request and is not reset by other requests' progress, so once some request has waited a full timeout the slow primary is replaced; until then it slows everyone (Aardvark's point: timeouts alone only catch a primary that is slower than the timeout).",
    onOutputs: (ctx, outputs) =>
      outputs.filter((o) => {
        if (
          (o.kind === 'broadcast' || o.kind === 'send') &&
          o.message.type === 'pre-prepare' &&
          o.message.replica === ctx.id
        ) {
          held.push({ due: ctx.ticks + Math.floor(ctx.replica.config.viewChangeTimeoutTicks * 0.8), output: o });
          return false;
        }
        return true;
      }),
    onTick: (ctx) => {
      const due: Output[] = [];
      while (held.length > 0 && held[0]!.due <= ctx.ticks) due.push(held.shift()!.output);
      return due;
    },
  };
};

const censorClient: Factory = () => {
  let victim: string | null = null;
  return {
    id: 'censor-client',
    name: 'Censoring primary',
    description: 'As primary, ignores every request of one client (the first one it hears from).',
    observe:
      "That client's requests go unanswered until it retransmits them to all replicas; the backups relay them and start their timers, and the censoring primary is replaced by a view change.",
    onInput: (_ctx, _from, m) => {
      if (m.type !== 'request') return m;
      victim ??= m.client;
      return m.client === victim ? null : m;
    },
  };
};

const replay: Factory = () => {
  const seen: ReplicaMessage[] = [];
  return {
    id: 'replay',
    name: 'Replay',
    description: 'Re-sends old, validly signed messages it received earlier (a bounded burst every few ticks).',
    observe:
      'The others ignore them: old views, sequence numbers below the low watermark, or duplicates of votes they hold. Nothing executes twice; the ignored-message count rises.',
    onInput: (_ctx, from, m) => {
      if (typeof from === 'number' && m.type !== 'reply') {
        if (seen.length >= 256) seen.splice(0, 1);
        seen.push(m);
      }
      return m;
    },
    onTick: (ctx) => {
      if (ctx.ticks % 10 !== 0 || seen.length === 0) return [];
      const out: Output[] = [];
      for (let i = 0; i < 5; i++)
        out.push({ kind: 'broadcast', message: seen[Math.floor(ctx.random() * seen.length)]! });
      return out;
    },
  };
};

const forgeViewChange: Factory = () => ({
  id: 'forge-view-change',
  name: 'Forged view change',
  description:
    'Lies in its VIEW-CHANGE messages: claims that a made-up batch prepared (and pre-prepared) at the next sequence number in the latest view, and that nothing else prepared.',
  observe:
    'A VIEW-CHANGE is signed, but what it claims cannot be checked, so the new primary believes only what enough replicas claim alike: a batch needs f+1 replicas that pre-prepared it (A2), so the lie never makes it into O. The view change completes, and O orders what the correct replicas prepared.',
  onOutputs: (ctx, outputs) =>
    mapMessages(outputs, (m) => {
      if (m.type !== 'view-change' || m.replica !== ctx.id) return m;
      const seq = m.stableSeq + 1;
      const claim = { seq, digest: randomDigest(ctx), view: Math.max(0, m.newView - 1) };
      return ctx.sign<ViewChange>({ ...m, prepared: [claim], prePrepared: [claim] });
    }),
});

const lyingCheckpoint: Factory = () => ({
  id: 'lying-checkpoint',
  name: 'Lying checkpoint',
  description: 'Signs CHECKPOINT messages with a wrong state digest.',
  observe:
    "Its checkpoint never matches the others; checkpoints still become stable with 2f+1 correct ones, and its vote is missing from every stable checkpoint's proof.",
  onOutputs: (ctx, outputs) =>
    mapMessages(outputs, (m) =>
      m.type === 'checkpoint' && m.replica === ctx.id
        ? ctx.sign<Checkpoint>({ ...m, stateDigest: randomDigest(ctx) })
        : m,
    ),
});

const spuriousViewChange: Factory = () => ({
  id: 'spurious-view-change',
  name: 'Spurious view changes',
  description: 'Keeps sending VIEW-CHANGE for the next view although nothing is wrong.',
  observe:
    'Alone it cannot force a view change: a replica joins only after f+1 VIEW-CHANGEs for a higher view. The View panels of the others show its VIEW-CHANGEs arriving, and the view stays.',
  onTick: (ctx) => {
    if (ctx.ticks % Math.max(1, Math.floor(ctx.replica.config.viewChangeTimeoutTicks / 2)) !== 1) return [];
    const stable = ctx.replica.stableCheckpoint;
    const vc = ctx.sign<ViewChange>({
      type: 'view-change',
      newView: ctx.replica.view + 1,
      stableSeq: stable.seq,
      checkpointProof: stable.seq > 0 ? stable.proof : [],
      prepared: [],
      prePrepared: [],
      replica: ctx.id,
      sig: new Uint8Array(0),
    });
    return [{ kind: 'broadcast', message: vc }];
  },
});

const FLOOD_TOTAL = 5_000;

const flood: Factory = () => {
  let sent = 0;
  return {
    id: 'flood',
    name: 'Flood',
    description: `Sends bursts of valid-looking PREPAREs and COMMITs for random sequence numbers and digests (${FLOOD_TOTAL} in all, then stops).`,
    observe:
      'The others keep at most one vote per replica and sequence number within the watermarks and ignore the rest: memory stays bounded and progress continues. Ignored-message counts jump.',
    onTick: (ctx) => {
      if (sent >= FLOOD_TOTAL) return [];
      const out: Output[] = [];
      const r = ctx.replica;
      for (let i = 0; i < 50 && sent < FLOOD_TOTAL; i++, sent++) {
        const seq = r.lowWatermark + 1 + Math.floor(ctx.random() * (r.config.logWindow * 2));
        const message: Message =
          i % 2 === 0
            ? ({ type: 'prepare', view: r.view, seq, digest: randomDigest(ctx), replica: ctx.id } satisfies Prepare)
            : ({ type: 'commit', view: r.view, seq, digest: randomDigest(ctx), replica: ctx.id } satisfies Commit);
        out.push({ kind: 'broadcast', message: message as ReplicaMessage });
      }
      return out;
    },
  };
};

const badAuth: Factory = () => ({
  id: 'bad-auth',
  name: 'Bad authentication',
  description: 'Sends its signed messages — CHECKPOINT, VIEW-CHANGE, NEW-VIEW — with corrupted signatures.',
  observe:
    'Every receiver rejects them with "bad signature": its checkpoint votes are missing from every stable checkpoint, its VIEW-CHANGEs are not counted, and as a new primary its NEW-VIEW is refused, so the view change moves on to the next primary. Its pre-prepares, prepares and commits still count: the authenticated channel, not a signature, vouches for them.',
  onOutputs: (_ctx, outputs) =>
    mapMessages(outputs, (m) => {
      if (!('sig' in m) || m.sig.length === 0) return m;
      const sig = m.sig.slice();
      sig[0] = sig[0]! ^ 0x01;
      return { ...m, sig } as ReplicaMessage;
    }),
});

const FACTORIES: readonly Factory[] = [
  silent,
  equivocate,
  wrongDigest,
  corruptReply,
  delayPrePrepare,
  censorClient,
  replay,
  forgeViewChange,
  lyingCheckpoint,
  spuriousViewChange,
  flood,
  badAuth,
  // The generic liar (fuzz.ts): seeded small-scope lies of every kind above, and more.
  () => fuzzBehaviour(),
];

const BY_ID = new Map(FACTORIES.map((f) => [f().id, f]));

/** The catalogue as data: ids, names, descriptions and what to observe. */
export const CATALOGUE: readonly BehaviourInfo[] = FACTORIES.map((f) => {
  const { id, name, description, observe } = f();
  return { id, name, description, observe };
});

export class UnknownBehaviourError extends Error {
  override readonly name = 'UnknownBehaviourError';
}

export function createBehaviour(id: string): Behaviour {
  const factory = BY_ID.get(id);
  if (!factory) throw new UnknownBehaviourError(`no behaviour "${id}" (known: ${[...BY_ID.keys()].join(', ')})`);
  return factory();
}
