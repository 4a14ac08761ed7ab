/**
 * The `pbft-lab` command. Verbs: replica, demo, client, sim, bench.
 */
import { BENCH_USAGE, benchCommand } from './bench-command.ts';
import { CLIENT_USAGE, clientCommand } from './client-command.ts';
import { DEMO_USAGE, demoCommand } from './demo-command.ts';
import { REPLICA_USAGE, replicaCommand } from './replica-command.ts';
import { SIM_USAGE, simCommand } from './sim-command.ts';
import { runCli } from './run-cli.ts';
import { UsageError } from './usage-error.ts';

const USAGE = `usage: pbft-lab <verb> [options]

verbs:
  replica one headless replica (LAN discovery by mDNS, or --join); --api-port serves the dashboard API
          ${REPLICA_USAGE.replace(/\n/g, '\n          ')}
  demo    the one-machine lab: N replicas as separate processes on loopback
          ${DEMO_USAGE}
  client  submit one file-store operation and print the result agreed by f+1 replicas
          ${CLIENT_USAGE.replace(/\n/g, '\n          ')}
  sim     seeded simulation of a PBFT cluster with fault injection and checkers
          ${SIM_USAGE.replace(/\n/g, '\n          ')}
  bench   closed-loop throughput and latency (in-memory transport, or libp2p on loopback)
          ${BENCH_USAGE.replace(/\n/g, '\n          ')}`;

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const print = (line: string): void => void process.stdout.write(line + '\n');
  return runCli(USAGE, async () => {
    switch (verb) {
      case 'sim':
        return simCommand(rest, print);
      case 'replica':
        return await replicaCommand(rest, print);
      case 'demo':
        return await demoCommand(rest, print);
      case 'client':
        return await clientCommand(rest, print);
      case 'bench':
        return await benchCommand(rest, print);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        print(USAGE);
        return verb === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown verb "${verb}"`);
    }
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
