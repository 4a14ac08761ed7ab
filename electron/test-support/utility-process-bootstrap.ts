/**
 * What the electron stub's `utilityProcess.fork(modulePath)` runs: a Node child process (forked with
 * an IPC channel and structured-clone serialization) that gives the module what an Electron utility
 * process has, `process.parentPort`, then imports it. Like Electron's, the port queues messages until
 * a 'message' listener is registered, and hands each one over as `{ data, ports }`.
 *
 * The module runs in a process of its own, as in Electron: the stubbed main's event loop is as free
 * of the replica as the real one.
 */
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';

class StubParentPort extends EventEmitter {
  private queued: unknown[] | null = [];

  constructor() {
    super();
    this.on('newListener', (event: string) => {
      if (event !== 'message' || this.queued === null) return;
      const queued = this.queued;
      this.queued = null;
      // After the listener is added (newListener fires before).
      setImmediate(() => {
        for (const data of queued) this.emit('message', { data, ports: [] });
      });
    });
  }

  deliver(data: unknown): void {
    if (this.queued !== null) this.queued.push(data);
    else this.emit('message', { data, ports: [] });
  }

  postMessage(message: unknown): void {
    process.send?.(message);
  }
}

const port = new StubParentPort();
process.on('message', (data) => port.deliver(data));
// The parent (the stubbed main) is gone: so is a utility process.
process.on('disconnect', () => process.exit(0));
Object.defineProperty(process, 'parentPort', { value: port, configurable: true });

const modulePath = process.argv[2];
if (!modulePath) throw new Error('utility-process-bootstrap: no module path');
// The module sees the arguments it was forked with, as in Electron.
process.argv.splice(2, 1);
await import(pathToFileURL(modulePath).href);
