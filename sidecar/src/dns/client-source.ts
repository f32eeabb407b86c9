/**
 * Where `pkarr-sidecar dns` gets packets: the pkarr Client (its cache, then the DHT and relays,
 * CacheFirst; every packet verified before it is cached), with the relay's freshness rules (the
 * cache's min/max TTL).
 *
 * A fresh cached packet costs nothing; a lookup that has to go to the network first spends a token
 * of the client IP's DHT quota, and concurrent questions for the same key share one lookup (only
 * the one that starts it is charged).
 *
 * UDP source addresses can be spoofed, so per-IP quotas alone do not bound the network work
 * queries can cause. Two global bounds do: at most {@link MAX_LOOKUPS} lookups run at once (more →
 * unresolved, SERVFAIL), and a key found nowhere is not looked up again for
 * {@link NEGATIVE_TTL_MS} (it answers SERVFAIL from memory meanwhile; at most
 * {@link MAX_NEGATIVE} such keys are remembered).
 *
 * Serve-stale (RFC 8767): when the network has nothing acceptable (not found, unreachable) but the
 * cache holds an expired packet seen within {@link MAX_STALE_MS}, that packet answers, marked stale
 * (answer.ts then caps its TTLs at 30 s), and the key is not looked up again for the negative TTL.
 */
import type { Client } from '../client/client.ts';
import type { PublicKey } from '../core/keys.ts';
import { LruMap } from '../util/lru-map.ts';
import type { KeyLookup } from './answer.ts';

export const MAX_LOOKUPS = 64;
export const NEGATIVE_TTL_MS = 30_000;
export const MAX_NEGATIVE = 10_000;
/** An expired packet last seen longer ago than this is not served stale. */
export const MAX_STALE_MS = 86_400_000;

export interface ClientPacketSourceOptions {
  maxLookups?: number;
  negativeTtlMs?: number;
  now?: () => number;
}

export class ClientPacketSource {
  readonly #client: Client;
  readonly #inflight = new Map<string, Promise<KeyLookup>>();
  readonly #missing = new LruMap<string, number>(MAX_NEGATIVE);
  readonly #maxLookups: number;
  readonly #negativeTtlMs: number;
  readonly #now: () => number;

  constructor(client: Client, options: ClientPacketSourceOptions = {}) {
    this.#client = client;
    this.#maxLookups = options.maxLookups ?? MAX_LOOKUPS;
    this.#negativeTtlMs = options.negativeTtlMs ?? NEGATIVE_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** Looks `key` up; `chargeDht` returns 0 to allow a network lookup, else the seconds to wait. */
  lookup(key: PublicKey, chargeDht: () => number): Promise<KeyLookup> {
    const cache = this.#client.cache;
    const cached = cache.get(key.z32);
    if (cached !== undefined && cache.isFresh(cached)) return Promise.resolve({ kind: 'found', packet: cached });
    const running = this.#inflight.get(key.z32);
    if (running !== undefined) return running;
    const missingUntil = this.#missing.peek(key.z32);
    if (missingUntil !== undefined) {
      if (missingUntil > this.#now()) return Promise.resolve(this.#staleOr(key, 'not found (remembered)'));
      this.#missing.delete(key.z32);
    }
    if (this.#inflight.size >= this.#maxLookups) return Promise.resolve({ kind: 'unresolved', reason: 'too many lookups running' });
    const wait = chargeDht();
    if (wait > 0) return Promise.resolve({ kind: 'rate-limited', retryAfter: wait });
    const lookup = this.#resolve(key).finally(() => this.#inflight.delete(key.z32));
    this.#inflight.set(key.z32, lookup);
    return lookup;
  }

  async #resolve(key: PublicKey): Promise<KeyLookup> {
    let reason = 'not found';
    try {
      const found = await this.#client.resolve(key, 'CacheFirst');
      if (found !== null) return { kind: 'found', packet: found.packet };
      this.#missing.set(key.z32, this.#now() + this.#negativeTtlMs);
    } catch (err) {
      reason = (err as Error).message;
      if (this.#client.cache.peek(key.z32) !== undefined) this.#missing.set(key.z32, this.#now() + this.#negativeTtlMs);
    }
    return this.#staleOr(key, reason);
  }

  /** The cached (expired) packet of `key` as a stale answer if it is recent enough, else unresolved. */
  #staleOr(key: PublicKey, reason: string): KeyLookup {
    const packet = this.#client.cache.peek(key.z32);
    const ageMs = packet === undefined ? Infinity : this.#now() - Number(packet.lastSeen / 1000n);
    return packet !== undefined && ageMs <= MAX_STALE_MS ? { kind: 'found', packet, stale: true } : { kind: 'unresolved', reason };
  }
}
