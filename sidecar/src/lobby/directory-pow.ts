/**
 * The proof of work of a directory entry (docs/nat.md §4): a host pays it once per window, a
 * browser checks it with one hash before it spends a lookup on the key.
 *
 * ```
 * sha256("pkarr-godot-directory-pow:v1:" + game + ":" + gameVersion + ":" + window + ":" + entry)
 *   has ≥ DIRECTORY_POW_BITS leading zero bits,   entry = hostZ32 + ":" + time + ":" + nonce
 * ```
 * (UTF-8; `time` = unix seconds when the host listed itself, `nonce` a decimal.) The entry text is
 * exactly what the slot record carries (directory-record.ts), so checking it is one hash. Binding the
 * game, version and window means a proof cannot be reused in another directory or window; binding
 * the time means refreshing an entry's age costs a new proof.
 */
import { createHash } from 'node:crypto';
import { PkarrError } from '../core/errors.ts';
import type { DirectoryId } from './directory-slots.ts';

export const DIRECTORY_POW_PREFIX = 'pkarr-godot-directory-pow:v1:';
/**
 * Leading zero bits required (scheme v1). 2^16 ≈ 65,500 hashes on average: ≈ 0.1 s on one core of
 * the 2-core test machine (≈ 600k sha256/s in Node 24); see bench/directory.bench.ts.
 */
export const DIRECTORY_POW_BITS = 16;
/** Largest nonce accepted (a safe integer; 2^16 bits need ~65k tries, so this is never reached). */
export const MAX_POW_NONCE = Number.MAX_SAFE_INTEGER;
/** Hashes between two yields to the event loop while solving. */
const CHUNK = 4096;

/** The text hashed for `entry` (the entry text of directory-record.ts) in a window. */
export function powPrefix(dir: DirectoryId, window: number): string {
  return `${DIRECTORY_POW_PREFIX}${dir.game}:${dir.gameVersion}:${window}:`;
}

/** Leading zero bits of a digest. */
export function leadingZeroBits(digest: Uint8Array): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) { bits += 8; continue; }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** True when `prefix + entry` hashes to at least `bits` leading zero bits (one sha256). */
export function checkPow(prefix: string, entry: string, bits: number = DIRECTORY_POW_BITS): boolean {
  return leadingZeroBits(createHash('sha256').update(prefix + entry, 'utf8').digest()) >= bits;
}

export interface PowSolution {
  nonce: number;
  /** Hashes computed. */
  tries: number;
}

/**
 * Finds the smallest nonce ≥ `start` such that `prefix + stem + nonce` has `bits` leading zero bits
 * (`stem` = `hostZ32:time:`). Yields to the event loop every 4096 hashes; `signal` aborts (TIMEOUT).
 */
export async function solvePow(prefix: string, stem: string, bits: number = DIRECTORY_POW_BITS, signal?: AbortSignal, start = 0): Promise<PowSolution> {
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new PkarrError('INVALID_ARGUMENT', `invalid proof-of-work difficulty ${String(bits)} bits (0-32)`);
  const base = createHash('sha256').update(prefix + stem, 'utf8');
  let tries = 0;
  for (let nonce = start; nonce <= MAX_POW_NONCE; nonce++) {
    tries++;
    if (leadingZeroBits(base.copy().update(String(nonce), 'utf8').digest()) >= bits) return { nonce, tries };
    if (tries % CHUNK === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw new PkarrError('TIMEOUT', 'proof of work aborted');
    }
  }
  throw new PkarrError('INTERNAL', 'proof of work: nonce space exhausted');
}
