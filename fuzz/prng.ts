/**
 * Deterministic pseudo-random numbers for the fuzzer: sfc32 (Chris Doty-Humphrey's small fast
 * counting generator, 128-bit state), seeded through splitmix32 from a run seed and a stream
 * number. Every fuzz input `i` of a run gets its own stream `rngFor(seed, i)`, so any single input
 * can be regenerated on its own (`npm run fuzz -- --target dns --seed 42 --index 123456`),
 * independently of the inputs before it and of how the run was split across worker restarts.
 */

/** splitmix32 step: a well-mixed 32-bit value from a 32-bit state. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seeded sfc32 generator with the helpers the mutators need. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  /** `seed` and `stream` are any integers (only their low 32 bits matter, plus the high bits of `stream`). */
  constructor(seed: number, stream = 0) {
    const s = seed >>> 0;
    const lo = stream >>> 0;
    const hi = Math.floor(stream / 0x1_0000_0000) >>> 0;
    this.#a = splitmix32(s ^ 0x6a09e667);
    this.#b = splitmix32((lo + this.#a) | 0);
    this.#c = splitmix32((hi ^ this.#b) + 0x3c6ef372);
    for (let i = 0; i < 12; i++) this.u32(); // warm up: sfc32 needs a few rounds to mix a weak seed
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** An integer in [0, n) (n ≥ 1). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi], both inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A random element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined && items.length === 0) throw new RangeError('pick from an empty list');
    return item as T;
  }

  /** Picks by weight: `[[value, weight], …]` with positive weights. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of entries) total += w;
    let r = this.float() * total;
    for (const [value, w] of entries) {
      r -= w;
      if (r < 0) return value;
    }
    return entries[entries.length - 1]![0];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      out[i] = v & 0xff;
      if (i + 1 < n) out[i + 1] = (v >>> 8) & 0xff;
      if (i + 2 < n) out[i + 2] = (v >>> 16) & 0xff;
      if (i + 3 < n) out[i + 3] = v >>> 24;
    }
    return out;
  }

  /** A length skewed towards small values: mostly < 16, sometimes up to `max`. */
  smallLength(max: number): number {
    const r = this.float();
    if (r < 0.6) return this.int(Math.min(16, max + 1));
    if (r < 0.9) return this.int(Math.min(256, max + 1));
    return this.int(max + 1);
  }
}

/** The generator of input `index` of a run with `seed`. */
export function rngFor(seed: number, index: number): Rng {
  return new Rng(seed, index);
}
