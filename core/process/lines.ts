/**
 * Line-oriented reading of a child process's output, shared by the commands that spawn processes
 * (core/cli's demo, core/bench's workers) and the tests that do. It lives below both, so neither
 * imports the other for it.
 */
import type { Readable } from 'node:stream';

/** Calls `onLine` for every complete line a child process writes to `stream` (UTF-8). */
export function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      onLine(line);
    }
  });
}
