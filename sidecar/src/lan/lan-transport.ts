/**
 * The mDNS sockets of LAN lobby discovery, through `multicast-dns` (socket, group membership,
 * dns-packet decoding): one IPv4 socket per LAN interface (224.0.0.251:5353, its multicast
 * interface set to that address) and, where the OS allows, one IPv6 socket per interface with a
 * link-local address (ff02::fb, scoped to the interface). Every socket shares port 5353 with other
 * mDNS responders (SO_REUSEADDR). Datagrams over 9000 bytes and undecodable ones are dropped and
 * counted before anyone sees them.
 *
 * Which interfaces: every non-internal one with an IPv4 address. In loopback-only mode (tests,
 * core/loopback-guard.ts) only interfaces holding a NAT-lab address qualify, so a test sidecar in
 * the root namespace never multicasts on a real network (it gets no interface: LAN discovery off).
 * Tests on loopback pass `interfaces: ['127.0.0.1']` and a port of their own.
 */
import type { RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { networkInterfaces } from 'node:os';
import makeMdns from 'multicast-dns';
import type { Packet } from 'dns-packet';
import { isLabAddress, isLoopbackOnly } from '../core/loopback-guard.ts';
import { MAX_MESSAGE_BYTES, MDNS_GROUP_V6, MDNS_PORT } from './lan-wire.ts';

export interface LanTransportOptions {
  /** UDP port (default 5353). */
  port?: number;
  /** IPv4 interface addresses to use (default: lanInterfaces()). */
  interfaces?: string[];
  /** Also open IPv6 link-local sockets (default true where interfaces have fe80:: addresses). */
  ipv6?: boolean;
  /** Most interfaces used per family (default 8). */
  maxInterfaces?: number;
}

export interface LanTransportStats {
  datagrams: number;
  oversized: number;
  malformed: number;
  sendErrors: number;
}

/** The sockets opened: `v4` addresses and `v6` interface names, and why IPv6 is absent if it is. */
export interface LanSockets {
  v4: string[];
  v6: string[];
  ipv6Error: string | null;
}

type TransportEvents = {
  query: [Packet, RemoteInfo];
  response: [Packet, RemoteInfo];
};

/** The interfaces LAN discovery uses by default (see the file comment). */
export function lanInterfaces(): { v4: string[]; v6: string[] } {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    const list = addresses ?? [];
    const ipv4 = list.find((a) => a.family === 'IPv4' && !a.internal);
    if (ipv4 === undefined) continue;
    if (isLoopbackOnly() && !isLabAddress(ipv4.address)) continue;
    v4.push(ipv4.address);
    if (list.some((a) => a.family === 'IPv6' && !a.internal && a.address.toLowerCase().startsWith('fe80:'))) v6.push(name);
  }
  return { v4, v6 };
}

type Mdns = ReturnType<typeof makeMdns>;

export class LanTransport extends EventEmitter<TransportEvents> {
  readonly stats: LanTransportStats = { datagrams: 0, oversized: 0, malformed: 0, sendErrors: 0 };
  readonly sockets: LanSockets;
  readonly #instances: Mdns[];
  #closed = false;

  private constructor(instances: Mdns[], sockets: LanSockets) {
    super();
    this.#instances = instances;
    this.sockets = sockets;
  }

  /** Opens the sockets; resolves once they are bound (an interface that fails is left out). */
  static async open(options: LanTransportOptions = {}): Promise<LanTransport> {
    const port = options.port ?? MDNS_PORT;
    const max = options.maxInterfaces ?? 8;
    const found = options.interfaces === undefined ? lanInterfaces() : { v4: options.interfaces, v6: [] };
    const v4 = found.v4.slice(0, max);
    const v6Names = options.ipv6 === false ? [] : found.v6.slice(0, max);
    const sockets: LanSockets = { v4: [], v6: [], ipv6Error: v6Names.length === 0 ? 'no interface with an IPv6 link-local address' : null };
    const instances: Mdns[] = [];
    const transport = new LanTransport(instances, sockets);
    const start = async (family: 4 | 6, name: string): Promise<void> => {
      const mdns = family === 4
        ? makeMdns({ port, interface: name, bind: '0.0.0.0', loopback: true, ttl: 255 })
        : makeMdns({ port, type: 'udp6', ip: MDNS_GROUP_V6, interface: `::%${name}`, bind: '::', loopback: true, ttl: 255 });
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 2000);
        mdns.once('ready', () => { clearTimeout(timer); resolve(true); });
        mdns.once('error', (err: Error) => {
          clearTimeout(timer);
          if (family === 6) sockets.ipv6Error = err.message;
          resolve(false);
        });
      });
      if (!ok) {
        mdns.destroy();
        return;
      }
      transport.#attach(mdns);
      instances.push(mdns);
      (family === 4 ? sockets.v4 : sockets.v6).push(name);
    };
    await Promise.all([...v4.map((a) => start(4, a)), ...v6Names.map((n) => start(6, n))]);
    return transport;
  }

  /** True when at least one socket is open. */
  get active(): boolean {
    return this.#instances.length > 0 && !this.#closed;
  }

  /** Multicasts `packet` on every interface (errors are counted, never thrown). */
  send(packet: Packet): void {
    if (this.#closed) return;
    const done = (err: Error | null): void => { if (err) this.stats.sendErrors++; };
    for (const mdns of this.#instances) {
      if (packet.type === 'query') mdns.query({ questions: packet.questions ?? [] }, done);
      else mdns.respond({ answers: packet.answers ?? [], ...(packet.additionals ? { additionals: packet.additionals } : {}) }, done);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#instances.map((m) => new Promise<void>((resolve) => m.destroy(() => resolve()))));
    this.removeAllListeners();
  }

  #attach(mdns: Mdns): void {
    mdns.on('warning', (err: unknown) => {
      // Decoding failures (dns-packet) and socket warnings; send failures are counted in send().
      if (err instanceof Error && !('code' in err)) this.stats.malformed++;
    });
    mdns.on('packet', (message: Packet, rinfo: RemoteInfo) => {
      this.stats.datagrams++;
      if (rinfo.size > MAX_MESSAGE_BYTES) {
        this.stats.oversized++;
        return;
      }
      if (message.type === 'query') this.emit('query', message, rinfo);
      else if (message.type === 'response') this.emit('response', message, rinfo);
    });
  }
}
