/**
 * The libp2p node a replica runs on: TCP, the cluster key's connection protection (pnet), Noise,
 * Yamux, identify, and (optionally) mDNS discovery.
 * The identity is an Ed25519 key that the caller owns and can persist (identityKeyToBytes /
 * identityKeyFromBytes), so a restarted machine comes back with the same peer id and roster slot.
 *
 * libp2p's own debug logging is replaced by a silent logger unless the caller passes one; the
 * interesting events are reported by the frame transport and discovery instead.
 */
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { identify } from '@libp2p/identify';
import { mdns } from '@libp2p/mdns';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import { isLoopbackMultiaddr } from './addresses.ts';
import { clusterProtector, type RefusedConnection } from './cluster-protector.ts';
import type { ClusterKey } from './cluster-key.ts';
import type { Identify } from '@libp2p/identify';
import type { ComponentLogger, Libp2p, Logger, PrivateKey } from '@libp2p/interface';
import type { Libp2pOptions } from 'libp2p';

/** The lab's own mDNS service name, so replicas do not collect every IPFS node on the LAN. */
export const DEFAULT_MDNS_SERVICE_TAG = '_pbft-lab._udp.local';

export type LabNode = Libp2p<{ identify: Identify }>;

export interface LabMdnsOptions {
  /**
   * mDNS service name; peers only see peers that use the same one.
   * @default DEFAULT_MDNS_SERVICE_TAG
   */
  serviceTag?: string;
  /**
   * How often to query the LAN.
   * @default 10_000 (libp2p's default)
   */
  intervalMs?: number;
  /**
   * UDP port; 5353 is the mDNS standard, tests in a private network namespace may use another.
   * @default 5353
   */
  port?: number;
}

export interface LabNodeOptions {
  /**
   * The node's identity; a fresh Ed25519 key when absent (see generateIdentityKey).
   */
  privateKey?: PrivateKey;
  /**
   * Listen multiaddrs.
   * @default ['/ip4/0.0.0.0/tcp/0']
   */
  listen?: string[];
  /**
   * mDNS discovery, or `false` to run without it (tests, networks that block multicast).
   * @default {}
   */
  mdns?: LabMdnsOptions | false;
  /**
   * The cluster secret: connections are protected with it (@libp2p/pnet), so only nodes holding the
   * same key connect at all. Without one the node is open to any libp2p peer (tests of the network
   * layer, and a stranger's node in the hostile-peer tests); every pbft-lab node has one.
   */
  clusterKey?: ClusterKey;
  /**
   * A connection whose other side does not hold `clusterKey` was refused (cluster-protector.ts).
   * @default ignored
   */
  onNotClusterMember?: (refused: RefusedConnection) => void;
  /**
   * Permit dialling, and storing, loopback addresses of remote peers. Only for the one-machine demo
   * and loopback tests: on a LAN another machine's 127.0.0.1 is never that machine.
   * @default false
   */
  allowLoopback?: boolean;
  /**
   * Incoming connections accepted per second from one IP before libp2p refuses more. All replicas of
   * the one-machine demo share 127.0.0.1, hence the option.
   * @default 5 (libp2p's default), 50 when allowLoopback
   */
  inboundConnectionsPerHostPerSecond?: number;
  /**
   * Where libp2p's internal debug logs go.
   * @default silentLogger
   */
  logger?: ComponentLogger;
  /**
   * Start the node before returning it.
   * @default true
   */
  start?: boolean;
}

/** A fresh Ed25519 identity key. */
export async function generateIdentityKey(): Promise<PrivateKey> {
  return generateKeyPair('Ed25519');
}

/** The key in libp2p's protobuf form, for persisting. Treat the bytes as a secret. */
export function identityKeyToBytes(key: PrivateKey): Uint8Array {
  return privateKeyToProtobuf(key);
}

/** The inverse of identityKeyToBytes. Throws if the bytes are not a libp2p private key. */
export function identityKeyFromBytes(bytes: Uint8Array): PrivateKey {
  return privateKeyFromProtobuf(bytes);
}

export async function createLabNode(options: LabNodeOptions = {}): Promise<LabNode> {
  const allowLoopback = options.allowLoopback ?? false;
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = [];
  if (options.mdns !== false) {
    const mdnsOptions = options.mdns ?? {};
    peerDiscovery.push(
      mdns({
        serviceTag: mdnsOptions.serviceTag ?? DEFAULT_MDNS_SERVICE_TAG,
        interval: mdnsOptions.intervalMs ?? 10_000,
        port: mdnsOptions.port ?? 5353,
      }),
    );
  }
  return createLibp2p({
    privateKey: options.privateKey ?? (await generateIdentityKey()),
    addresses: { listen: options.listen ?? ['/ip4/0.0.0.0/tcp/0'] },
    transports: [tcp()],
    ...(options.clusterKey
      ? { connectionProtector: clusterProtector(options.clusterKey, options.onNotClusterMember ?? (() => {})) }
      : {}),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    services: { identify: identify() },
    connectionManager: {
      inboundConnectionThreshold: options.inboundConnectionsPerHostPerSecond ?? (allowLoopback ? 50 : 5),
      // One address of a peer that does not answer (an old port, now someone else's) must not hold a
      // dial for libp2p's 6 s before the next address is tried: on a LAN a handshake takes milliseconds.
      addressDialTimeout: 2_000,
    },
    connectionGater: allowLoopback
      ? {}
      : {
          // Never dial, nor remember, a remote peer's loopback address (DESIGN.md, Networking).
          denyDialMultiaddr: (addr) => isLoopbackMultiaddr(addr),
          filterMultiaddrForPeer: (_peer, addr) => !isLoopbackMultiaddr(addr),
        },
    logger: options.logger ?? silentLogger,
    start: options.start ?? true,
  });
}

const noop = (): void => {};

const silentLog: Logger = Object.assign((_formatter: unknown, ..._args: unknown[]): void => {}, {
  error: noop,
  trace: noop,
  enabled: false,
  newScope: (): Logger => silentLog,
});

/** A ComponentLogger that drops everything, whatever DEBUG says. */
export const silentLogger: ComponentLogger = { forComponent: () => silentLog };
