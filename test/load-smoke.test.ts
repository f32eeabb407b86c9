/**
 * A 3-second run of the relay load (bench/load-run.ts, the code of bench/load.bench.ts) with tiny
 * numbers. Correctness only, no timings: no answer outside 2xx/304/404/429 and no transport error,
 * no 429 for the main load (each proxy-forwarded address stays under the quota), 429s for the
 * over-limit client on 127.0.0.2, every part of the mix answered, and the relay's memory sampled
 * (VmRSS and, through its inspector, the heap after a forced GC).
 */
import { describe, expect, it } from 'vitest';
import { runLoad } from '../bench/load-run.ts';

describe('relay load smoke (3 s, real relay process)', () => {
  it('serves the mixed load, refuses only the over-limit client, samples memory', async () => {
    const report = await runLoad({
      durationS: 3,
      getConnections: 4,
      dhtMissConnections: 1,
      putKeys: 2,
      hitKeys: 20,
      missKeys: 50,
      clientAddresses: 256,
      rate: '50r/s,burst=100',
      dhtRate: '20r/s,burst=40',
      overLimitConcurrency: 2,
      sampleMs: 1000,
      heapProbe: 'gc',
    });
    const { relayStderr, ...figures } = report;
    console.log(`load-smoke: ${JSON.stringify(figures)}`);
    expect(report.unexpected, relayStderr).toBe(0);
    expect(report.main429).toBe(0);
    expect(report.overLimit.statuses['429'] ?? 0).toBeGreaterThan(0);
    expect(report.get.statuses['200'] ?? 0).toBeGreaterThan(0);
    expect(report.get.statuses['304'] ?? 0).toBeGreaterThan(0);
    expect(report.get.statuses['404'] ?? 0).toBeGreaterThan(0);
    expect(report.dhtMiss.statuses['404'] ?? 0).toBeGreaterThan(0);
    expect(report.put.statuses['204'] ?? 0).toBeGreaterThan(0);
    expect(report.rssKiB.length).toBeGreaterThanOrEqual(2);
    expect(report.rssKiB.every((kib) => kib > 0)).toBe(true);
    expect(report.heap.length).toBe(report.rssKiB.length);
    expect(report.heap.every((h) => h.heapUsed > 0 && h.heapUsed <= h.heapTotal)).toBe(true);
  }, 120_000);
});
