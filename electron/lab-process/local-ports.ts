/**
 * Where the instances of a local-only cluster listen, so they find each other on a laptop with no
 * network at all: no mDNS (multicast needs a route that an offline machine may not have), no
 * addresses to copy. Every instance of the cluster derives the same few TCP ports on 127.0.0.1 from
 * the cluster key's fingerprint, listens on the first one free, and dials the first n of them; the
 * replica host retries a port nobody listens on yet every two seconds, so the order the instances
 * start in does not matter.
 *
 * A port of the range may be taken by another program: the instance then takes the next one, among
 * a few spares, and dials the others itself (they learn it from its connection). Another cluster's
 * range may overlap by chance (one in ~1,500); the cluster key refuses the connection and the
 * instance tries the next port.
 */
import { createServer } from 'node:net';

/** Ranges start here: below the ephemeral ports of Windows and macOS (49152+). */
export const LOCAL_PORT_BASE = 20_000;
/** Ports per range: room for n = 10 and spares. */
export const LOCAL_PORT_STRIDE = 16;
/** 1,500 ranges of 16: ports 20000–43999. */
export const LOCAL_PORT_RANGES = 1_500;
/** Slots beyond n, for ports another program holds. */
export const LOCAL_SPARE_SLOTS = 3;

/** The ports of a local cluster, in the order instances try them: the first n, then the spares. */
export function localPorts(fingerprint: string, size: number): number[] {
  if (!/^[0-9a-f]{8}$/.test(fingerprint)) throw new RangeError(`not a cluster key fingerprint: "${fingerprint}"`);
  const range = parseInt(fingerprint, 16) % LOCAL_PORT_RANGES;
  const count = Math.min(size + LOCAL_SPARE_SLOTS, LOCAL_PORT_STRIDE);
  return Array.from({ length: count }, (_, i) => LOCAL_PORT_BASE + range * LOCAL_PORT_STRIDE + i);
}

/** `/ip4/127.0.0.1/tcp/P` for each of the first n ports but `own`: whom a local instance dials. */
export function localJoinAddresses(fingerprint: string, size: number, own: number): string[] {
  return localPorts(fingerprint, size)
    .slice(0, size)
    .filter((port) => port !== own)
    .map((port) => `/ip4/127.0.0.1/tcp/${port}`);
}

/** Whether a TCP port on 127.0.0.1 can be bound now (another instance may take it a moment later). */
export function isLoopbackPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}
