import { describe, expect, it } from 'vitest';
import { mapLimited } from '../sidecar/src/util/map-limited.ts';

describe('mapLimited', () => {
  it('returns results in item order with at most `limit` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const out = await mapLimited(items, 3, async (item, index) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, (item * 7) % 5)); // finish out of order
      inFlight--;
      return `${item}@${index}`;
    });
    expect(out).toEqual(items.map((i) => `${i}@${i}`));
    expect(most).toBe(3);
  });

  it('handles an empty list and rejects with the first failure', async () => {
    expect(await mapLimited([], 4, async () => 1)).toEqual([]);
    await expect(mapLimited([1, 2, 3], 2, async (n) => { if (n === 2) throw new Error('two'); return n; })).rejects.toThrow('two');
  });
});
