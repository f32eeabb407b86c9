/**
 * LAN lobby discovery for one sidecar: the mDNS sockets (lan-transport.ts), the announcer of its
 * hosted lobbies (lan-announcer.ts) and the listener/querier that finds other hosts' lobbies
 * (lan-browser.ts). The lobby service (lobby-service.ts) hands it to lobby hosts and browsers.
 * Works with no DHT and no relay at all (a LAN party with no internet: docs/lobby.md §8).
 */
import { isIPv4 } from 'node:net';
import { isLoopbackHost } from '../core/loopback-guard.ts';
import { LanAnnouncer } from './lan-announcer.ts';
import { LanBrowser, type LanBrowserStats } from './lan-browser.ts';
import { LanTransport, type LanSockets, type LanTransportOptions, type LanTransportStats } from './lan-transport.ts';

export interface LanDiscoveryOptions extends LanTransportOptions {
  /** Announce interval, ms (default 15 s; 1 s – 5 min). */
  announceIntervalMs?: number;
}

export interface LanStatus {
  enabled: boolean;
  /** Why there is no LAN discovery (no usable interface) when not enabled. */
  reason?: string;
  sockets: LanSockets;
  announceIntervalMs: number;
  announced: number;
  transport: LanTransportStats;
  announcer: LanAnnouncer['stats'];
  browser: LanBrowserStats;
}

export class LanDiscovery {
  readonly transport: LanTransport;
  readonly announcer: LanAnnouncer;
  readonly browser: LanBrowser;

  private constructor(transport: LanTransport, announceIntervalMs: number | undefined) {
    this.transport = transport;
    this.announcer = new LanAnnouncer(transport, announceIntervalMs === undefined ? {} : { intervalMs: announceIntervalMs });
    this.browser = new LanBrowser(transport);
  }

  /** Opens the sockets (none usable: `active` is false and `status().reason` says why). */
  static async start(options: LanDiscoveryOptions = {}): Promise<LanDiscovery> {
    const { announceIntervalMs, ...transport } = options;
    return new LanDiscovery(await LanTransport.open(transport), announceIntervalMs);
  }

  get active(): boolean {
    return this.transport.active;
  }

  /** This machine's first LAN IPv4 address (what a LAN-only host advertises), or null. */
  get lanAddress(): string | null {
    return this.transport.sockets.v4.find((a) => isIPv4(a) && !isLoopbackHost(a)) ?? null;
  }

  status(): LanStatus {
    return {
      enabled: this.active,
      ...(this.active ? {} : { reason: 'no network interface usable for LAN discovery (none with an IPv4 address, or loopback-only test mode outside the NAT lab)' }),
      sockets: this.transport.sockets,
      announceIntervalMs: this.announcer.intervalMs,
      announced: this.announcer.keys.length,
      transport: { ...this.transport.stats },
      announcer: { ...this.announcer.stats },
      browser: { ...this.browser.stats, rejected: { ...this.browser.stats.rejected } },
    };
  }

  /** Goodbyes for announced lobbies (sent before the sockets close), then closes. */
  async close(): Promise<void> {
    const goodbyes = this.active && (this.announcer.keys.length > 0 || this.announcer.stats.goodbyes > 0);
    this.announcer.close();
    this.browser.close();
    if (goodbyes) await new Promise((resolve) => setTimeout(resolve, 300)); // the repeated goodbye (250 ms) goes out
    await this.transport.close();
  }
}
