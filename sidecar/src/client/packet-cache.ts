/**
 * The client's in-memory packet cache (as the v7 reference client's, pubky/pkarr pkarr/src/client):
 * an LRU keyed by the public key's z32, holding verified SignedPackets, with the reference's TTL
 * bounds (min 300 s, max 86400 s).
 *
 * Capacity 0 disables caching: `put` stores nothing and `get` finds nothing, and nothing else
 * changes (the client never reads its answers back from the cache; a zero cache or TTL once broke
 * the reference: pubky/pkarr#105, #133, #140).
 */
import { PkarrError } from '../core/errors.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import { nowMicros } from '../core/timestamp.ts';
import { LruMap } from '../util/lru-map.ts';

export const DEFAULT_CACHE_SIZE = 1000;
export const DEFAULT_MIN_TTL = 300;
export const DEFAULT_MAX_TTL = 86400;

export interface PacketCacheOptions {
  /** Maximum number of packets (default 1000; 0 disables caching). */
  capacity?: number;
  /** Lower bound of a packet's cache TTL in seconds (default 300). */
  minTtl?: number;
  /** Upper bound of a packet's cache TTL in seconds (default 86400). */
  maxTtl?: number;
}

function checkCount(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PkarrError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/**
 * Resolves the TTL bounds as the reference builder does: setting only one bound drags the other
 * along so that min ≤ max; setting both with min > max is an error.
 */
export function resolveTtlBounds(minTtl?: number, maxTtl?: number): { minTtl: number; maxTtl: number } {
  const min = minTtl === undefined ? undefined : checkCount('minTtl', minTtl);
  const max = maxTtl === undefined ? undefined : checkCount('maxTtl', maxTtl);
  if (min !== undefined && max !== undefined) {
    if (min > max) throw new PkarrError('INVALID_ARGUMENT', `minTtl (${min}) must not exceed maxTtl (${max})`);
    return { minTtl: min, maxTtl: max };
  }
  if (min !== undefined) return { minTtl: min, maxTtl: Math.max(DEFAULT_MAX_TTL, min) };
  if (max !== undefined) return { minTtl: Math.min(DEFAULT_MIN_TTL, max), maxTtl: max };
  return { minTtl: DEFAULT_MIN_TTL, maxTtl: DEFAULT_MAX_TTL };
}

/** LRU of the most recent known packet per key. */
export class PacketCache {
  readonly capacity: number;
  readonly minTtl: number;
  readonly maxTtl: number;
  readonly #entries: LruMap<string, SignedPacket>;

  constructor(options: PacketCacheOptions = {}) {
    this.capacity = checkCount('cache size', options.capacity ?? DEFAULT_CACHE_SIZE);
    this.#entries = new LruMap(this.capacity);
    const bounds = resolveTtlBounds(options.minTtl, options.maxTtl);
    this.minTtl = bounds.minTtl;
    this.maxTtl = bounds.maxTtl;
  }

  /** Number of cached packets. */
  get size(): number {
    return this.#entries.size;
  }

  /** The cached packet (expired or not) and marks it recently used. */
  get(z32: string): SignedPacket | undefined {
    return this.#entries.get(z32);
  }

  /** The cached packet without touching the LRU order. */
  peek(z32: string): SignedPacket | undefined {
    return this.#entries.get(z32);
  }

  /**
   * Offers a packet (the reference client's cache update rule): stored when the slot is empty, when
   * it is more recent than the cached one, or when it is the same packet with a newer `lastSeen`.
   * Returns whether the cache changed.
   */
  put(packet: SignedPacket): boolean {
    if (this.capacity === 0) return false;
    const z32 = packet.publicKey.z32;
    const cached = this.#entries.peek(z32);
    const write = cached === undefined
      || packet.moreRecentThan(cached)
      || (packet.isSameAs(cached) && packet.lastSeen > cached.lastSeen);
    if (!write) return false;
    this.#entries.set(z32, packet);
    return true;
  }

  delete(z32: string): boolean {
    return this.#entries.delete(z32);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** True while the packet's clamped TTL has not elapsed since it was last seen. */
  isFresh(packet: SignedPacket, now: bigint = nowMicros()): boolean {
    return !packet.isExpired(this.minTtl, this.maxTtl, now);
  }

  /**
   * True when a packet from the network is too old to be trusted as current: it was last seen
   * longer ago than its clamped TTL plus one second (relays report `Memento-Datetime` with second
   * precision). A packet seen just now is never stale, even with maxTtl 0 (pubky/pkarr#105).
   */
  isStale(packet: SignedPacket, now: bigint = nowMicros()): boolean {
    return packet.elapsedSeconds(now) > packet.ttl(this.minTtl, this.maxTtl) + 1;
  }

  /** z32 keys, least recently used first. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }
}
