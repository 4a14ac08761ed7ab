/**
 * The replica's events as the lab shows them: counters for the metrics panel and one line per
 * notable event (view changes, stable checkpoints, state transfer) for the log.
 */
import { describe as describeMessage } from '../pbft/codec.ts';
import type { ReplicaId } from '../pbft/messages.ts';
import type { ReplicaEvent } from '../pbft/outputs.ts';
import type { HostEvents } from './host-events.ts';
import type { ViewHistoryEntry } from './lab-api.ts';

/** View changes a host keeps for its dashboard. */
export const VIEW_HISTORY_MAX = 50;

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
  private readonly events: Pick<HostEvents, 'note' | 'emitReplica' | 'elapsedMs'>;
  /** The view changes, oldest first (at most VIEW_HISTORY_MAX). */
  readonly viewHistory: ViewHistoryEntry[] = [];

  constructor(events: Pick<HostEvents, 'note' | 'emitReplica' | 'elapsedMs'>) {
    this.events = events;
  }

  private remember(entry: Omit<ViewHistoryEntry, 'atMs'>): void {
    if (this.viewHistory.length >= VIEW_HISTORY_MAX) this.viewHistory.shift();
    this.viewHistory.push({ atMs: this.events.elapsedMs(), ...entry });
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
        this.remember({
          view: event.newView,
          kind: 'started',
          text: `sent VIEW-CHANGE for view ${event.newView}: ${event.reason}`,
        });
        return events.note(`${prefix} VIEW-CHANGE to view ${event.newView}: ${event.reason}`);
      case 'new-view':
        this.remember({
          view: event.view,
          kind: 'installed',
          text: `installed view ${event.view} (primary ${event.primary}); NEW-VIEW's O re-proposes ${event.order.length} in (${event.minSeq}, ${event.maxSeq}]`,
        });
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
