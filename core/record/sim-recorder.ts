/**
 * Records every replica process of a simulated run (a hook of core/sim/simulation.ts): each start
 * and restart is a session of its own, every call stamped with the run's virtual time and a global
 * order, so that a replay interleaves the replicas exactly as they ran.
 */
import type { FaultyReplica } from '../byzantine/faulty-replica.ts';
import type { ReplicaParts } from '../sim/simulation.ts';
import type { RecordEntry, RecordSession } from './format.ts';
import { recordedReplica, type RecordingReplica } from './recording-replica.ts';

export class SimRecorder {
  private readonly recorded: { replica: number; session: number; entries: RecordEntry[] }[] = [];
  private readonly live = new Map<number, RecordingReplica>();
  private order = 0;

  /** The Simulation's `createReplica` hook. */
  readonly createReplica = (parts: ReplicaParts): FaultyReplica => {
    const entries: RecordEntry[] = [];
    const session = this.recorded.filter((s) => s.replica === parts.identity).length;
    this.recorded.push({ replica: parts.identity, session, entries });
    const replica = recordedReplica(
      {
        id: parts.identity,
        config: parts.config,
        crypto: parts.crypto,
        app: parts.app,
        persisted: parts.persisted,
        random: parts.random,
        newApp: parts.newApp,
      },
      { sink: (entry) => entries.push(entry), clock: parts.nowMs, order: () => this.order++ },
    );
    this.live.set(parts.identity, replica);
    return replica;
  };

  /** Every session so far, in the order they started. */
  get sessions(): RecordSession[] {
    return this.recorded.map((s) => ({ ...s, origin: `simulated replica ${s.replica}, session ${s.session}` }));
  }

  /** End every session still running (the run is over). */
  endAll(): void {
    for (const replica of this.live.values()) replica.end('stopped');
  }
}
