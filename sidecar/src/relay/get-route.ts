/**
 * `GET /<key>[?policy=CacheOnly|CacheFirst|NetworkOnly]` (v7 semantics: pubky/pkarr
 * relay/src/handlers.rs `get`).
 *
 * 200: the relay payload with `Content-Type: application/pkarr.org/relays#payload`,
 * `Cache-Control: public, max-age=<ttl(min,max)>`, `Last-Modified` (packet timestamp) and
 * `Memento-Datetime` (when the relay last saw it). `If-Modified-Since` → 304 iff
 * `timestamp_µs <= IMS_seconds × 1,000,000`. 400 bad key/policy, 404 not found (with
 * `Pkarr-Invalid-Signed-Packet-Seq` when the DHT's newest item is invalid), 429 DHT quota, 503 DHT
 * unavailable, 500 other DHT failures.
 *
 * Fast path: a fresh packet in the store's in-memory LRU is served without parsing the key; the
 * response headers are computed once per stored packet.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESOLVE_POLICIES, type ResolvePolicy } from '../client/types.ts';
import { PublicKey } from '../core/keys.ts';
import { httpDate, parseHttpDate } from '../core/timestamp.ts';
import type { CachedPacket } from './packet-store.ts';
import type { ResolveOutcome } from './packet-resolver.ts';
import { sendText } from './http-util.ts';
import { chargeDht, type RelayContext } from './relay-context.ts';

/** The relay payload media type. */
export const PAYLOAD_CONTENT_TYPE = 'application/pkarr.org/relays#payload';
/** Header naming the seq of an invalid newest DHT item. */
export const INVALID_SEQ_HEADER = 'Pkarr-Invalid-Signed-Packet-Seq';

interface ResponseMeta {
  /** Wall-clock ms at which the packet expires from the cache. */
  expiresAtMs: number;
  headers: Record<string, string>;
  notModifiedHeaders: Record<string, string>;
}

const metas = new WeakMap<CachedPacket, ResponseMeta>();

function responseMeta(entry: CachedPacket, minTtl: number, maxTtl: number): ResponseMeta {
  let meta = metas.get(entry);
  if (meta === undefined) {
    const { packet } = entry;
    const ttl = packet.ttl(minTtl, maxTtl);
    const notModifiedHeaders = {
      'Cache-Control': `public, max-age=${ttl}`,
      'Last-Modified': httpDate(packet.timestamp),
      'Memento-Datetime': httpDate(packet.lastSeen),
    };
    meta = {
      expiresAtMs: Number(packet.lastSeen / 1000n) + ttl * 1000,
      headers: { 'Content-Type': PAYLOAD_CONTENT_TYPE, ...notModifiedHeaders },
      notModifiedHeaders,
    };
    metas.set(entry, meta);
  }
  return meta;
}

/** Parses `?policy=`; undefined when the value is not a valid policy. Other parameters are ignored. */
export function parsePolicy(query: string): ResolvePolicy | undefined {
  if (query === '') return 'CacheFirst';
  const value = new URLSearchParams(query).get('policy');
  if (value === null) return 'CacheFirst';
  return (RESOLVE_POLICIES as readonly string[]).includes(value) ? (value as ResolvePolicy) : undefined;
}

function sendPacket(req: IncomingMessage, res: ServerResponse, entry: CachedPacket, meta: ResponseMeta, ctx: RelayContext): void {
  ctx.republisher?.hit(entry);
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined) {
    const since = parseHttpDate(ims);
    if (since !== null && entry.packet.timestamp <= since) {
      ctx.stats.notModified += 1;
      res.writeHead(304, meta.notModifiedHeaders);
      res.end();
      return;
    }
  }
  res.writeHead(200, meta.headers);
  res.end(entry.payload);
}

/** Maps a non-found resolve outcome to its HTTP response. */
export function sendOutcomeError(res: ServerResponse, outcome: Exclude<ResolveOutcome, { kind: 'found' }>, key: PublicKey): void {
  switch (outcome.kind) {
    case 'not-found':
      if (outcome.invalidSeq !== undefined) {
        return sendText(res, 404, `DHT mutable item at seq ${outcome.invalidSeq} is not a valid signed packet`, { [INVALID_SEQ_HEADER]: outcome.invalidSeq.toString() });
      }
      return sendText(res, 404, `Not Found: no signed packet for ${key.z32}`);
    case 'rate-limited':
      return sendText(res, 429, 'Too many requests to DHT nodes', { 'Retry-After': outcome.retryAfter });
    case 'unavailable':
      return sendText(res, 503, outcome.reason);
    case 'error':
      return sendText(res, 500, outcome.reason);
  }
}

/** Handles `GET /<segment>?<query>` (and HEAD). Never throws. */
export async function handleGet(req: IncomingMessage, res: ServerResponse, segment: string, query: string, ctx: RelayContext): Promise<void> {
  ctx.stats.gets += 1;
  const policy = parsePolicy(query);
  if (policy === undefined) {
    return sendText(res, 400, `Invalid policy: expected one of ${RESOLVE_POLICIES.join(', ')} (case-sensitive)`);
  }
  if (policy === 'CacheFirst') {
    const hot = ctx.store.getHot(segment);
    if (hot !== undefined) {
      const meta = responseMeta(hot, ctx.minTtl, ctx.maxTtl);
      if (Date.now() < meta.expiresAtMs) {
        ctx.stats.cacheHits += 1;
        return sendPacket(req, res, hot, meta, ctx);
      }
    }
  }
  let key: PublicKey;
  try {
    key = PublicKey.parse(decodeURIComponent(segment));
  } catch (err) {
    return sendText(res, 400, `Invalid public key: ${(err as Error).message}`);
  }
  const outcome = await ctx.resolver.resolve(key, policy, () => chargeDht(ctx, req));
  if (outcome.kind !== 'found') return sendOutcomeError(res, outcome, key);
  if (outcome.source === 'cache') ctx.stats.cacheHits += 1;
  sendPacket(req, res, outcome.entry, responseMeta(outcome.entry, ctx.minTtl, ctx.maxTtl), ctx);
}
