/**
 * Kademlia's XOR metric (BEP5): which of two node ids is closer to a target.
 */

/** Negative when `a` is closer to `target` than `b`, positive when farther, 0 when equal. */
export function compareXorDistance(a: Buffer, b: Buffer, target: Buffer): number {
  for (let i = 0; i < target.length; i++) {
    const da = (a[i] ?? 0) ^ (target[i] ?? 0);
    const db = (b[i] ?? 0) ^ (target[i] ?? 0);
    if (da !== db) return da - db;
  }
  return 0;
}
