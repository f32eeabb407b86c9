/**
 * Target `dns-server`: the DNS answering core (sidecar/src/dns/answer.ts) as plain DNS over UDP and
 * over TCP would run it, on mutated queries: questions for names under the corpus keys (every
 * record set, `<key>.key`, wildcards, CNAME chains, ANY/unknown types, odd classes), with and
 * without EDNS (sizes, versions), forwarded names, and bit flips, splices, count lies and random
 * bytes of those. Packets come from the corpus' signed packets (verified when signed); forwarding
 * answers from a canned in-memory upstream.
 *
 * One corpus key's packet is served stale (RFC 8767): its answers must carry TTLs ≤ 30 s.
 *
 * Oracles: the core never throws; asked twice, it answers the same bytes (the second from its reply
 * cache); a reply decodes as DNS (dns-packet), has the query's ID and QR
 * set, and is no longer than the transport allows (UDP: the client's size, at most 1232, and at
 * most 10× the query; TC set whenever the full answer did not fit); a FORMERR is the 12-byte
 * header with the query's ID; a message without a header gets nothing.
 */
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import type { PublicKey } from '../../sidecar/src/core/keys.ts';
import type { SignedPacket } from '../../sidecar/src/core/signed-packet.ts';
import { answerDnsMessage, type AnswerEnvironment, type KeyLookup } from '../../sidecar/src/dns/answer.ts';
import { pkarrNameOf } from '../../sidecar/src/dns/pkarr-name.ts';
import { AMPLIFICATION_RATIO, udpLimit } from '../../sidecar/src/dns/query-handler.ts';
import { encodeReply, MAX_MESSAGE_BYTES, parseQuery } from '../../sidecar/src/dns/reply.ts';
import { mapDnsFields } from '../dns-fields.ts';
import { packetSeeds } from '../corpus.ts';
import { FindingError, hexPreview, type FuzzTarget, type Outcome } from '../harness.ts';
import { mutateBytes, type ByteSeed } from '../mutators.ts';

const TYPES = ['A', 'AAAA', 'TXT', 'CNAME', 'NS', 'SRV', 'UNKNOWN_64', 'UNKNOWN_65', 'ANY', 'MX', 'SOA', 'UNKNOWN_99', 'UNKNOWN_65400'];
const PREFIXES = ['', '_lobby.', 'www.', 'missing.', 'a.b.wild.', '*.', 'ent.', '_s._tcp.', 'x.y.z.'];
const OTHER_NAMES = ['example.com', 'com', '', 'localhost', 'a'.repeat(63), `${'b'.repeat(60)}.key`];

function seedQueries(keys: readonly PublicKey[]): ByteSeed[] {
  const out: Uint8Array[] = [];
  let id = 1;
  for (const key of keys) {
    for (const prefix of PREFIXES) {
      for (const type of TYPES) {
        for (const suffix of ['', '.key', '.KEY.']) {
          const edns = id % 3 === 0 ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: [512, 1232, 4096, 0][id % 4], extendedRcode: 0, ednsVersion: id % 17 === 0 ? 1 : 0, flags: 0, flag_do: id % 2 === 0, options: [] } as Answer];
          const packet: Packet = { type: 'query', id: id++, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name: `${prefix}${key.z32}${suffix}`, class: id % 11 === 0 ? 'CH' : 'IN' }], additionals: edns };
          out.push(new Uint8Array(dnsPacket.encode(packet)));
        }
      }
    }
  }
  for (const name of OTHER_NAMES) out.push(new Uint8Array(dnsPacket.encode({ type: 'query', id: id++, questions: [{ type: 'A', name }] })));
  return out.map((bytes) => ({ bytes, fields: mapDnsFields(bytes) }));
}

function rcodeOf(message: Buffer): number {
  return (message[3] ?? 0) & 0xf;
}

export function dnsServerTarget(): FuzzTarget<Uint8Array> {
  let corpus: ByteSeed[] = [];
  const packets = new Map<string, SignedPacket>();
  let staleKey = '';
  const env: AnswerEnvironment = {
    async lookup(key: PublicKey): Promise<KeyLookup> {
      const packet = packets.get(key.z32);
      if (packet === undefined) return { kind: 'unresolved', reason: 'not found' };
      // One key's packet is served stale (RFC 8767 path: TTLs capped at 30 s).
      return key.z32 === staleKey ? { kind: 'found', packet, stale: true } : { kind: 'found', packet };
    },
    async forward(query) {
      const name = query.questions[0]?.name ?? '';
      const answers: Answer[] = name.length % 2 === 0 ? [{ type: 'A', name, ttl: 60, data: '192.0.2.1' }] : [];
      return { message: encodeReply(query, { rcode: answers.length === 0 ? 3 : 0, answers }), maxAge: 60 };
    },
    tlds: new Set(['key']),
    minTtl: 300,
    maxTtl: 86_400,
    log: () => {},
  };

  async function check(input: Uint8Array, udp: boolean): Promise<string> {
    const outcome = await answerDnsMessage(input, env, { maxBytes: udp ? udpLimit : MAX_MESSAGE_BYTES, minimalAny: udp });
    const again = await answerDnsMessage(input, env, { maxBytes: udp ? udpLimit : MAX_MESSAGE_BYTES, minimalAny: udp });
    const bytes = (o: typeof outcome): string => (o.kind === 'reply' ? o.message : o.kind === 'rate-limited' ? o.refused : o.formErr)?.toString('hex') ?? 'none';
    if (bytes(outcome) !== bytes(again)) throw new FindingError('a repeated query (reply cache) got another reply');
    if (outcome.kind === 'malformed') {
      const f = outcome.formErr;
      if (input.length < 12 || ((input[2] ?? 0) & 0x80) !== 0) {
        if (f !== null) throw new FindingError('FORMERR sent for a message without a query header');
      } else if (f === null || f.length !== 12 || f[0] !== input[0] || f[1] !== input[1] || rcodeOf(f) !== 1) {
        throw new FindingError(`bad FORMERR ${f?.toString('hex') ?? 'null'}`);
      }
      return 'malformed';
    }
    const message = outcome.kind === 'reply' ? outcome.message : outcome.refused;
    const query = parseQuery(input); // it parsed inside the core, so it parses here
    const q = query.questions[0];
    const pkarrKey = q !== undefined && (q.class === undefined || q.class === 'IN' || q.class === 'ANY') ? pkarrNameOf(q.name, env.tlds)?.key.z32 : undefined;
    if (outcome.kind === 'reply' && pkarrKey === staleKey) {
      for (const r of [...(dnsPacket.decode(outcome.message).answers ?? [])]) {
        if ('ttl' in r && typeof r.ttl === 'number' && r.ttl > 30) throw new FindingError(`stale answer with TTL ${r.ttl}`);
      }
    }
    const limit = udp ? udpLimit(query) : MAX_MESSAGE_BYTES;
    if (message.length > limit) throw new FindingError(`reply of ${message.length} bytes over the ${limit}-byte limit`);
    if (udp && message.length > AMPLIFICATION_RATIO * input.length) throw new FindingError(`UDP reply ${message.length} bytes for a ${input.length}-byte query`);
    let decoded;
    try {
      decoded = dnsPacket.decode(message);
    } catch (err) {
      throw new FindingError(`reply does not decode: ${(err as Error).message}`);
    }
    if (decoded.id !== query.id || decoded.type !== 'response') throw new FindingError('reply has another ID or no QR bit');
    return rcodeOf(message) === 0 ? (decoded.flag_tc ? 'TC' : 'NOERROR') : `RCODE${rcodeOf(message)}`;
  }

  return {
    name: 'dns-server',
    about: 'answerDnsMessage (plain DNS over UDP and TCP, DoH): mutated queries for corpus keys (.key TLD, wildcards, CNAME, ANY, EDNS), forwarded names, random bytes',
    allowedCodes: new Set(),
    async setup() {
      for (const { packet } of packetSeeds()) {
        const held = packets.get(packet.publicKey.z32);
        if (held === undefined || packet.records.length > held.records.length) packets.set(packet.publicKey.z32, packet);
      }
      corpus = seedQueries([...packets.values()].map((p) => p.publicKey));
      staleKey = [...packets.keys()].at(-1) ?? '';
    },
    generate(rng) {
      return mutateBytes(rng, rng.pick(corpus), corpus, 600);
    },
    async execute(input): Promise<Outcome> {
      const udp = await check(input, true);
      const tcp = await check(input, false);
      return udp === 'NOERROR' && tcp === 'NOERROR' ? { accepted: true } : { accepted: false, code: `udp:${udp}/tcp:${tcp}` };
    },
    show: hexPreview,
  };
}
