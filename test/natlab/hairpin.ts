/**
 * NAT loopback for miniupnpd's mappings. miniupnpd 2.3.1 writes its DNAT rules with `iif "wan0"`,
 * so a LAN host reaching the router's WAN address never matches them (as on a router without
 * hairpin). For sites with `hairpin: true` the lab mirrors them: every 200 ms it reads
 * `prerouting_miniupnpd` and rewrites `hairpin_miniupnpd` (jumped to for LAN packets to the WAN
 * address, router.ts) with the same port → host:port redirects, without the interface match.
 */
import { NFT, nftLoad, nsExec } from './exec.ts';

const INTERVAL_MS = 200;
const PROTOCOLS: Record<string, string> = { '0x11': 'udp', '0x6': 'tcp', '0x06': 'tcp' };

/** The `l4proto dport → addr:port` redirects of an nft chain listing (rules restricted to one remote host are left out). */
export function parseRedirects(listing: string): string[] {
  const out: string[] = [];
  for (const line of listing.split('\n')) {
    if (/ip saddr /.test(line)) continue;
    const proto = line.match(/@nh,72,8 (0x[0-9a-f]+)/)?.[1];
    const m = line.match(/th dport (\d+) dnat ip to ([\d.]+):(\d+)/);
    const name = proto === undefined ? undefined : PROTOCOLS[proto];
    if (m === null || name === undefined) continue;
    out.push(`meta l4proto ${name} th dport ${m[1]} dnat ip to ${m[2]}:${m[3]}`);
  }
  return out;
}

export class HairpinMirror {
  readonly #ns: string;
  #timer: NodeJS.Timeout | null = null;
  #last = '';
  #busy = false;
  /** The last error (the mirror keeps trying). */
  lastError: string | null = null;

  constructor(ns: string) {
    this.#ns = ns;
  }

  start(): void {
    this.#timer = setInterval(() => { void this.sync(); }, INTERVAL_MS);
    this.#timer.unref();
  }

  /** Mirrors the current mappings now. */
  async sync(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const listing = await nsExec(this.#ns, NFT, ['list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd']);
      const rules = parseRedirects(listing);
      const key = rules.join('\n');
      if (key !== this.#last) {
        await nftLoad(this.#ns, ['flush chain inet filter hairpin_miniupnpd', ...rules.map((r) => `add rule inet filter hairpin_miniupnpd ${r}`), ''].join('\n'));
        this.#last = key;
      }
      this.lastError = null;
    } catch (err) {
      this.lastError = (err as Error).message;
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
