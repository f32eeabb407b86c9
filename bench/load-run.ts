/**
 * Sustained load on a real relay process (`pkarr-sidecar relay --testnet 10`), shared by
 * bench/load.bench.ts (60 s) and test/load-smoke.test.ts (a few seconds, correctness only).
 *
 * Load, all on loopback and all at once:
 * - GET (autocannon, `getConnections` connections): 2/3 hits on cached keys (half of them with
 *   `If-Modified-Since` → 304), 1/3 misses on unknown keys with `?policy=CacheOnly` (404, no DHT).
 * - DHT misses (autocannon, `dhtMissConnections` connections): CacheFirst GETs of unknown keys, each
 *   a DHT lookup on the relay's 10-node testnet (→ 404). Kept apart so that the lookups (~1 s each)
 *   do not hold the GET connections and hide the relay's own throughput.
 * - PUT (autocannon, one connection per key): each body signed when autocannon asks for the next
 *   request, with a strictly increasing timestamp, for the whole run; one key per connection so a
 *   key never has two PUTs in flight (that would be a legitimate 409).
 * - Over-limit client: a plain node:http loop bound to 127.0.0.2 sending GET hits as fast as it can.
 *
 * Rate limiting (one relay, one per-IP quota for everyone): the relay runs `--behind-proxy`. The main
 * load models many users behind a trusted reverse proxy: every request carries an
 * `X-Forwarded-For` from a pool of `clientAddresses` addresses, so each of those buckets sees a small
 * share of the load, far below the quota. The over-limit client is a direct client (no proxy
 * header; its bucket is its TCP peer address 127.0.0.2) that goes far above the quota and must get
 * 429s. A 429 for the main load or any status outside 2xx/304/404/429 counts as unexpected.
 *
 * Memory: VmRSS of the relay every `sampleMs`; with `heapProbe`, the relay also runs with the
 * inspector on loopback and each sample forces a full GC and reads `process.memoryUsage()`
 * (bench/heap-probe.ts) — the live heap, which is what shows a leak.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { HeapProbe, inspectorUrlOf, type HeapSample } from './heap-probe.ts';
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { parseRecordText } from '../sidecar/src/core/record-text.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { httpDate, nowMicros } from '../sidecar/src/core/timestamp.ts';

const MAIN = resolve('sidecar/src/cli/main.ts');

/** Knobs of one load run. */
export interface LoadOptions {
  durationS: number;
  /** autocannon connections of the GET mix. */
  getConnections: number;
  /** autocannon connections of CacheFirst misses (DHT lookups). */
  dhtMissConnections: number;
  /** Keys PUT during the run (one autocannon connection each). */
  putKeys: number;
  /** Keys PUT before the run and then read as hits. */
  hitKeys: number;
  /** Unknown keys read as misses. */
  missKeys: number;
  /** Synthetic client addresses of the main load (X-Forwarded-For). */
  clientAddresses: number;
  /** Per-IP quota of the relay (`--rate`), the same for everyone. */
  rate: string;
  /** Per-IP DHT quota (`--dht-rate`). */
  dhtRate: string;
  /** Concurrent requests of the over-limit client. */
  overLimitConcurrency: number;
  /** Memory sample interval, ms. */
  sampleMs: number;
  /**
   * Run the relay with the inspector and sample `process.memoryUsage()` (bench/heap-probe.ts):
   * `'gc'` after a forced full GC (the live heap), `'observe'` without touching the relay's own GC.
   */
  heapProbe?: 'gc' | 'observe';
}

/** Figures of one autocannon instance. */
export interface MixFigures {
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
}

export interface LoadReport {
  get: MixFigures;
  dhtMiss: MixFigures;
  put: MixFigures;
  overLimit: { requests: number; errors: number; statuses: Record<string, number> };
  /** Relay VmRSS samples, KiB (one at the start, then every `sampleMs`, one at the end). */
  rssKiB: number[];
  /** With `heapProbe`: `process.memoryUsage()` at the same moments as `rssKiB`. */
  heap: HeapSample[];
  /** 429s answered to the main load (GET, DHT misses, PUT). */
  main429: number;
  /** Statuses outside 2xx/304/404/429 plus transport errors and timeouts, over all clients. */
  unexpected: number;
  /** Relay stderr tail, for diagnosis. */
  relayStderr: string;
}

function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** One HTTP request; resolves with the status (the body is drained), rejects on transport errors. */
function send(url: string, method: string, options: { body?: Buffer; headers?: Record<string, string>; agent?: Agent; localAddress?: string } = {}): Promise<number> {
  return new Promise((resolveStatus, reject) => {
    const req = request(url, {
      method,
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.agent ? { agent: options.agent } : {}),
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      timeout: 30_000,
    }, (res) => {
      res.resume();
      res.once('end', () => resolveStatus(res.statusCode ?? 0));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end(options.body);
  });
}

function figures(result: AutocannonResult): MixFigures {
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statuses[code] = Number(count);
  return {
    requests: result.requests.total,
    reqPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses,
  };
}

function isExpected(code: string): boolean {
  const n = Number(code);
  return (n >= 200 && n < 300) || n === 304 || n === 404 || n === 429;
}

function count(statuses: Record<string, number>, pick: (code: string) => boolean): number {
  return Object.entries(statuses).filter(([c]) => pick(c)).reduce((sum, [, n]) => sum + n, 0);
}

/** Starts the relay process and returns its URL, pid and a stop function. */
async function startRelayProcess(dataDir: string, o: LoadOptions): Promise<{ url: string; pid: number; inspectorUrl: string | null; stderr: () => string; stop: () => Promise<void> }> {
  const nodeFlags = o.heapProbe !== undefined ? ['--inspect=127.0.0.1:0'] : [];
  let inspectorUrl: string | null = null;
  const child = spawn(process.execPath, [...nodeFlags, MAIN, 'relay', '--port', '0', '--testnet', '10', '--data-dir', dataDir,
    '--rate', o.rate, '--dht-rate', o.dhtRate, '--behind-proxy'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8192);
    inspectorUrl ??= inspectorUrlOf(stderr);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
  };
  try {
    const line = await new Promise<string>((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`relay not ready in 60 s: ${stderr}`)), 60_000);
      createInterface({ input: child.stdout }).once('line', (l) => { clearTimeout(timer); resolveLine(l); });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`relay exited with ${code}: ${stderr}`)); });
    });
    const url = /listening on (http:\/\/\S+)/.exec(line)?.[1];
    if (url === undefined || child.pid === undefined) throw new Error(`unexpected ready line ${line}`);
    if (o.heapProbe !== undefined && inspectorUrl === null) throw new Error(`relay did not print its inspector URL: ${stderr}`);
    return { url, pid: child.pid, inspectorUrl, stderr: () => stderr, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Runs the load (see the module doc) and returns its figures. Cleans up the relay and its data. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pkarr-load-'));
  const relay = await startRelayProcess(dataDir, o);
  const addresses = Array.from({ length: o.clientAddresses }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  let nextAddress = 0;
  const forwarded = (): string => addresses[nextAddress++ % addresses.length]!;
  try {
    // Seed the hit keys (bounded concurrency, through the same proxy model).
    const hits = Array.from({ length: o.hitKeys }, (_, i) => {
      const packet = SignedPacket.sign(Keypair.generate(), [parseRecordText(`A @ 10.1.${i >> 8 & 255}.${i & 255} 300`)]);
      // If-Modified-Since has second granularity and the relay answers 304 only when
      // timestamp_µs <= IMS_s × 10^6 (pkarr relay/src/response.rs): the second after the timestamp
      // always qualifies.
      return { z32: packet.publicKey.z32, ims: httpDate(packet.timestamp + 1_000_000n), payload: Buffer.from(packet.toRelayPayload()) };
    });
    const queue = [...hits];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let h = queue.shift(); h !== undefined; h = queue.shift()) {
        const status = await send(`${relay.url}/${h.z32}`, 'PUT', { body: h.payload, headers: { 'x-forwarded-for': forwarded() } });
        if (status !== 204) throw new Error(`seeding PUT answered ${status}`);
      }
    }));
    const misses = Array.from({ length: o.missKeys }, () => Keypair.generate().publicKey.z32);

    // PUT keys; each body is signed on demand with a strictly increasing timestamp.
    const puts = Array.from({ length: o.putKeys }, (_, k) => {
      const keypair = Keypair.generate();
      return { keypair, z32: keypair.publicKey.z32, record: [parseRecordText(`TXT @ "load=${k}" 300`)], last: 0n };
    });

    let n = 0;
    const getRequest: AutocannonRequest = {
      method: 'GET',
      setupRequest: (req) => {
        const i = n++;
        const slot = i % 3;
        const headers: Record<string, string> = { 'x-forwarded-for': forwarded() };
        let path: string;
        if (slot < 2) {
          const hit = hits[i % hits.length]!;
          path = `/${hit.z32}`;
          if ((i >> 1) % 2 === 1) headers['if-modified-since'] = hit.ims;
        } else {
          path = `/${misses[i % misses.length]!}?policy=CacheOnly`;
        }
        return { ...req, method: 'GET', path, headers };
      },
    };
    let m = 0;
    const dhtMissRequest: AutocannonRequest = {
      method: 'GET',
      setupRequest: (req) => ({ ...req, method: 'GET', path: `/${misses[m++ % misses.length]!}`, headers: { 'x-forwarded-for': forwarded() } }),
    };
    let putClient = 0;
    const setupPutClient = (client: { setRequests(r: AutocannonRequest[]): void }): void => {
      const slot = puts[putClient++ % puts.length]!;
      client.setRequests([{
        setupRequest: (req) => {
          const now = nowMicros();
          slot.last = now > slot.last ? now : slot.last + 1n;
          const body = Buffer.from(SignedPacket.sign(slot.keypair, slot.record, { timestamp: slot.last }).toRelayPayload());
          const headers = { 'x-forwarded-for': forwarded(), 'content-type': 'application/pkarr.org/relays#payload' };
          return { ...req, method: 'PUT', path: `/${slot.z32}`, headers, body };
        },
      }]);
    };

    const rss: number[] = [];
    const heap: HeapSample[] = [];
    const probe = relay.inspectorUrl === null ? null : await HeapProbe.connect(relay.inspectorUrl);
    let sampling: Promise<void> = Promise.resolve();
    const sample = async (): Promise<void> => {
      if (probe !== null) heap.push(await probe.sample(o.heapProbe === 'gc'));
      const v = rssOf(relay.pid);
      if (v !== null) rss.push(v);
    };
    let probeError: unknown = null;
    const tick = (): void => { sampling = sampling.then(sample).catch((err: unknown) => { probeError ??= err; }); };
    tick();
    const sampler = setInterval(tick, o.sampleMs);

    const end = Date.now() + o.durationS * 1000;
    const overLimit = { requests: 0, errors: 0, statuses: {} as Record<string, number> };
    const agent = new Agent({ keepAlive: true, maxSockets: o.overLimitConcurrency });
    const overLimitRun = Promise.all(Array.from({ length: o.overLimitConcurrency }, async (_, w) => {
      for (let i = w; Date.now() < end; i += o.overLimitConcurrency) {
        try {
          const status = await send(`${relay.url}/${hits[i % hits.length]!.z32}`, 'GET', { agent, localAddress: '127.0.0.2' });
          overLimit.statuses[status] = (overLimit.statuses[status] ?? 0) + 1;
        } catch {
          overLimit.errors += 1;
        }
        overLimit.requests += 1;
      }
    }));
    const [getResult, dhtMissResult, putResult] = await Promise.all([
      autocannon({ url: relay.url, connections: o.getConnections, duration: o.durationS, timeout: 30, requests: [getRequest] }),
      autocannon({ url: relay.url, connections: o.dhtMissConnections, duration: o.durationS, timeout: 30, requests: [dhtMissRequest] }),
      autocannon({ url: relay.url, connections: o.putKeys, duration: o.durationS, timeout: 30, requests: [{ method: 'PUT' }], setupClient: setupPutClient }),
      overLimitRun,
    ]);
    agent.destroy();
    clearInterval(sampler);
    tick();
    await sampling;
    probe?.close();
    if (probeError !== null) throw probeError;

    const get = figures(getResult);
    const dhtMiss = figures(dhtMissResult);
    const put = figures(putResult);
    const main429 = (get.statuses['429'] ?? 0) + (dhtMiss.statuses['429'] ?? 0) + (put.statuses['429'] ?? 0);
    const unexpected = [get, dhtMiss, put].reduce((sum, f) => sum + f.errors + f.timeouts + count(f.statuses, (c) => !isExpected(c)), 0)
      + overLimit.errors + count(overLimit.statuses, (c) => !isExpected(c));
    return { get, dhtMiss, put, overLimit, rssKiB: rss, heap, main429, unexpected, relayStderr: relay.stderr() };
  } finally {
    await relay.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
