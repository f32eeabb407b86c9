/**
 * The valid vectors the fuzzer mutates: fixed keys and timestamps, record sets covering every
 * modelled type and every SvcParam, the pkarr packet vectors (JS 1.3.0's zero-seed packet, V1–V3
 * as in test/signed-packet.test.ts), DNS messages with question/authority/additional sections
 * written by dns-packet (uncompressed, other types), a lobby record, record text lines, key texts
 * and JSON-RPC requests. Deterministic: no clock, no randomness.
 */
import dnsPacket from 'dns-packet';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { formatRecordText } from '../sidecar/src/core/record-text.ts';
import type { DnsRecord } from '../sidecar/src/core/records.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { encodeLobby } from '../sidecar/src/lobby/lobby-record.ts';
import { mapDnsFields } from './dns-fields.ts';
import type { ByteSeed } from './mutators.ts';

const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** The zero-seed key (z32 8pinxx…), the key of pkarr's reference vectors. */
export const ZERO_KEY = Keypair.fromSeed(new Uint8Array(32));
/** Further fixed keys. */
export const KEYS: readonly Keypair[] = [ZERO_KEY, Keypair.fromSeed(new Uint8Array(32).fill(1)), Keypair.fromSeed(new Uint8Array(32).fill(0xa5))];
/** Spec timestamp 1697016827303000 µs. */
export const BASE_TIMESTAMP = 1697016827303000n;

/** The JS 1.3.0 reference packet's relay payload for the zero-seed key (uncompressed DNS). */
export const SPEC_RELAY_PAYLOAD = unhex('c45d1577e6c0d7fe24d1cd6696776a25628b438ffa10b1419dfdede3c51f8577d8447d44df4523fa43f574d6f13a65433fa828eb280065c271fcdcaef5365c010006076d852b5458000080000000000200000000343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00000100010000000000040101010103666f6f343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00001000010000001e000403626172');

/** A lobby as a host publishes it. */
export const LOBBY_RECORDS: DnsRecord[] = encodeLobby({
  game: 'com.example.tanks', gameVersion: '1.2.0', name: "Alice's room", players: 2, maxPlayers: 8, open: true,
  endpoints: [{ transport: 'enet', host: '203.0.113.7', port: 7777 }, { transport: 'quic', host: '2001:db8::7', port: 7778, alpn: ['h3'] }],
  custom: { mode: 'ctf', map: 'dunes' }, beaconPort: 41000,
});

/** Record sets (names relative to the signing key, as users write them). */
export const RECORD_SETS: readonly DnsRecord[][] = [
  [],
  [{ type: 'A', name: '.', ttl: 0, address: '1.1.1.1' }, { type: 'TXT', name: 'foo', ttl: 30, strings: ['bar'] }],
  [
    { type: 'A', name: '_derp_region.iroh.', ttl: 30, address: '1.1.1.1' },
    { type: 'TXT', name: '_foo', ttl: 30, strings: ['hello'] },
    { type: 'CNAME', name: 'www', ttl: 300, target: `_foo.${ZERO_KEY.publicKey.z32}` },
    { type: 'HTTPS', name: '.', ttl: 3600, priority: 0, target: 'https.example.com', params: [] },
  ],
  [
    { type: 'A', name: '@', ttl: 300, address: '203.0.113.7' },
    { type: 'AAAA', name: '@', ttl: 300, address: '2001:db8::1' },
    { type: 'AAAA', name: 'v6', ttl: 60, address: '::ffff:1.2.3.4' },
    { type: 'CNAME', name: 'www', ttl: 300, target: '@' },
    { type: 'NS', name: 'sub', ttl: 3600, target: 'ns1.example.com' },
    { type: 'TXT', name: '_txt', ttl: 60, strings: ['a', '', 'é ünïcødé', 'x'.repeat(255)] },
    { type: 'SRV', name: '_game._udp', ttl: 120, priority: 10, weight: 5, port: 7777, target: 'host' },
    { type: 'SRV', name: '*.wild', ttl: 120, priority: 0, weight: 0, port: 1, target: '.' },
  ],
  [
    {
      type: 'SVCB', name: '_enet', ttl: 60, priority: 1, target: '.', params: [
        { key: 'mandatory', keys: [1, 3] }, { key: 'alpn', protocols: ['h2', 'h3'] }, { key: 'no-default-alpn' },
        { key: 'port', port: 7777 }, { key: 'ipv4hint', addresses: ['1.2.3.4', '5.6.7.8'] },
        { key: 'ech', data: unhex('0004deadbeef') }, { key: 'ipv6hint', addresses: ['::1', '2001:db8::2'] },
        { key: 'unknown', code: 65000, data: unhex('c0ffee') },
      ],
    },
    { type: 'HTTPS', name: '@', ttl: 3600, priority: 2, target: 'svc.example.net', params: [{ key: 'port', port: 443 }] },
    { type: 'SVCB', name: '_alias', ttl: 60, priority: 0, target: 'other.example', params: [] },
  ],
  [
    { type: 'UNKNOWN', name: 'mx', ttl: 60, typeCode: 15, data: unhex('000a046d61696c076578616d706c6500') },
    { type: 'UNKNOWN', name: 'opaque', ttl: 60, typeCode: 99, data: unhex('00010203') },
    { type: 'UNKNOWN', name: 'empty', ttl: 60, typeCode: 4242, data: new Uint8Array(0) },
    { type: 'UNKNOWN', name: 'soa', ttl: 60, typeCode: 6, data: unhex('026e73076578616d706c650004686f7374000000000100000002000000030000000400000005') },
  ],
  LOBBY_RECORDS,
  // Close to the 1000-byte DNS limit.
  Array.from({ length: 9 }, (_, i): DnsRecord => ({ type: 'TXT', name: `_big${i}`, ttl: 60, strings: ['z'.repeat(80)] })),
];

/** A signed seed with the key that signed it. */
export interface PacketSeed {
  keypair: Keypair;
  packet: SignedPacket;
}

let packets: PacketSeed[] | null = null;

/** Every record set signed by every key (fixed timestamps), plus the JS 1.3.0 reference packet. */
export function packetSeeds(): PacketSeed[] {
  if (packets !== null) return packets;
  const out: PacketSeed[] = [];
  KEYS.forEach((keypair, k) => {
    RECORD_SETS.forEach((records, i) => {
      out.push({ keypair, packet: SignedPacket.sign(keypair, records, { timestamp: BASE_TIMESTAMP + BigInt(k * 1000 + i) }) });
    });
  });
  out.push({ keypair: ZERO_KEY, packet: SignedPacket.fromRelayPayload(ZERO_KEY.publicKey, SPEC_RELAY_PAYLOAD) });
  packets = out;
  return out;
}

/** DNS messages dns-packet writes (uncompressed, with every section and other record types). */
function foreignMessages(): Uint8Array[] {
  const origin = ZERO_KEY.publicKey.z32;
  const messages: dnsPacket.Packet[] = [
    {
      type: 'response', id: 0x1234, flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: [{ type: 'A', name: origin }, { type: 'TXT', name: `_x.${origin}`, class: 'ANY' }],
      answers: [
        { type: 'A', name: origin, ttl: 30, data: '10.0.0.1' },
        { type: 'MX', name: origin, ttl: 30, data: { preference: 10, exchange: `mail.${origin}` } },
        { type: 'PTR', name: `p.${origin}`, ttl: 30, data: 'host.example' },
      ],
      authorities: [{ type: 'SOA', name: origin, ttl: 60, data: { mname: 'ns.example', rname: 'h.example', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 } }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [{ code: 12, data: Buffer.alloc(4) }] }],
    },
    {
      type: 'response', flags: 0,
      answers: [
        { type: 'CAA', name: origin, ttl: 60, data: { flags: 0, tag: 'issue', value: 'ca.example' } },
        { type: 'HINFO', name: origin, ttl: 60, data: { cpu: 'x86', os: 'linux' } },
        { type: 'TXT', name: origin, ttl: 60, data: ['one', 'two'] },
        { type: 'AAAA', name: `v6.${origin}`, ttl: 60, data: 'fe80::1' },
        { type: 'SRV', name: `_s._tcp.${origin}`, ttl: 60, data: { priority: 1, weight: 2, port: 3, target: origin } },
      ],
    },
  ];
  return messages.map((m) => new Uint8Array(dnsPacket.encode(m)));
}

let dns: ByteSeed[] | null = null;

/** DNS messages: every signed seed's DNS plus dns-packet messages, each with its field map. */
export function dnsSeeds(): ByteSeed[] {
  if (dns !== null) return dns;
  dns = [...packetSeeds().map((s) => s.packet.dns), ...foreignMessages()].map((bytes) => ({ bytes, fields: mapDnsFields(bytes) }));
  return dns;
}

/** Canonical signed-packet bytes of every seed, DNS fields mapped at offset 104. */
export function canonicalSeeds(): ByteSeed[] {
  return packetSeeds().map(({ packet }) => {
    const bytes = packet.toBytes();
    return { bytes, fields: mapDnsFields(bytes, 104) };
  });
}

/** Record text lines: every corpus record formatted, plus hand-written lines. */
export function recordTextSeeds(): string[] {
  const lines = RECORD_SETS.flat().map((r) => formatRecordText(r));
  lines.push(
    'A @ 1.2.3.4 300', 'AAAA www ::1 60', 'CNAME www _foo 300', 'NS @ ns1.example.com 3600', 'TXT _foo "hello world" 60',
    'SRV _game._udp 10 5 7777 host 300', 'SVCB _enet 1 . port=7777 ipv4hint=1.2.3.4 300', 'HTTPS @ 1 example.com alpn=h2,h3 3600',
    'TYPE99 _x \\# 3 abcdef 300', 'TYPE65535 _y \\# 0 0', 'txt "quoted \\" and \\\\" "two" 1',
    `A www.${ZERO_KEY.publicKey.z32} 10.1.2.3 4294967295`, 'SVCB _q 2 host.example mandatory=alpn,port alpn=x port=1 ech=AAQ= key65000=c0ffee 5',
  );
  return lines;
}

/** Key texts in every accepted form (the examples of pkarr's keys.rs tests). */
export function publicKeySeeds(): string[] {
  const z = 'yg4gxe7z1r7mr6orids9fh95y7gxhdsxjqi6nngsxxtakqaxr5no';
  return [
    z, `pk:${z}`, `https://${z}///foo/bar`, `https://${z}?foo=bar`, `https://${z}#foo`, `https://foo.bar.${z}#foo`,
    `https://foo.${z}.`, `https://foo@${z}#foo`, `https://${z}:8888`, `https://foo@bar.${z}.:8888?q=v&a=b#foo`,
    `https://o4dksfbqk85ogzdb5osziw6befigbuxmuxkuxq8434q89uj56uyy.${z}`,
    ...KEYS.map((k) => k.publicKey.z32), ...KEYS.map((k) => k.publicKey.toUri()),
    'c1bkg8tfsyy8wcedtmw4fwhdmm7bbzhgg3z58tf43m5ow8w9mbus', // not a curve point (pkarr `invalid_key`)
  ];
}
