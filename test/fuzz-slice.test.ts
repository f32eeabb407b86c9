/**
 * A short, fixed-seed slice of the fuzz suite (`npm run fuzz` runs 1,000,000 inputs per target;
 * see docs/hardening.md): 2,000 inputs per target, in-process, asserting zero findings, plus
 * checks that the harness itself reports what it must (untyped exceptions, undocumented codes,
 * oracle failures, async hangs) and that inputs are reproducible from (seed, index).
 */
import { describe, expect, it } from 'vitest';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { ACCEPTED, FindingError, runInProcess, type FuzzTarget } from '../fuzz/harness.ts';
import { rngFor } from '../fuzz/prng.ts';
import { loadTarget, TARGET_NAMES } from '../fuzz/targets/index.ts';

const SEED = 20_251_123;
const COUNT = 2000;

describe('fuzz slice: 2,000 inputs per target, fixed seed', () => {
  for (const name of TARGET_NAMES) {
    it(`${name}: no findings, every input accepted or rejected with a typed error`, async () => {
      const target = await loadTarget(name);
      const stats = await runInProcess(target, { seed: SEED, start: 0, count: COUNT, slowMs: 1000 });
      expect(stats.findings, JSON.stringify(stats.findings.slice(0, 3), null, 2)).toEqual([]);
      expect(stats.findingCount).toBe(0);
      expect(stats.inputs).toBe(COUNT);
      const rejected = Object.values(stats.rejected).reduce((a, b) => a + b, 0);
      expect(stats.accepted + rejected).toBe(COUNT);
      // The mix must exercise both sides: valid inputs and (at least 5%) rejections.
      expect(stats.accepted).toBeGreaterThan(0);
      expect(rejected).toBeGreaterThan(COUNT / 20);
    }, 120_000);
  }
});

describe('fuzz harness', () => {
  /** A target whose behaviour is chosen by the input. */
  function scripted(): FuzzTarget<number> {
    return {
      name: 'scripted',
      about: 'test double',
      allowedCodes: new Set(['DNS_ERROR']),
      generate: (_rng, index) => ({ value: index % 7, mutation: `m${index % 7}` }),
      execute(kind) {
        switch (kind) {
          case 0: return ACCEPTED;
          case 1: throw new PkarrError('DNS_ERROR', 'typed and allowed');
          case 2: throw new TypeError('untyped');
          case 3: throw new PkarrError('IO_ERROR', 'typed but not documented for this target');
          case 4: throw new FindingError('oracle failed');
          case 5: return new Promise(() => undefined); // never settles
          default: return { accepted: false, code: 'HTTP 400' };
        }
      },
      show: (kind) => String(kind),
    };
  }

  it('classifies accepted, typed rejections and each kind of finding', async () => {
    const stats = await runInProcess(scripted(), { seed: 1, start: 0, count: 7, asyncTimeoutMs: 100 });
    expect(stats.accepted).toBe(1);
    expect(stats.rejected).toEqual({ DNS_ERROR: 1, 'HTTP 400': 1 });
    expect(stats.findings.map((f) => [f.index, f.kind])).toEqual([[2, 'exception'], [3, 'unexpected-code'], [4, 'oracle'], [5, 'async-hang']]);
    expect(stats.findings[0]!.error).toMatch(/^TypeError: untyped/);
  });

  it('flags an input that stays slower than the bound, not one that was slow once', async () => {
    const runs = [0, 0];
    const target: FuzzTarget<number> = {
      name: 'slow', about: 'test double',
      generate: (_rng, index) => ({ value: index, mutation: 'm' }),
      execute(index) {
        runs[index] = (runs[index] ?? 0) + 1;
        // Input 0 is always slow; input 1 only on its first run.
        const busy = index === 0 || (index === 1 && runs[1] === 1) ? 200 : 0;
        const until = performance.now() + busy;
        while (performance.now() < until) { /* spin */ }
        return ACCEPTED;
      },
      show: String,
    };
    const stats = await runInProcess(target, { seed: 1, start: 0, count: 2, slowMs: 80 });
    expect(stats.findings.map((f) => [f.index, f.kind])).toEqual([[0, 'slow']]);
    expect(stats.slowTransient).toBe(1);
    expect(stats.slowest?.index).toBe(0);
    expect(stats.slowest!.ms).toBeGreaterThan(80);
  });

  it('regenerates any input from (seed, index) alone', async () => {
    const target = await loadTarget('signed-packet');
    await target.setup?.();
    const a = target.generate(rngFor(42, 123_456), 123_456);
    target.generate(rngFor(42, 7), 7);
    const b = target.generate(rngFor(42, 123_456), 123_456);
    expect(target.show(b.value)).toBe(target.show(a.value));
    expect(b.mutation).toBe(a.mutation);
    expect(target.show(target.generate(rngFor(43, 123_456), 123_456).value)).not.toBe(target.show(a.value));
  });
});
