/**
 * Per-client token buckets (as the reference relay's per-IP quotas, pubky/pkarr
 * relay/src/rate_limiting.rs): the relay's and the DNS server's quotas, the lobby beacons', the
 * punch host's answers to joiners (nat/puncher-host.ts).
 *
 * Quota text (`--rate`, `--dht-rate`): `<n>r/<s|m|h|d>[,burst=<b>]`, e.g. `2r/s,burst=10` (2 requests
 * replenished per second, up to 10 in a burst) or `30r/m`. Without `burst` the burst equals `n`
 * (as the reference's `burst` default). `off` (or `0`) disables the limit.
 *
 * Memory is bounded: a bucket that has refilled completely carries no information and is dropped by
 * `sweep()` (the relay sweeps every minute); if more than `maxBuckets` clients are tracked at once,
 * a sweep runs and then the oldest-created buckets are dropped.
 */
import { PkarrError } from '../core/errors.ts';

/** A parsed quota: `requests` tokens every `periodMs`, at most `burst` stored. */
export interface RateLimit {
  requests: number;
  periodMs: number;
  burst: number;
}

const PERIODS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a quota (see the module doc); null means "off". Throws PkarrError('INVALID_ARGUMENT'). */
export function parseRateLimit(text: string): RateLimit | null {
  const trimmed = text.trim();
  if (trimmed === 'off' || trimmed === '0') return null;
  const match = /^(\d+)r\/([smhd])(?:,burst=(\d+))?$/.exec(trimmed);
  if (match === null) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid rate limit ${JSON.stringify(text)}: expected <n>r/<s|m|h|d>[,burst=<b>] (e.g. 2r/s,burst=10) or off`);
  }
  const requests = Number(match[1]);
  const burst = match[3] === undefined ? requests : Number(match[3]);
  if (requests < 1 || requests > 1_000_000 || burst < 1 || burst > 1_000_000) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid rate limit ${JSON.stringify(text)}: rate and burst must be 1..1000000`);
  }
  return { requests, periodMs: PERIODS[match[2] ?? 's'] ?? 1000, burst };
}

/** Formats a quota back to its text form. */
export function formatRateLimit(limit: RateLimit | null): string {
  if (limit === null) return 'off';
  const unit = Object.entries(PERIODS).find(([, ms]) => ms === limit.periodMs)?.[0] ?? 's';
  return `${limit.requests}r/${unit},burst=${limit.burst}`;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Most clients tracked at once; default 100,000. */
  maxBuckets?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

/** Token buckets keyed by client address. */
export class RateLimiter {
  readonly limit: RateLimit;
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMs: number;
  readonly #maxBuckets: number;
  readonly #now: () => number;

  constructor(limit: RateLimit, options: RateLimiterOptions = {}) {
    this.limit = limit;
    this.#perMs = limit.requests / limit.periodMs;
    this.#maxBuckets = options.maxBuckets ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Clients currently tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one token for `client`. Returns 0 when allowed, otherwise the whole seconds (≥ 1) until
   * a token is available (the `Retry-After` value).
   */
  take(client: string): number {
    const now = this.#now();
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxBuckets) this.#shrink(now);
      bucket = { tokens: this.limit.burst, updatedMs: now };
      this.#buckets.set(client, bucket);
    } else {
      const elapsed = now - bucket.updatedMs;
      if (elapsed > 0) {
        bucket.tokens = Math.min(this.limit.burst, bucket.tokens + elapsed * this.#perMs);
        bucket.updatedMs = now;
      }
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
  }

  /** Drops buckets that have refilled completely (they would behave exactly like a new one). */
  sweep(now: number = this.#now()): void {
    for (const [client, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.updatedMs) * this.#perMs >= this.limit.burst) this.#buckets.delete(client);
    }
  }

  /** Drops the buckets of the clients `keep` rejects (such a client starts again with a full bucket). */
  retain(keep: (client: string) => boolean): void {
    for (const client of this.#buckets.keys()) if (!keep(client)) this.#buckets.delete(client);
  }

  #shrink(now: number): void {
    this.sweep(now);
    const target = Math.floor(this.#maxBuckets * 0.9);
    for (const client of this.#buckets.keys()) {
      if (this.#buckets.size <= target) break;
      this.#buckets.delete(client);
    }
  }
}
