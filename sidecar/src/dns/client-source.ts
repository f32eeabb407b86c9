/**
 * Where `pkarr-sidecar dns` gets packets: the pkarr Client (its cache, then the DHT and relays,
 * CacheFirst; every packet verified before it is cached), with the relay's freshness rules (the
 * cache's min/max TTL).
 *
 * A fresh cached packet costs nothing; a lookup that has to go to the network first spends a token
 * of the client IP's DHT quota, and concurrent questions for the same key share one lookup (only
 * the one that starts it is charged).
 */
import type { Client } from '../client/client.ts';
import type { PublicKey } from '../core/keys.ts';
import type { KeyLookup } from './answer.ts';

export class ClientPacketSource {
  readonly #client: Client;
  readonly #inflight = new Map<string, Promise<KeyLookup>>();

  constructor(client: Client) {
    this.#client = client;
  }

  /** Looks `key` up; `chargeDht` returns 0 to allow a network lookup, else the seconds to wait. */
  lookup(key: PublicKey, chargeDht: () => number): Promise<KeyLookup> {
    const cache = this.#client.cache;
    const cached = cache.get(key.z32);
    if (cached !== undefined && cache.isFresh(cached)) return Promise.resolve({ kind: 'found', packet: cached });
    const running = this.#inflight.get(key.z32);
    if (running !== undefined) return running;
    const wait = chargeDht();
    if (wait > 0) return Promise.resolve({ kind: 'rate-limited', retryAfter: wait });
    const lookup = this.#resolve(key).finally(() => this.#inflight.delete(key.z32));
    this.#inflight.set(key.z32, lookup);
    return lookup;
  }

  async #resolve(key: PublicKey): Promise<KeyLookup> {
    try {
      const found = await this.#client.resolve(key, 'CacheFirst');
      return found === null ? { kind: 'unresolved', reason: 'not found' } : { kind: 'found', packet: found.packet };
    } catch (err) {
      return { kind: 'unresolved', reason: (err as Error).message };
    }
  }
}
