/**
 * The strict KRPC codec (dht/bencode.ts) that DHT-STUN reads untrusted datagrams with, and
 * DHT-STUN's answer handling under fixed-seed mutations of real answers (nat/dht-stun.ts).
 */
import { isIPv4 } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BencodeError, bdecode, bencode, MAX_DEPTH, type BencodeDict } from '../sidecar/src/dht/bencode.ts';
import { dhtStun } from '../sidecar/src/nat/dht-stun.ts';
import type { UdpChannel } from '../sidecar/src/nat/udp-channel.ts';
import { Rng } from '../fuzz/prng.ts';
import { compactIPv4, pingAnswer } from './nat-stun-helpers.ts';

const NAT = { host: '11.77.0.2', port: 40000 };

describe('bencode (strict, bounded)', () => {
  it('round-trips a KRPC message with keys sorted by bytes', () => {
    const bytes = bencode({ y: 'q', t: Buffer.from([0, 255]), a: { id: Buffer.alloc(20, 1) }, q: 'ping', ro: 1, n: -3, l: [1, 'x', []] });
    expect(bytes.toString('latin1')).toMatch(/^d1:ad2:id20:.{20}e1:lli1e1:xlee1:ni-3e1:q4:ping2:roi1e1:t2:.{2}1:y1:qe$/s);
    const back = bdecode(bytes) as BencodeDict;
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect(back['t']).toEqual(Buffer.from([0, 255]));
    expect(back['n']).toBe(-3);
    expect((back['a'] as BencodeDict)['id']).toEqual(Buffer.alloc(20, 1));
  });

  it('rejects every malformed input with a BencodeError', () => {
    const bad = [
      '', 'd', 'de1', 'i', 'ie', 'i-0e', 'i03e', 'i1.5e', 'i99999999999999999e', '3:ab', '-1:a', '01:a', 'l', 'li1e',
      'd1:a', 'd1:ai1e1:ai2ee', 'di1ei2ee', 'x', 'd1:a1:be trailing', `${'l'.repeat(MAX_DEPTH + 1)}${'e'.repeat(MAX_DEPTH + 1)}`,
    ];
    for (const text of bad) expect(() => bdecode(Buffer.from(text, 'latin1')), JSON.stringify(text)).toThrow(BencodeError);
    expect(() => bdecode(Buffer.from('4:abcd'), 3)).toThrow(/exceeds/);
    expect(bdecode(Buffer.from(`${'l'.repeat(MAX_DEPTH)}${'e'.repeat(MAX_DEPTH)}`))).toBeDefined();
    expect(() => bencode(1.5)).toThrow(BencodeError);
    expect(() => bencode({ a: undefined } as unknown as { a: number })).toThrow(BencodeError);
    expect(() => bencode({ 'ключ': 1 })).toThrow(BencodeError);
    expect(bencode({ '\u00e9': 1 })).toEqual(Buffer.from([0x64, 0x31, 0x3a, 0xe9, 0x69, 0x31, 0x65, 0x65]));
    const proto = bdecode(Buffer.from('d9:__proto__i1ee')) as BencodeDict;
    expect([Object.hasOwn(proto, '__proto__'), proto['__proto__'], Object.getPrototypeOf(proto)]).toEqual([true, 1, null]);
  });
});

describe('untrusted datagrams, fixed-seed mutations', () => {
  /** Mutates `base`: byte flips, truncation, insertion, duplication of a slice. */
  function mutate(rng: Rng, base: Buffer): Buffer {
    let out = Buffer.from(base);
    for (let k = rng.range(1, 4); k > 0; k--) {
      const at = rng.int(out.length + 1);
      switch (rng.int(4)) {
        case 0: if (out.length > 0) out[rng.int(out.length)] = rng.int(256); break;
        case 1: out = out.subarray(0, at); break;
        case 2: out = Buffer.concat([out.subarray(0, at), Buffer.from([rng.pick([0x64, 0x6c, 0x65, 0x69, 0x3a, 0x30, 0x39, 0x2d])]), out.subarray(at)]); break;
        default: out = Buffer.concat([out.subarray(0, at), out.subarray(rng.int(out.length), rng.int(out.length) + 8), out.subarray(at)]);
      }
    }
    return out;
  }

  it('bdecode accepts or throws BencodeError for 20,000 mutated answers; what it accepts re-encodes to an equal value', () => {
    const base = pingAnswer(Buffer.from('abcd'), Buffer.alloc(20, 3), compactIPv4(NAT));
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const input = mutate(new Rng(7, i), base);
      let value;
      try {
        value = bdecode(input);
      } catch (err) {
        expect(err, `input ${i}: ${input.toString('latin1')}`).toBeInstanceOf(BencodeError);
        continue;
      }
      accepted++;
      expect(bdecode(bencode(value as never))).toEqual(value);
    }
    expect(accepted).toBeGreaterThan(100);
  });

  it('dhtStun survives 2,000 mutated answers to its own pings: every datagram is an answer, malformed or unexpected', async () => {
    let deliver: ((payload: Buffer, from: { host: string; port: number }) => void) | null = null;
    let delivered = 0;
    let i = 0;
    const channel: UdpChannel = {
      send: async (payload, to) => {
        const t = (bdecode(payload) as BencodeDict)['t'] as Buffer;
        const answer = pingAnswer(t, Buffer.alloc(20, 3), compactIPv4(NAT));
        queueMicrotask(() => {
          for (let k = 0; k < 100; k++) { delivered++; deliver?.(mutate(new Rng(11, i++), answer), to); }
          delivered++;
          deliver?.(answer, to);
        });
      },
      onMessage: (handler) => { deliver = handler; return () => { deliver = null; }; },
      localAddress: () => ({ host: '127.0.0.1', port: 1 }),
    };
    const nodes = Array.from({ length: 20 }, (_, k) => `127.0.1.${k + 1}:6881`);
    const result = await dhtStun({ channel, nodes, count: 20, timeoutMs: 60_000 });
    const answered = result.observations.filter((o) => o.outcome !== 'timeout').length;
    expect(answered).toBe(20);
    // An on-path forger that knows the transaction id can lie (any STUN has that limit): every address read is still well-formed.
    expect(result.observations.every((o) => o.mapped === null || (isIPv4(o.mapped.host) && o.mapped.port >= 1 && o.mapped.port <= 65535))).toBe(true);
    expect(result.observations.filter((o) => o.outcome === 'ok').length).toBeGreaterThan(0);
    expect(result.malformed).toBeGreaterThan(0);
    // Datagrams after the last ping was answered arrive after the run and are not counted.
    expect(answered + result.malformed + result.unexpected).toBeLessThanOrEqual(delivered);
  });
});
