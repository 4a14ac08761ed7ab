/**
 * The fuzz replica (fuzz.ts): reproducible from its random source, every lie well formed (it crosses
 * the codec) and signed with its own key, counters that say what it did, read-only answers from a
 * lagging shadow of the application, and simulator runs that complete (violations allowed: the fuzz
 * replica is meant to find defects).
 */
import { describe, expect, it } from 'vitest';
import { FileStore } from '../app/file-store.ts';
import { decodeResult, encodeOp } from '../app/file-ops.ts';
import { simulatedCrypto } from '../crypto/node.ts';
import { Client } from '../pbft/client.ts';
import { decodeMessage, encodeMessage, requestBytes, signingBytes } from '../pbft/codec.ts';
import { defaultProtocolConfig } from '../pbft/config.ts';
import type { ClientId, Message, ReplicaId, Request } from '../pbft/messages.ts';
import type { Output } from '../pbft/outputs.ts';
import { Replica } from '../pbft/replica.ts';
import { Prng } from '../sim/prng.ts';
import { runSeed } from '../sim/sweep.ts';
import { env } from '../testing/sweep.ts';
import { text } from '../testing/cluster.ts';
import { signWith, type BehaviourContext } from './behaviour.ts';
import { createBehaviour, CATALOGUE } from './catalogue.ts';
import { FaultyReplica } from './faulty-replica.ts';
import {
  drawCampaign,
  drawPlan,
  everyKind,
  FAULTED_KINDS,
  fuzzBehaviour,
  REPLY_LIES,
  SHAPES,
  type Campaign,
  type FuzzPlan,
} from './fuzz.ts';

const N = 4;
/** The liar: primary of view 1, so it gets to build a NEW-VIEW once replica 0 is cut off. */
const LIAR = 1;

interface Sent {
  readonly from: ReplicaId;
  readonly to: ReplicaId | ClientId;
  readonly message: Message;
}

/**
 * A small cluster driven by hand: n = 4 replicas behind FaultyReplica (only LIAR has a behaviour),
 * two clients, every message through the codec, delivered in an order drawn from `seed`. Phase one
 * runs writes and reads with everyone up; in phase two replica 0 (the primary of view 0) is cut off,
 * so view changes follow and the liar becomes a primary.
 */
function runCluster(seed: number, plan: Partial<FuzzPlan>) {
  const config = defaultProtocolConfig(N, {
    checkpointInterval: 2,
    logWindow: 6,
    viewChangeTimeoutTicks: 30,
    retransmitTicks: 5,
    batchSizeMax: 2,
  });
  const crypto = simulatedCrypto(N, 7);
  const liarRandom = new Prng(seed);
  const order = new Prng(seed ^ 0xabc);
  const behaviour = fuzzBehaviour({ plan });
  const replicas = Array.from({ length: N }, (_, id) => {
    const replica = new Replica({ id, config, crypto: crypto.replica(id), app: new FileStore(crypto.hasher) });
    const faulty = new FaultyReplica(
      replica,
      crypto.replica(id),
      () => liarRandom.float(),
      () => new FileStore(crypto.hasher),
    );
    if (id === LIAR) faulty.use(behaviour);
    return faulty;
  });
  const clientIds = ['alice', 'bob'];
  const clients = new Map(
    clientIds.map((id) => [id, new Client(id, { n: N, retransmitTicks: 20 }, crypto.client(id))] as const),
  );
  const queue: { from: ReplicaId | ClientId; to: ReplicaId | ClientId; bytes: Uint8Array }[] = [];
  const liarSent: Sent[] = [];
  let cutOff: ReplicaId | null = null;

  const transmit = (from: ReplicaId | ClientId, to: ReplicaId | ClientId, message: Message): void => {
    const bytes = encodeMessage(message);
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) throw new Error(`codec rejects ${message.type}: ${decoded.reason}`);
    if (from === LIAR) liarSent.push({ from, to, message: decoded.message });
    if (from === cutOff || to === cutOff) return;
    queue.push({ from, to, bytes });
  };
  const drainReplica = (id: ReplicaId): void => {
    for (const o of replicas[id]!.takeOutputs()) onOutput(id, o);
  };
  const onOutput = (id: ReplicaId, o: Output): void => {
    if (o.kind === 'send') transmit(id, o.to, o.message);
    else if (o.kind === 'broadcast') {
      for (let r = 0; r < N; r++) if (r !== id) transmit(id, r, o.message);
    } else if (o.kind === 'reply') transmit(id, o.client, o.reply);
  };
  const drainClient = (id: ClientId): void => {
    for (const o of clients.get(id)!.takeOutputs()) {
      if (o.kind === 'send') transmit(id, o.to, o.request);
      else if (o.kind === 'broadcast') for (let r = 0; r < N; r++) transmit(id, r, o.request);
    }
  };
  const deliverSome = (count: number): void => {
    for (let i = 0; i < count && queue.length > 0; i++) {
      const [e] = queue.splice(order.int(0, queue.length - 1), 1);
      const decoded = decodeMessage(e!.bytes);
      if (!decoded.ok) throw new Error(decoded.reason);
      if (typeof e!.to === 'number') {
        replicas[e!.to]!.step(e!.from, decoded.message);
        drainReplica(e!.to);
      } else if (decoded.message.type === 'reply' && typeof e!.from === 'number') {
        clients.get(e!.to)!.onReply(e!.from, decoded.message);
        drainClient(e!.to);
      }
    }
  };
  const tick = (): void => {
    for (let id = 0; id < N; id++) {
      replicas[id]!.tick();
      drainReplica(id);
    }
    for (const id of clientIds) {
      clients.get(id)!.tick();
      drainClient(id);
    }
  };
  let op = 0;
  for (let step = 0; step < 400; step++) {
    if (step === 200) cutOff = 0;
    for (const id of clientIds) {
      const client = clients.get(id)!;
      if (client.busy) continue;
      const path = `/f${op % 3}`;
      client.submit(
        encodeOp(op % 3 === 2 ? { kind: 'read', path } : { kind: 'write', path, data: text(`${op}`) }),
        op % 3 === 2,
      );
      op++;
      drainClient(id);
    }
    deliverSome(40);
    tick();
  }
  return { liarSent, counters: behaviour.counters!(), crypto };
}

const ALWAYS: Partial<FuzzPlan> = {
  lyingViews: null,
  messageProbability: everyKind(0.5),
  shapes: SHAPES,
  replyLies: REPLY_LIES,
  tickProbability: 0.2,
  censorProbability: 0.5,
  campaign: null,
};

describe('the fuzz replica', () => {
  it('is in the catalogue and created by createBehaviour', () => {
    const info = CATALOGUE.find((b) => b.id === 'fuzz');
    expect(info?.name).toBeTruthy();
    expect(info!.description.length).toBeGreaterThan(20);
    expect(info!.observe.length).toBeGreaterThan(20);
    const b = createBehaviour('fuzz');
    expect(b.id).toBe('fuzz');
    expect(b.counters!()).toEqual({});
  });

  it('draws a ByzzFuzz-shaped plan from its random source: 1–3 lying views, or a small per-message probability; per kind never, always or that', () => {
    const rng = new Prng(3);
    let byViews = 0;
    let leads = 0;
    const probabilities = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const plan = drawPlan(() => rng.float(), 2);
      if (plan.lyingViews !== null) {
        byViews++;
        expect(plan.lyingViews.length).toBeGreaterThanOrEqual(1);
        expect(plan.lyingViews.length).toBeLessThanOrEqual(4);
        if (plan.lyingViews.includes(2)) leads++;
      }
      for (const kind of FAULTED_KINDS) probabilities.add(plan.messageProbability[kind]);
      expect(plan.shapes.length).toBeGreaterThan(0);
      expect(plan.replyLies.length).toBeGreaterThan(0);
      expect(plan.shadowLag).toBeGreaterThanOrEqual(1);
    }
    expect(byViews).toBeGreaterThan(50);
    expect(byViews).toBeLessThan(150);
    expect(leads).toBeGreaterThan(byViews / 3);
    expect([...probabilities].sort()).toEqual([0, 0.05, 0.2, 0.3, 0.5, 0.6, 1]);
  });

  it('is deterministic: the same random source gives the same messages', () => {
    const a = runCluster(11, ALWAYS);
    const b = runCluster(11, ALWAYS);
    expect(a.liarSent.length).toBeGreaterThan(100);
    expect(b.liarSent.map((s) => [s.to, encodeMessage(s.message)])).toEqual(
      a.liarSent.map((s) => [s.to, encodeMessage(s.message)]),
    );
    expect(b.counters).toEqual(a.counters);
    const c = runCluster(12, ALWAYS);
    expect(c.counters).not.toEqual(a.counters);
  });

  it('lies in every kind of message, every lie crosses the codec unchanged, and what it alters it signs with its own key', () => {
    const totals: Record<string, number> = {};
    let ownSigned = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { liarSent, counters, crypto } = runCluster(seed, ALWAYS);
      for (const [k, v] of Object.entries(counters)) totals[k] = (totals[k] ?? 0) + v;
      const verifier = crypto.replica(0);
      for (const { message } of liarSent) {
        // The canonical encoding round-trips: decoding and encoding again gives the same bytes.
        const bytes = encodeMessage(message);
        const again = decodeMessage(bytes);
        expect(again.ok).toBe(true);
        if (again.ok) expect(encodeMessage(again.message)).toEqual(bytes);
        // Signed messages verify under their signer's key: its own when it signed, others' replayed as they were.
        if (message.type === 'checkpoint' || message.type === 'view-change' || message.type === 'new-view') {
          expect(verifier.verify(message.replica, signingBytes(message), message.sig)).toBe(true);
          if (message.replica === LIAR) ownSigned++;
          if (message.type === 'new-view')
            for (const vc of message.viewChanges)
              expect(verifier.verify(vc.replica, signingBytes(vc), vc.sig)).toBe(true);
        }
      }
    }
    for (const type of ['pre-prepare', 'prepare', 'commit', 'checkpoint', 'view-change'])
      expect(totals[`mutated.${type}`], type).toBeGreaterThan(0);
    expect((totals['mutated.new-view'] ?? 0) + (totals['injected.new-view'] ?? 0)).toBeGreaterThan(0);
    for (const key of ['lies.status', 'censored', 'omitted.prepare']) expect(totals[key], key).toBeGreaterThan(0);
    expect(Object.keys(totals).filter((k) => k.startsWith('subset.')).length).toBeGreaterThan(2);
    expect(Object.keys(totals).filter((k) => k.startsWith('replayed.')).length).toBeGreaterThan(0);
    expect(Object.keys(totals).filter((k) => k.startsWith('lies.reply.')).length).toBeGreaterThan(0);
    expect(totals['invalid']).toBeUndefined();
    expect(ownSigned).toBeGreaterThan(totals['mutated.view-change']! + totals['mutated.checkpoint']!);
  });

  it('is honest outside its lying views', () => {
    const { counters } = runCluster(5, { lyingViews: [99], tickProbability: 1, campaign: null });
    expect(counters).toEqual({});
  });
});

/** A campaign as fixed for the tests below: every part on. */
const CAMPAIGN: Campaign = {
  hoard: 'all',
  favoured: 0,
  starveTransfers: true,
  newViewTo: 'behind',
  rewriteProbability: 1,
  rewriteAt: 'their-gap',
  nullBatch: true,
  backUp: 'always',
  quiet: true,
  seed: 7,
};

describe("the fuzz replica's campaigns", () => {
  it('are drawn in about one run in two, from a stream of their own: the rest of the plan takes the same draws', () => {
    const a = new Prng(21);
    const b = new Prng(21);
    let campaigns = 0;
    for (let i = 0; i < 200; i++) {
      const plan = drawPlan(() => a.float(), 1, {}, 4);
      const without = drawPlan(() => b.float(), 1, { campaign: null }, 4);
      expect({ ...plan, campaign: null }).toEqual(without);
      if (plan.campaign) campaigns++;
      expect(a.float()).toBe(b.float());
    }
    expect(campaigns).toBeGreaterThan(60);
    expect(campaigns).toBeLessThan(140);
    expect(drawCampaign(5, 1, 4)).toEqual(drawCampaign(5, 1, 4));
  });

  it('hoarding, it never sends its own CHECKPOINT (others reach stable checkpoints without it), and a quiet campaign tells no other lie', () => {
    const { liarSent, counters } = runCluster(3, { ...ALWAYS, campaign: CAMPAIGN });
    expect(counters['campaign.hoarded']).toBeGreaterThan(0);
    expect(liarSent.filter((s) => s.message.type === 'checkpoint' && s.message.replica === LIAR)).toEqual([]);
    expect(Object.keys(counters).filter((k) => !k.startsWith('campaign.'))).toEqual([]);
  });

  it('as the new primary, sends its NEW-VIEW to a subset and lies to it at a low sequence number; every lie crosses the codec', () => {
    const totals: Record<string, number> = {};
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const { liarSent, counters } = runCluster(seed, { ...ALWAYS, campaign: { ...CAMPAIGN, newViewTo: 'one' } });
      for (const [k, v] of Object.entries(counters)) totals[k] = (totals[k] ?? 0) + v;
      for (const s of liarSent) expect(decodeMessage(encodeMessage(s.message)).ok).toBe(true);
      const newViews = liarSent.filter((s) => s.message.type === 'new-view' && s.message.replica === LIAR);
      expect(new Set(newViews.map((s) => s.to)).size).toBeLessThanOrEqual(1);
    }
    expect(totals['campaign.new-view']).toBeGreaterThan(0);
  });
});

describe("the fuzz replica's shadow application", () => {
  const crypto = simulatedCrypto(N, 7);
  const clientCrypto = crypto.client('alice');
  const request = (timestamp: number, op: Uint8Array, readOnly: boolean): Request => {
    const unsigned: Request = { type: 'request', client: 'alice', timestamp, readOnly, op, auth: [] };
    return { ...unsigned, auth: clientCrypto.authenticator(requestBytes(unsigned)) };
  };
  const executed = (seq: number, timestamp: number, path: string, data: string): Output => ({
    kind: 'event',
    event: {
      type: 'executed',
      view: 0,
      seq,
      digest: '0'.repeat(64),
      requests: [
        {
          client: 'alice',
          timestamp,
          op: encodeOp({ kind: 'write', path, data: text(data) }),
          executed: true,
          result: null,
        },
      ],
    },
  });

  /** Two committed writes of /a, then a read-only read of /a: what the fuzz replica answers, lagging `lag` batches. */
  const staleRead = (lag: number) => {
    const replica = new Replica({
      id: LIAR,
      config: defaultProtocolConfig(N),
      crypto: crypto.replica(LIAR),
      app: new FileStore(crypto.hasher),
    });
    const ctx: BehaviourContext = {
      replica,
      id: LIAR,
      n: N,
      crypto: crypto.replica(LIAR),
      // Always 0: every chance is taken and the first lie tried is the stale read.
      random: () => 0,
      ticks: 0,
      sign: signWith(crypto.replica(LIAR)),
      newApp: () => new FileStore(crypto.hasher),
    };
    const fuzz = fuzzBehaviour({
      plan: {
        lyingViews: null,
        messageProbability: everyKind(1),
        replyLies: ['stale-read'],
        shadowLag: lag,
        campaign: null,
      },
    });
    const read = request(3, encodeOp({ kind: 'read', path: '/a' }), true);
    expect(fuzz.onInput!(ctx, 'alice', read)).toBe(read);
    const honest = new FileStore(crypto.hasher);
    honest.execute(encodeOp({ kind: 'write', path: '/a', data: text('one') }), {
      client: 'alice',
      timestamp: 1,
      seq: 1,
    });
    honest.execute(encodeOp({ kind: 'write', path: '/a', data: text('two') }), {
      client: 'alice',
      timestamp: 2,
      seq: 2,
    });
    const truth = honest.execute(read.op, { client: 'alice', timestamp: 3, seq: 0 });
    const out = fuzz.onOutputs!(ctx, [
      executed(1, 1, '/a', 'one'),
      executed(2, 2, '/a', 'two'),
      {
        kind: 'reply',
        client: 'alice',
        reply: {
          type: 'reply',
          view: 0,
          timestamp: 3,
          client: 'alice',
          replica: LIAR,
          tentative: true,
          readOnly: true,
          result: truth,
        },
      },
    ]);
    const reply = out.find((o) => o.kind === 'reply');
    expect(reply?.kind).toBe('reply');
    const decoded = decodeResult(reply!.kind === 'reply' ? reply!.reply.result : new Uint8Array());
    expect(decoded.ok).toBe(true);
    expect(fuzz.counters!()['lies.reply.stale-read']).toBe(1);
    return { result: decoded.ok ? decoded.result : null, truth: decodeResult(truth), reply: reply! };
  };

  it('answers a read-only request from the state a batch earlier (lag 1), and may mark it committed', () => {
    const { result, truth, reply } = staleRead(1);
    expect(truth.ok && truth.result.kind === 'data' && new TextDecoder().decode(truth.result.data)).toBe('two');
    expect(result?.kind).toBe('data');
    expect(result?.kind === 'data' && new TextDecoder().decode(result.data)).toBe('one');
    expect(reply.kind === 'reply' && reply.reply.tentative).toBe(false);
  });

  it('from before the file existed, two batches behind', () => {
    const { result } = staleRead(2);
    expect(result).toMatchObject({ kind: 'error', code: 'NOT_FOUND' });
  });
});

describe('the fuzz replica in the simulator (smoke: runs complete; violations are what it is for, not asserted)', () => {
  it('n = 4, one fuzz replica, every fault kind, 30 seeds', () => {
    let lied = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const result = runSeed(
        seed,
        { replicas: 4, faulty: 1, behaviour: 'fuzz', faults: ['crash', 'restart', 'partition', 'loss'] },
        env,
      );
      expect(result.seed).toBe(seed);
      expect(result.messagesDelivered).toBeGreaterThan(0);
      if (result.ignoredMessages > 0) lied++;
    }
    expect(lied).toBeGreaterThan(0);
  });

  it('n = 7, two fuzz replicas, 10 seeds', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const result = runSeed(seed, { replicas: 7, faulty: 2, behaviour: 'fuzz', faults: ['loss'] }, env);
      expect(result.messagesDelivered).toBeGreaterThan(0);
    }
  });
});
