/**
 * The replica's events as the lab shows them: counters for the metrics panel and one line per
 * notable event (view changes, stable checkpoints, state transfer) for the log.
 */
import { describe as describeMessage } from '../pbft/codec.ts';
import type { ReplicaId } from '../pbft/messages.ts';
import type { ReplicaEvent } from '../pbft/outputs.ts';
import type { HostEvents } from './host-events.ts';

export interface ReplicaCounters {
  executedRequests: number;
  executedBatches: number;
  viewChanges: number;
  stateTransfers: number;
  ignoredMessages: number;
}

export class ReplicaActivity {
  readonly counters: ReplicaCounters = {
    executedRequests: 0,
    executedBatches: 0,
    viewChanges: 0,
    stateTransfers: 0,
    ignoredMessages: 0,
  };
  private readonly events: Pick<HostEvents, 'note' | 'emitReplica'>;

  constructor(events: Pick<HostEvents, 'note' | 'emitReplica'>) {
    this.events = events;
  }

  /** An event of replica `replica`, which is now in `view`. */
  onEvent(replica: ReplicaId, view: number, event: ReplicaEvent): void {
    const prefix = `r${replica} v${view}`;
    const events = this.events;
    switch (event.type) {
      case 'ignored':
        this.counters.ignoredMessages++;
        if (event.message.type !== 'status')
          events.note(`${prefix} ignored ${describeMessage(event.message)}: ${event.reason}`, 'debug');
        return;
      case 'executed':
        this.counters.executedBatches++;
        this.counters.executedRequests += event.requests.filter((r) => r.executed).length;
        return events.emitReplica(event.type, `${prefix} executed n=${event.seq} (${event.requests.length} requests)`);
      case 'view-change-started':
        this.counters.viewChanges++;
        return events.note(`${prefix} VIEW-CHANGE to view ${event.newView}: ${event.reason}`);
      case 'new-view':
        return events.note(
          `${prefix} NEW-VIEW: view ${event.view}, primary ${event.primary}, O = (${event.minSeq}, ${event.maxSeq}]`,
        );
      case 'checkpoint-stable':
        return events.note(
          `${prefix} stable checkpoint n=${event.seq} d=${event.stateDigest.slice(0, 8)}; watermarks (${event.lowWatermark}, ${event.highWatermark}]`,
        );
      case 'state-transfer-started':
        return events.note(`${prefix} state transfer to n=${event.seq} from replica ${event.from}`);
      case 'state-transfer-completed':
        this.counters.stateTransfers++;
        return events.note(`${prefix} state transfer done: n=${event.seq}`);
      case 'state-transfer-rejected':
        return events.note(`${prefix} snapshot from replica ${event.from} rejected: ${event.reason}`);
      default:
        return events.emitReplica(event.type, `${prefix} ${event.type} n=${event.seq}`);
    }
  }
}
