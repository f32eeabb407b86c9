import { describe, expect, it } from 'vitest';
import { recordFromJson, recordToJson, recordsFromJson, relativeName } from '../sidecar/src/rpc/record-json.ts';
import { RpcError } from '../sidecar/src/rpc/dispatcher.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';

const kp = Keypair.generate();
const origin = kp.publicKey.z32;

/** The documented examples of docs/rpc.md "Records on the wire". */
const DOC_EXAMPLES = [
  { type: 'A', name: '@', ttl: 300, address: '1.2.3.4' },
  { type: 'AAAA', name: 'www', ttl: 300, address: '::1' },
  { type: 'TXT', name: '_lobby', ttl: 60, text: 'v=1 game=demo' },
  { type: 'TXT', name: '_lobby', ttl: 60, strings: ['v=1', 'game=demo'] },
  { type: 'CNAME', name: 'www', ttl: 300, target: '_foo' },
  { type: 'NS', name: '@', ttl: 300, target: 'ns.example.com' },
  { type: 'SRV', name: '_game._udp', ttl: 300, priority: 0, weight: 0, port: 7777, target: '@' },
  { type: 'SVCB', name: '_enet', ttl: 60, priority: 1, target: '.', params: { port: 7777, ipv4hint: ['1.2.3.4'], alpn: ['x'] } },
];

function rpcError(fn: () => unknown): RpcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RpcError) return err;
    throw err;
  }
  throw new Error('did not throw');
}

describe('records ⇄ JSON', () => {
  it('accepts every documented example and round-trips through a signed packet', () => {
    const records = recordsFromJson(DOC_EXAMPLES, origin);
    const packet = SignedPacket.sign(kp, records);
    const json = packet.records.map((r) => recordToJson(r, origin));
    expect(json[0]).toEqual({ type: 'A', name: origin, relative: '@', ttl: 300, address: '1.2.3.4' });
    expect(json[2]).toEqual({ type: 'TXT', name: `_lobby.${origin}`, relative: '_lobby', ttl: 60, strings: ['v=1 game=demo'], text: 'v=1 game=demo' });
    expect(json[3]).toMatchObject({ strings: ['v=1', 'game=demo'], text: 'v=1game=demo' });
    expect(json[6]).toMatchObject({ type: 'SRV', relative: '_game._udp', port: 7777 });
    expect(json[7]).toEqual({
      type: 'SVCB', name: `_enet.${origin}`, relative: '_enet', ttl: 60, priority: 1, target: '.',
      params: { alpn: ['x'], port: 7777, ipv4hint: ['1.2.3.4'] },
    });
    // resolved records go back in unchanged (relative and text are ignored)
    const again = SignedPacket.sign(kp, recordsFromJson(json, origin));
    expect(Buffer.from(again.dns)).toEqual(Buffer.from(packet.dns));
  });

  it('splits long TXT text into 254-byte strings', () => {
    const [record] = recordsFromJson([{ type: 'txt', name: '_x', ttl: 1, text: 'a'.repeat(600) }], origin);
    expect(record).toMatchObject({ type: 'TXT', strings: ['a'.repeat(254), 'a'.repeat(254), 'a'.repeat(92)] });
  });

  it('maps every SvcParam both ways, and UNKNOWN records as hex', () => {
    const ech = Buffer.from([0, 3, 1, 2, 3]).toString('base64');
    const input = [
      { type: 'HTTPS', name: '@', ttl: 60, priority: 1, target: 'example.com', params: {
        mandatory: ['alpn', 'port'], alpn: ['h2', 'h3'], 'no-default-alpn': true, port: 443,
        ipv4hint: ['1.2.3.4'], ipv6hint: ['2001:db8::1'], ech, key667: 'abcd',
      } },
      { type: 'UNKNOWN', name: '_u', ttl: 5, typeCode: 99, data: '0102ff' },
    ];
    const packet = SignedPacket.sign(kp, recordsFromJson(input, origin));
    const [https, unknown] = packet.records.map((r) => recordToJson(r, origin));
    expect(https).toMatchObject({ params: input[0]!.params });
    expect(unknown).toEqual({ type: 'UNKNOWN', name: `_u.${origin}`, relative: '_u', ttl: 5, typeCode: 99, data: '0102ff' });
  });

  it('names the offending field in -32602 errors', () => {
    const cases: [unknown, string, string][] = [
      ['x', 'records', 'INVALID_RECORD'],
      [[5], 'records[0]', 'INVALID_RECORD'],
      [[{ name: '@', ttl: 1 }], 'records[0].type', 'INVALID_RECORD'],
      [[{ type: 'MX', name: '@', ttl: 1 }], 'records[0].type', 'INVALID_RECORD'],
      [[{ type: 'A', ttl: 1, address: '1.2.3.4' }], 'records[0].name', 'INVALID_RECORD'],
      [[{ type: 'A', name: '@', ttl: -1, address: '1.2.3.4' }], 'records[0].ttl', 'INVALID_RECORD'],
      [[{ type: 'A', name: '@', ttl: 1.5, address: '1.2.3.4' }], 'records[0].ttl', 'INVALID_RECORD'],
      [[{ type: 'A', name: '@', ttl: 2 ** 32, address: '1.2.3.4' }], 'records[0].ttl', 'INVALID_RECORD'],
      [[{ type: 'A', name: '@', ttl: 1, address: '1.2.3.4', port: 3 }], 'records[0].port', 'INVALID_RECORD'],
      [[{ type: 'A', name: '@', ttl: 1, address: '1.2.3.4' }, { type: 'A', name: '@', ttl: 1, address: '1.2.3' }], 'records[1]', 'INVALID_RECORD'],
      [[{ type: 'AAAA', name: '@', ttl: 1, address: 'zz' }], 'records[0]', 'INVALID_RECORD'],
      [[{ type: 'CNAME', name: 'a..b', ttl: 1, target: 'x' }], 'records[0]', 'INVALID_NAME'],
      [[{ type: 'TXT', name: '@', ttl: 1 }], 'records[0].text', 'INVALID_RECORD'],
      [[{ type: 'TXT', name: '@', ttl: 1, strings: [1] }], 'records[0].strings', 'INVALID_RECORD'],
      [[{ type: 'TXT', name: '@', ttl: 1, strings: ['a'.repeat(256)] }], 'records[0]', 'INVALID_RECORD'],
      [[{ type: 'TXT', name: '@', ttl: 1, strings: ['a'], text: 'b' }], 'records[0].text', 'INVALID_RECORD'],
      [[{ type: 'SRV', name: '@', ttl: 1, priority: 0, weight: 0, port: 70000, target: '.' }], 'records[0].port', 'INVALID_RECORD'],
      [[{ type: 'SVCB', name: '@', ttl: 1, priority: 1, target: '.', params: { bogus: 1 } }], 'records[0].params.bogus', 'INVALID_RECORD'],
      [[{ type: 'SVCB', name: '@', ttl: 1, priority: 1, target: '.', params: { ech: '***' } }], 'records[0].params.ech', 'INVALID_RECORD'],
      [[{ type: 'SVCB', name: '@', ttl: 1, priority: 1, target: '.', params: { alpn: [] } }], 'records[0].params.alpn', 'INVALID_RECORD'],
      [[{ type: 'SVCB', name: '@', ttl: 1, priority: 1, target: '.', params: { 'no-default-alpn': true } }], 'records[0]', 'INVALID_RECORD'],
      [[{ type: 'UNKNOWN', name: '@', ttl: 1, typeCode: 99, data: 'xyz' }], 'records[0].data', 'INVALID_RECORD'],
      [[{ type: 'UNKNOWN', name: '@', ttl: 1, typeCode: 1, data: '01020304' }], 'records[0]', 'INVALID_RECORD'],
    ];
    for (const [input, field, code] of cases) {
      const err = rpcError(() => recordsFromJson(input, origin));
      expect({ input, code: err.code, data: err.data }).toEqual({ input, code: -32602, data: { code, field } });
      expect(err.message).toContain(field);
    }
  });

  it('recordFromJson accepts lowercase types and relativeName handles foreign names', () => {
    expect(recordFromJson({ type: 'a', name: '@', ttl: 1, address: '1.1.1.1' }, 'r')).toMatchObject({ type: 'A' });
    expect(relativeName(origin, origin)).toBe('@');
    expect(relativeName(`a.b.${origin}`, origin)).toBe('a.b');
    expect(relativeName('other.example', origin)).toBe('other.example');
  });
});
