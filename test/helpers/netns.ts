/**
 * A small LAN made of Linux network namespaces, for tests that need real interfaces, addresses and
 * multicast (mDNS) between "machines": one namespace per host, each with an `eth0` on a bridge that
 * lives in its own namespace, plus one leg into the test's namespace so the test can reach the hosts.
 * Everything is created by the test and removed by `destroy()`; traffic stays on those interfaces.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface LanHost {
  readonly ns: string;
  readonly ip: string;
}

export function canUseNetns(): { ok: true } | { ok: false; reason: string } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0)
    return { ok: false, reason: 'not root: network namespaces need root' };
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return { ok: false, reason: '`ip netns` is not available (iproute2)' };
  }
  return { ok: true };
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export class NetnsLan {
  readonly id = randomBytes(3).toString('hex');
  readonly subnet: string;
  readonly hosts: LanHost[] = [];
  /** The test's own address on the LAN. */
  readonly testIp: string;
  private readonly bridgeNs: string;
  private readonly rootLeg: string;
  private created: string[] = [];

  constructor(count: number) {
    // 10.231.X.0/24 with X from the id: a private range on interfaces only this test creates.
    const third = parseInt(this.id.slice(0, 2), 16) % 250;
    this.subnet = `10.231.${third}`;
    this.bridgeNs = `pbft-${this.id}-br`;
    this.rootLeg = `pbft${this.id}t`;
    this.testIp = `${this.subnet}.250`;
    for (let i = 0; i < count; i++) this.hosts.push({ ns: `pbft-${this.id}-${i}`, ip: `${this.subnet}.${10 + i}` });
  }

  create(): void {
    ip('netns', 'add', this.bridgeNs);
    this.created.push(this.bridgeNs);
    ip('-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', this.bridgeNs, 'link', 'set', 'br0', 'up');
    this.hosts.forEach((host, i) => {
      ip('netns', 'add', host.ns);
      this.created.push(host.ns);
      const outside = `v${this.id}${i}`;
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', `e${this.id}${i}`);
      ip('link', 'set', `e${this.id}${i}`, 'netns', host.ns);
      ip('link', 'set', outside, 'netns', this.bridgeNs);
      ip('-n', this.bridgeNs, 'link', 'set', outside, 'master', 'br0');
      ip('-n', this.bridgeNs, 'link', 'set', outside, 'up');
      ip('-n', host.ns, 'link', 'set', `e${this.id}${i}`, 'name', 'eth0');
      ip('-n', host.ns, 'link', 'set', 'lo', 'up');
      ip('-n', host.ns, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0');
      ip('-n', host.ns, 'link', 'set', 'eth0', 'up');
      // No default route in the namespace: mDNS needs a route for multicast (DESIGN.md, Networking).
      ip('-n', host.ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
    });
    // The test's leg: an address on the LAN for reaching the hosts' APIs.
    ip('link', 'add', this.rootLeg, 'type', 'veth', 'peer', 'name', `b${this.id}t`);
    ip('link', 'set', `b${this.id}t`, 'netns', this.bridgeNs);
    ip('-n', this.bridgeNs, 'link', 'set', `b${this.id}t`, 'master', 'br0');
    ip('-n', this.bridgeNs, 'link', 'set', `b${this.id}t`, 'up');
    ip('addr', 'add', `${this.testIp}/24`, 'dev', this.rootLeg);
    ip('link', 'set', this.rootLeg, 'up');
  }

  /** Take a host's interface down or up (a cut cable). */
  setLink(host: LanHost, up: boolean): void {
    ip('-n', host.ns, 'link', 'set', 'eth0', up ? 'up' : 'down');
    if (up) {
      try {
        ip('-n', host.ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
      } catch {
        // the route survived the link going down
      }
    }
  }

  destroy(): void {
    for (const ns of this.created.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
    this.created = [];
    try {
      ip('link', 'del', this.rootLeg);
    } catch {
      // removed with its peer in the bridge namespace
    }
  }
}

/**
 * One namespace whose loopback carries multicast, so several replicas in it find each other by mDNS
 * on 127.0.0.1 without a single packet leaving it; a veth leg gives the test an address to reach
 * their APIs. (mDNS in the test's own namespace would multicast on the machine's real interface.)
 */
export class LoopbackNamespace {
  readonly id = randomBytes(3).toString('hex');
  readonly ns = `pbft-${this.id}-lo`;
  readonly nsIp: string;
  private readonly rootLeg = `pbft${this.id}l`;
  private created = false;

  constructor() {
    this.nsIp = `10.232.${parseInt(this.id.slice(0, 2), 16) % 250}.2`;
  }

  create(): void {
    ip('netns', 'add', this.ns);
    this.created = true;
    ip('-n', this.ns, 'link', 'set', 'lo', 'multicast', 'on');
    ip('-n', this.ns, 'link', 'set', 'lo', 'up');
    ip('-n', this.ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo');
    const inside = `i${this.id}l`;
    ip('link', 'add', this.rootLeg, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', this.ns);
    ip('-n', this.ns, 'addr', 'add', `${this.nsIp}/30`, 'dev', inside);
    ip('-n', this.ns, 'link', 'set', inside, 'up');
    ip('addr', 'add', `${this.nsIp.replace(/\.2$/, '.1')}/30`, 'dev', this.rootLeg);
    ip('link', 'set', this.rootLeg, 'up');
  }

  get wrapper(): string[] {
    return ['ip', 'netns', 'exec', this.ns];
  }

  destroy(): void {
    if (!this.created) return;
    try {
      ip('netns', 'del', this.ns);
    } catch {
      // already gone
    }
    try {
      ip('link', 'del', this.rootLeg);
    } catch {
      // removed with its peer
    }
    this.created = false;
  }
}

/**
 * A machine with no network at all: one namespace with nothing but `lo` up, no other interface, no
 * route beyond loopback, no multicast route. What a laptop in a classroom without Wi-Fi has.
 */
export class OfflineNamespace {
  readonly id = randomBytes(3).toString('hex');
  readonly ns = `pbft-${this.id}-off`;
  private created = false;

  create(): void {
    ip('netns', 'add', this.ns);
    this.created = true;
    ip('-n', this.ns, 'link', 'set', 'lo', 'up');
  }

  get wrapper(): string[] {
    return ['ip', 'netns', 'exec', this.ns];
  }

  destroy(): void {
    if (!this.created) return;
    try {
      ip('netns', 'del', this.ns);
    } catch {
      // already gone
    }
    this.created = false;
  }
}
