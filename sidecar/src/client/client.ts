/**
 * The pkarr client: a packet cache in front of the Mainline DHT and any number of HTTP relays,
 * behaving as the v7 reference (resolve policies and publish merging of pubky/pkarr
 * pkarr/src/client).
 *
 * ```ts
 * const dht = await DhtClient.start({ bootstrap });
 * const client = new Client({ dht, relays: ['https://relay.example'] });
 * const { packet, result } = await client.publishRecords(keypair, records);
 * const found = await client.resolve(keypair.publicKey);          // CacheFirst
 * await client.close();                                            // the Dht is the caller's to destroy
 * ```
 */
import { PkarrError, isPkarrError } from '../core/errors.ts';
import type { Keypair } from '../core/keys.ts';
import { PublicKey } from '../core/keys.ts';
import type { DnsRecord } from '../core/records.ts';
import { SignedPacket } from '../core/signed-packet.ts';
import { assertTimestamp, nowMicros, timestamps } from '../core/timestamp.ts';
import type { Dht } from '../dht/types.ts';
import { DEFAULT_RELAY_TIMEOUT_MS, RelayClient } from './relay-client.ts';
import { PacketCache } from './packet-cache.ts';
import { mergePublishOutcomes, type DhtPublishOutcome, type RelayPublishOutcome } from './publish-merge.ts';
import { queryNetwork } from './network-query.ts';
import { RESOLVE_POLICIES, type PkarrClient, type PublishResult, type ResolvePolicy, type ResolveResult } from './types.ts';

/**
 * The v7 reference's default relays (`DEFAULT_RELAYS`, pubky/pkarr pkarr/src/lib.rs). For users;
 * never used by tests.
 */
export const DEFAULT_RELAYS: readonly string[] = ['https://pkarr.pubky.app', 'https://pkarr.pubky.org'];

export interface ClientOptions {
  /** The DHT adapter, or null for a relay-only client. Not owned: `close()` does not destroy it. */
  dht: Dht | null;
  /** Relay base URLs (http or https). */
  relays: readonly string[];
  /** Packet cache capacity (default 1000; 0 disables caching). Ignored when `cache` is given. */
  cacheSize?: number;
  /** Cache TTL lower bound, seconds (default 300). Ignored when `cache` is given. */
  minTtl?: number;
  /** Cache TTL upper bound, seconds (default 86400). Ignored when `cache` is given. */
  maxTtl?: number;
  /** A cache to use (e.g. shared with a relay server) instead of a new one. */
  cache?: PacketCache;
  /** Per relay request timeout, ms (default 2000). */
  requestTimeoutMs?: number;
  /** Relay PUT timeout, ms (default 3 × requestTimeoutMs: relays answer after their DHT put). */
  relayPutTimeoutMs?: number;
  /**
   * Called with every packet this client published successfully (as it is cached), e.g. to hand it
   * to a relay server on the same machine. Not called when the publish failed.
   */
  onPublished?: (packet: SignedPacket) => void;
}

/** What `publishRecords` returns. */
export interface PublishedPacket {
  packet: SignedPacket;
  result: PublishResult;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function errorCode(error: unknown): string {
  return isPkarrError(error) ? error.code : 'INTERNAL';
}

/** Parses a key argument (any form `PublicKey.parse` accepts). */
export function toPublicKey(key: PublicKey | string): PublicKey {
  return key instanceof PublicKey ? key : PublicKey.parse(key);
}

/** Checks a resolve policy (case-sensitive, as the reference). */
export function parseResolvePolicy(policy: string): ResolvePolicy {
  if (!(RESOLVE_POLICIES as readonly string[]).includes(policy)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid resolve policy ${JSON.stringify(policy)}: expected one of ${RESOLVE_POLICIES.join(', ')}`);
  }
  return policy as ResolvePolicy;
}

export class Client implements PkarrClient {
  readonly dht: Dht | null;
  readonly relays: readonly RelayClient[];
  readonly cache: PacketCache;
  readonly #onPublished: ((packet: SignedPacket) => void) | undefined;
  readonly #lifetime = new AbortController();
  readonly #background = new Set<Promise<unknown>>();

  /** Throws INVALID_ARGUMENT for bad relay URLs, bad sizes/TTLs, or no backend at all. */
  constructor(options: ClientOptions) {
    this.dht = options.dht;
    this.#onPublished = options.onPublished;
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS;
    const relayOptions = { timeoutMs, ...(options.relayPutTimeoutMs === undefined ? {} : { putTimeoutMs: options.relayPutTimeoutMs }) };
    const urls = new Set<string>();
    const relays: RelayClient[] = [];
    for (const url of options.relays) {
      const relay = new RelayClient(url, relayOptions);
      if (urls.has(relay.url)) continue;
      urls.add(relay.url);
      relays.push(relay);
    }
    this.relays = relays;
    if (this.dht === null && this.relays.length === 0) {
      throw new PkarrError('INVALID_ARGUMENT', 'a client needs the DHT or at least one relay');
    }
    this.cache = options.cache ?? new PacketCache({
      ...(options.cacheSize === undefined ? {} : { capacity: options.cacheSize }),
      ...(options.minTtl === undefined ? {} : { minTtl: options.minTtl }),
      ...(options.maxTtl === undefined ? {} : { maxTtl: options.maxTtl }),
    });
  }

  /** The cached packet of `key` (expired or not), if any. */
  cached(key: PublicKey | string): SignedPacket | undefined {
    return this.cache.peek(toPublicKey(key).z32);
  }

  /**
   * Resolves the packet of `key` (as the reference's `Client::resolve`):
   * - `CacheOnly`: the cached packet even if expired, else the first packet any relay has cached
   *   (`?policy=CacheOnly`); never the DHT.
   * - `CacheFirst` (default): a fresh cached packet; else the DHT and the relays race with the
   *   expired packet as the floor, and the first acceptable answer (newer or the same packet, not
   *   stale) wins while the rest keep updating the cache. Nothing acceptable → null, even with an
   *   expired copy cached (as the reference; ask CacheOnly for stale data).
   * - `NetworkOnly`: ignores the cache, waits for every relay and a full DHT lookup, and returns
   *   the most recent packet.
   * Returns null when nothing was found; throws INVALID_SIGNED_PACKET_SEQ when the newest item is
   * invalid, or the backends' error when every one of them failed.
   */
  async resolve(keyInput: PublicKey | string, policy: ResolvePolicy = 'CacheFirst'): Promise<ResolveResult | null> {
    const key = toPublicKey(keyInput);
    parseResolvePolicy(policy);
    this.#assertOpen();
    const cached = this.cache.get(key.z32);
    const onPacket = (packet: SignedPacket): void => { this.cache.put(packet); };
    const common = { key, signal: this.#lifetime.signal, onPacket, track: (work: Promise<unknown>) => this.#track(work) };

    if (policy === 'CacheOnly') {
      if (cached !== undefined) return { packet: cached, source: 'cache' };
      if (this.relays.length === 0) return null;
      return queryNetwork({ ...common, dht: null, relays: this.relays, mode: 'first', relayPolicy: 'CacheOnly', acceptable: () => true });
    }
    if (policy === 'NetworkOnly') {
      return queryNetwork({ ...common, dht: this.dht, relays: this.relays, mode: 'all', relayPolicy: 'NetworkOnly', bypassCache: true, acceptable: () => true });
    }
    if (cached !== undefined && this.cache.isFresh(cached)) return { packet: cached, source: 'cache' };
    const acceptable = (packet: SignedPacket): boolean => {
      if (this.cache.isStale(packet)) return false;
      return cached === undefined || packet.moreRecentThan(cached) || packet.isSameAs(cached);
    };
    return queryNetwork({
      ...common,
      dht: this.dht,
      relays: this.relays,
      mode: 'first',
      acceptable,
      ...(cached === undefined || cached.timestamp === 0n ? {} : { floor: cached.timestamp - 1n }),
    });
  }

  /**
   * Publishes to the DHT and every relay concurrently and merges the outcomes (as the reference's
   * `Client::publish`). Throws NOT_MOST_RECENT right away when the cache holds a more recent
   * packet, and the merged error (with `details.result`) when the publish failed. The cache is
   * updated on success.
   */
  async publish(packet: SignedPacket): Promise<PublishResult> {
    this.#assertOpen();
    const cached = this.cache.peek(packet.publicKey.z32);
    if (cached !== undefined && cached.moreRecentThan(packet)) {
      throw new PkarrError('NOT_MOST_RECENT', `a more recent packet of ${packet.publicKey.z32} is known (timestamp ${cached.timestamp} > ${packet.timestamp})`, { cachedTimestamp: cached.timestamp.toString() });
    }
    const dht = this.dht;
    const dhtWork: Promise<DhtPublishOutcome | null> = dht === null
      ? Promise.resolve(null)
      : dht.put(packet, this.#lifetime.signal).then(
        (put) => {
          // The DHT put answered at its quorum; the rest of its puts are background work (settled()).
          if (put.settled !== undefined) this.#track(put.settled);
          return { ok: true, storedOn: put.storedOn, ...(put.pending === undefined ? {} : { pending: put.pending }) };
        },
        (error: unknown) => ({ ok: false, error: describe(error), code: errorCode(error) }),
      );
    const relayWork = this.relays.map((relay): Promise<RelayPublishOutcome> => relay.put(packet, this.#lifetime.signal).then(
      (put) => ({ url: relay.url, ok: true, storedOn: put.storedOn, status: put.status }),
      (error: unknown) => {
        const status = isPkarrError(error) && typeof error.details?.status === 'number' ? error.details.status : undefined;
        return { url: relay.url, ok: false, error: describe(error), code: errorCode(error), ...(status === undefined ? {} : { status }) };
      },
    ));
    const [dhtOutcome, relayOutcomes] = await Promise.all([dhtWork, Promise.all(relayWork)]);
    const result = mergePublishOutcomes(dhtOutcome, relayOutcomes);
    const seen = packet.withLastSeen(nowMicros());
    this.cache.put(seen);
    this.#onPublished?.(seen);
    return result;
  }

  /**
   * The timestamp for the next packet of `key` in the recommended update flow (pubky/pkarr
   * docs/integration.md): a NetworkOnly resolve, then `max(now, observed + 1)` through the
   * process-wide monotonic source. Network failures are tolerated (the publish will report them);
   * an invalid newer item's seq counts as observed.
   */
  async nextTimestamp(keyInput: PublicKey | string): Promise<bigint> {
    const key = toPublicKey(keyInput);
    const cached = this.cache.peek(key.z32);
    if (cached !== undefined) timestamps.observe(cached.timestamp);
    try {
      const found = await this.resolve(key, 'NetworkOnly');
      if (found !== null) timestamps.observe(found.packet.timestamp);
    } catch (err) {
      if (isPkarrError(err, 'INVALID_SIGNED_PACKET_SEQ') && typeof err.details?.seq === 'string') {
        timestamps.observe(BigInt(err.details.seq));
      } else if (!isPkarrError(err)) {
        throw err;
      }
    }
    const next = timestamps.next();
    assertTimestamp(next);
    return next;
  }

  /** Signs `records` with a timestamp from `nextTimestamp` and publishes them. */
  async publishRecords(keypair: Keypair, records: readonly DnsRecord[]): Promise<PublishedPacket> {
    const timestamp = await this.nextTimestamp(keypair.publicKey);
    const packet = SignedPacket.sign(keypair, records, { timestamp });
    const result = await this.publish(packet);
    return { packet, result };
  }

  /** Stops background lookups and waits for them. Does not destroy the Dht (it is not owned). */
  async close(): Promise<void> {
    this.#lifetime.abort(new PkarrError('INVALID_ARGUMENT', 'client closed'));
    await this.settled();
  }

  /** Resolves once the background work started so far (losers of CacheFirst races, DHT puts after the quorum) is done. */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => { this.#background.delete(tracked); });
    this.#background.add(tracked);
  }

  #assertOpen(): void {
    if (this.#lifetime.signal.aborted) throw new PkarrError('INVALID_ARGUMENT', 'the client is closed');
  }
}
