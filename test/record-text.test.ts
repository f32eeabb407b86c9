import { describe, expect, it } from 'vitest';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { decodeDnsPacket } from '../sidecar/src/core/dns-decode.ts';
import { encodeDnsPacket } from '../sidecar/src/core/dns-encode.ts';
import { formatRecordText, parseRecordText } from '../sidecar/src/core/record-text.ts';
import type { DnsRecord } from '../sidecar/src/core/records.ts';

const Z32 = '8pinxxgqs41n4aididenw5apqp1urfmzdztr8jt4abrkdn435ewo';

function errorOf(fn: () => unknown): PkarrError | string {
  try {
    fn();
  } catch (err) {
    return err instanceof PkarrError ? err : `not a PkarrError: ${String(err)}`;
  }
  return 'no error';
}

describe('parseRecordText', () => {
  const examples: [string, DnsRecord][] = [
    ['A @ 1.2.3.4 300', { type: 'A', name: '@', ttl: 300, address: '1.2.3.4' }],
    ['AAAA www ::1 60', { type: 'AAAA', name: 'www', ttl: 60, address: '::1' }],
    ['TXT _foo "hello world" 60', { type: 'TXT', name: '_foo', ttl: 60, strings: ['hello world'] }],
    ['CNAME www _foo 300', { type: 'CNAME', name: 'www', ttl: 300, target: '_foo' }],
    ['NS @ ns1.example.com 3600', { type: 'NS', name: '@', ttl: 3600, target: 'ns1.example.com' }],
    ['SRV _game._udp 10 5 7777 host 300', { type: 'SRV', name: '_game._udp', ttl: 300, priority: 10, weight: 5, port: 7777, target: 'host' }],
    ['SVCB _enet 1 . port=7777 ipv4hint=1.2.3.4 300', {
      type: 'SVCB', name: '_enet', ttl: 300, priority: 1, target: '.',
      params: [{ key: 'port', port: 7777 }, { key: 'ipv4hint', addresses: ['1.2.3.4'] }],
    }],
    ['HTTPS @ 1 example.com alpn=h2,h3 3600', {
      type: 'HTTPS', name: '@', ttl: 3600, priority: 1, target: 'example.com', params: [{ key: 'alpn', protocols: ['h2', 'h3'] }],
    }],
    ['TYPE99 _x \\# 3 abcdef 300', { type: 'UNKNOWN', name: '_x', ttl: 300, typeCode: 99, data: Uint8Array.of(0xab, 0xcd, 0xef) }],
    ['TYPE4000 _x \\# 0 5', { type: 'UNKNOWN', name: '_x', ttl: 5, typeCode: 4000, data: new Uint8Array(0) }],
  ];

  it('parses the documented examples', () => {
    for (const [line, record] of examples) expect(parseRecordText(line), line).toEqual(record);
  });

  it('formats them back to the same line', () => {
    for (const [line, record] of examples) {
      // SvcParams are written sorted by key: port (3) before ipv4hint (4) is already sorted.
      expect(formatRecordText(record)).toBe(line);
    }
  });

  it('accepts lower-case types, tabs, extra spaces and several TXT strings', () => {
    expect(parseRecordText('  txt\t_t  one "two three" ""  9 ')).toEqual({ type: 'TXT', name: '_t', ttl: 9, strings: ['one', 'two three', ''] });
    expect(parseRecordText('a www 1.1.1.1 0')).toEqual({ type: 'A', name: 'www', ttl: 0, address: '1.1.1.1' });
  });

  it('parses every SvcParam form and sorts them on output', () => {
    const rec = parseRecordText('HTTPS @ 2 . ipv6hint=::1,2001:db8::1 key667=68656c6c6f ech=AAIBAg== no-default-alpn alpn=h3 mandatory=alpn,port port=443 3600');
    expect(rec).toEqual({
      type: 'HTTPS', name: '@', ttl: 3600, priority: 2, target: '.', params: [
        { key: 'ipv6hint', addresses: ['::1', '2001:db8::1'] },
        { key: 'unknown', code: 667, data: Uint8Array.from(Buffer.from('hello')) },
        { key: 'ech', data: Uint8Array.of(0, 2, 1, 2) },
        { key: 'no-default-alpn' },
        { key: 'alpn', protocols: ['h3'] },
        { key: 'mandatory', keys: [1, 3] },
        { key: 'port', port: 443 },
      ],
    });
    expect(formatRecordText(rec)).toBe(
      'HTTPS @ 2 . mandatory=alpn,port alpn=h3 no-default-alpn port=443 ech=AAIBAg== ipv6hint=::1,2001:db8::1 key667=68656c6c6f 3600');
  });

  it('splits TXT tokens longer than 255 bytes like simple-dns, keeps 255-byte ones', () => {
    expect(parseRecordText(`TXT t ${'a'.repeat(255)} 1`)).toMatchObject({ strings: ['a'.repeat(255)] });
    expect(parseRecordText(`TXT t ${'a'.repeat(300)} 1`)).toMatchObject({ strings: ['a'.repeat(254), 'a'.repeat(46)] });
  });

  function rejects(line: string, pattern: RegExp): void {
    const err = errorOf(() => parseRecordText(line));
    expect(err instanceof PkarrError ? err.code : err, line).toBe('INVALID_RECORD');
    expect(err instanceof PkarrError ? err.message : '', line).toMatch(pattern);
  }

  it('names the bad token', () => {
    rejects('A @ 999.1.1.1 300', /token 3 "999\.1\.1\.1": not a valid IPv4 address/);
    rejects('AAAA @ 1.2.3.4 300', /token 3 "1\.2\.3\.4": not a valid IPv6 address/);
    rejects('AAAA @ fe80::1%eth0 300', /token 3/);
    rejects('A @ 1.2.3.4 ttl', /token 4 "ttl": TTL/);
    rejects('A @ 1.2.3.4 4294967296', /TTL/);
    rejects('A @ 1.2.3.4 -1', /TTL/);
    rejects('A @ 1.2.3.4 030', /TTL/);
    rejects('SRV _s 1 2 70000 host 300', /token 5 "70000": port/);
    rejects('SRV _s x 2 3 host 300', /token 3 "x": priority/);
    rejects('SVCB _s 1 . port=99999 300', /token 5 "port=99999": port must be/);
    rejects('SVCB _s 1 . bogus=1 300', /token 5 "bogus=1": unknown SvcParam key/);
    rejects('SVCB _s 1 . port 300', /token 5 "port": port needs a value/);
    rejects('SVCB _s 1 . no-default-alpn=x alpn=h2 300', /no-default-alpn takes no value/);
    rejects('SVCB _s 1 . ech=!!! 300', /ech must be canonical base64/);
    rejects('SVCB _s 1 . mandatory=nope port=1 300', /unknown key "nope" in mandatory/);
    rejects('SVCB _s 1 . key3=00 300', /token 5/);
    rejects('SVCB _s 1 . key7=zz 300', /key7 value must be hex/);
    rejects('SVCB _s x . 300', /token 3 "x": priority/);
    rejects('MX @ 10 mail 300', /token 1 "MX": unknown record type/);
    rejects('TYPE99 _x abc 300', /token 3 "abc": generic rdata must start with \\#/);
    rejects('TYPE99 _x \\# 2 abcdef 300', /length says 2 bytes but the hex has 3/);
    rejects('TYPE99 _x \\# 1 zz 300', /rdata must be hex/);
  });

  it('rejects wrong shapes', () => {
    rejects('A @ 300', /needs at least TYPE, name, data and TTL/);
    rejects('A @ 1.2.3.4 5.6.7.8 300', /A takes 1 data token/);
    rejects('SRV _s 1 2 host 300', /SRV takes 4 data token/);
    rejects('SVCB _s 1 300', /needs a priority and a target/);
    rejects('TXT _t "unterminated 300', /unterminated quoted string/);
    rejects('TXT _t "bad \\n escape" 300', /bad escape/);
    rejects('TXT _t "a"b 300', /missing space after a quoted string/);
    rejects('TXT _t a"b 300', /stray quote/);
    rejects('', /needs at least/);
  });

  it('validates names, values and the whole record', () => {
    rejects('A a..b 1.2.3.4 300', /owner name.*empty label/);
    rejects(`A ${'x'.repeat(64)} 1.2.3.4 300`, /64 bytes/);
    // An absolute name is checked against its own key, a relative one against a 52-byte stand-in.
    const long = Array(3).fill('x'.repeat(63)).join('.');
    expect(parseRecordText(`A ${long}.${'x'.repeat(8)}.${Z32} 1.2.3.4 300`).name).toBe(`${long}.${'x'.repeat(8)}.${Z32}`);
    rejects(`A ${long}.${'x'.repeat(10)} 1.2.3.4 300`, /owner name.*bytes on the wire/);
    rejects('CNAME www a..b 300', /target.*empty label/);
    rejects('SVCB _s 1 . mandatory=port 300', /mandatory lists port which is not present/);
    rejects('SVCB _s 1 . no-default-alpn 300', /no-default-alpn requires alpn/);
    rejects('SVCB _s 1 . alpn= 300', /alpn needs at least one protocol/);
    rejects('TYPE1 _x \\# 4 01020304 300', /typeCode 1 has its own record type/);
    rejects('TYPE12 _x \\# 2 c00c 300', /not valid for type 12/);
  });
});

describe('formatRecordText', () => {
  it('writes owner names relative to an origin', () => {
    const decoded = decodeDnsPacket(encodeDnsPacket([
      parseRecordText('A @ 1.2.3.4 300'),
      parseRecordText('CNAME www _foo 300'),
      parseRecordText(`TXT _foo.${Z32}. hi 60`),
    ], Z32));
    expect(decoded.map((r) => formatRecordText(r, Z32))).toEqual(['A @ 1.2.3.4 300', 'CNAME www _foo 300', 'TXT _foo hi 60']);
    expect(formatRecordText(decoded[0] as DnsRecord)).toBe(`A ${Z32} 1.2.3.4 300`);
  });

  it('quotes what needs quoting and round-trips', () => {
    const records: DnsRecord[] = [
      { type: 'TXT', name: '_t', ttl: 1, strings: ['say "hi"', 'back\\slash', '', 'plain', 'tab\there'] },
      { type: 'TXT', name: '_t', ttl: 1, strings: [] },
      { type: 'A', name: 'with space', ttl: 1, address: '1.1.1.1' },
      { type: 'HTTPS', name: '@', ttl: 1, priority: 1, target: '.', params: [{ key: 'alpn', protocols: ['a b', 'h2'] }] },
      { type: 'SRV', name: '_s._tcp', ttl: 7, priority: 0, weight: 0, port: 0, target: '.' },
      { type: 'AAAA', name: 'é', ttl: 4294967295, address: '2001:db8::1' },
      { type: 'UNKNOWN', name: '🎮', ttl: 2, typeCode: 65534, data: Uint8Array.of(0, 255) },
    ];
    for (const r of records) {
      const line = formatRecordText(r);
      const back = parseRecordText(line);
      expect(back, line).toEqual(r.type === 'TXT' && r.strings.length === 0 ? { ...r, strings: [''] } : r);
      expect(formatRecordText(back)).toBe(line);
    }
    expect(formatRecordText(records[0] as DnsRecord)).toBe('TXT _t "say \\"hi\\"" back\\slash "" plain "tab\there" 1');
  });

  it('refuses values the text form cannot express', () => {
    const err = errorOf(() => formatRecordText({ type: 'SVCB', name: 'x', ttl: 1, priority: 1, target: '.', params: [{ key: 'alpn', protocols: ['a,b'] }] }));
    expect(err instanceof PkarrError && err.code).toBe('INVALID_RECORD');
  });
});
