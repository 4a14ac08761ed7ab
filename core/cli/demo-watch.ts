/**
 * What the demo learns from its replicas' output lines: where each one's dashboard is, the address to
 * join it by, and when its replica started (with which id). From that it prints the progress while
 * the cluster forms and, once formed, one table of replica → dashboard.
 */

export interface MemberState {
  readonly replicaId: number;
  dashboard: string | null;
  join: string | null;
  /** The id the replica announced when it started, once it did. */
  startedAs: number | null;
  exited: boolean;
}

export class DemoWatch {
  readonly members: MemberState[];
  private readonly startedAtMs: number;
  private formedAtMs: number | null = null;

  constructor(n: number, nowMs: number) {
    this.members = Array.from({ length: n }, (_, replicaId) => ({
      replicaId,
      dashboard: null,
      join: null,
      startedAs: null,
      exited: false,
    }));
    this.startedAtMs = nowMs;
  }

  /**
   * A line from member `k` (without the timestamp the replica puts before its log lines). Returns
   * true when this line completed the cluster: every replica has started.
   */
  onLine(k: number, line: string, nowMs: number): boolean {
    const member = this.members[k]!;
    const text = line.replace(/^\d\d:\d\d:\d\d\.\d{3} /, '');
    let match: RegExpExecArray | null;
    if ((match = /^dashboard and API: (\S+)/.exec(text))) member.dashboard = match[1]!;
    else if ((match = /^join with: --join (\S+)/.exec(text))) member.join ??= match[1]!;
    else if ((match = /^replica (\d+) started in view/.exec(text))) {
      member.startedAs = Number(match[1]);
      if (this.formedAtMs === null && this.members.every((m) => m.startedAs !== null)) {
        this.formedAtMs = nowMs;
        return true;
      }
    }
    return false;
  }

  get formed(): boolean {
    return this.formedAtMs !== null;
  }

  /** Every member's join address, once all have printed one. */
  joinAddresses(): string[] | null {
    return this.members.every((m) => m.join !== null) ? this.members.map((m) => m.join!) : null;
  }

  /** E.g. `forming cluster "demo-1a2b3c": 4/4 listening, 2/4 replicas started (1.4 s)`. */
  progress(cluster: string, nowMs: number): string {
    const n = this.members.length;
    const listening = this.members.filter((m) => m.join !== null).length;
    const started = this.members.filter((m) => m.startedAs !== null).length;
    const seconds = ((nowMs - this.startedAtMs) / 1000).toFixed(1);
    return `forming cluster "${cluster}": ${listening}/${n} listening, ${started}/${n} replicas started (${seconds} s)`;
  }

  /** The table printed once the cluster formed: replica id → dashboard, and any label that was wrong. */
  table(cluster: string): string[] {
    const seconds = (((this.formedAtMs ?? this.startedAtMs) - this.startedAtMs) / 1000).toFixed(1);
    const lines = [`cluster "${cluster}" formed in ${seconds} s; replica 0 is the primary of view 0. Dashboards:`];
    for (const m of this.members) {
      const mismatch =
        m.startedAs !== null && m.startedAs !== m.replicaId
          ? `   (NOTE: [${m.replicaId}] runs replica ${m.startedAs}: another machine joined cluster "${cluster}")`
          : '';
      lines.push(`  replica ${m.replicaId}  ${m.dashboard ?? '(no dashboard)'}${mismatch}`);
    }
    return lines;
  }
}
