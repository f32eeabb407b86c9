/**
 * The codec's fast paths against independent oracles: hand-written IP parsers vs node:net and the
 * WHATWG URL serialiser, the origin-aware compression table vs a plain re-implementation of
 * simple-dns's rule over label bytes, SignedPacket.sign's records (built from the input) vs
 * decoding the bytes it signed, and the shared encoder buffer across errors and growth.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { decodeDnsPacket } from '../sidecar/src/core/dns-decode.ts';
import { encodeDnsPacket } from '../sidecar/src/core/dns-encode.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import {
  formatIPv4, formatIPv6, nameToLabels, normalizeName, normalizeTarget, parseIPv4, parseIPv6,
} from '../sidecar/src/core/names.ts';
import type { DnsRecord, SvcParamValue } from '../sidecar/src/core/records.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { prng as uniform } from './prng.ts';

const Z32 = '8pinxxgqs41n4aididenw5apqp1urfmzdztr8jt4abrkdn435ewo';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function prng(seed: number): { int: (n: number) => number; pick: <T>(xs: readonly T[]) => T; chance: (p: number) => boolean } {
  const next = uniform(seed);
  const int = (n: number): number => Math.floor(next() * n);
  return { int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] as T, chance: (p) => next() < p };
}

// ---------------------------------------------------------------------------------------------

describe('IP parsing without node:net', () => {
  const atoms = ['0', '1', '00', '01', '7f', 'ff', 'FFFF', 'abcd', '12345', 'g', '1.2.3.4', '255.255.255.255',
    '256.1.1.1', '01.2.3.4', '1.2.3', '0.0.0.0', '%eth0', '', ':', '.', ' '];

  it('accepts exactly what net.isIPv4 / net.isIPv6 (minus zone ids) accept', () => {
    const r = prng(42);
    let validV6 = 0;
    for (let i = 0; i < 50_000; i++) {
      let text = '';
      const parts = 1 + r.int(10);
      for (let j = 0; j < parts; j++) text += r.pick(atoms) + r.pick([':', ':', ':', '::', '', '.']);
      if (r.chance(0.5)) text = text.replace(/[:.]+$/, r.pick(['', '::', ':']));
      if (r.chance(0.2)) text = `::${text}`;
      const v6 = parseIPv6(text);
      expect(v6 !== null, text).toBe(isIPv6(text) && !text.includes('%'));
      if (v6 !== null) validV6++;
      const v4text = Array.from({ length: 1 + r.int(5) }, () => r.pick(atoms)).join(r.chance(0.8) ? '.' : ':');
      expect(parseIPv4(v4text) !== null, v4text).toBe(isIPv4(v4text));
    }
    expect(validV6).toBeGreaterThan(1000);
  });

  it('reads the same 16 bytes as the WHATWG URL parser', () => {
    const r = prng(7);
    for (let i = 0; i < 5000; i++) {
      const bytes = Uint8Array.from({ length: 16 }, () => (r.chance(0.4) ? 0 : r.int(256)));
      // Spell it the long way, upper case, sometimes with an embedded IPv4 tail.
      const groups = Array.from({ length: 8 }, (_, g) => ((bytes[2 * g]! << 8) | bytes[2 * g + 1]!).toString(16).toUpperCase());
      const text = r.chance(0.3) ? `${groups.slice(0, 6).join(':')}:${formatIPv4(bytes.subarray(12))}` : groups.join(':');
      expect(hex(parseIPv6(text) ?? new Uint8Array(0)), text).toBe(hex(bytes));
      const canonical = formatIPv6(bytes);
      if (!canonical.startsWith('::ffff:') || canonical.split(':').length > 4) {
        expect(new URL(`http://[${text}]/`).hostname).toBe(`[${canonical}]`);
      }
      expect(hex(parseIPv6(canonical) ?? new Uint8Array(0))).toBe(hex(bytes));
    }
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * simple-dns's compression, re-implemented over label bytes (keys are the hex of the remaining
 * labels): the oracle for A / CNAME / SRV messages.
 */
function oracleEncode(records: readonly DnsRecord[], origin: string): string {
  const out: number[] = [0, 0, 0x80, 0, 0, 0, records.length >> 8, records.length & 0xff, 0, 0, 0, 0];
  const table = new Map<string, number>();
  const name = (text: string, compress: boolean): void => {
    const labels = nameToLabels(text, 'oracle');
    for (let i = 0; i < labels.length; i++) {
      if (compress) {
        const key = labels.slice(i).map((l) => hex(l)).join('.');
        const seen = table.get(key);
        if (seen !== undefined) { out.push(0xc0 | (seen >> 8), seen & 0xff); return; }
        if (out.length <= 0x3fff) table.set(key, out.length);
      }
      out.push(labels[i]!.length, ...labels[i]!);
    }
    out.push(0);
  };
  for (const rec of records) {
    name(normalizeName(rec.name, origin), true);
    const type = rec.type === 'A' ? 1 : rec.type === 'CNAME' ? 5 : 33;
    out.push(0, type, 0, 1, 0, 0, 0, 30);
    const at = out.length;
    out.push(0, 0);
    if (rec.type === 'A') out.push(1, 2, 3, 4);
    else if (rec.type === 'CNAME') name(normalizeTarget(rec.target), true);
    else if (rec.type === 'SRV') { out.push(0, 1, 0, 2, 0, 3); name(normalizeTarget(rec.target), false); }
    const len = out.length - at - 2;
    out[at] = len >> 8;
    out[at + 1] = len & 0xff;
  }
  return hex(Uint8Array.from(out));
}

describe('origin-aware name compression', () => {
  // Names that end in the origin in every spelling, names that only look like it, and others.
  const NAMES = ['@', '.', '', '@.', 'www', 'www.', `www.${Z32}`, `www.${Z32}.`, Z32, `${Z32}.`, `a.www.${Z32}`,
    `x${Z32}`, `${Z32}.x`, `${Z32}.${Z32}`, Z32.toUpperCase(), `www.${Z32.toUpperCase()}`, 'a.b', 'b', `b.${Z32}`,
    'é', `é.${Z32}`, '🎮.é', 'www.example.com', 'example.com', 'www.example.com.', 'com', `foo.@`, 'foo..', 'Www'];

  it('writes the same bytes as a plain re-implementation of simple-dns compression', () => {
    const r = prng(0xc0de);
    for (let i = 0; i < 3000; i++) {
      const records: DnsRecord[] = Array.from({ length: 1 + r.int(8) }, (): DnsRecord => {
        const name = r.pick(NAMES);
        switch (r.int(3)) {
          case 0: return { type: 'A', name, ttl: 30, address: '1.2.3.4' };
          case 1: return { type: 'CNAME', name, ttl: 30, target: r.pick(NAMES) };
          default: return { type: 'SRV', name, ttl: 30, priority: 1, weight: 2, port: 3, target: r.pick(NAMES) };
        }
      });
      expect(hex(encodeDnsPacket(records, Z32)), JSON.stringify(records)).toBe(oracleEncode(records, Z32));
    }
  });

  it('compresses an absolute spelling against the relative one and never matches a partial label', () => {
    const bytes = encodeDnsPacket([
      { type: 'A', name: 'www', ttl: 30, address: '1.2.3.4' },
      { type: 'A', name: `www.${Z32}.`, ttl: 30, address: '1.2.3.4' },
      { type: 'A', name: `x${Z32}`, ttl: 30, address: '1.2.3.4' },
    ], Z32);
    const text = hex(bytes);
    expect(text.slice(24 + (1 + 3 + 1 + 52 + 1 + 14) * 2).startsWith('c00c')).toBe(true);
    expect(text).toContain(`35${hex(Buffer.from(`x${Z32}`))}c010`); // a 53-byte label, then the origin
    expect(decodeDnsPacket(bytes).map((rec) => rec.name)).toEqual([`www.${Z32}`, `www.${Z32}`, `x${Z32}.${Z32}`]);
  });
});

// ---------------------------------------------------------------------------------------------

function recordGenerator(seed: number): () => DnsRecord[] {
  const r = prng(seed);
  const labels = ['_foo', 'www', 'a', 'Foo', 'é', '🎮', '_lobby', 'x-y', Z32];
  const name = (): string => r.pick(['@', '.', '', `${Z32}`, `${r.pick(labels)}`, `${r.pick(labels)}.${r.pick(labels)}`,
    `${r.pick(labels)}.${Z32}`, `${r.pick(labels)}.`, 'foo.@']);
  const target = (): string => r.pick(['.', '', 'example.com', 'example.com.', `_foo.${Z32}`, 'a..', r.pick(labels), name()]);
  const text = (): string => r.pick(['', 'v=1', 'name=Friday night', 'é€🎮', 'x'.repeat(r.int(256)), '"\\ ;']);
  const ipv6 = (): string => r.pick(['::1', '2001:DB8::1', '2001:0db8:0000:0000:0000:0000:0000:0001', '::ffff:1.2.3.4',
    '1:0:0:1:0:0:0:1', 'fe80::', '1:2:3:4:5:6:7:8']);
  const params = (): SvcParamValue[] => {
    const out: SvcParamValue[] = [];
    if (r.chance(0.5)) out.push({ key: 'port', port: r.int(65536) });
    if (r.chance(0.5)) out.push({ key: 'alpn', protocols: ['h3', 'é'] });
    if (r.chance(0.3)) out.push({ key: 'ipv6hint', addresses: [ipv6(), ipv6()] });
    if (r.chance(0.3)) out.push({ key: 'ipv4hint', addresses: ['10.0.0.1'] });
    if (r.chance(0.2)) out.push({ key: 'unknown', code: 7 + r.int(600), data: Uint8Array.of(1, 2) });
    if (out.some((p) => p.key === 'port') && r.chance(0.5)) out.push({ key: 'mandatory', keys: [3] });
    return out.reverse(); // unsorted on purpose: the packet sorts them
  };
  const record = (): DnsRecord => {
    const base = { name: name(), ttl: r.pick([0, 60, 300, 4294967295]) };
    switch (r.int(8)) {
      case 0: return { type: 'A', ...base, address: r.pick(['1.2.3.4', '0.0.0.0', '255.255.255.255']) };
      case 1: return { type: 'AAAA', ...base, address: ipv6() };
      case 2: return { type: r.pick(['CNAME', 'NS'] as const), ...base, target: target() };
      case 3: return { type: 'TXT', ...base, strings: Array.from({ length: r.int(4) }, text) };
      case 4: return { type: 'SRV', ...base, priority: r.int(65536), weight: r.int(65536), port: r.int(65536), target: target() };
      case 5: return { type: r.pick(['SVCB', 'HTTPS'] as const), ...base, priority: r.int(65536), target: target(), params: params() };
      case 6: return { type: 'UNKNOWN', ...base, typeCode: r.pick([99, 4000, 65534]), data: Uint8Array.of(r.int(256), 7) };
      default: return { type: 'A', ...base, address: '10.1.2.3', comment: 'an extra field the packet does not carry' } as DnsRecord;
    }
  };
  return () => Array.from({ length: r.int(7) }, record);
}

/** JSON with bytes spelled out: equal strings mean equal values, fields and field order. */
const exact = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes:${hex(v)}` : v));

describe('SignedPacket.sign records', () => {
  const keypair = Keypair.fromSeed(new Uint8Array(32).fill(9));

  it('are identical to decoding the signed bytes, for random record sets', () => {
    const next = recordGenerator(0x51);
    let records = 0;
    for (let i = 0; i < 1500; i++) {
      const input = next();
      let packet: SignedPacket;
      try {
        packet = SignedPacket.sign(keypair, input, { timestamp: 1_000_000n + BigInt(i) });
      } catch (err) {
        expect((err as PkarrError).code).toBe('PACKET_TOO_LARGE');
        continue;
      }
      const decoded = decodeDnsPacket(packet.dns);
      expect(packet.records).toStrictEqual(decoded);
      expect(exact(packet.records)).toBe(exact(decoded));
      expect(exact(SignedPacket.fromBytes(packet.toBytes()).records)).toBe(exact(decoded));
      records += decoded.length;
    }
    expect(records).toBeGreaterThan(3000);
  });

  it('do not share arrays or bytes with the caller', () => {
    const input: DnsRecord[] = [
      { type: 'TXT', name: '_t', ttl: 60, strings: ['a'] },
      { type: 'UNKNOWN', name: '_u', ttl: 60, typeCode: 99, data: Uint8Array.of(1) },
    ];
    const packet = SignedPacket.sign(keypair, input, { timestamp: 5n });
    (input[0] as { strings: string[] }).strings.push('b');
    (input[1] as { data: Uint8Array }).data[0] = 2;
    expect(packet.records).toStrictEqual(decodeDnsPacket(packet.dns));
  });
});

// ---------------------------------------------------------------------------------------------

describe('shared encoder buffer', () => {
  const V1: DnsRecord[] = [
    { type: 'A', name: '.', ttl: 0, address: '1.1.1.1' },
    { type: 'TXT', name: 'foo', ttl: 30, strings: ['bar'] },
  ];
  const V1_DNS = '000080000000000200000000343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00000100010000000000040101010103666f6fc00c001000010000001e000403626172';

  it('starts clean after an error half-way through a message', () => {
    expect(() => encodeDnsPacket([...V1, { type: 'A', name: 'bad', ttl: 1, address: 'nope' }], Z32)).toThrow(PkarrError);
    expect(() => encodeDnsPacket([...V1, { type: 'A', name: 'a..b', ttl: 1, address: '1.1.1.1' }], 'other')).toThrow(PkarrError);
    expect(hex(encodeDnsPacket(V1, Z32))).toBe(V1_DNS);
  });

  it('stays exact over more encodings than the compression table has generations (2^16)', () => {
    // The oracle writes TTL 30 and 1.2.3.4 for every A record.
    const a: DnsRecord[] = [{ type: 'A', name: 'www', ttl: 30, address: '1.2.3.4' }, { type: 'CNAME', name: 'x', ttl: 30, target: `www.${Z32}` }];
    const b: DnsRecord[] = [{ type: 'A', name: 'x', ttl: 30, address: '1.2.3.4' }, { type: 'CNAME', name: 'www', ttl: 30, target: `x.${Z32}` }];
    const expected = [Buffer.from(oracleEncode(a, Z32), 'hex'), Buffer.from(oracleEncode(b, Z32), 'hex')];
    let mismatches = 0;
    for (let i = 0; i < 70_000; i++) {
      if (Buffer.compare(encodeDnsPacket(i % 2 === 0 ? a : b, Z32), expected[i % 2]!) !== 0) mismatches++;
    }
    expect(mismatches).toBe(0);
  }, 60_000);

  it('returns copies that later encodings do not overwrite, also after growing past 64 KiB', () => {
    const first = encodeDnsPacket(V1, Z32);
    const big: DnsRecord[] = Array.from({ length: 300 }, (_, i) => ({ type: 'TXT', name: `t${i}`, ttl: 1, strings: ['y'.repeat(255)] }));
    const large = encodeDnsPacket(big, Z32);
    expect(large.length).toBeGreaterThan(1 << 16);
    expect(decodeDnsPacket(large)).toHaveLength(300);
    expect(hex(encodeDnsPacket([{ type: 'A', name: 'other', ttl: 1, address: '9.9.9.9' }], 'k'))).not.toBe(V1_DNS);
    expect(hex(first)).toBe(V1_DNS);
    expect(hex(encodeDnsPacket(V1, Z32))).toBe(V1_DNS);
  });
});
