/**
 * Packet timestamps: microseconds since the Unix epoch as a u64 (`bigint`), which is also the BEP44
 * `seq`. They must stay ≤ i64::MAX (BEP44 seq is signed) and, for bittorrent-dht, ≤ 2^53.
 */
import { PkarrError } from './errors.ts';

export const I64_MAX = (1n << 63n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;

/** Wall-clock microseconds now. */
export function nowMicros(): bigint {
  return BigInt(Date.now()) * 1000n;
}

/** Strictly increasing timestamps within a process: `max(now, last + 1)`. */
export class TimestampSource {
  #last = 0n;

  next(): bigint {
    const now = nowMicros();
    this.#last = now > this.#last ? now : this.#last + 1n;
    return this.#last;
  }

  /** Makes the next timestamp strictly greater than `observed` (e.g. a timestamp seen on the network). */
  observe(observed: bigint): void {
    if (observed > this.#last) this.#last = observed;
  }
}

/** The process-wide source: one sidecar never produces the same timestamp twice. */
export const timestamps = new TimestampSource();

/** Checks a timestamp is a valid packet timestamp (0 ≤ ts ≤ i64::MAX). */
export function assertTimestamp(ts: bigint): void {
  if (typeof ts !== 'bigint' || ts < 0n || ts > I64_MAX) {
    throw new PkarrError('INVALID_TIMESTAMP', `invalid timestamp ${String(ts)}: must be an integer in 0..=${I64_MAX} microseconds`);
  }
}

/** Microseconds → HTTP-date (IMF-fixdate, seconds truncated). */
export function httpDate(micros: bigint): string {
  return new Date(Number(micros / 1_000_000n) * 1000).toUTCString();
}

/** HTTP-date → microseconds (whole seconds), or null when unparsable. */
export function parseHttpDate(text: string): bigint | null {
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? BigInt(Math.floor(ms / 1000)) * 1_000_000n : null;
}
