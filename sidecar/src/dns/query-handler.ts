/**
 * What plain DNS does with one message from one client, for both transports: the per-client-IP
 * query quota, the answering core (answer.ts) with the client's DHT quota, the UDP size limit
 * against amplification, and the counters.
 *
 * UDP size limit: the client's EDNS size capped at 1232 (512 without EDNS), and never more than
 * {@link AMPLIFICATION_RATIO} times the query's own size. A larger answer is sent as an empty TC
 * reply (header, question, OPT: about the query's size), and the client retries over TCP, where
 * the handshake proves its address. ANY over UDP gets one RRset (RFC 8482).
 *
 * Ordinary names are forwarded only for loopback and private sources (no open resolver).
 *
 * Over UDP, a message without a DNS header, a response (QR set), and a client over its query
 * quota are dropped (an answer could be reflected at a spoofed address); over TCP the quota is
 * answered REFUSED. A header with an undecodable body is answered FORMERR on both.
 */
import { BlockList, isIP } from 'node:net';
import type { PublicKey } from '../core/keys.ts';
import type { RateLimiter } from '../util/rate-limiter.ts';
import { answerDnsMessage, type AnswerEnvironment, type KeyLookup } from './answer.ts';
import type { Forwarder } from './forwarder.ts';
import { CLASSIC_UDP_SIZE, EDNS_UDP_SIZE, MAX_MESSAGE_BYTES, formErrFor, parseQuery, rcodeReply, type DnsQuery } from './reply.ts';

/**
 * Sources whose ordinary names are forwarded: loopback, private (RFC 1918, RFC 4193), CGNAT and
 * link-local. Anyone else gets REFUSED for them, so a server listening on a public address is no
 * open resolver; pkarr names are answered for everyone.
 */
const FORWARD_SOURCES = ((): BlockList => {
  const list = new BlockList();
  for (const [net, bits] of [['127.0.0.0', 8], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['169.254.0.0', 16]] as const) list.addSubnet(net, bits, 'ipv4');
  for (const [net, bits] of [['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) list.addSubnet(net, bits, 'ipv6');
  return list;
})();

/** True when ordinary names from `client` may be forwarded (see FORWARD_SOURCES). */
export function mayForwardFor(client: string): boolean {
  const family = isIP(client);
  return family !== 0 && FORWARD_SOURCES.check(client, family === 4 ? 'ipv4' : 'ipv6');
}

/** A UDP answer is at most this many times larger than the query that asked for it. */
export const AMPLIFICATION_RATIO = 10;

export type Transport = 'udp' | 'tcp';

/** Counters of the DNS server. */
export class DnsStats {
  queries = 0;
  udp = 0;
  tcp = 0;
  answered = 0;
  forwarded = 0;
  truncated = 0;
  formErr = 0;
  dropped = 0;
  rateLimited = 0;
  dhtRateLimited = 0;
  readonly rcodes: Record<string, number> = {};
}

export interface QueryHandlerOptions {
  lookup(key: PublicKey, chargeDht: () => number): Promise<KeyLookup>;
  forwarder: Forwarder | null;
  limiter: RateLimiter | null;
  dhtLimiter: RateLimiter | null;
  tlds: ReadonlySet<string>;
  minTtl: number;
  maxTtl: number;
  stats: DnsStats;
  log(line: string): void;
}

/** The largest UDP answer for `query` (see the module doc). */
export function udpLimit(query: DnsQuery): number {
  const client = query.edns ? Math.min(EDNS_UDP_SIZE, query.udpSize) : CLASSIC_UDP_SIZE;
  return Math.min(client, AMPLIFICATION_RATIO * query.raw.length);
}

export class QueryHandler {
  readonly #o: QueryHandlerOptions;

  constructor(options: QueryHandlerOptions) {
    this.#o = options;
  }

  /** The reply to send to `client` for `raw`, or null to send nothing. Never throws. */
  async handle(raw: Uint8Array, client: string, transport: Transport): Promise<Buffer | null> {
    const { stats } = this.#o;
    stats.queries += 1;
    stats[transport] += 1;
    const udp = transport === 'udp';
    if (raw.length < 12 || (udp && ((raw[2] ?? 0) & 0x80) !== 0)) {
      stats.dropped += 1;
      return null;
    }
    if (this.#o.limiter !== null && this.#o.limiter.take(client) > 0) {
      stats.rateLimited += 1;
      if (udp) return null;
      try {
        return rcodeReply(parseQuery(raw), 'REFUSED');
      } catch {
        return formErrFor(raw);
      }
    }
    const outcome = await answerDnsMessage(raw, this.#environment(client), { maxBytes: udp ? udpLimit : MAX_MESSAGE_BYTES, minimalAny: udp });
    if (outcome.kind === 'malformed') {
      stats.formErr += 1;
      return outcome.formErr;
    }
    if (outcome.kind === 'rate-limited') {
      stats.dhtRateLimited += 1;
      return outcome.refused;
    }
    const message = outcome.message;
    if (((message[2] ?? 0) & 0x02) !== 0) stats.truncated += 1;
    const rcode = outcome.rcode === 'OTHER' ? `RCODE${(message[3] ?? 0) & 0xf}` : outcome.rcode;
    stats.rcodes[rcode] = (stats.rcodes[rcode] ?? 0) + 1;
    stats.answered += 1;
    return message;
  }

  #environment(client: string): AnswerEnvironment {
    const o = this.#o;
    const chargeDht = (): number => (o.dhtLimiter === null ? 0 : o.dhtLimiter.take(client));
    const forwarder = mayForwardFor(client) ? o.forwarder : null;
    return {
      lookup: (key) => o.lookup(key, chargeDht),
      forward: forwarder === null ? null : (query) => {
        o.stats.forwarded += 1;
        return forwarder.forward(query);
      },
      tlds: o.tlds,
      minTtl: o.minTtl,
      maxTtl: o.maxTtl,
      log: o.log,
    };
  }
}
