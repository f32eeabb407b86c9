/**
 * DNS-over-HTTPS (RFC 8484) at `/dns-query`: `GET ?dns=<base64url>` and `POST` with
 * `Content-Type: application/dns-message` (body ≤ 4096 bytes, 413 above; 415 for another type).
 *
 * The DNS semantics are the answering core's, shared with `pkarr-sidecar dns` (dns/answer.ts): a
 * question under a pkarr key (`<z32>`, `_lobby.<z32>`, `<z32>.key`, …) is answered from the key's
 * signed packet, resolved like `GET /<key>` with CacheFirst (store, then DHT; the DHT quota applies
 * and a spent quota gives HTTP 429). The key cannot be resolved (not on the DHT, DHT unavailable)
 * → SERVFAIL. Over DoH the source is verified, so ANY returns every record at the name.
 *
 * Any other name → REFUSED, unless an upstream DoH server is configured (`--doh-upstream URL`):
 * then the raw query is POSTed there and its answer relayed (our query ID; SERVFAIL if it fails).
 *
 * Responses are `application/dns-message` with `Cache-Control: max-age=<smallest answer TTL>`
 * (negative answers: the relay's minimum TTL; forwarded: the upstream's max-age; SERVFAIL/REFUSED:
 * 0). Malformed messages → HTTP 400; more than one question → FORMERR; an opcode other than QUERY
 * → NOTIMP. DoH is also served over HTTP/2 (h2c, doh-h2c.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PublicKey } from '../core/keys.ts';
import { answerDnsMessage, type AnswerEnvironment, type Forwarded, type KeyLookup } from '../dns/answer.ts';
import { DEFAULT_PKARR_TLDS } from '../dns/pkarr-name.ts';
import { MAX_MESSAGE_BYTES } from '../dns/reply.ts';
import { readBody, sendMethodNotAllowed, sendText, sendTooLarge } from './http-util.ts';
import { chargeDht, type RelayContext } from './relay-context.ts';
import { timeoutSignal } from './timeout-signal.ts';

export const DOH_PATH = '/dns-query';
export const DOH_BODY_LIMIT = 4096;
export const DNS_MESSAGE_TYPE = 'application/dns-message';
const UPSTREAM_TIMEOUT_MS = 5000;
const MAX_UPSTREAM_RESPONSE = 65_535;
const TLDS: ReadonlySet<string> = new Set(DEFAULT_PKARR_TLDS);

function sendDns(res: ServerResponse, body: Buffer, maxAge: number): void {
  res.writeHead(200, { 'Content-Type': DNS_MESSAGE_TYPE, 'Cache-Control': `max-age=${Math.max(0, Math.floor(maxAge))}`, 'Content-Length': body.length });
  res.end(body);
}

async function readQuery(req: IncomingMessage, res: ServerResponse, query: string): Promise<Buffer | null> {
  if (req.method === 'GET' || req.method === 'HEAD') {
    const dns = new URLSearchParams(query).get('dns');
    if (dns === null || dns === '') {
      sendText(res, 400, 'Bad Request: missing ?dns=<base64url DNS message>');
      return null;
    }
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(dns)) {
      sendText(res, 400, 'Bad Request: ?dns= is not base64url');
      return null;
    }
    const raw = Buffer.from(dns, 'base64url');
    if (raw.length > DOH_BODY_LIMIT) {
      sendTooLarge(res, DOH_BODY_LIMIT);
      return null;
    }
    return raw;
  }
  if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== DNS_MESSAGE_TYPE) {
      sendText(res, 415, `Unsupported Media Type: expected Content-Type: ${DNS_MESSAGE_TYPE}`, { Connection: 'close' });
      return null;
    }
    const body = await readBody(req, DOH_BODY_LIMIT);
    if (body === 'aborted') return null;
    if (body === 'too-large') {
      sendTooLarge(res, DOH_BODY_LIMIT);
      return null;
    }
    return body;
  }
  sendMethodNotAllowed(res, 'GET, POST, OPTIONS');
  return null;
}

/** POSTs the raw query upstream; null when that fails. */
async function forward(upstream: string, raw: Uint8Array, ctx: RelayContext): Promise<Forwarded | null> {
  const { signal, dispose } = timeoutSignal(ctx.closing, UPSTREAM_TIMEOUT_MS);
  try {
    const response = await fetch(upstream, {
      method: 'POST',
      headers: { 'Content-Type': DNS_MESSAGE_TYPE, Accept: DNS_MESSAGE_TYPE },
      body: raw,
      signal,
    });
    const body = Buffer.from(await response.arrayBuffer());
    if (!response.ok || body.length < 12 || body.length > MAX_UPSTREAM_RESPONSE) {
      ctx.log(`relay: DoH upstream answered HTTP ${response.status} with ${body.length} bytes`);
      return null;
    }
    const maxAge = /max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1];
    return { message: body, maxAge: maxAge === undefined ? 0 : Number(maxAge) };
  } catch (err) {
    ctx.log(`relay: DoH upstream failed: ${(err as Error).message}`);
    return null;
  } finally {
    dispose();
  }
}

/** The answering core's view of the relay for one request (its DHT quota, its store and DHT). */
function environment(req: IncomingMessage, ctx: RelayContext): AnswerEnvironment {
  const upstream = ctx.dohUpstream;
  return {
    async lookup(key: PublicKey): Promise<KeyLookup> {
      const outcome = await ctx.resolver.resolve(key, 'CacheFirst', () => chargeDht(ctx, req));
      if (outcome.kind === 'rate-limited') return outcome;
      if (outcome.kind !== 'found') return { kind: 'unresolved', reason: outcome.kind };
      ctx.republisher?.hit(outcome.entry);
      return { kind: 'found', packet: outcome.entry.packet };
    },
    forward: upstream === null ? null : (query) => forward(upstream, query.raw, ctx),
    tlds: TLDS,
    minTtl: ctx.minTtl,
    maxTtl: ctx.maxTtl,
    log: (line) => ctx.log(`relay: ${line}`),
  };
}

/** Handles a request to `/dns-query`. Never throws. */
export async function handleDoh(req: IncomingMessage, res: ServerResponse, query: string, ctx: RelayContext): Promise<void> {
  ctx.stats.dohQueries += 1;
  const raw = await readQuery(req, res, query);
  if (raw === null) return;
  const outcome = await answerDnsMessage(raw, environment(req, ctx), { maxBytes: MAX_MESSAGE_BYTES, minimalAny: false });
  if (outcome.kind === 'malformed') return sendText(res, 400, `Bad Request: malformed DNS message: ${outcome.reason}`);
  if (outcome.kind === 'rate-limited') return sendText(res, 429, 'Too many requests to DHT nodes', { 'Retry-After': outcome.retryAfter });
  sendDns(res, outcome.message, outcome.maxAge);
}
