/**
 * `pbft-lab client`: submit file-store operations as an authenticated client (its libp2p identity)
 * and print each result with how many replicas agreed: one operation per call, or, without one, an
 * interactive shell (client-shell.ts) that keeps its connections between operations.
 *
 * Finding the cluster: the addresses last seen for it (cluster-hints.ts: the demo leaves them, and
 * every client that reached the cluster refreshes them), `--join`, and mDNS, all at once. While no
 * roster is known it says so on stderr, and after a few seconds names the clusters it does see.
 */
import { parseArgs } from 'node:util';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { decodeResult } from '../app/file-ops.ts';
import { describeSeenCluster, NetworkClient } from '../host/network-client.ts';
import { checkClientOp, parseClientOp } from './client-op.ts';
import { formatAgreement, formatJson, formatResult } from './client-output.ts';
import { runClientShell } from './client-shell.ts';
import { readClusterHints, readHintedJoinCode, writeClusterHints } from './cluster-hints.ts';
import { DEFAULT_CLUSTER, parseJoinCode } from './replica-command.ts';
import { UsageError } from './usage-error.ts';

export { checkClientOp, parseClientOp } from './client-op.ts';

export const CLIENT_USAGE = `usage: pbft-lab client [--cluster-key CODE] [--cluster NAME] [--size N] [--join MULTIADDR]... [--json] [--timeout S] [--read-only] <op> [args]
       pbft-lab client [--cluster-key CODE] [--cluster NAME] [--size N] [--join MULTIADDR]...      (no op: an interactive shell)
  --cluster-key CODE: the join code the cluster's first replica printed (the demo's is found on its machine)
  ops: write PATH TEXT | append PATH TEXT | read PATH | delete PATH | list [DIR] | stat PATH
  PATH starts with / (e.g. /hello); an operation is at most 64 KiB (65536 bytes) encoded
  --read-only (read, list, stat): ask every replica, accept 2f+1 matching replies without ordering (§5.1)
  --json: one JSON object per result (a listing's entries with path, size, version, modifiedSeq)
  --no-cache: ignore (and do not save) the addresses last seen for the cluster`;

/** Seconds of searching before the client names the clusters it does see. */
const SEARCH_REPORT_MS = 3_000;

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
      'no-cache': { type: 'boolean', default: false },
      'cluster-key': { type: 'string' },
      'open-cluster': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  const op = positionals.length === 0 ? null : checkClientOp(parseClientOp(positionals));
  const readOnly = values['read-only'];
  if (readOnly && op && op.kind !== 'read' && op.kind !== 'list' && op.kind !== 'stat')
    throw new UsageError(`--read-only is for read, list and stat, not ${op.kind}`);
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 4 || (size - 1) % 3 !== 0)
    throw new UsageError(`--size must be 3f+1, got "${values.size}"`);
  if (!/^[\w.-]{1,64}$/.test(values.cluster))
    throw new UsageError(`--cluster must be 1–64 letters, digits, '.', '_' or '-', got "${values.cluster}"`);
  const timeoutS = Number(values.timeout);
  if (!(timeoutS > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  let join: Multiaddr[];
  try {
    join = (values.join ?? []).map((a) => multiaddr(a));
  } catch (error) {
    throw new UsageError(`--join: ${(error as Error).message}`);
  }
  const useCache = !values['no-cache'];
  const hinted = useCache ? await readClusterHints(values.cluster, size) : [];
  for (const address of hinted) {
    try {
      join.push(multiaddr(address));
    } catch {
      // a damaged hint is no address
    }
  }
  // The cluster's secret: given, or the one the demo on this machine left with its addresses.
  const code = values['cluster-key'] ?? (useCache ? await readHintedJoinCode(values.cluster, size) : null);
  if (values['cluster-key'] !== undefined && values['open-cluster'])
    throw new UsageError('give --cluster-key CODE or --open-cluster, not both');
  if (code === null && !values['open-cluster'])
    throw new UsageError("--cluster-key CODE is required: the join code the cluster's first replica printed");
  const clusterKey = values['open-cluster'] ? null : parseJoinCode(code!);
  const say = (line: string): void => void process.stderr.write(`${line}\n`);
  const client = new NetworkClient({
    cluster: values.cluster,
    clusterKey,
    size,
    join,
    mdns: !values['no-mdns'],
    log: say,
  });
  try {
    await client.start();
    const found = announceSearch(client, values.cluster, size, hinted.length, say);
    const timeoutMs = timeoutS * 1000;
    if (op === null) {
      const exitCode = await runClientShell({
        client,
        cluster: values.cluster,
        size,
        json: values.json,
        readOnly,
        timeoutMs,
        print,
        found,
      });
      if (useCache && client.members) await writeClusterHints(values.cluster, size, client.memberAddresses());
      return exitCode;
    }
    const outcome = await client.submit(op, { readOnly, timeoutMs });
    if (useCache) await writeClusterHints(values.cluster, size, client.memberAddresses());
    const decoded = decodeResult(outcome.result);
    if (!decoded.ok) throw new Error(`the replicas agreed on a result that does not decode: ${decoded.reason}`);
    if (values.json) print(formatJson(decoded.result, outcome, size));
    else {
      for (const line of formatResult(decoded.result)) print(line);
      print(formatAgreement(outcome, size));
    }
    return decoded.result.kind === 'error' ? 1 : 0;
  } finally {
    await client.stop();
  }
}

/**
 * "searching…" at once (on stderr, so a script reading stdout sees only results), and after a few
 * seconds without a roster, what the client does see. Resolves when the roster is known.
 */
function announceSearch(
  client: NetworkClient,
  cluster: string,
  size: number,
  hinted: number,
  say: (line: string) => void,
): Promise<boolean> {
  const via = hinted > 0 ? `${hinted} address${hinted === 1 ? '' : 'es'} last seen for it, and mDNS` : 'mDNS';
  const ready = client.ready(24 * 60 * 60 * 1000).then(
    () => true,
    () => false,
  );
  // At once when there is nothing quick to try; with addresses last seen, only if they do not answer
  // within a moment (they usually do, in tens of milliseconds).
  const searching = setTimeout(
    () => say(`searching for cluster "${cluster}" of ${size} (${via})…`),
    hinted > 0 ? 300 : 0,
  );
  const report = setTimeout(() => {
    const seen = client.seenClusters();
    say(
      seen.length > 0
        ? `still searching for "${cluster}" of ${size}; clusters seen on this network: ${seen.map(describeSeenCluster).join(', ')}`
        : `still searching for "${cluster}" of ${size}: ${client.whyNoRoster()}`,
    );
  }, SEARCH_REPORT_MS);
  void ready.then(() => {
    clearTimeout(searching);
    clearTimeout(report);
  });
  return ready;
}
