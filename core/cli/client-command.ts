/**
 * `pbft-lab client`: submit one file-store operation as an authenticated client (its libp2p identity)
 * and print the result with how many replicas agreed.
 */
import { parseArgs } from 'node:util';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { describeResult, decodeResult, type FileOp } from '../app/file-ops.ts';
import { labResultFromFile } from '../host/lab-ops.ts';
import { NetworkClient } from '../host/network-client.ts';
import { DEFAULT_CLUSTER, parseJoinCode } from './replica-command.ts';
import { UsageError } from './usage-error.ts';

export const CLIENT_USAGE = `usage: pbft-lab client --cluster-key CODE [--cluster NAME] [--size N] [--join MULTIADDR]... [--json] [--timeout S]
                       [--read-only] <op> [args]
  ops: write PATH TEXT | append PATH TEXT | read PATH | delete PATH | list [DIR] | stat PATH
  --read-only (read, list, stat): ask every replica, accept 2f+1 matching replies without ordering (§5.1)`;

export function parseClientOp(positionals: string[]): FileOp {
  const [op, ...rest] = positionals;
  const need = (count: number): string[] => {
    if (rest.length !== count)
      throw new UsageError(`${op} takes ${count} argument${count === 1 ? '' : 's'}, got ${rest.length}`);
    return rest;
  };
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  switch (op) {
    case 'write':
    case 'append': {
      const [path, data] = need(2);
      return { kind: op, path: path!, data: text(data!) };
    }
    case 'read':
    case 'delete':
    case 'stat':
      return { kind: op, path: need(1)[0]! };
    case 'list':
      if (rest.length > 1) throw new UsageError('list takes at most one argument');
      return { kind: 'list', dir: rest[0] ?? '/' };
    case undefined:
      throw new UsageError('no operation given');
    default:
      throw new UsageError(`unknown operation "${op}"`);
  }
}

export async function clientCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      cluster: { type: 'string', default: DEFAULT_CLUSTER },
      size: { type: 'string', default: '4' },
      join: { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '20' },
      'no-mdns': { type: 'boolean', default: false },
      'read-only': { type: 'boolean', default: false },
      'cluster-key': { type: 'string' },
      'open-cluster': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  const op = parseClientOp(positionals);
  const readOnly = values['read-only'];
  if (readOnly && op.kind !== 'read' && op.kind !== 'list' && op.kind !== 'stat')
    throw new UsageError(`--read-only is for read, list and stat, not ${op.kind}`);
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 4 || (size - 1) % 3 !== 0)
    throw new UsageError(`--size must be 3f+1, got "${values.size}"`);
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  let join: Multiaddr[];
  try {
    join = (values.join ?? []).map((a) => multiaddr(a));
  } catch (error) {
    throw new UsageError(`--join: ${(error as Error).message}`);
  }
  if ((values['cluster-key'] === undefined) === !values['open-cluster'])
    throw new UsageError("--cluster-key CODE is required: the join code the cluster's first replica printed");
  const clusterKey = values['open-cluster'] ? null : parseJoinCode(values['cluster-key']!);
  const client = new NetworkClient({
    cluster: values.cluster,
    clusterKey,
    size,
    join,
    mdns: !values['no-mdns'],
    log: (line) => process.stderr.write(`${line}\n`),
  });
  try {
    await client.start();
    const outcome = await client.submit(op, { readOnly, timeoutMs: timeoutS * 1000 });
    const decoded = decodeResult(outcome.result);
    if (!decoded.ok) throw new Error(`the replicas agreed on a result that does not decode: ${decoded.reason}`);
    const f = (size - 1) / 3;
    // f+1 committed replies suffice; 2f+1 are needed when some were tentative or read-only (§5.1).
    // (A read-only request that timed out was retried as an ordered one.)
    const needed = outcome.committed ? { count: f + 1, name: 'f+1' } : { count: 2 * f + 1, name: '2f+1' };
    const how = outcome.readOnly ? ', read-only' : outcome.committed ? '' : ', tentative';
    if (values.json) {
      print(
        JSON.stringify({
          result: labResultFromFile(decoded.result),
          matching: outcome.matching,
          needed: needed.count,
          readOnly: outcome.readOnly,
          replicas: size,
          latencyMs: Math.round(outcome.latencyMs * 100) / 100,
        }),
      );
    } else {
      const r = decoded.result;
      print(r.kind === 'data' ? new TextDecoder().decode(r.data) : describeResult(r));
      print(
        `(${outcome.matching} matching replies, ${needed.name} = ${needed.count} needed${how}; ${outcome.latencyMs.toFixed(1)} ms)`,
      );
    }
    return decoded.result.kind === 'error' ? 1 : 0;
  } finally {
    await client.stop();
  }
}
