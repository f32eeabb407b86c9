/**
 * Keeps popular records alive on the DHT (`--republish-popular`, off by default; the reference relay
 * never republishes: pubky/pkarr relay/src has no republish task).
 *
 * Policy:
 * - Every packet the relay serves (GET 200/304, DoH answer) counts as a hit for its key. Hits are
 *   counted in windows of `windowMs` (default 1 h); a key is popular when it got at least `minHits`
 *   (default 3) in the current or the previous window. At most `maxTracked` (50,000) keys are
 *   counted per window; further keys are ignored until the window rotates.
 * - Every `intervalMs` (default 60 s) at most `perTick` (default 10) popular keys whose stored packet
 *   was last seen on the network more than `staleAfterMs` ago (default 1 h; BEP44 nodes may drop
 *   items after 2 h) are handled one after the other, never concurrently:
 *   1. a full DHT lookup (`holders`): a more recent packet found there is adopted into the store and
 *      nothing is put;
 *   2. otherwise, if fewer than `minHolders` (default 8, as pkarr 1.3.0's republisher) nodes hold it,
 *      the stored packet is put again (the signature travels with it, no secret key needed);
 *   3. on success the stored packet's lastSeen becomes now.
 *   So the relay sends at most `perTick` lookups plus `perTick` puts per interval (600 + 600 per hour
 *   with the defaults), whatever the traffic.
 */
import type { PublicKey } from '../core/keys.ts';
import { nowMicros } from '../core/timestamp.ts';
import type { Dht } from '../dht/types.ts';
import type { CachedPacket, PacketStore } from './packet-store.ts';
import type { RelayStats } from './relay-stats.ts';

/** Tunables of {@link PopularRepublisher}; the defaults are documented in the module doc. */
export interface PopularRepublisherOptions {
  windowMs?: number;
  minHits?: number;
  maxTracked?: number;
  intervalMs?: number;
  perTick?: number;
  staleAfterMs?: number;
  minHolders?: number;
}

interface Tracked {
  hits: number;
  key: PublicKey;
}

/** Counts hits and republishes popular, stale packets (see the module doc). */
export class PopularRepublisher {
  readonly #store: PacketStore;
  readonly #dht: Dht;
  readonly #stats: RelayStats;
  readonly #log: (line: string) => void;
  readonly #o: Required<PopularRepublisherOptions>;
  #current = new Map<string, Tracked>();
  #previous = new Map<string, Tracked>();
  #windowStartMs = Date.now();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  readonly #abort = new AbortController();

  constructor(store: PacketStore, dht: Dht, stats: RelayStats, log: (line: string) => void, options: PopularRepublisherOptions = {}) {
    this.#store = store;
    this.#dht = dht;
    this.#stats = stats;
    this.#log = log;
    this.#o = {
      windowMs: options.windowMs ?? 3_600_000,
      minHits: options.minHits ?? 3,
      maxTracked: options.maxTracked ?? 50_000,
      intervalMs: options.intervalMs ?? 60_000,
      perTick: options.perTick ?? 10,
      staleAfterMs: options.staleAfterMs ?? 3_600_000,
      minHolders: options.minHolders ?? 8,
    };
  }

  /** Records that `entry` was served. */
  hit(entry: CachedPacket): void {
    const z32 = entry.packet.publicKey.z32;
    const tracked = this.#current.get(z32);
    if (tracked !== undefined) tracked.hits += 1;
    else if (this.#current.size < this.#o.maxTracked) this.#current.set(z32, { hits: 1, key: entry.packet.publicKey });
  }

  /** Starts the periodic ticks. */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => void this.tick(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a running tick to end. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#abort.abort();
    await this.#running;
  }

  /** One round (also callable directly). Resolves with the number of packets put. */
  async tick(): Promise<number> {
    if (this.#running !== null) return 0;
    let put = 0;
    const run = (async () => {
      put = await this.#round();
    })();
    this.#running = run;
    try {
      await run;
    } finally {
      this.#running = null;
    }
    return put;
  }

  #rotate(now: number): void {
    if (now - this.#windowStartMs < this.#o.windowMs) return;
    this.#previous = now - this.#windowStartMs < 2 * this.#o.windowMs ? this.#current : new Map();
    this.#current = new Map();
    this.#windowStartMs = now;
  }

  #candidates(now: number): PublicKey[] {
    const staleBefore = BigInt(now - this.#o.staleAfterMs) * 1000n;
    const seen = new Set<string>();
    const out: PublicKey[] = [];
    for (const window of [this.#current, this.#previous]) {
      for (const [z32, tracked] of window) {
        if (out.length >= this.#o.perTick) return out;
        if (seen.has(z32) || tracked.hits < this.#o.minHits) continue;
        seen.add(z32);
        const stored = this.#store.peek(tracked.key);
        if (stored !== null && stored.packet.lastSeen < staleBefore) out.push(tracked.key);
      }
    }
    return out;
  }

  async #round(): Promise<number> {
    const now = Date.now();
    this.#rotate(now);
    let put = 0;
    for (const key of this.#candidates(now)) {
      if (this.#abort.signal.aborted) break;
      try {
        if (await this.#refresh(key)) put += 1;
      } catch (err) {
        this.#log(`relay: republishing ${key.z32} failed: ${(err as Error).message}`);
      }
    }
    return put;
  }

  /** Returns true when the packet was put again. */
  async #refresh(key: PublicKey): Promise<boolean> {
    const stored = this.#store.peek(key);
    if (stored === null) return false;
    const stats = await this.#dht.holders(key, this.#abort.signal);
    if (stats.packet !== null && stats.packet.moreRecentThan(stored.packet)) {
      this.#store.put(stats.packet.withLastSeen(nowMicros()));
      return false;
    }
    let republished = false;
    if (stats.holders < this.#o.minHolders) {
      await this.#dht.put(stored.packet, this.#abort.signal);
      this.#stats.republished += 1;
      republished = true;
    }
    this.#store.put(stored.packet.withLastSeen(nowMicros()));
    return republished;
  }
}
