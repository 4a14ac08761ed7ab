/**
 * `pbft-lab replica`: one headless replica. With --api-port it serves the LabApi (and the dashboard,
 * once built) on that port, behind a secret token printed in the URL at start.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startApiServer } from '../host/api-server.ts';
import { ReplicaHost } from '../host/replica-host.ts';
import { ClusterKey, ClusterKeyError } from '../net/cluster-key.ts';
import type { ClusterKeyChoice } from '../host/cluster-secret.ts';
import { UsageError } from './usage-error.ts';

export const REPLICA_USAGE = `usage: pbft-lab replica --data-dir DIR [--new-cluster | --cluster-key CODE] [--cluster NAME] [--size N]
                        [--listen MULTIADDR] [--join MULTIADDR]... [--api-port P] [--api-host HOST] [--no-mdns]
                        [--allow-loopback] [--checkpoint-interval K] [--no-record]
  --new-cluster: the first machine creates the cluster secret and prints its join code
  --cluster-key CODE: the other machines join with that code (saved in DIR: a restart needs neither)
  --open-cluster: no secret at all, any libp2p node may connect (only to measure what the secret costs)
  --no-record: do not record the replica's inputs in DIR/records (docs/exercises.md, "Recording")`;

export const DEFAULT_CLUSTER = 'pbft-lab';

/** The built dashboard (`npm run build` → out/renderer), served beside the API. */
const DASHBOARD_DIR = fileURLToPath(new URL('../../out/renderer', import.meta.url));

export interface ReplicaArgs {
  dataDir: string;
  cluster: string;
  size: number;
  listen: string[];
  join: string[];
  apiPort: number | null;
  apiHost: string;
  mdns: boolean;
  allowLoopback: boolean;
  /** K (default 32): a small K shows checkpoints and garbage collection in class. */
  checkpointInterval: number | null;
  clusterKey: ClusterKeyChoice;
  /** Record the replica's inputs for replay (core/host/recorder.ts). */
  record: boolean;
}

/** `--cluster-key CODE` read, or a UsageError that says what is wrong with the code. */
export function parseJoinCode(code: string): ClusterKey {
  try {
    return ClusterKey.fromJoinCode(code);
  } catch (error) {
    if (error instanceof ClusterKeyError) throw new UsageError(`--cluster-key: ${error.message}`);
    throw error;
  }
}

export function parseReplicaArgs(argv: string[]): ReplicaArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      cluster: { type: 'string', default: DEFAULT_CLUSTER },
      size: { type: 'string', default: '4' },
      listen: { type: 'string', multiple: true },
      join: { type: 'string', multiple: true },
      'api-port': { type: 'string' },
      'api-host': { type: 'string', default: '127.0.0.1' },
      'no-mdns': { type: 'boolean', default: false },
      'allow-loopback': { type: 'boolean', default: false },
      'checkpoint-interval': { type: 'string' },
      'new-cluster': { type: 'boolean', default: false },
      'cluster-key': { type: 'string' },
      'open-cluster': { type: 'boolean', default: false },
      'no-record': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const dataDir = values['data-dir'];
  if (!dataDir)
    throw new UsageError('--data-dir DIR is required (the identity key, roster and checkpoints live there)');
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 4 || (size - 1) % 3 !== 0)
    throw new UsageError(`--size must be 3f+1 (4, 7, 10, …), got "${values.size}"`);
  if (!/^[\w.-]{1,64}$/.test(values.cluster))
    throw new UsageError(`--cluster must be 1–64 letters, digits, '.', '_' or '-', got "${values.cluster}"`);
  let apiPort: number | null = null;
  if (values['api-port'] !== undefined) {
    apiPort = Number(values['api-port']);
    if (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65535)
      throw new UsageError(`--api-port must be a port number, got "${values['api-port']}"`);
  }
  let checkpointInterval: number | null = null;
  if (values['checkpoint-interval'] !== undefined) {
    checkpointInterval = Number(values['checkpoint-interval']);
    if (!Number.isInteger(checkpointInterval) || checkpointInterval < 1 || checkpointInterval > 10_000) {
      throw new UsageError(
        `--checkpoint-interval must be a whole number from 1 to 10000, got "${values['checkpoint-interval']}"`,
      );
    }
  }
  const keyFlags = [values['new-cluster'], values['cluster-key'] !== undefined, values['open-cluster']];
  if (keyFlags.filter(Boolean).length > 1)
    throw new UsageError('give at most one of --new-cluster, --cluster-key CODE and --open-cluster');
  const clusterKey: ClusterKeyChoice = values['new-cluster']
    ? 'new'
    : values['open-cluster']
      ? 'none'
      : values['cluster-key'] !== undefined
        ? parseJoinCode(values['cluster-key'])
        : 'stored';
  return {
    clusterKey,
    checkpointInterval,
    dataDir,
    cluster: values.cluster,
    size,
    listen: values.listen ?? ['/ip4/0.0.0.0/tcp/0'],
    join: values.join ?? [],
    apiPort,
    apiHost: values['api-host'],
    mdns: !values['no-mdns'],
    allowLoopback: values['allow-loopback'],
    record: !values['no-record'],
  };
}

/** Runs until SIGINT/SIGTERM. Resolves with the exit code. */
export async function replicaCommand(argv: string[], print: (line: string) => void): Promise<number> {
  const args = parseReplicaArgs(argv);
  // Listening before anything is printed: whoever starts us may send SIGTERM as soon as it reads
  // `join with:`, and a signal with no handler kills the process without stopping the host. A
  // signal during start-up stops the replica once it has started; a second one kills it.
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const host = new ReplicaHost({
    dataDir: args.dataDir,
    cluster: args.cluster,
    size: args.size,
    clusterKey: args.clusterKey,
    listen: args.listen,
    join: args.join,
    mdns: args.mdns,
    allowLoopback: args.allowLoopback,
    record: args.record,
    protocol:
      args.checkpointInterval === null
        ? undefined
        : { checkpointInterval: args.checkpointInterval, logWindow: 2 * args.checkpointInterval },
    log: (line) => print(`${new Date().toISOString().slice(11, 23)} ${line}`),
  });
  await host.start();
  const api =
    args.apiPort === null
      ? null
      : await startApiServer({
          api: host,
          host: args.apiHost,
          port: args.apiPort,
          staticDir: DASHBOARD_DIR,
          log: print,
          records: host.records,
        });
  if (api) print(`dashboard and API: ${api.url}`);
  for (const url of api?.lanUrls ?? []) print(`from other machines: ${url}`);
  const code = host.joinCode;
  if (code)
    print(
      `join code: ${code}  (the other machines: pbft-lab replica --cluster-key ${code}${args.cluster === DEFAULT_CLUSTER ? '' : ` --cluster ${args.cluster}`})`,
    );
  for (const address of host.listenAddresses)
    print(`join with: --join ${address.includes('/p2p/') ? address : `${address}/p2p/${host.peerId}`}`);
  print(`${await stopSignal}: stopping`);
  await api?.close();
  await host.stop();
  print('stopped');
  return 0;
}
