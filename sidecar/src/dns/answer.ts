/**
 * The DNS answering core shared by plain DNS (UDP/TCP, server-udp.ts / server-tcp.ts) and the
 * relay's DNS-over-HTTPS (relay/doh.ts). Transport-independent: bytes in, bytes out.
 *
 * - Not a decodable DNS message → `malformed` (plain DNS answers FORMERR when there is a header,
 *   DoH answers HTTP 400). A response (QR set) → FORMERR; an opcode other than QUERY → NOTIMP;
 *   not exactly one question → FORMERR.
 * - Class IN/ANY under a pkarr key (pkarr-name.ts: `<z32>`, `_lobby.<z32>`, `<z32>.<tld>`) →
 *   answered from the key's verified packet (packet-answer.ts), authoritative, TTLs capped at the
 *   maximum TTL. A negative answer (NXDOMAIN, or NOERROR without answers) carries a synthesised SOA
 *   for the key's zone with the minimum TTL (RFC 2308 negative caching); that SOA is also the answer
 *   to an SOA question at the key (unless the packet has one). The key cannot be resolved
 *   → SERVFAIL; the DHT quota is spent → `rate-limited`.
 * - Every other name → the environment's forwarder, REFUSED without one, SERVFAIL when it fails.
 * - The reply fits `maxBytes` or is truncated (TC); `maxAge` is what an HTTP cache may keep it:
 *   the smallest answer TTL, the minimum TTL for negative answers, 0 for errors.
 * - Replies from a packet are kept encoded with the packet (a WeakMap: they go with it), keyed by
 *   the question as spelled, flags, EDNS and limits; a repeated question only gets its ID patched.
 */
import type { Answer } from 'dns-packet';
import dnsTypes from 'dns-packet/types.js';
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import { answerFromPacket } from './packet-answer.ts';
import { pkarrNameOf, type PkarrName } from './pkarr-name.ts';
import { encodeReply, fitReply, minTtl, parseQuery, rcodeReply, formErrFor, type DnsQuery, type Rcode } from './reply.ts';

/** How the environment found a key's packet. */
export type KeyLookup =
  /** `stale`: an expired packet served because the network had nothing (RFC 8767): TTLs ≤ 30 s. */
  | { kind: 'found'; packet: SignedPacket; stale?: boolean }
  /** Not found, DHT unavailable, lookup failed: SERVFAIL. */
  | { kind: 'unresolved'; reason: string }
  | { kind: 'rate-limited'; retryAfter: number };

/** A forwarded answer, already addressed to the query (its ID, its question). */
export interface Forwarded {
  message: Buffer;
  maxAge: number;
}

/** What the core needs from its host. */
export interface AnswerEnvironment {
  lookup(key: PublicKey): Promise<KeyLookup>;
  /** Forwards an ordinary question; null when forwarding is off (REFUSED). Resolves null on failure. */
  forward: ((query: DnsQuery) => Promise<Forwarded | null>) | null;
  /** Lower-case pseudo-TLDs accepted after a key. */
  tlds: ReadonlySet<string>;
  minTtl: number;
  maxTtl: number;
  log(line: string): void;
}

/** Per-query options of the transport. */
export interface AnswerOptions {
  /** Largest reply allowed (or how to compute it from the query); larger ones become TC replies. */
  maxBytes: number | ((query: DnsQuery) => number);
  /** ANY answers only the first RRset at a name (RFC 8482); for UDP. */
  minimalAny: boolean;
}

export type AnswerOutcome =
  | { kind: 'reply'; message: Buffer; maxAge: number; rcode: Rcode | 'OTHER' }
  /** Not a DNS message; `formErr` is the FORMERR to send, null when nothing should be sent. */
  | { kind: 'malformed'; reason: string; formErr: Buffer | null }
  /** The DHT quota is spent; `refused` is the REFUSED reply for transports without a better signal. */
  | { kind: 'rate-limited'; retryAfter: number; refused: Buffer };

const CLASS_OK = new Set(['IN', 'ANY', undefined]);
const TYPE_SOA = 6;
/** TTL of answers from a stale packet (RFC 8767 §4 recommends 30 s). */
export const STALE_TTL = 30;

function reply(message: Buffer, maxAge: number, rcode: Rcode | 'OTHER'): AnswerOutcome {
  return { kind: 'reply', message, maxAge, rcode };
}

/** The SOA a negative answer carries for a key's zone (serial: the packet's timestamp in seconds). */
function zoneSoa(zone: string, packet: SignedPacket, ttl: number): Answer {
  return {
    type: 'SOA', name: zone, ttl,
    data: {
      mname: zone, rname: `hostmaster.${zone}`, serial: Number((packet.timestamp / 1_000_000n) % 0x1_0000_0000n),
      refresh: ttl, retry: ttl, expire: ttl, minimum: ttl,
    },
  } as Answer;
}

function capTtl(answer: Answer, maxTtl: number): Answer {
  return 'ttl' in answer && typeof answer.ttl === 'number' && answer.ttl > maxTtl ? { ...answer, ttl: maxTtl } as Answer : answer;
}

interface Resolved {
  maxBytes: number;
  minimalAny: boolean;
}

/** Encoded replies per packet (ID 0), by everything else they depend on; see replyKey. */
const replies = new WeakMap<SignedPacket, Map<string, { message: Buffer; maxAge: number; rcode: Rcode }>>();
const REPLIES_PER_PACKET = 256;

/** What a pkarr reply depends on besides the packet and the ID: the exact question bytes' meaning, flags, EDNS, limits. */
function replyKey(query: DnsQuery, env: AnswerEnvironment, options: Resolved): string {
  const q = query.questions[0]!;
  const m = query.message;
  return `${q.name}|${q.type}|${q.class ?? ''}|${m.flag_rd ? 1 : 0}${m.flag_cd ? 1 : 0}${query.edns ? 1 : 0}${options.minimalAny ? 1 : 0}|${options.maxBytes}|${env.minTtl}|${env.maxTtl}`;
}

async function answerPkarr(query: DnsQuery, name: PkarrName, env: AnswerEnvironment, options: Resolved): Promise<AnswerOutcome> {
  const lookup = await env.lookup(name.key);
  if (lookup.kind === 'rate-limited') return { kind: 'rate-limited', retryAfter: lookup.retryAfter, refused: rcodeReply(query, 'REFUSED', options.maxBytes) };
  if (lookup.kind === 'unresolved') return reply(rcodeReply(query, 'SERVFAIL', options.maxBytes), 0, 'SERVFAIL');
  let cache = replies.get(lookup.packet);
  const stale = lookup.stale === true;
  const key = `${replyKey(query, env, options)}|${stale ? 1 : 0}`;
  const hit = cache?.get(key);
  if (hit !== undefined) {
    const message = Buffer.from(hit.message);
    message.writeUInt16BE(query.id, 0);
    return reply(message, hit.maxAge, hit.rcode);
  }
  const ttls = stale ? { minTtl: Math.min(env.minTtl, STALE_TTL), maxTtl: Math.min(env.maxTtl, STALE_TTL) } : env;
  const outcome = answerFromRecords(query, name, lookup.packet, { ...env, ...ttls }, options);
  if (outcome.kind === 'reply' && outcome.rcode !== 'SERVFAIL') {
    if (cache === undefined) replies.set(lookup.packet, cache = new Map());
    if (cache.size >= REPLIES_PER_PACKET) cache.clear();
    const stored = Buffer.from(outcome.message);
    stored.writeUInt16BE(0, 0);
    cache.set(key, { message: stored, maxAge: outcome.maxAge, rcode: outcome.rcode as Rcode });
  }
  return outcome;
}

function answerFromRecords(query: DnsQuery, name: PkarrName, packet: SignedPacket, env: AnswerEnvironment, options: Resolved): AnswerOutcome {
  const question = query.questions[0]!;
  try {
    const qtype = dnsTypes.toType(question.type);
    const found = answerFromPacket(packet, question.name, qtype, { suffixLength: name.suffixLength, minimalAny: options.minimalAny });
    const answers = found.answers.map((a) => capTtl(a, env.maxTtl));
    const apex = question.name.replace(/\.$/, '') === name.zone;
    if (answers.length === 0 && found.rcode === 'NOERROR' && qtype === TYPE_SOA && apex) answers.push(zoneSoa(name.zone, packet, env.minTtl));
    const negative = answers.length === 0;
    const authorities = negative ? [zoneSoa(name.zone, packet, env.minTtl)] : [];
    const message = encodeReply(query, { rcode: found.rcode, answers, authorities, authoritative: true }, options.maxBytes);
    return reply(message, minTtl(answers) ?? env.minTtl, found.rcode);
  } catch (err) {
    env.log(`dns: cannot answer from the packet of ${name.key.z32}: ${(err as Error).message}`);
    return reply(rcodeReply(query, 'SERVFAIL', options.maxBytes), 0, 'SERVFAIL');
  }
}

/** Answers one DNS message (see the module doc). Never throws. */
export async function answerDnsMessage(raw: Uint8Array, env: AnswerEnvironment, answerOptions: AnswerOptions): Promise<AnswerOutcome> {
  let query: DnsQuery;
  try {
    query = parseQuery(raw);
  } catch (err) {
    return { kind: 'malformed', reason: (err as Error).message, formErr: formErrFor(raw) };
  }
  const limit = answerOptions.maxBytes;
  const options: Resolved = { maxBytes: typeof limit === 'number' ? limit : limit(query), minimalAny: answerOptions.minimalAny };
  try {
    const fail = (rcode: Rcode): AnswerOutcome => reply(rcodeReply(query, rcode, options.maxBytes), 0, rcode);
    if (!query.isQuery) return fail('FORMERR');
    if (query.opcode !== 0) return fail('NOTIMP');
    const question = query.questions[0];
    if (question === undefined || query.questions.length !== 1) return fail('FORMERR');
    if (query.ednsVersion !== 0) return fail('NOERROR'); // BADVERS, set in the OPT by encodeReply
    const name = CLASS_OK.has(question.class) ? pkarrNameOf(question.name, env.tlds) : null;
    if (name !== null) return await answerPkarr(query, name, env, options);
    if (env.forward === null) return fail('REFUSED');
    const forwarded = await env.forward(query);
    if (forwarded === null) return fail('SERVFAIL');
    const message = Buffer.from(forwarded.message);
    message.writeUInt16BE(query.id, 0);
    return reply(fitReply(query, message, options.maxBytes), forwarded.maxAge, 'OTHER');
  } catch (err) {
    // dns-packet can throw while encoding what it decoded (odd names): never a crash.
    env.log(`dns: cannot answer a query: ${(err as Error).message}`);
    try {
      return reply(rcodeReply(query, 'SERVFAIL', options.maxBytes), 0, 'SERVFAIL');
    } catch {
      return { kind: 'malformed', reason: (err as Error).message, formErr: formErrFor(raw) };
    }
  }
}
