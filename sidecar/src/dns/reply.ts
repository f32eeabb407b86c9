/**
 * Parsing DNS queries and building replies for the answering core (answer.ts), shared by plain
 * DNS (UDP/TCP) and DNS-over-HTTPS.
 *
 * - A query is parsed with dns-packet after a cheap header check (section counts that cannot fit
 *   the message are refused before dns-packet pre-allocates them).
 * - Replies copy the query's ID, opcode, RD and CD, set RA, echo the question, and carry an OPT
 *   record (our UDP size {@link EDNS_UDP_SIZE}) exactly when the query had one. An EDNS version
 *   other than 0 is answered BADVERS (RFC 6891 §6.1.3).
 * - A reply longer than the transport allows is replaced by an empty one with the TC bit
 *   (RFC 1035 §4.1.1, RFC 7766): the client retries over TCP.
 * - FORMERR for a message with a header but no decodable body is the 12-byte header alone.
 */
import dnsPacket, { type Answer, type DecodedPacket, type Question } from 'dns-packet';

/** The UDP payload size we advertise and the largest we ever send (RFC 9715 / DNS flag day 2020). */
export const EDNS_UDP_SIZE = 1232;
/** Classic DNS limit for a client without EDNS. */
export const CLASSIC_UDP_SIZE = 512;
/** A DNS message is at most this long (TCP length prefix, DoH). */
export const MAX_MESSAGE_BYTES = 65_535;
export const HEADER_BYTES = 12;

export const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof RCODES;
/** BADVERS is extended rcode 16: 0 in the header, 1 in the OPT's upper bits. */
const BADVERS_UPPER = 1;

/** A decoded query with what the reply needs from it. */
export interface DnsQuery {
  raw: Uint8Array;
  message: DecodedPacket;
  id: number;
  opcode: number;
  /** QR clear. */
  isQuery: boolean;
  questions: Question[];
  /** The query carried an OPT record. */
  edns: boolean;
  ednsVersion: number;
  /** The client's UDP payload size (512 without EDNS), not yet capped. */
  udpSize: number;
}

/** Rejects headers whose section counts cannot fit the message (dns-packet pre-allocates them). */
export function plausibleHeader(raw: Uint8Array): boolean {
  if (raw.length < HEADER_BYTES) return false;
  const u16 = (at: number): number => ((raw[at] ?? 0) << 8) | (raw[at + 1] ?? 0);
  return HEADER_BYTES + 5 * u16(4) + 11 * (u16(6) + u16(8) + u16(10)) <= raw.length;
}

/** dns-packet's name codec (not in @types/dns-packet). */
const nameCodec = (dnsPacket as unknown as { name: { encode(name: string): Buffer; decode(wire: Buffer): string } }).name;

/**
 * Throws unless `name` (as dns-packet decoded it) encodes back to a valid wire name that decodes to
 * the same text: dns-packet's decoder accepts label types and bytes (reserved label bits, invalid
 * UTF-8) that its encoder cannot write back, and a reply echoing such a question would not be DNS.
 */
function checkQuestionName(name: string): void {
  const wire = nameCodec.encode(name);
  let ok = wire.length <= 255;
  for (let at = 0; ok && at < wire.length && wire[at] !== 0; at += 1 + (wire[at] ?? 0)) ok = (wire[at] ?? 0) <= 63;
  if (!ok || nameCodec.decode(wire) !== name) throw new Error('question name cannot be echoed');
}

/** Decodes a query; throws an Error with the reason when it is not a decodable DNS message. */
export function parseQuery(raw: Uint8Array): DnsQuery {
  if (!plausibleHeader(raw)) throw new Error(raw.length < HEADER_BYTES ? 'shorter than a DNS header' : 'section counts do not fit the message');
  const message = dnsPacket.decode(Buffer.from(raw.buffer, raw.byteOffset, raw.length));
  for (const q of message.questions ?? []) checkQuestionName(q.name);
  const opt = (message.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number; ednsVersion?: number } | undefined;
  return {
    raw,
    message,
    id: message.id ?? 0,
    opcode: ((raw[2] ?? 0) >> 3) & 0xf,
    isQuery: ((raw[2] ?? 0) & 0x80) === 0,
    questions: message.questions ?? [],
    edns: opt !== undefined,
    ednsVersion: opt?.ednsVersion ?? 0,
    udpSize: opt === undefined ? CLASSIC_UDP_SIZE : Math.max(CLASSIC_UDP_SIZE, opt.udpPayloadSize ?? CLASSIC_UDP_SIZE),
  };
}

/** What goes into a reply besides the echoed question. */
export interface ReplyContent {
  rcode: Rcode | number;
  answers?: Answer[];
  authorities?: Answer[];
  additionals?: Answer[];
  authoritative?: boolean;
  truncated?: boolean;
}

function optRecord(query: DnsQuery): Answer {
  const extendedRcode = query.ednsVersion !== 0 ? BADVERS_UPPER : 0;
  return { type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as Answer;
}

/** Encodes a reply to `query` (see the module doc); TC and empty sections when over `maxBytes`. */
export function encodeReply(query: DnsQuery, content: ReplyContent, maxBytes: number = MAX_MESSAGE_BYTES): Buffer {
  const rcode = typeof content.rcode === 'number' ? content.rcode : RCODES[content.rcode];
  const m = query.message;
  const flags = (query.opcode << 11)
    | (m.flag_rd ? dnsPacket.RECURSION_DESIRED : 0)
    | dnsPacket.RECURSION_AVAILABLE
    | (content.authoritative === true ? dnsPacket.AUTHORITATIVE_ANSWER : 0)
    | (m.flag_cd ? dnsPacket.CHECKING_DISABLED : 0)
    | (content.truncated === true ? dnsPacket.TRUNCATED_RESPONSE : 0)
    | (rcode & 0xf);
  const additionals = [...(content.additionals ?? []), ...(query.edns ? [optRecord(query)] : [])];
  const body = dnsPacket.encode({
    type: 'response', id: query.id, flags, questions: query.questions,
    answers: content.answers ?? [], authorities: content.authorities ?? [], additionals,
  });
  if (body.length <= maxBytes || content.truncated === true) return body;
  return encodeReply(query, { rcode, authoritative: content.authoritative ?? false, truncated: true }, maxBytes);
}

/** A reply with only an rcode (REFUSED, SERVFAIL, …). */
export function rcodeReply(query: DnsQuery, rcode: Rcode, maxBytes?: number): Buffer {
  return encodeReply(query, { rcode }, maxBytes);
}

/**
 * Fits an already encoded reply (a forwarded one) into `maxBytes`: as is when it fits, otherwise
 * an empty reply with TC and the same rcode.
 */
export function fitReply(query: DnsQuery, reply: Buffer, maxBytes: number): Buffer {
  if (reply.length <= maxBytes) return reply;
  return encodeReply(query, { rcode: (reply[3] ?? 0) & 0xf, truncated: true }, maxBytes);
}

/**
 * FORMERR for a message that has a DNS header but no decodable body: the header with QR, the
 * query's ID, opcode and RD, rcode 1 and all counts 0. Null for a message shorter than a header,
 * or one that is itself a response (answering it could loop between two servers).
 */
export function formErrFor(raw: Uint8Array): Buffer | null {
  if (raw.length < HEADER_BYTES || ((raw[2] ?? 0) & 0x80) !== 0) return null;
  const out = Buffer.alloc(HEADER_BYTES);
  out[0] = raw[0] ?? 0;
  out[1] = raw[1] ?? 0;
  out[2] = 0x80 | ((raw[2] ?? 0) & 0x79); // QR, opcode, RD
  out[3] = 0x80 | RCODES.FORMERR; // RA
  return out;
}

/** The smallest TTL among `records` (OPT excluded), or null when there are none. */
export function minTtl(records: readonly Answer[]): number | null {
  let min: number | null = null;
  for (const a of records) {
    if (a.type === 'OPT') continue;
    const ttl = 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0;
    if (min === null || ttl < min) min = ttl;
  }
  return min;
}
