/**
 * DNS codec cases for the GDScript core: record sets in the publish JSON shape (encoded by the
 * sidecar), records the sidecar refuses, hand-made messages (questions, other sections,
 * uncompressed and compressed names, opaque types, malformed headers and pointers), and fuzz
 * (every truncation, random byte flips, garbage). Expected outcomes come from the sidecar.
 */
import { encodeDnsPacket } from '../../../../../sidecar/src/core/dns-encode.ts';
import { recordsFromJson } from '../../../../../sidecar/src/rpc/record-json.ts';
import { decodeExpectation, encodeExpectation, hex, keypairOf, type Json } from './case-support.ts';

const ORIGIN = keypairOf('dns').publicKey.z32;
const echList = Buffer.from([0, 3, 1, 2, 3]).toString('base64');
/** An MX rdata: preference 10, `mail.example.com` uncompressed. */
const MX_DATA = '000a046d61696c076578616d706c6503636f6d00';

/** Valid record sets (publish JSON), each encoded by the sidecar. */
const VALID_SETS: Record<string, unknown[]> = {
  basic: [
    { type: 'A', name: '@', ttl: 300, address: '1.2.3.4' },
    { type: 'A', name: 'www', ttl: 300, address: '10.0.0.1' },
    { type: 'AAAA', name: 'www', ttl: 300, address: '::1' },
    { type: 'TXT', name: '_lobby', ttl: 60, text: 'v=1 game=demo' },
    { type: 'CNAME', name: 'alias', ttl: 300, target: '_foo' },
    { type: 'NS', name: '@', ttl: 300, target: 'ns.example.com' },
    { type: 'SRV', name: '_game._udp', ttl: 300, priority: 0, weight: 5, port: 7777, target: '@' },
    { type: 'SVCB', name: '_enet', ttl: 60, priority: 1, target: '.', params: { port: 7777, ipv4hint: ['1.2.3.4'], alpn: ['x'] } },
  ],
  addresses: ['::', '::1', '2001:db8::1', '2001:DB8:0:0:1:0:0:1', '::ffff:1.2.3.4', '1:0:0:1:0:0:0:1', 'fe80::1:2:3:4', '1:2:3:4:5:6:7:8', '1::', '0:0:0:0:0:0:0:0']
    .map((address, i) => ({ type: 'AAAA', name: `v6-${i}`, ttl: i, address })),
  txt: [
    { type: 'TXT', name: 'long', ttl: 1, text: 'abcdefghij'.repeat(60) },
    { type: 'TXT', name: 'strings', ttl: 2, strings: ['v=1', 'game=demo', ''] },
    { type: 'TXT', name: 'none', ttl: 3, strings: [] },
    { type: 'TXT', name: 'empty', ttl: 4, text: '' },
    { type: 'TXT', name: 'unicode', ttl: 5, text: 'héllo wörld 🎮 ✓' },
    { type: 'TXT', name: 'split-unicode', ttl: 6, text: `${'a'.repeat(253)}é${'b'.repeat(10)}` },
    { type: 'TXT', name: 'both', ttl: 7, strings: ['a', 'b'], text: 'ab', relative: 'ignored' },
  ],
  names: [
    { type: 'A', name: `abs.${ORIGIN}`, ttl: 1, address: '1.1.1.1' },
    { type: 'A', name: `${ORIGIN}.`, ttl: 2, address: '1.1.1.2' },
    { type: 'A', name: 'dot.', ttl: 3, address: '1.1.1.3' },
    { type: 'A', name: 'foo.@', ttl: 4, address: '1.1.1.4' },
    { type: 'A', name: '.', ttl: 5, address: '1.1.1.5' },
    { type: 'A', name: 'café.menu', ttl: 6, address: '1.1.1.6' },
    { type: 'A', name: 'WWW', ttl: 7, address: '1.1.1.7' },
    { type: 'A', name: 'www', ttl: 8, address: '1.1.1.8' },
    { type: 'A', name: 'a.b.c.www', ttl: 9, address: '1.1.1.9' },
    { type: 'CNAME', name: 'c1', ttl: 10, target: 'a.b.c.www' },
    { type: 'CNAME', name: 'c2', ttl: 11, target: `a.b.c.www.${ORIGIN}` },
    { type: 'CNAME', name: 'c3', ttl: 12, target: 'example.com.' },
    { type: 'NS', name: 'n1', ttl: 13, target: 'ns1.example.com' },
    { type: 'NS', name: 'n2', ttl: 14, target: 'example.com' },
    { type: 'NS', name: 'n3', ttl: 15, target: '.' },
    { type: 'SRV', name: 's1', ttl: 16, priority: 1, weight: 2, port: 3, target: 'example.com' },
    { type: 'SRV', name: 's2', ttl: 17, priority: 65535, weight: 65535, port: 65535, target: '' },
    { type: 'a', name: 'lower-type', ttl: 4294967295, address: '255.255.255.255' },
  ],
  svcb: [
    { type: 'SVCB', name: '_all', ttl: 1, priority: 1, target: 'svc.example.com', params: { mandatory: ['alpn', 'port'], alpn: ['h2', 'h3'], 'no-default-alpn': true, port: 443, ipv4hint: ['1.2.3.4', '5.6.7.8'], ipv6hint: ['2001:db8::1', '::ffff:9.9.9.9'], ech: echList, key667: 'abcd', key65534: '' } },
    { type: 'HTTPS', name: '@', ttl: 3600, priority: 0, target: 'https.example.com' },
    { type: 'HTTPS', name: '_h', ttl: 2, priority: 2, target: '.', params: { alpn: 'h3', port: 8443, 'no-default-alpn': null } },
    { type: 'SVCB', name: '_ws', ttl: 3, priority: 3, target: '.', params: { port: 0, ipv6hint: ['::1'] } },
  ],
  unknown: [
    { type: 'UNKNOWN', name: 'u1', ttl: 1, typeCode: 99, data: 'deadbeef' },
    { type: 'unknown', name: 'u2', ttl: 2, typeCode: 256, data: '' },
    { type: 'UNKNOWN', name: 'mx', ttl: 3, typeCode: 15, data: MX_DATA },
    { type: 'UNKNOWN', name: 'ptr', ttl: 4, typeCode: 12, data: '03666f6f00' },
    { type: 'UNKNOWN', name: 'opt', ttl: 5, typeCode: 41, data: '000a00026162' },
  ],
  too_large: Array.from({ length: 12 }, (_, i) => ({ type: 'TXT', name: `t${i}`, ttl: 60, text: 'q'.repeat(80) })),
  empty: [],
};

/** Single records the sidecar refuses (or accepts: the outcome is computed, not assumed). */
const EDGE_RECORDS: unknown[] = [
  null, 'A', [], { name: 'x', ttl: 1 }, { type: 'MX', name: 'x', ttl: 1 }, { type: 'A', ttl: 1, address: '1.1.1.1' },
  { type: 'A', name: 'x', address: '1.1.1.1' }, { type: 'A', name: 'x', ttl: -1, address: '1.1.1.1' },
  { type: 'A', name: 'x', ttl: 1.5, address: '1.1.1.1' }, { type: 'A', name: 'x', ttl: 4294967296, address: '1.1.1.1' },
  { type: 'A', name: 'x', ttl: '60', address: '1.1.1.1' }, { type: 'A', name: 'x', ttl: 1, address: '01.1.1.1' },
  { type: 'A', name: 'x', ttl: 1, address: '1.1.1' }, { type: 'A', name: 'x', ttl: 1, address: '256.1.1.1' },
  { type: 'A', name: 'x', ttl: 1, address: '1.1.1.1', extra: 1 }, { type: 'A', name: 7, ttl: 1, address: '1.1.1.1' },
  { type: 'AAAA', name: 'x', ttl: 1, address: '1.2.3.4' }, { type: 'AAAA', name: 'x', ttl: 1, address: '1::2::3' },
  { type: 'AAAA', name: 'x', ttl: 1, address: '12345::' }, { type: 'AAAA', name: 'x', ttl: 1, address: '1:2:3:4:5:6:7:8:9' },
  { type: 'AAAA', name: 'x', ttl: 1, address: 'fe80::1%eth0' }, { type: 'AAAA', name: 'x', ttl: 1, address: '1:2:3:4:5:6:1.2.3.4' },
  { type: 'AAAA', name: 'x', ttl: 1, address: '::1.2.3.4' }, { type: 'AAAA', name: 'x', ttl: 1, address: '1:' },
  { type: 'A', name: 'a..b', ttl: 1, address: '1.1.1.1' }, { type: 'A', name: 'x'.repeat(63), ttl: 1, address: '1.1.1.1' },
  { type: 'A', name: 'x'.repeat(64), ttl: 1, address: '1.1.1.1' }, { type: 'A', name: `${'abc.'.repeat(48)}x`, ttl: 1, address: '1.1.1.1' },
  { type: 'A', name: `${'abc.'.repeat(49)}x`, ttl: 1, address: '1.1.1.1' }, { type: 'A', name: `.${ORIGIN}`, ttl: 1, address: '1.1.1.1' },
  { type: 'A', name: 'foo..', ttl: 1, address: '1.1.1.1' }, { type: 'A', name: '', ttl: 1, address: '1.1.1.1' },
  { type: 'CNAME', name: 'x', ttl: 1, target: 'a..b' }, { type: 'CNAME', name: 'x', ttl: 1, target: 5 },
  { type: 'CNAME', name: 'x', ttl: 1, target: 'foo..' }, { type: 'NS', name: 'x', ttl: 1, target: '' },
  { type: 'TXT', name: 'x', ttl: 1 }, { type: 'TXT', name: 'x', ttl: 1, strings: ['a'.repeat(255)] },
  { type: 'TXT', name: 'x', ttl: 1, strings: ['a'.repeat(256)] }, { type: 'TXT', name: 'x', ttl: 1, strings: ['é'.repeat(128)] },
  { type: 'TXT', name: 'x', ttl: 1, strings: [1] }, { type: 'TXT', name: 'x', ttl: 1, strings: ['a'], text: 'b' },
  { type: 'TXT', name: 'x', ttl: 1, text: 5 },
  { type: 'SRV', name: 'x', ttl: 1, priority: 65536, weight: 0, port: 0, target: '.' }, { type: 'SRV', name: 'x', ttl: 1, priority: 0, weight: 0, port: 0 },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: [] }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { bogus: 1 } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { 'no-default-alpn': true } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { mandatory: ['port'] } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { mandatory: ['mandatory'], port: 1 } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { mandatory: ['port', 'port'], port: 1 } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { mandatory: ['nope'], port: 1 } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { alpn: [] } }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { alpn: [''] } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { alpn: ['a'.repeat(256)] } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { port: 65536 } }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { port: '1' } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { ipv4hint: ['::1'] } }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { ipv6hint: ['1.2.3.4'] } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { ech: 'AAE=' } }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { ech: 'AAEC' } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { ech: 'not base64!' } }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { key3: '0001' } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { key65535: '' } }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { key007: '' } },
  { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { key7: 'abc' } }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: 'a..b' },
  { type: 'HTTPS', name: 'x', ttl: 1, priority: -1, target: '.' }, { type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: { 'no-default-alpn': false, alpn: 'a' } },
  { type: 'UNKNOWN', name: 'x', ttl: 1, typeCode: 1, data: '01020304' }, { type: 'UNKNOWN', name: 'x', ttl: 1, typeCode: 99, data: 'abc' },
  { type: 'UNKNOWN', name: 'x', ttl: 1, typeCode: 15, data: '000ac00c' }, { type: 'UNKNOWN', name: 'x', ttl: 1, typeCode: 15, data: '000a' },
  { type: 'UNKNOWN', name: 'x', ttl: 1, typeCode: 41, data: '000a0005' }, { type: 'UNKNOWN', name: 'x', ttl: 1, typeCode: 65536, data: '' },
  { type: 'UNKNOWN', name: 'x', ttl: 1, typeCode: 6, data: '0000' + '00000000'.repeat(5) },
];

/** A DNS message from parts: header counts, then raw section bytes (hex). */
function message(flags: number, counts: [number, number, number, number], body: string): Uint8Array {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0, 0);
  header.writeUInt16BE(flags, 2);
  counts.forEach((c, i) => header.writeUInt16BE(c, 4 + 2 * i));
  return new Uint8Array(Buffer.concat([header, Buffer.from(body, 'hex')]));
}

/** Hand-made messages: valid ones other encoders write, and malformed ones. */
function handMade(): Record<string, Uint8Array> {
  const o = Buffer.from(ORIGIN).toString('hex');
  const originName = `34${o}00`; // 52-byte label + root, at offset 12 when it comes first
  const rr = (type: string, cls: string, rdata: string): string => `${type}${cls}0000003c${(rdata.length / 2).toString(16).padStart(4, '0')}${rdata}`;
  return {
    question_and_pointer: message(0x8400, [1, 1, 0, 0], `${originName}00010001c00c${rr('0001', '0001', '7f000001')}`),
    mx_compressed: message(0x8000, [0, 1, 0, 0], `${originName}${rr('000f', '0001', '000a046d61696cc00c')}`),
    soa: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0006', '0001', `026e73c00c0561646d696ec00c${'00000001'.repeat(5)}`)}`),
    additional_opt: message(0x8000, [0, 1, 0, 1], `${originName}${rr('0001', '0001', '01020304')}00${rr('0029', '1000', '000a00026162')}`),
    authority_ns: message(0x8000, [0, 0, 1, 0], `${originName}${rr('0002', '0001', 'c00c')}`),
    class_ch_and_top_bit: message(0x8000, [0, 2, 0, 0], `${originName}${rr('0001', '0003', '01020304')}c00c${rr('0001', '8001', '05060708')}`),
    svcb_target_pointer: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0040', '0001', '0001c00c000300020050')}`),
    txt_empty_rdata: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0010', '0001', '')}`),
    label_invalid_utf8: message(0x8000, [0, 1, 0, 0], `03c3a9ff${originName.slice(0, -2)}00${rr('0010', '0001', '03e282ac02c328')}`),
    bad_class: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0001', '0005', '01020304')}`),
    z_bit: message(0x8040, [0, 0, 0, 0], ''),
    short_header: new Uint8Array([0, 0, 0x80, 0]),
    counts_too_big: message(0x8000, [0, 200, 0, 0], `${originName}${rr('0001', '0001', '01020304')}`),
    forward_pointer: message(0x8000, [0, 1, 0, 0], `c00e${rr('0001', '0001', '01020304')}`),
    self_pointer: message(0x8000, [0, 1, 0, 0], `c00c${rr('0001', '0001', '01020304')}`),
    label_type_01: message(0x8000, [0, 1, 0, 0], `4100${rr('0001', '0001', '01020304')}`),
    a_wrong_size: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0001', '0001', '010203')}`),
    cname_trailing: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0005', '0001', 'c00c00')}`),
    rdata_overrun: message(0x8000, [0, 1, 0, 0], `${originName}0001000100000001ffff0102`),
    txt_overrun: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0010', '0001', '0561')}`),
    svcb_descending: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0040', '0001', '000100000300020050000100026868')}`),
    svcb_bad_port: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0040', '0001', '00010000030001ff')}`),
    svcb_bad_ech: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0041', '0001', '000100000500030005aa')}`),
    svcb_key65535: message(0x8000, [0, 1, 0, 0], `${originName}${rr('0040', '0001', '00010000ffff0000')}`),
    long_name: message(0x8000, [0, 1, 0, 0], `${'3f'.concat('61'.repeat(63)).repeat(4)}00${rr('0001', '0001', '01020304')}`),
    question_bad_class: message(0x8000, [1, 0, 0, 0], `${originName}00010009`),
  };
}

/** Every DNS case. */
export function dnsCases(random: () => number): Json {
  const encode = Object.entries(VALID_SETS).map(([name, records]) => ({ name, records, expect: encodeExpectation(records, ORIGIN) }));
  EDGE_RECORDS.forEach((record, i) => encode.push({ name: `edge-${i}`, records: [record], expect: encodeExpectation([record], ORIGIN) }));
  // Fuzz: valid records with one field replaced by a random JSON value (or removed, or added).
  const values: unknown[] = [null, true, false, 0, -1, 1.5, 65535, 65536, 4294967296, '', '.', '@', 'x', '1.2.3.4', '::1', 'a..b', 'é', 'deadbeef', 'AAE=', [], ['h2'], [1], {}, { port: 1 }, { alpn: 'x' }];
  const pool = Object.values(VALID_SETS).flat() as Record<string, unknown>[];
  for (let i = 0; i < 300; i++) {
    const record: Record<string, unknown> = { ...pool[Math.floor(random() * pool.length)]! };
    const keys = [...Object.keys(record), 'extra', 'params', 'strings', 'text'];
    const key = keys[Math.floor(random() * keys.length)]!;
    if (random() < 0.15) delete record[key];
    else record[key] = values[Math.floor(random() * values.length)];
    encode.push({ name: `mutated-${i}`, records: [record], expect: encodeExpectation([record], ORIGIN) });
  }
  const decode: { name: string; hex: string; expect: Json }[] = [];
  const add = (name: string, bytes: Uint8Array): void => { decode.push({ name, hex: hex(bytes), expect: decodeExpectation(bytes, ORIGIN) }); };
  const seeds: Uint8Array[] = [];
  for (const [name, records] of Object.entries(VALID_SETS)) {
    if (name === 'empty') continue;
    const bytes = encodeDnsPacket(recordsFromJson(records, ORIGIN), ORIGIN);
    add(`set-${name}`, bytes);
    seeds.push(bytes);
  }
  for (const [name, bytes] of Object.entries(handMade())) { add(name, bytes); seeds.push(bytes); }
  // Fuzz: every truncation of two messages, random byte flips and inserted garbage in all of them.
  for (const bytes of [seeds[0]!, seeds[4]!]) for (let n = 0; n < bytes.length; n++) add(`truncated-${bytes.length}-${n}`, bytes.subarray(0, n));
  for (let i = 0; i < 400; i++) {
    const base = seeds[Math.floor(random() * seeds.length)]!;
    const bytes = Uint8Array.from(base);
    const flips = 1 + Math.floor(random() * 3);
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(random() * bytes.length);
      bytes[at] = random() < 0.5 ? Math.floor(random() * 256) : (bytes[at]! ^ (1 << Math.floor(random() * 8)));
    }
    add(`flip-${i}`, bytes);
  }
  for (let i = 0; i < 60; i++) add(`garbage-${i}`, Uint8Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256)));
  return { origin: ORIGIN, encode, decode };
}
