/**
 * The relay process under 60 s of sustained mixed load (bench/load-run.ts): GET hits/304s/misses,
 * PUTs, and one over-limit client that must be refused with 429 while the main load is not. Prints
 * req/s, latency percentiles, the status mix, memory samples of the relay every 5 s (VmRSS and the
 * live heap after a forced GC, read through the relay's inspector), and the count of unexpected
 * answers (must be 0). Not part of `npm test` (it runs a minute).
 *
 * Plateau: the live heap of the last third of the run against the middle third (the first third is
 * warm-up: caches, rate-limiter buckets and the LRU fill). A ratio near 1.00 is a plateau; a leak
 * shows as growth that keeps going in the last third.
 */
import { runLoad, type LoadReport } from './load-run.ts';

/** 60 s by default; `PKARR_LOAD_SECONDS=300 npm run bench -- load` for a longer soak. */
const DURATION_S = Number(process.env['PKARR_LOAD_SECONDS'] ?? 60);
if (!Number.isInteger(DURATION_S) || DURATION_S < 5 || DURATION_S > 3600) {
  throw new Error(`PKARR_LOAD_SECONDS must be a whole number of seconds from 5 to 3600, got ${JSON.stringify(process.env['PKARR_LOAD_SECONDS'])}`);
}
/**
 * `gc` (default): every sample forces a full GC in the relay first and reports the live heap.
 * `observe`: the relay's own GC decides (production behaviour); heap figures then include slack.
 */
const HEAP_MODE = ((mode: string): 'gc' | 'observe' => {
  if (mode !== 'gc' && mode !== 'observe') throw new Error(`PKARR_LOAD_HEAP must be gc or observe, got ${JSON.stringify(mode)}`);
  return mode;
})(process.env['PKARR_LOAD_HEAP'] ?? 'gc');

function summary(report: LoadReport): string {
  const mb = (kib: number): string => (kib / 1024).toFixed(1);
  const rss = report.rssKiB;
  const firstHalf = rss.slice(0, Math.ceil(rss.length / 2));
  const secondHalf = rss.slice(Math.ceil(rss.length / 2));
  const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);
  const heapMb = report.heap.map((h) => h.heapUsed / 1048576);
  const third = Math.floor(heapMb.length / 3);
  const middle = heapMb.slice(third, 2 * third);
  const last = heapMb.slice(2 * third);
  const heapLines = heapMb.length < 3 ? [] : [
    `relay heapUsed ${HEAP_MODE === 'gc' ? 'after full GC' : 'as the relay left it'} every 5 s (MB): ${heapMb.map((v) => v.toFixed(1)).join(' ')}`,
    `relay heapTotal (MB): ${report.heap.map((h) => (h.heapTotal / 1048576).toFixed(1)).join(' ')}`,
    `relay external+arrayBuffers (MB): ${report.heap.map((h) => ((h.external + h.arrayBuffers) / 1048576).toFixed(1)).join(' ')}`,
    `relay heapUsed peak middle third ${max(middle).toFixed(1)} MB, last third ${max(last).toFixed(1)} MB (ratio ${(max(last) / Math.max(0.001, max(middle))).toFixed(2)})`,
  ];
  return [
    `GET mix : ${report.get.requests} requests, ${report.get.reqPerSec.toFixed(0)} req/s, p50 ${report.get.p50Ms} ms, p99 ${report.get.p99Ms} ms, statuses ${JSON.stringify(report.get.statuses)}`,
    `DHT miss: ${report.dhtMiss.requests} requests, ${report.dhtMiss.reqPerSec.toFixed(0)} req/s, p50 ${report.dhtMiss.p50Ms} ms, p99 ${report.dhtMiss.p99Ms} ms, statuses ${JSON.stringify(report.dhtMiss.statuses)}`,
    `PUT     : ${report.put.requests} requests, ${report.put.reqPerSec.toFixed(0)} req/s, p50 ${report.put.p50Ms} ms, p99 ${report.put.p99Ms} ms, statuses ${JSON.stringify(report.put.statuses)}`,
    `over-limit client (127.0.0.2): ${report.overLimit.requests} requests, statuses ${JSON.stringify(report.overLimit.statuses)}, errors ${report.overLimit.errors}`,
    `relay VmRSS every 5 s (MB): ${rss.map(mb).join(' ')}`,
    `relay VmRSS peak first half ${mb(max(firstHalf))} MB, second half ${mb(max(secondHalf))} MB (ratio ${(max(secondHalf) / Math.max(1, max(firstHalf))).toFixed(2)})`,
    ...heapLines,
    `main-load 429s: ${report.main429}; unexpected statuses/errors (not 2xx/304/404/429): ${report.unexpected}`,
  ].join('\n');
}

export async function run(): Promise<void> {
  const report = await runLoad({
    durationS: DURATION_S,
    getConnections: 16,
    dhtMissConnections: 2,
    putKeys: 4,
    hitKeys: 500,
    missKeys: 2000,
    clientAddresses: 1024,
    rate: '100r/s,burst=200',
    dhtRate: '20r/s,burst=40',
    overLimitConcurrency: 4,
    sampleMs: 5000,
    heapProbe: HEAP_MODE,
  });
  console.log(summary(report));
  if (report.unexpected > 0 || report.main429 > 0) {
    console.log(`relay stderr tail:\n${report.relayStderr}`);
    throw new Error(`load: ${report.unexpected} unexpected answers, ${report.main429} 429s for the main load`);
  }
  if ((report.overLimit.statuses['429'] ?? 0) === 0) throw new Error('load: the over-limit client was never refused');
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
