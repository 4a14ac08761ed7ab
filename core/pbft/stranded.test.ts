import { describe, expect, it } from 'vitest';
import { TestCluster, text } from '../testing/cluster.ts';

const write = (path: string, data: string) => ({ kind: 'write', path, data: text(data) }) as const;

describe('a replica alone in a view change still executes what commits', () => {
  it('replica 3 sends VIEW-CHANGE(1) alone; the others go on in view 0, and replica 3 executes their batches', () => {
    const c = new TestCluster(4, { viewChangeTimeoutTicks: 10, retransmitTicks: 2 });
    c.submit('alice', write('/a', '1'));
    c.tick(5);
    // Bob's request reaches replica 3 only, and its relay to the primary is lost: replica 3 times out
    // alone, while it hears the others (so it is not cut off).
    c.client('bob');
    c.submit('bob', write('/b', '2'));
    const toPrimary = c.queue.filter((e) => e.to === 0);
    c.queue = [];
    c.deliver({ ...toPrimary[0]!, to: 3 });
    const bobs = (e: { from: unknown; message: { type: string; client?: string } }) =>
      e.from === 'bob' || (e.message.type === 'request' && e.message.client === 'bob');
    c.tickUntil(
      () => c.replica(3).status === 'view-change',
      200,
      (e) => !bobs(e as never),
    );
    c.drop((e) => bobs(e as never));
    expect(c.replica(3).view).toBe(1);
    for (let i = 0; i < 3; i++) {
      c.submit('alice', write(`/c${i}`, String(i)));
      c.tick(10, (e) => !bobs(e as never));
    }
    const target = c.replica(0).lastExecuted;
    expect(target).toBeGreaterThan(1);
    c.tick(40, (e) => !bobs(e as never));
    expect(c.replica(3).status).toBe('view-change');
    expect(c.replica(3).lastExecuted).toBe(target);
  });
});
