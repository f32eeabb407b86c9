import { describe, expect, it } from 'vitest';
import { Keypair, PublicKey } from '../sidecar/src/core/keys.ts';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { MAX_BYTES, SignedPacket, signable } from '../sidecar/src/core/signed-packet.ts';
import { TimestampSource, timestamps } from '../sidecar/src/core/timestamp.ts';
import type { DnsRecord } from '../sidecar/src/core/records.ts';
import { codeOf } from './error-helpers.ts';

const ZERO = Keypair.fromSeed(new Uint8Array(32));
const Z32 = '8pinxxgqs41n4aididenw5apqp1urfmzdztr8jt4abrkdn435ewo';
const TS = 1697016827303000n;
const TS_HEX = '0006076d852b5458';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

// The JS 1.3.0 reference packet of the zero seed (pubky/pkarr@8ec1a80 js/test/signed_packet.js) as a
// relay payload (uncompressed DNS).
const D_PAYLOAD = 'c45d1577e6c0d7fe24d1cd6696776a25628b438ffa10b1419dfdede3c51f8577d8447d44df4523fa43f574d6f13a65433fa828eb280065c271fcdcaef5365c010006076d852b5458000080000000000200000000343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00000100010000000000040101010103666f6f343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00001000010000001e000403626172';

// V1–V3: records as the Rust reference writes them (simple-dns 0.11.2, compressed DNS), zero seed.
const V1 = {
  records: [
    { type: 'A', name: '.', ttl: 0, address: '1.1.1.1' },
    { type: 'TXT', name: 'foo', ttl: 30, strings: ['bar'] },
  ] as DnsRecord[],
  dns: '000080000000000200000000343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00000100010000000000040101010103666f6fc00c001000010000001e000403626172',
  sig: '0dbaf72a4434328e51acae35d21a86d68acdb370a8d8808357794de2027223992344177445a2c808eea0cd5f9497eb2f39514501facd6f8914533dd69d895709',
};
const V2 = {
  records: [
    { type: 'A', name: '_derp_region.iroh.', ttl: 30, address: '1.1.1.1' },
    { type: 'TXT', name: '_foo', ttl: 30, strings: ['hello'] },
    { type: 'CNAME', name: 'www', ttl: 300, target: `_foo.${Z32}` },
    { type: 'HTTPS', name: '.', ttl: 3600, priority: 0, target: 'https.example.com', params: [] },
  ] as DnsRecord[],
  dns: '0000800000000004000000000c5f646572705f726567696f6e0469726f68343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00000100010000001e000401010101045f666f6fc01e001000010000001e00060568656c6c6f03777777c01e000500010000012c0002c062c01e0041000100000e1000150000056874747073076578616d706c6503636f6d00',
  sig: '5986f695b804595328c7c919a6ad99a6cad0ed6fedce2e7a1a2db77531ac7a47287edc06a0cfb9cd93fc68646d194bf9aade334b62da43d03c16a07213b0fc04',
};
const V3 = { records: [] as DnsRecord[], dns: '000080000000000000000000', sig: '73be26bed25ee2b7116c629710667e8ee3b839b71a11c0f7b129470f342240e9032d234d0ce03915d73988f5f5119e7835fc1a5cf87adce3b375e09d4b869109' };

describe('BEP44 signable', () => {
  it('matches vector F and the V1 prefix', () => {
    expect(Buffer.from(signable(4n, Buffer.from('Hello world!'))).toString()).toBe('3:seqi4e1:v12:Hello world!');
    expect(Buffer.from(signable(TS, unhex(V1.dns))).subarray(0, 30).toString()).toBe('3:seqi1697016827303000e1:v100:');
  });
});

describe('signed packet vectors', () => {
  for (const [name, v] of Object.entries({ V1, V2, V3 })) {
    it(`${name}: builds the exact Rust bytes and signature`, () => {
      const packet = SignedPacket.sign(ZERO, v.records, { timestamp: TS });
      expect(hex(packet.dns)).toBe(v.dns);
      expect(hex(packet.signature)).toBe(v.sig);
      const canonical = packet.toBytes();
      expect(hex(canonical)).toBe(`${hex(ZERO.publicKey.bytes)}${v.sig}${TS_HEX}${v.dns}`);
      expect(canonical.length).toBe(104 + v.dns.length / 2);
      expect(hex(packet.toRelayPayload())).toBe(`${v.sig}${TS_HEX}${v.dns}`);
      const parsed = SignedPacket.fromBytes(canonical);
      expect(parsed.timestamp).toBe(TS);
      expect(parsed.isSameAs(packet)).toBe(true);
      expect(parsed.records.length).toBe(v.records.length);
    });
  }

  it('V3 is the minimum packet size (116 bytes)', () => {
    expect(SignedPacket.sign(ZERO, [], { timestamp: TS }).size).toBe(116);
  });

  it('verifies and decodes vector D (JS 1.3.0, uncompressed DNS)', () => {
    const packet = SignedPacket.fromRelayPayload(ZERO.publicKey, unhex(D_PAYLOAD));
    expect(packet.timestamp).toBe(TS);
    expect(packet.dns.length).toBe(152);
    expect(packet.records.map((r) => [r.type, r.name, r.ttl])).toEqual([
      ['A', Z32, 0],
      ['TXT', `foo.${Z32}`, 30],
    ]);
    expect(packet.resourceRecords('@').length).toBe(1);
    expect(packet.resourceRecords('foo')[0]).toMatchObject({ type: 'TXT', strings: ['bar'] });
    // Re-signing the same records with the same key and timestamp in the uncompressed form gives
    // the same signature: Ed25519 is deterministic.
    expect(hex(packet.signature)).toBe(D_PAYLOAD.slice(0, 128));
  });
});

describe('parse and verify: every rejection in the reference order', () => {
  const good = SignedPacket.sign(ZERO, V1.records, { timestamp: TS }).toBytes();

  it('rejects short and long byte strings', () => {
    expect(codeOf(() => SignedPacket.fromBytes(good.subarray(0, 103)))).toBe('INVALID_SIGNED_PACKET_BYTES_LENGTH');
    expect(codeOf(() => SignedPacket.fromBytes(new Uint8Array(MAX_BYTES + 1)))).toBe('PACKET_TOO_LARGE');
    expect(codeOf(() => SignedPacket.fromRelayPayload(ZERO.publicKey, new Uint8Array(1073)))).toBe('PACKET_TOO_LARGE');
    expect(codeOf(() => SignedPacket.fromRelayPayload(ZERO.publicKey, new Uint8Array(71)))).toBe('INVALID_SIGNED_PACKET_BYTES_LENGTH');
  });

  it('rejects an invalid curve point before the signature', () => {
    const bytes = new Uint8Array(good);
    bytes.set(Buffer.from('6482a31e25b0007a31038ae9a2d3835afa10df86366fb3c4bacaf70a1e9f5867', 'hex'), 0);
    expect(codeOf(() => SignedPacket.fromBytes(bytes))).toBe('INVALID_ED25519_PUBLIC_KEY');
  });

  it('rejects any flipped bit in signature, timestamp or DNS as a bad signature', () => {
    for (let i = 32; i < good.length; i++) {
      const bytes = new Uint8Array(good);
      bytes[i]! ^= 1 << (i % 8);
      expect(codeOf(() => SignedPacket.fromBytes(bytes)), `byte ${i}`).toBe('INVALID_SIGNATURE');
    }
  });

  it('rejects another key', () => {
    const other = Keypair.generate();
    const payload = SignedPacket.sign(ZERO, V1.records, { timestamp: TS }).toRelayPayload();
    expect(codeOf(() => SignedPacket.fromRelayPayload(other.publicKey, payload))).toBe('INVALID_SIGNATURE');
  });

  it('rejects a validly signed packet whose DNS does not parse', () => {
    const dns = unhex('0000800000000001000000'); // truncated header claiming one answer
    const sig = ZERO.sign(signable(TS, dns));
    expect(codeOf(() => SignedPacket.fromParts(ZERO.publicKey.bytes, sig, TS, dns))).toBe('DNS_ERROR');
  });

  it('refuses to build more than 1000 DNS bytes and says by how much', () => {
    const records: DnsRecord[] = Array.from({ length: 100 }, () => ({ type: 'A', name: '_derp_region.iroh.', ttl: 30, address: '1.1.1.1' }));
    try {
      SignedPacket.sign(ZERO, records);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PkarrError);
      expect((err as PkarrError).code).toBe('PACKET_TOO_LARGE');
      expect((err as PkarrError).message).toMatch(/DNS packet is \d+ bytes, \d+ over the 1000-byte limit/);
    }
  });

  it('refuses timestamps above i64::MAX', () => {
    expect(codeOf(() => SignedPacket.sign(ZERO, [], { timestamp: 1n << 63n }))).toBe('INVALID_TIMESTAMP');
    expect(codeOf(() => SignedPacket.sign(ZERO, [], { timestamp: -1n }))).toBe('INVALID_TIMESTAMP');
  });
});

describe('ordering, TTL and timestamps', () => {
  it('higher timestamp wins; equal timestamps compare DNS bytes', () => {
    const a = SignedPacket.sign(ZERO, [{ type: 'TXT', name: '_x', ttl: 60, strings: ['a'] }], { timestamp: TS });
    const b = SignedPacket.sign(ZERO, [{ type: 'TXT', name: '_x', ttl: 60, strings: ['b'] }], { timestamp: TS });
    const c = SignedPacket.sign(ZERO, [{ type: 'TXT', name: '_x', ttl: 60, strings: ['a'] }], { timestamp: TS + 1n });
    expect(b.moreRecentThan(a)).toBe(true);
    expect(a.moreRecentThan(b)).toBe(false);
    expect(c.moreRecentThan(b)).toBe(true);
    expect(a.moreRecentThan(a)).toBe(false);
  });

  it('ttl clamps the smallest record TTL (pkarr `SignedPacket::ttl`)', () => {
    expect(SignedPacket.sign(ZERO, [], { timestamp: TS }).ttl(300, 86400)).toBe(300);
    const p = SignedPacket.sign(ZERO, [
      { type: 'A', name: '@', ttl: 150, address: '1.1.1.1' },
      { type: 'A', name: '@', ttl: 75, address: '1.1.1.2' },
    ], { timestamp: TS });
    expect(p.ttl(300, 86400)).toBe(300);
    expect(p.ttl(0, 86400)).toBe(75);
    const seen = p.lastSeen;
    expect(p.isExpired(0, 86400, seen + 74_000_000n)).toBe(false);
    expect(p.isExpired(0, 86400, seen + 75_000_000n)).toBe(true);
    expect(p.freshResourceRecords('@', seen + 100_000_000n).length).toBe(1);
  });

  it('timestamps are strictly increasing within a process', () => {
    const source = new TimestampSource();
    let last = 0n;
    for (let i = 0; i < 10_000; i++) {
      const t = source.next();
      expect(t > last).toBe(true);
      last = t;
    }
    source.observe(last + 5_000_000_000n);
    expect(source.next()).toBe(last + 5_000_000_001n);
    const p1 = SignedPacket.sign(ZERO, []);
    const p2 = SignedPacket.sign(ZERO, []);
    expect(p2.timestamp > p1.timestamp).toBe(true);
    expect(timestamps.next() > p2.timestamp).toBe(true);
  });

  it('parses keys for relay paths via PublicKey.parse', () => {
    expect(PublicKey.parse(`pk:${Z32}`).equals(ZERO.publicKey)).toBe(true);
  });
});
