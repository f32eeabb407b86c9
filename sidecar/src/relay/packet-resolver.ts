/**
 * How the relay finds a packet for a key: the v7 resolve policies over the relay's store and the
 * DHT (pubky/pkarr relay/src/dht_service.rs `resolve_packet`). Used by `GET /<key>` and by
 * DNS-over-HTTPS.
 *
 * - CacheOnly: the stored packet, even expired; never the DHT.
 * - CacheFirst: a fresh stored packet; otherwise a DHT lookup with `floor = stored.ts - 1` (so an
 *   equal-timestamp packet can win the tie-break) that returns the first packet at or above the
 *   stored one, while the lookup completes in the background and updates the store. If the DHT has
 *   nothing at or above the stored packet the answer is "not found" although an expired copy is
 *   held (the reference's `apply_cached_floor`): clients wanting stale data ask CacheOnly.
 * - NetworkOnly: a full lookup, most recent packet, ignoring the store (which is still updated).
 *
 * Concurrent lookups of the same key and policy share one DHT query; only the request that starts
 * it is charged to the DHT quota. Every packet seen goes through the store's update rule.
 */
import type { ResolvePolicy } from '../client/types.ts';
import { isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { Dht, DhtGetResult } from '../dht/types.ts';
import { cachedPacket, type CachedPacket, type PacketStore } from './packet-store.ts';
import type { RelayStats } from './relay-stats.ts';
import { timeoutSignal } from './timeout-signal.ts';

/** The outcome of a resolve, mapped to HTTP by the routes. */
export type ResolveOutcome =
  | { kind: 'found'; entry: CachedPacket; source: 'cache' | 'dht' }
  /** 404; `invalidSeq` set when the DHT's newest item is not a valid packet (and the store does not cover it). */
  | { kind: 'not-found'; invalidSeq?: bigint }
  /** 503 */
  | { kind: 'unavailable'; reason: string }
  /** 429 from the DHT quota */
  | { kind: 'rate-limited'; retryAfter: number }
  /** 500 */
  | { kind: 'error'; reason: string };

/** Options of {@link PacketResolver}. */
export interface PacketResolverOptions {
  store: PacketStore;
  dht: Dht | null;
  minTtl: number;
  maxTtl: number;
  stats: RelayStats;
  /** Upper bound for one DHT lookup, ms (default 15,000). */
  lookupTimeoutMs?: number;
  log?: (line: string) => void;
}

type Lookup = Promise<ResolveOutcome>;

/** Resolves keys for the relay's routes (see the module doc). */
export class PacketResolver {
  readonly #o: PacketResolverOptions;
  readonly #inflight = new Map<string, Lookup>();
  readonly #closing = new AbortController();

  constructor(options: PacketResolverOptions) {
    this.#o = options;
  }

  /** The stored packet if it is still fresh (the CacheFirst fast path), else null. */
  fresh(key: PublicKey): CachedPacket | null {
    const entry = this.#o.store.get(key);
    return entry !== null && !entry.packet.isExpired(this.#o.minTtl, this.#o.maxTtl) ? entry : null;
  }

  /**
   * Resolves `key` under `policy`. `chargeDht` is called right before a new DHT lookup starts and
   * returns 0 to allow it or the seconds to wait (the request then gets 429).
   */
  async resolve(key: PublicKey, policy: ResolvePolicy, chargeDht: () => number): Promise<ResolveOutcome> {
    const stored = policy === 'NetworkOnly' ? null : this.#o.store.get(key);
    if (policy === 'CacheOnly') return stored === null ? { kind: 'not-found' } : { kind: 'found', entry: stored, source: 'cache' };
    if (stored !== null && !stored.packet.isExpired(this.#o.minTtl, this.#o.maxTtl)) {
      return { kind: 'found', entry: stored, source: 'cache' };
    }
    const id = `${policy}:${key.z32}`;
    const running = this.#inflight.get(id);
    if (running !== undefined) return running;
    if (this.#o.dht === null) return { kind: 'unavailable', reason: 'No DHT nodes were queried (the relay runs without a DHT)' };
    const wait = chargeDht();
    if (wait > 0) return { kind: 'rate-limited', retryAfter: wait };
    const lookup = this.#lookup(this.#o.dht, key, policy, stored).finally(() => this.#inflight.delete(id));
    this.#inflight.set(id, lookup);
    return lookup;
  }

  /** Stops background completions; in-flight lookups end as unavailable. */
  close(): void {
    this.#closing.abort();
  }

  /** Stores a packet seen on the network (store update rule applies). */
  remember(packet: SignedPacket): void {
    try {
      this.#o.store.put(packet);
    } catch (err) {
      this.#o.log?.(`relay: cannot store packet for ${packet.publicKey.z32}: ${(err as Error).message}`);
    }
  }

  async #lookup(dht: Dht, key: PublicKey, policy: ResolvePolicy, stored: CachedPacket | null): Promise<ResolveOutcome> {
    this.#o.stats.dhtLookups += 1;
    // Not disposed when the lookup resolves: its background completion keeps using the signal
    // until the timeout (then the link to the closing signal is dropped).
    const { signal } = timeoutSignal(this.#closing.signal, this.#o.lookupTimeoutMs ?? 15_000);
    let result: DhtGetResult;
    try {
      result = await dht.get(key, {
        mostRecent: policy === 'NetworkOnly',
        ...(stored !== null ? { floor: stored.packet.timestamp - 1n } : {}),
        onPacket: (packet) => this.remember(packet),
        signal,
      });
    } catch (err) {
      return this.#failure(err, signal);
    }
    const found = result.packet;
    const covered = (seq: bigint): boolean => stored !== null && stored.packet.timestamp >= seq;
    if (result.invalidSeq !== undefined && (found === null || result.invalidSeq > found.timestamp) && !covered(result.invalidSeq)) {
      return { kind: 'not-found', invalidSeq: result.invalidSeq };
    }
    if (found === null) {
      if (result.responded === 0) return { kind: 'unavailable', reason: 'No queried DHT nodes responded' };
      return { kind: 'not-found' };
    }
    this.remember(found);
    if (policy === 'CacheFirst' && stored !== null && !found.moreRecentThan(stored.packet) && !found.isSameAs(stored.packet)) {
      // Same timestamp but it loses the tie-break: nothing at or above the stored packet.
      return { kind: 'not-found' };
    }
    const current = this.#o.store.peek(key);
    const entry = current !== null && current.packet.isSameAs(found) ? current : cachedPacket(found);
    return { kind: 'found', entry, source: 'dht' };
  }

  #failure(err: unknown, signal: AbortSignal): ResolveOutcome {
    if (isPkarrError(err, 'NO_DHT_NODES')) return { kind: 'unavailable', reason: 'No DHT nodes were queried' };
    if (isPkarrError(err, 'NO_RESPONSES')) return { kind: 'unavailable', reason: 'No queried DHT nodes responded' };
    if (isPkarrError(err, 'TIMEOUT') || signal.aborted) return { kind: 'unavailable', reason: 'DHT lookup timed out' };
    this.#o.log?.(`relay: DHT lookup failed: ${(err as Error).message}`);
    return { kind: 'error', reason: `DHT lookup failed: ${(err as Error).message}` };
  }
}
