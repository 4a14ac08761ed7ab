/**
 * `pbft-lab room …` as a separate process, for tests: its page's URL once printed, and a LabApi
 * connection to it (the room call) over its WebSocket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connectLabApi, type LabApiConnection } from '../../core/host/api-client.ts';
import type { RoomEvent } from '../../core/host/room-types.ts';
import { forEachLine } from '../../core/process/lines.ts';

const MAIN = fileURLToPath(new URL('../../core/cli/main.ts', import.meta.url));

/** `pbft-lab room …` as a process; resolves its page's URL once printed. */
export class RoomProcess {
  readonly output: string[] = [];
  private child: ChildProcess | null = null;
  private readonly url: Promise<string>;
  private resolveUrl: (url: string) => void = () => {};

  constructor(args: readonly string[], wrapper: readonly string[] = []) {
    this.url = new Promise((resolve) => (this.resolveUrl = resolve));
    const command = [...wrapper, process.execPath, MAIN, 'room', ...args];
    const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!])
      forEachLine(stream, (line) => {
        this.output.push(line);
        const match = /^room: (http\S+)/.exec(line);
        if (match) this.resolveUrl(match[1]!);
      });
  }

  pageUrl(timeoutMs = 20_000): Promise<string> {
    return Promise.race([
      this.url,
      new Promise<string>((_, reject) =>
        setTimeout(() => reject(new Error(`no room URL in ${timeoutMs} ms:\n${this.output.join('\n')}`)), timeoutMs),
      ),
    ]);
  }

  /** The LabApi the page uses, from Node (the `room` call). */
  async connect(): Promise<LabApiConnection> {
    return connectLabApi(await this.pageUrl());
  }

  stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

/**
 * The replica-to-replica receives the room took in after `since` (a room cursor) and those of them
 * whose send it never took in within `timeoutMs`, polling meanwhile (`poll` appends to `events`).
 * Each replica's feed flushes every 100 ms on its own clock, so a receive may reach the room a flush
 * before its send: unpaired means never followed by its send. `since` should be some time after the
 * room subscribed to every replica: a message sent before that has no send in the room to pair with.
 */
export async function receivesAndUnpaired(
  events: readonly RoomEvent[],
  poll: () => Promise<unknown>,
  since: number,
  timeoutMs = 5_000,
): Promise<{ receives: RoomEvent[]; unpaired: RoomEvent[] }> {
  const receives = events.filter((e) => e.at > since && e.body.kind === 'receive' && /^\d+\./.test(e.body.msgId));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sends = new Set(events.flatMap((e) => (e.body.kind === 'send' ? [e.body.msgId] : [])));
    const unpaired = receives.filter((e) => e.body.kind === 'receive' && !sends.has(e.body.msgId));
    if (unpaired.length === 0 || Date.now() >= deadline) return { receives, unpaired };
    await new Promise((resolve) => setTimeout(resolve, 200));
    await poll();
  }
}
