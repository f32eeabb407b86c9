/**
 * Packet TTL rules of the reference (pubky/pkarr `SignedPacket::ttl`/`expires_in`/
 * `fresh_resource_records`). Pure functions; times are whole seconds.
 */
import { PkarrError } from './errors.ts';

/** pkarr `DEFAULT_MINIMUM_TTL`: 5 minutes. */
export const DEFAULT_MINIMUM_TTL = 300;
/** pkarr `DEFAULT_MAXIMUM_TTL`: 24 hours. */
export const DEFAULT_MAXIMUM_TTL = 86400;

function checkBounds(min: number, max: number): void {
  const u32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
  // Rust's `u32::clamp` panics when min > max; we refuse with a typed error instead.
  if (!u32(min) || !u32(max) || min > max) {
    throw new PkarrError('INVALID_ARGUMENT', `TTL bounds must be u32 with min <= max (got min=${min}, max=${max})`);
  }
}

/**
 * The packet TTL: the smallest record TTL clamped to [min, max]; `min` when there are no records.
 * Throws PkarrError('INVALID_ARGUMENT') when the bounds are not u32 or min > max.
 */
export function packetTtl(records: readonly { ttl: number }[], min = DEFAULT_MINIMUM_TTL, max = DEFAULT_MAXIMUM_TTL): number {
  checkBounds(min, max);
  if (records.length === 0) return min;
  let smallest = Infinity;
  for (const r of records) smallest = Math.min(smallest, r.ttl);
  return Math.min(Math.max(smallest, min), max);
}

/** Seconds until a packet seen `elapsed` seconds ago expires: `packetTtl - elapsed`, never below 0. */
export function expiresIn(records: readonly { ttl: number }[], elapsed: number, min = DEFAULT_MINIMUM_TTL, max = DEFAULT_MAXIMUM_TTL): number {
  return Math.max(0, packetTtl(records, min, max) - elapsed);
}

/** True when a record is still fresh `elapsed` seconds after the packet was seen (`ttl > elapsed`). */
export function isFresh(record: { ttl: number }, elapsed: number): boolean {
  return record.ttl > elapsed;
}
