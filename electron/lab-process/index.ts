/**
 * The lab process: Electron's `utilityProcess.fork(out/main/lab-process.js)` runs this file, off the
 * main process, with a MessagePort to main (`process.parentPort`). It hosts this machine's
 * ReplicaHost, its cluster beacon, and the start screen's LAN scan (lab-process-service.ts); main
 * forwards the window's calls here and relays the event batches back.
 *
 * No `electron` import: a utility process is Node with a parent port. Under Node (tests), the
 * electron stub forks this file with a parent port of its own (electron/test-support).
 */
import multicastDNS from 'multicast-dns';
import { ReplicaHost } from '../../core/host/replica-host.ts';
import type { Mdns } from '../../core/net/cluster-beacon.ts';
import { LabProcessService } from './lab-process-service.ts';

const parentPort = process.parentPort;
if (parentPort === undefined) {
  console.error('the lab process runs as an Electron utility process (process.parentPort is missing)');
  process.exit(2);
}

function log(line: string): void {
  console.log(`${new Date().toISOString().slice(11, 23)} ${line}`);
}

const service = new LabProcessService({
  post: (message) => parentPort.postMessage(message),
  createHost: (options) => new ReplicaHost(options),
  // loopback: instances on one machine hear each other's beacons; reuseAddr: beside libp2p's mDNS and the OS's.
  createMdns: () => multicastDNS({ loopback: true, reuseAddr: true }) as unknown as Mdns,
  log,
});

parentPort.on('message', (event) => service.handle(event.data));

let stopping = false;
async function stopAndExit(why: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log(`${why}: stopping the replica`);
  const timer = setTimeout(() => process.exit(1), 5_000);
  timer.unref();
  await service.stop().catch((error: unknown) => log(`stopping failed: ${String(error)}`));
  process.exit(0);
}
// utilityProcess.kill() sends SIGTERM; the replica leaves its peers and closes its data directory first.
process.once('SIGTERM', () => void stopAndExit('SIGTERM'));
process.once('SIGINT', () => void stopAndExit('SIGINT'));

service.ready();
