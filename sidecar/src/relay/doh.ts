/**
 * DNS-over-HTTPS (RFC 8484) at `/dns-query`: `GET ?dns=<base64url>` and `POST` with
 * `Content-Type: application/dns-message` (body ≤ 4096 bytes, 413 above; 415 for another type).
 *
 * A question whose last label is a pkarr key (`<z32>`, `_lobby.<z32>`, …) is answered from the
 * key's signed packet, resolved like `GET /<key>` with CacheFirst (store, then DHT; the DHT quota
 * applies and a spent quota gives HTTP 429). See doh-answer.ts for the DNS semantics. The key cannot
 * be resolved (not on the DHT, DHT unavailable) → SERVFAIL.
 *
 * Any other name → REFUSED, unless an upstream DoH server is configured (`--doh-upstream URL`):
 * then the raw query is POSTed there and its answer relayed unchanged (SERVFAIL if it fails).
 *
 * Responses are `application/dns-message` with `Cache-Control: max-age=<smallest answer TTL>`
 * (negative answers: the relay's minimum TTL; SERVFAIL/REFUSED: 0). Malformed messages → HTTP 400;
 * more than one question → FORMERR; an opcode other than QUERY → NOTIMP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import dnsPacket, { type Answer, type DecodedPacket, type Question } from 'dns-packet';
import dnsTypes from 'dns-packet/types.js';
import { PublicKey } from '../core/keys.ts';
import { answerFromPacket, minTtl } from './doh-answer.ts';
import { readBody, sendMethodNotAllowed, sendText, sendTooLarge } from './http-util.ts';
import { chargeDht, type RelayContext } from './relay-context.ts';
import { timeoutSignal } from './timeout-signal.ts';

export const DOH_PATH = '/dns-query';
export const DOH_BODY_LIMIT = 4096;
export const DNS_MESSAGE_TYPE = 'application/dns-message';
const UPSTREAM_TIMEOUT_MS = 5000;
const MAX_UPSTREAM_RESPONSE = 65_535;

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type Rcode = keyof typeof RCODES;

interface DnsReply {
  rcode: Rcode;
  answers: Answer[];
  authoritative: boolean;
  maxAge: number;
}

/** Rejects headers whose section counts cannot fit the message (dns-packet pre-allocates them). */
function plausibleHeader(raw: Buffer): boolean {
  if (raw.length < 12) return false;
  const qd = raw.readUInt16BE(4);
  const rest = raw.readUInt16BE(6) + raw.readUInt16BE(8) + raw.readUInt16BE(10);
  return 12 + 5 * qd + 11 * rest <= raw.length;
}

function encodeReply(query: DecodedPacket, reply: DnsReply): Buffer {
  const flags = (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0)
    | dnsPacket.RECURSION_AVAILABLE
    | (reply.authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0)
    | (query.flag_cd ? dnsPacket.CHECKING_DISABLED : 0)
    | RCODES[reply.rcode];
  const hasOpt = (query.additionals ?? []).some((a) => a.type === 'OPT');
  const additionals: Answer[] = hasOpt
    ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
    : [];
  return dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags, questions: query.questions ?? [], answers: reply.answers, additionals });
}

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
async function forward(upstream: string, raw: Buffer, ctx: RelayContext): Promise<{ body: Buffer; cacheControl: string | null } | null> {
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
    return { body, cacheControl: response.headers.get('cache-control') };
  } catch (err) {
    ctx.log(`relay: DoH upstream failed: ${(err as Error).message}`);
    return null;
  } finally {
    dispose();
  }
}

/** The pkarr key a question name ends in, or null for an ordinary DNS name. */
export function keyOfName(name: string): PublicKey | null {
  const labels = name.replace(/\.$/, '').split('.');
  const last = labels[labels.length - 1]?.toLowerCase() ?? '';
  return last.length === 52 ? PublicKey.tryParse(last) : null;
}

async function answerPkarr(req: IncomingMessage, res: ServerResponse, question: Question, key: PublicKey, ctx: RelayContext): Promise<DnsReply | null> {
  const outcome = await ctx.resolver.resolve(key, 'CacheFirst', () => chargeDht(ctx, req));
  if (outcome.kind === 'rate-limited') {
    sendText(res, 429, 'Too many requests to DHT nodes', { 'Retry-After': outcome.retryAfter });
    return null;
  }
  if (outcome.kind !== 'found') return { rcode: 'SERVFAIL', answers: [], authoritative: false, maxAge: 0 };
  ctx.republisher?.hit(outcome.entry);
  try {
    const qtype = dnsTypes.toType(question.type);
    const { rcode, answers } = answerFromPacket(outcome.entry.packet, question.name, qtype);
    return { rcode, answers, authoritative: true, maxAge: minTtl(answers) ?? ctx.minTtl };
  } catch (err) {
    ctx.log(`relay: cannot answer DoH from the packet of ${key.z32}: ${(err as Error).message}`);
    return { rcode: 'SERVFAIL', answers: [], authoritative: false, maxAge: 0 };
  }
}

/** Handles a request to `/dns-query`. Never throws. */
export async function handleDoh(req: IncomingMessage, res: ServerResponse, query: string, ctx: RelayContext): Promise<void> {
  ctx.stats.dohQueries += 1;
  const raw = await readQuery(req, res, query);
  if (raw === null) return;
  if (!plausibleHeader(raw)) return sendText(res, 400, 'Bad Request: malformed DNS message');
  let message: DecodedPacket;
  try {
    message = dnsPacket.decode(raw);
  } catch (err) {
    return sendText(res, 400, `Bad Request: malformed DNS message: ${(err as Error).message}`);
  }
  const opcode = ((raw[2] ?? 0) >> 3) & 0xf;
  const questions = message.questions ?? [];
  const fail = (rcode: Rcode): void => sendDns(res, encodeReply(message, { rcode, answers: [], authoritative: false, maxAge: 0 }), 0);
  if (message.type !== 'query') return fail('FORMERR');
  if (opcode !== 0) return fail('NOTIMP');
  const question = questions[0];
  if (question === undefined || questions.length !== 1) return fail('FORMERR');
  const key = keyOfName(question.name);
  if (key === null || (question.class !== undefined && question.class !== 'IN' && question.class !== 'ANY')) {
    if (ctx.dohUpstream === null) return fail('REFUSED');
    const upstream = await forward(ctx.dohUpstream, raw, ctx);
    if (upstream === null) return fail('SERVFAIL');
    res.writeHead(200, { 'Content-Type': DNS_MESSAGE_TYPE, 'Cache-Control': upstream.cacheControl ?? 'max-age=0', 'Content-Length': upstream.body.length });
    res.end(upstream.body);
    return;
  }
  const reply = await answerPkarr(req, res, question, key, ctx);
  if (reply === null) return;
  sendDns(res, encodeReply(message, reply), reply.maxAge);
}
