/**
 * The relay process under 60 s of sustained mixed load (bench/load-run.ts): GET hits/304s/misses,
 * PUTs, and one over-limit client that must be refused with 429 while the main load is not. Prints
 * req/s, latency percentiles, the status mix, memory samples of the relay every 5 s, and the count
 * of unexpected answers (must be 0). Not part of `npm test` (it runs a minute).
 */
import { runLoad, type LoadReport } from './load-run.ts';

/** 60 s by default; `PKARR_LOAD_SECONDS=300 npm run bench -- load` for a longer soak. */
const DURATION_S = Number(process.env['PKARR_LOAD_SECONDS'] ?? 60);
if (!Number.isInteger(DURATION_S) || DURATION_S < 5 || DURATION_S > 3600) {
  throw new Error(`PKARR_LOAD_SECONDS must be a whole number of seconds from 5 to 3600, got ${JSON.stringify(process.env['PKARR_LOAD_SECONDS'])}`);
}

function summary(report: LoadReport): string {
  const mb = (kib: number): string => (kib / 1024).toFixed(1);
  const rss = report.rssKiB;
  const firstHalf = rss.slice(0, Math.ceil(rss.length / 2));
  const secondHalf = rss.slice(Math.ceil(rss.length / 2));
  const max = (xs: number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);
  return [
    `GET mix : ${report.get.requests} requests, ${report.get.reqPerSec.toFixed(0)} req/s, p50 ${report.get.p50Ms} ms, p99 ${report.get.p99Ms} ms, statuses ${JSON.stringify(report.get.statuses)}`,
    `DHT miss: ${report.dhtMiss.requests} requests, ${report.dhtMiss.reqPerSec.toFixed(0)} req/s, p50 ${report.dhtMiss.p50Ms} ms, p99 ${report.dhtMiss.p99Ms} ms, statuses ${JSON.stringify(report.dhtMiss.statuses)}`,
    `PUT     : ${report.put.requests} requests, ${report.put.reqPerSec.toFixed(0)} req/s, p50 ${report.put.p50Ms} ms, p99 ${report.put.p99Ms} ms, statuses ${JSON.stringify(report.put.statuses)}, ran out of pre-signed bodies ${report.put.exhausted}×`,
    `over-limit client (127.0.0.2): ${report.overLimit.requests} requests, statuses ${JSON.stringify(report.overLimit.statuses)}, errors ${report.overLimit.errors}`,
    `relay VmRSS every 5 s (MB): ${rss.map(mb).join(' ')}`,
    `relay VmRSS peak first half ${mb(max(firstHalf))} MB, second half ${mb(max(secondHalf))} MB (ratio ${(max(secondHalf) / Math.max(1, max(firstHalf))).toFixed(2)})`,
    `main-load 429s: ${report.main429}; unexpected statuses/errors (not 2xx/304/404/429): ${report.unexpected}`,
  ].join('\n');
}

export async function run(): Promise<void> {
  const report = await runLoad({
    durationS: DURATION_S,
    getConnections: 16,
    dhtMissConnections: 2,
    putKeys: 4,
    putsPerKey: 6000,
    hitKeys: 500,
    missKeys: 2000,
    clientAddresses: 1024,
    rate: '100r/s,burst=200',
    dhtRate: '20r/s,burst=40',
    overLimitConcurrency: 4,
    sampleMs: 5000,
  });
  console.log(summary(report));
  if (report.unexpected > 0 || report.main429 > 0) {
    console.log(`relay stderr tail:\n${report.relayStderr}`);
    throw new Error(`load: ${report.unexpected} unexpected answers, ${report.main429} 429s for the main load`);
  }
  if ((report.overLimit.statuses['429'] ?? 0) === 0) throw new Error('load: the over-limit client was never refused');
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
