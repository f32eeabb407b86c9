/**
 * Test cases for the GDScript pkarr core (addons/pkarr/core), produced by the SIDECAR's
 * TypeScript core: every expected value below is what sidecar/src computes for the same input,
 * so the engine suites prove the GDScript codec agrees with it byte for byte and field for field.
 * Deterministic: keys come from fixed seeds, fuzzing from a seeded PRNG.
 */
import { Keypair, PublicKey } from '../../../../../sidecar/src/core/keys.ts';
import type { DnsRecord } from '../../../../../sidecar/src/core/records.ts';
import { SignedPacket, signable } from '../../../../../sidecar/src/core/signed-packet.ts';
import { z32Decode, z32Encode } from '../../../../../sidecar/src/core/z32.ts';
import { recordToJson } from '../../../../../sidecar/src/rpc/record-json.ts';
import { prng } from '../../../../prng.ts';
import { errorCode, hex, keypairOf, unhex, type Json } from './case-support.ts';
import { dnsCases } from './dns-cases.ts';
import { lobbyCases } from './lobby-cases.ts';

/** z-base-32, key parsing and UTF-8 cases. */
function textCases(random: () => number): Json {
  const z32 = [];
  for (let n = 0; n <= 40; n++) {
    const bytes = Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    z32.push({ hex: hex(bytes), text: z32Encode(bytes) });
  }
  const zbad = ['Ybnd', 'abc!', 'l0', 'yyyy yyyy', 'ybnd\u00e9'];
  const key = keypairOf('text').publicKey.z32;
  const keyInputs = [
    key, `pk:${key}`, `https://${key}///foo/bar`, `https://foo.bar.${key}#foo`, `https://foo.${key}.`,
    `https://foo@bar.${key}.:8888?q=v&a=b#foo`, 'yg4gxe7z1r7mr6orids9fh95y7gxhdsxjqi6nngsxxtakqaxr5no',
    'pk:yg4gxe7z1r7mr6orids9fh95y7gxhdsxjqi6nngsxxtakqaxr5no', `${key.slice(0, 51)}h`, key.toUpperCase(), key.slice(0, 50), `${key}yy`, '', 'c1bkg8tfsyy8wcedtmw4fwhdmm7bbzhgg3z58tf43m5ow8w9mbus',
  ];
  const keys = keyInputs.map((input) => {
    try {
      const parsed = PublicKey.parse(input);
      return { input, ok: true, z32: parsed.z32, hex: hex(parsed.bytes) };
    } catch (err) {
      return { input, ok: false, code: errorCode(err) };
    }
  });
  const utf8 = [];
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  const pieces = [[0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x8e, 0xae], [0xef, 0xbb, 0xbf], [0xc0, 0xaf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8], [0xc3], [0xe2, 0x82], [0x80], [0x41]];
  for (let i = 0; i < 120; i++) {
    const bytes: number[] = [];
    const n = 1 + Math.floor(random() * 8);
    for (let j = 0; j < n; j++) {
      if (random() < 0.3) bytes.push(1 + Math.floor(random() * 255));
      else bytes.push(...pieces[Math.floor(random() * pieces.length)]!);
    }
    utf8.push({ hex: hex(Uint8Array.from(bytes)), text: decoder.decode(Uint8Array.from(bytes)) });
  }
  return { z32, zbad, keys, utf8 };
}

/** Relay bodies of signed packets: the spec vectors and packets the sidecar signs. */
function packetCases(): Json {
  const zero = Keypair.fromSeed(new Uint8Array(32));
  const ts = 1697016827303000n;
  const spec = [
    // The JS 1.3.0 reference packet of the zero seed (uncompressed DNS) as a relay body.
    'c45d1577e6c0d7fe24d1cd6696776a25628b438ffa10b1419dfdede3c51f8577d8447d44df4523fa43f574d6f13a65433fa828eb280065c271fcdcaef5365c010006076d852b5458000080000000000200000000343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00000100010000000000040101010103666f6f343870696e787867717334316e346169646964656e773561707170317572666d7a647a7472386a74346162726b646e34333565776f00001000010000001e000403626172',
  ];
  const signed = [
    SignedPacket.sign(zero, [{ type: 'A', name: '.', ttl: 0, address: '1.1.1.1' }, { type: 'TXT', name: 'foo', ttl: 30, strings: ['bar'] }], { timestamp: ts }),
    SignedPacket.sign(zero, [], { timestamp: ts }),
    SignedPacket.sign(zero, [
      { type: 'A', name: '_derp_region.iroh.', ttl: 30, address: '1.1.1.1' },
      { type: 'TXT', name: '_foo', ttl: 30, strings: ['hello'] },
      { type: 'CNAME', name: 'www', ttl: 300, target: `_foo.${zero.publicKey.z32}` },
      { type: 'HTTPS', name: '.', ttl: 3600, priority: 0, target: 'https.example.com', params: [] },
    ] as DnsRecord[], { timestamp: ts }),
    SignedPacket.sign(keypairOf('p1'), [{ type: 'TXT', name: '_big', ttl: 60, strings: ['x'.repeat(200), 'y'.repeat(200), 'z'.repeat(200), 'w'.repeat(200)] }], { timestamp: 1_800_000_000_000_123n }),
  ];
  const bodies = [...spec.map((h) => ({ key: zero.publicKey.z32, body: h })), ...signed.map((p) => ({ key: p.publicKey.z32, body: hex(p.toRelayPayload()) }))];
  const ok = bodies.map(({ key, body }) => {
    const bytes = unhex(body);
    const packet = SignedPacket.fromRelayPayload(PublicKey.parse(key), bytes); // verifies: these are real packets
    return {
      key, body, signature: hex(packet.signature), timestamp: packet.timestamp.toString(), dns: hex(packet.dns),
      signable: hex(signable(packet.timestamp, packet.dns)), records: packet.records.map((r) => recordToJson(r, key)),
    };
  });
  const bad = [0, 1, 71, 1073, 1500].map((n) => {
    const body = new Uint8Array(n).fill(7);
    try {
      SignedPacket.fromRelayPayload(zero.publicKey, body);
      throw new Error('accepted');
    } catch (err) {
      return { body: hex(body), code: errorCode(err) };
    }
  });
  return { ok, bad, signableF: hex(new TextEncoder().encode('3:seqi4e1:v12:Hello world!')) };
}

/** Every case, as the JSON the GDScript suites read (`res://generated/core_cases.json`). */
export async function buildCoreCases(): Promise<Json> {
  const random = prng(0x9e3779b9);
  return {
    text: textCases(random),
    packets: packetCases(),
    dns: dnsCases(random),
    lobby: await lobbyCases(random),
    // sanity for the suites: the z32 of a 32-byte decode
    probe: { z32: 'yg4gxe7z1r7mr6orids9fh95y7gxhdsxjqi6nngsxxtakqaxr5no', hex: hex(z32Decode('yg4gxe7z1r7mr6orids9fh95y7gxhdsxjqi6nngsxxtakqaxr5no')) },
  };
}
