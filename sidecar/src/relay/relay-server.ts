/**
 * The pkarr HTTP relay server (the v7 API of pubky/pkarr: design/relays.md, relay/src/handlers.rs)
 * on node:http, backed by a persistent packet store and the Mainline DHT.
 *
 * Routes: `GET /` status page · `PUT /<key>` (put-route.ts) · `GET|HEAD /<key>` (get-route.ts) ·
 * `/dns-query` DNS-over-HTTPS (doh.ts) · `OPTIONS *` CORS preflight → 204 · other methods → 405.
 * `<key>` is anything `PublicKey.parse` accepts (`<z32>`, `pk:<z32>`).
 *
 * Every request except preflights spends a token of the per-IP general quota (429 with
 * `Retry-After` when spent); requests that reach the DHT also spend the DHT quota.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PkarrError } from '../core/errors.ts';
import { PublicKey } from '../core/keys.ts';
import type { Dht } from '../dht/types.ts';
import { clientAddress } from './client-ip.ts';
import { ClientErrorResponder } from './bad-request.ts';
import { DOH_PATH, handleDoh } from './doh.ts';
import { acceptH2c } from './doh-h2c.ts';
import { handleGet } from './get-route.ts';
import { applyCors, sendMethodNotAllowed, sendPreflight, sendText } from './http-util.ts';
import { PacketResolver } from './packet-resolver.ts';
import { PacketStore } from './packet-store.ts';
import { PopularRepublisher, type PopularRepublisherOptions } from './popular-republisher.ts';
import { handlePut } from './put-route.ts';
import { formatRateLimit, parseRateLimit, RateLimiter, type RateLimit } from '../util/rate-limiter.ts';
import type { RelayContext } from './relay-context.ts';
import { RelayStats } from './relay-stats.ts';
import { renderStatusPage } from './status-page.ts';
import { version } from '../version.ts';

/** The relay's version as shown on the status page. */
export const RELAY_VERSION = version();
export const DEFAULT_RELAY_PORT = 6881;
export const DEFAULT_CACHE_SIZE = 1_000_000;
/** Default general quota: the reference's `2r/s` with the burst of its example config. */
export const DEFAULT_RATE_LIMIT = '2r/s,burst=10';
/** Default DHT quota (reference `user_dht_quota`, example burst). */
export const DEFAULT_DHT_RATE_LIMIT = '2r/s,burst=10';
/** The store file inside `dataDir`. */
export const STORE_FILE = 'packets.sqlite';

/** Options of {@link startRelay}. */
export interface RelayOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 6881; 0 picks a free port. */
  port?: number;
  /** Directory of the persistent store; null/undefined keeps packets in memory only. */
  dataDir?: string | null;
  /** The DHT (not destroyed by `close`, the caller owns it); null runs a cache-only relay (503 on misses and PUTs). */
  dht: Dht | null;
  /** Packets kept (default 1,000,000); 0 disables the cache. */
  cacheSize?: number;
  /** Decoded packets kept in memory (default min(cacheSize, 10,000)). */
  hotCacheSize?: number;
  /** TTL clamp in seconds for freshness and `Cache-Control` (default 300 / 86400). */
  minTtl?: number;
  maxTtl?: number;
  /** General per-IP quota: text (`2r/s,burst=10`), parsed, or null for none. Default {@link DEFAULT_RATE_LIMIT}. */
  rateLimit?: RateLimit | string | null;
  /** Per-IP quota of requests reaching the DHT. Default {@link DEFAULT_DHT_RATE_LIMIT}. */
  dhtRateLimit?: RateLimit | string | null;
  /** Trust `X-Forwarded-For` / `X-Real-IP` / `Forwarded` for the client address. */
  behindProxy?: boolean;
  /** Re-put popular records before they expire (true or tuning options). Needs a DHT. */
  republishPopular?: boolean | PopularRepublisherOptions;
  /** Forward ordinary DoH queries to this RFC 8484 URL (default: REFUSED). */
  dohUpstream?: string | null;
  /** Bound of one DHT lookup in ms (default 15,000). */
  lookupTimeoutMs?: number;
  /** How long `close` waits for in-flight requests, ms (default 5000). */
  closeGraceMs?: number;
  /** Operational log lines (default: stderr). */
  log?: (line: string) => void;
}

/** A running relay. */
export interface RunningRelay {
  /** `http://host:port` */
  readonly url: string;
  readonly port: number;
  readonly store: PacketStore;
  readonly stats: RelayStats;
  /** Runs one popular-record republish round now (only with `republishPopular`); resolves with the packets put. */
  readonly republishNow?: () => Promise<number>;
  /** Stops accepting, lets in-flight requests finish (bounded), stops background work, closes the store. */
  close(): Promise<void>;
}

function toLimit(value: RateLimit | string | null | undefined, fallback: string): RateLimit | null {
  if (value === undefined) return parseRateLimit(fallback);
  if (typeof value === 'string') return parseRateLimit(value);
  return value;
}

function checkTtl(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new PkarrError('INVALID_ARGUMENT', `${name} must be an integer number of seconds, got ${value}`);
  return value;
}

function route(req: IncomingMessage, res: ServerResponse, ctx: RelayContext, statusPage: () => string): Promise<void> | void {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q + 1);
  const method = req.method ?? 'GET';
  applyCors(req, res);
  if (method === 'OPTIONS') return sendPreflight(req, res);
  if (ctx.limiter !== null) {
    const wait = ctx.limiter.take(clientAddress(req, ctx.behindProxy));
    if (wait > 0) {
      ctx.stats.rateLimited += 1;
      return sendText(res, 429, `Too Many Requests! Wait for ${wait}s`, { 'Retry-After': wait });
    }
  }
  if (path === DOH_PATH) return handleDoh(req, res, query, ctx);
  if (path === '/') {
    if (method !== 'GET' && method !== 'HEAD') return sendMethodNotAllowed(res, 'GET, HEAD, OPTIONS');
    const html = statusPage();
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
    return;
  }
  const segment = path.slice(1);
  if (segment.includes('/')) return sendText(res, 404, 'Not Found');
  if (method === 'GET' || method === 'HEAD') return handleGet(req, res, segment, query, ctx);
  if (method === 'PUT') {
    let key: PublicKey;
    try {
      key = PublicKey.parse(decodeURIComponent(segment));
    } catch (err) {
      return sendText(res, 400, `Invalid public key: ${(err as Error).message}`);
    }
    return handlePut(req, res, key, ctx);
  }
  return sendMethodNotAllowed(res, 'GET, HEAD, PUT, OPTIONS');
}

/** Starts a relay (see the module doc). Rejects with PkarrError('IO_ERROR') if it cannot listen. */
export async function startRelay(options: RelayOptions): Promise<RunningRelay> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const minTtl = checkTtl('minTtl', options.minTtl ?? 300);
  const maxTtl = Math.max(minTtl, checkTtl('maxTtl', options.maxTtl ?? 86400));
  const cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  const limit = toLimit(options.rateLimit, DEFAULT_RATE_LIMIT);
  const dhtLimit = toLimit(options.dhtRateLimit, DEFAULT_DHT_RATE_LIMIT);
  const store = PacketStore.open({
    path: options.dataDir === undefined || options.dataDir === null ? null : join(options.dataDir, STORE_FILE),
    capacity: cacheSize,
    ...(options.hotCacheSize !== undefined ? { hotCapacity: options.hotCacheSize } : {}),
    log,
  });
  const stats = new RelayStats();
  const dht = options.dht;
  const closing = new AbortController();
  const resolver = new PacketResolver({ store, dht, minTtl, maxTtl, stats, log, ...(options.lookupTimeoutMs !== undefined ? { lookupTimeoutMs: options.lookupTimeoutMs } : {}) });
  const republish = options.republishPopular ?? false;
  const republisher = republish !== false && dht !== null
    ? new PopularRepublisher(store, dht, stats, log, republish === true ? {} : republish)
    : null;
  const ctx: RelayContext = {
    store, resolver, dht, stats, minTtl, maxTtl, log, republisher,
    limiter: limit === null ? null : new RateLimiter(limit),
    dhtLimiter: dhtLimit === null ? null : new RateLimiter(dhtLimit),
    behindProxy: options.behindProxy ?? false,
    dohUpstream: options.dohUpstream ?? null,
    pendingPuts: new Map(),
    closing: closing.signal,
  };
  const statusPage = (): string => renderStatusPage({
    version: RELAY_VERSION, cacheSize: store.size, cacheCapacity: store.capacity, hotSize: store.hotSize,
    dhtNodes: dht === null ? null : dht.nodeCount, rateLimit: formatRateLimit(limit), dhtRateLimit: formatRateLimit(dhtLimit),
    republishPopular: republisher !== null, dohUpstream: ctx.dohUpstream,
  }, stats);

  const clientErrors = new ClientErrorResponder();
  // Timeouts checked every second: with Node's default interval (30 s) a slowloris client kept a
  // connection 30-40 s past the 10 s header timeout (measured, test/abuse-relay.test.ts).
  const server: Server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 }, (req, res) => {
    stats.requests += 1;
    clientErrors.track(req, res);
    res.once('finish', () => stats.count(res.statusCode));
    try {
      const pending = route(req, res, ctx, statusPage);
      if (pending !== undefined) {
        pending.catch((err: unknown) => {
          log(`relay: ${req.method} ${req.url} failed: ${(err as Error).stack ?? String(err)}`);
          sendText(res, 500, 'Internal Server Error');
        });
      }
    } catch (err) {
      log(`relay: ${req.method} ${req.url} failed: ${(err as Error).stack ?? String(err)}`);
      sendText(res, 500, 'Internal Server Error');
    }
  });
  // 408 / 431 / 400 with Connection: close, or just a destroy (bad-request.ts).
  server.on('clientError', clientErrors.handle);
  acceptH2c(server); // the same routes over HTTP/2 cleartext (doh-h2c.ts)

  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? DEFAULT_RELAY_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    store.close();
    throw new PkarrError('IO_ERROR', `cannot listen on ${host}:${options.port ?? DEFAULT_RELAY_PORT}: ${(err as Error).message}`, undefined, { cause: err });
  }
  server.on('error', (err) => log(`relay: server error: ${err.message}`));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? DEFAULT_RELAY_PORT);
  republisher?.start();
  const sweeper = setInterval(() => {
    ctx.limiter?.sweep();
    ctx.dhtLimiter?.sweep();
  }, 60_000);
  sweeper.unref();

  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      clearInterval(sweeper);
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their in-flight request ends: close them as they do.
      server.closeIdleConnections();
      const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
      const grace = new Promise<void>((resolve) => setTimeout(resolve, options.closeGraceMs ?? 5000).unref());
      await Promise.race([drained, grace]);
      clearInterval(idleSweep);
      closing.abort();
      resolver.close();
      server.closeAllConnections();
      await drained;
      await republisher?.stop();
      store.close();
    })();
    return closed;
  };
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`, port, store, stats, close,
    ...(republisher !== null ? { republishNow: () => republisher.tick() } : {}),
  };
}
