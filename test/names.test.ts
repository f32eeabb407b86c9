import { describe, expect, it } from 'vitest';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import {
  findRecords, formatIPv4, formatIPv6, isWellFormed, labelsToName, nameToLabels, normalizeName, normalizeTarget,
  parseIPv4, parseIPv6, validateName,
} from '../sidecar/src/core/names.ts';
import type { DnsRecord } from '../sidecar/src/core/records.ts';

const ORIGIN = 'ed4mn3aoazuf1ahpy9rz1nyswhukbj5483ryefwkue7fbp3egkzo';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof PkarrError ? err.code : `not a PkarrError: ${String(err)}`;
  }
  return 'no error';
}

describe('normalizeName (pkarr test normalize_names)', () => {
  it('maps the apex spellings to the origin', () => {
    for (const name of ['.', '@', '@.', ORIGIN, '', `${ORIGIN}.`]) expect(normalizeName(name, ORIGIN)).toBe(ORIGIN);
  });

  it('appends the origin to relative names and keeps absolute ones', () => {
    expect(normalizeName('_derp_region.irorh', ORIGIN)).toBe(`_derp_region.irorh.${ORIGIN}`);
    expect(normalizeName(`_derp_region.irorh.${ORIGIN}`, ORIGIN)).toBe(`_derp_region.irorh.${ORIGIN}`);
    expect(normalizeName(`_derp_region.irorh.${ORIGIN}.`, ORIGIN)).toBe(`_derp_region.irorh.${ORIGIN}`);
    expect(normalizeName('foo.', ORIGIN)).toBe(`foo.${ORIGIN}`);
  });

  it('keeps the reference quirks: foo.@ and foo.. become the bare origin, only one dot is stripped', () => {
    expect(normalizeName('foo.@', ORIGIN)).toBe(ORIGIN);
    expect(normalizeName('foo.@.', ORIGIN)).toBe(ORIGIN);
    expect(normalizeName('foo..', ORIGIN)).toBe(ORIGIN);
    expect(normalizeName('@.foo', ORIGIN)).toBe(`@.foo.${ORIGIN}`);
  });

  it('is case-sensitive', () => {
    const upper = ORIGIN.toUpperCase();
    expect(normalizeName(upper, ORIGIN)).toBe(`${upper}.${ORIGIN}`);
    expect(normalizeName(`www.${upper}`, ORIGIN)).toBe(`www.${upper}.${ORIGIN}`);
    expect(normalizeName('WWW', ORIGIN)).not.toBe(normalizeName('www', ORIGIN));
  });
});

describe('normalizeTarget', () => {
  it('strips one trailing dot and spells the root "."', () => {
    expect(normalizeTarget('')).toBe('.');
    expect(normalizeTarget('.')).toBe('.');
    expect(normalizeTarget('example.com.')).toBe('example.com');
    expect(normalizeTarget('example.com')).toBe('example.com');
    expect(normalizeTarget('_foo')).toBe('_foo');
  });
});

describe('findRecords', () => {
  const rec = (name: string, address = '1.1.1.1'): DnsRecord => ({ type: 'A', name, ttl: 30, address });
  const records = [
    rec(ORIGIN, '1.0.0.0'),
    rec(`_derp_region.iroh.${ORIGIN}`, '2.0.0.0'),
    rec(`something-else.${ORIGIN}`, '3.0.0.0'),
    rec(`bar.foo.${ORIGIN}`, '4.0.0.0'),
    rec(`x.bar.foo.${ORIGIN}`, '5.0.0.0'),
    rec(`foo.${ORIGIN}`, '6.0.0.0'),
    rec(`*.foo.${ORIGIN}`, '7.0.0.0'),
    rec(`Bar.foo.${ORIGIN}`, '8.0.0.0'),
  ];
  const found = (name: string): string[] => findRecords(records, name, ORIGIN).map((r) => (r as { address: string }).address);

  it('finds by normalised name (resource_records_iterator)', () => {
    expect(found('_derp_region.iroh')).toEqual(['2.0.0.0']);
    expect(found(`_derp_region.iroh.${ORIGIN}.`)).toEqual(['2.0.0.0']);
    expect(found('@')).toEqual(['1.0.0.0']);
    expect(found('.')).toEqual(['1.0.0.0']);
    expect(found('nothing')).toEqual([]);
  });

  it('matches one label with * (wildcards)', () => {
    expect(found('*.foo')).toEqual(['4.0.0.0', '7.0.0.0', '8.0.0.0']);
    expect(found(`*.foo.${ORIGIN}`)).toEqual(['4.0.0.0', '7.0.0.0', '8.0.0.0']);
    expect(found('*.bar.foo')).toEqual(['5.0.0.0']);
    expect(found('*')).toEqual(['3.0.0.0', '6.0.0.0']);
  });

  it('is case-sensitive', () => {
    expect(found('bar.foo')).toEqual(['4.0.0.0']);
    expect(found('Bar.foo')).toEqual(['8.0.0.0']);
    expect(found('BAR.FOO')).toEqual([]);
  });

  it('compares owner names as stored (no normalisation of the records)', () => {
    expect(findRecords([rec('foo')], 'foo', ORIGIN)).toEqual([]);
  });
});

describe('name validation', () => {
  it('splits into labels; root is empty', () => {
    expect(nameToLabels('', 'n')).toEqual([]);
    expect(nameToLabels('.', 'n')).toEqual([]);
    expect(nameToLabels('a.bc.', 'n').map((l) => Buffer.from(l).toString())).toEqual(['a', 'bc']);
    expect(labelsToName(nameToLabels('é.🎮.x', 'n'))).toBe('é.🎮.x');
  });

  it('rejects empty labels', () => {
    for (const name of ['a..b', '.a', 'a..', '..']) expect(codeOf(() => validateName(name, 'n'))).toBe('INVALID_NAME');
  });

  it('limits labels to 63 bytes (UTF-8)', () => {
    expect(codeOf(() => validateName('a'.repeat(63), 'n'))).toBe('no error');
    expect(codeOf(() => validateName('a'.repeat(64), 'n'))).toBe('INVALID_NAME');
    expect(codeOf(() => validateName('é'.repeat(31), 'n'))).toBe('no error');
    expect(codeOf(() => validateName('é'.repeat(32), 'n'))).toBe('INVALID_NAME');
    expect(() => validateName('a'.repeat(64), 'record #3')).toThrow(/record #3.*64 bytes/);
  });

  it('limits the wire form to 255 bytes', () => {
    const l63 = 'a'.repeat(63);
    expect(codeOf(() => validateName(`${l63}.${l63}.${l63}.${'b'.repeat(61)}`, 'n'))).toBe('no error');
    expect(codeOf(() => validateName(`${l63}.${l63}.${l63}.${'b'.repeat(62)}`, 'n'))).toBe('INVALID_NAME');
  });

  it('rejects lone surrogates and non-strings', () => {
    expect(isWellFormed('a\uD83C')).toBe(false);
    expect(isWellFormed('🎮')).toBe(true);
    expect(codeOf(() => validateName('a\uDC00b', 'n'))).toBe('INVALID_NAME');
    expect(codeOf(() => validateName(42 as unknown as string, 'n'))).toBe('INVALID_NAME');
  });
});

describe('IP addresses', () => {
  it('parses and formats IPv4', () => {
    expect(Array.from(parseIPv4('1.2.3.4') ?? [])).toEqual([1, 2, 3, 4]);
    for (const bad of ['999.1.1.1', '1.2.3', '01.2.3.4', '::1', ' 1.2.3.4', '']) expect(parseIPv4(bad)).toBeNull();
    expect(formatIPv4(Uint8Array.of(255, 0, 10, 1))).toBe('255.0.10.1');
  });

  it('parses IPv6 forms and rejects zones and junk', () => {
    expect(Buffer.from(parseIPv6('::1') ?? []).toString('hex')).toBe('00000000000000000000000000000001');
    expect(Buffer.from(parseIPv6('2001:DB8::ff00:42:8329') ?? []).toString('hex')).toBe('20010db8000000000000ff0000428329');
    expect(Buffer.from(parseIPv6('::ffff:1.2.3.4') ?? []).toString('hex')).toBe('00000000000000000000ffff01020304');
    expect(Buffer.from(parseIPv6('1:2:3:4:5:6:7:8') ?? []).toString('hex')).toBe('00010002000300040005000600070008');
    for (const bad of ['fe80::1%eth0', '1::2::3', '1.2.3.4', '1:2:3:4:5:6:7:8:9', '00001::', 'x::']) {
      expect(parseIPv6(bad)).toBeNull();
    }
  });

  it('formats IPv6 in RFC 5952 form', () => {
    const canon = (s: string): string => formatIPv6(parseIPv6(s) ?? new Uint8Array(16));
    expect(canon('2001:0db8:0000:0000:0000:0000:0002:0001')).toBe('2001:db8::2:1');
    expect(canon('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canon('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1');
    expect(canon('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canon('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canon('1::')).toBe('1::');
    expect(canon('::ABCD')).toBe('::abcd');
    expect(canon('::ffff:0102:0304')).toBe('::ffff:1.2.3.4');
  });

  it('agrees with the WHATWG URL serialiser on random addresses', () => {
    let seed = 12345;
    const next = (): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 16; };
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(16);
      for (let j = 0; j < 16; j += 2) {
        const zero = next() % 3 === 0;
        bytes[j] = zero ? 0 : next() & 0xff;
        bytes[j + 1] = zero ? 0 : next() & 0xff;
      }
      if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) continue;
      const text = formatIPv6(bytes);
      expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      expect(parseIPv6(text)).toEqual(bytes);
    }
  });
});
