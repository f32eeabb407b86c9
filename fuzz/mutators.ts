/**
 * Mutators: turn a valid seed input into a nearby invalid (or unusual) one. Three families:
 *
 * - bytes: bit flips, interesting byte/u16 values, truncations, deletions, insertions, splices
 *   with other seeds, pure random bytes; plus DNS-aware lies when the seed carries a field map
 *   (dns-fields.ts): section count lies, rdlength lies, label length lies, oversized labels,
 *   over-long names, compression-pointer loops (self, forward, mutual, into the header, past the
 *   end), TXT/SvcParam length lies, type/class swaps, header flag flips;
 * - text: character and token edits with a dictionary of tricky tokens and characters;
 * - JSON values: replace/delete/add/rename nodes, type confusion, edge numbers, deep nesting.
 *
 * Every mutation returns its name (joined with `+` when stacked) so findings say how an input
 * was made. Everything is driven by the caller's Rng, hence reproducible.
 */
import type { DnsFields } from './dns-fields.ts';
import type { Rng } from './prng.ts';

/** A seed for byte mutation: the bytes and, for DNS-bearing seeds, where the DNS fields are. */
export interface ByteSeed {
  readonly bytes: Uint8Array;
  readonly fields?: DnsFields;
}

export interface Mutated<T> {
  value: T;
  mutation: string;
}

type ByteMutator = (rng: Rng, data: Uint8Array, seed: ByteSeed, corpus: readonly ByteSeed[], maxLength: number) => Uint8Array;

const U8_INTERESTING = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xfe, 0xff];
const U16_INTERESTING = [0, 1, 2, 0x7f, 0xff, 0x100, 0x3fff, 0x7fff, 0x8000, 0xc000, 0xfffe, 0xffff];

function setU16(data: Uint8Array, at: number, value: number): void {
  if (at < 0 || at + 1 >= data.length) return;
  data[at] = (value >>> 8) & 0xff;
  data[at + 1] = value & 0xff;
}

function getU16(data: Uint8Array, at: number): number {
  return ((data[at] ?? 0) << 8) | (data[at + 1] ?? 0);
}

function lieAbout(rng: Rng, original: number, max: number): number {
  return rng.weighted<() => number>([
    [() => original + 1, 3], [() => Math.max(0, original - 1), 3], [() => 0, 2], [() => max, 2],
    [() => original + rng.range(2, 64), 1], [() => rng.int(max + 1), 2],
  ])() & max;
}

function splice(data: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const start = Math.max(0, Math.min(at, data.length));
  const end = Math.min(data.length, start + remove);
  const out = new Uint8Array(data.length - (end - start) + insert.length);
  out.set(data.subarray(0, start), 0);
  out.set(insert, start);
  out.set(data.subarray(end), start + insert.length);
  return out;
}

function label(rng: Rng, length: number): Uint8Array {
  const out = new Uint8Array(length + 1);
  out[0] = length;
  for (let i = 1; i <= length; i++) out[i] = 0x61 + rng.int(26);
  return out;
}

/** Generic byte mutators (work on any bytes). */
const GENERIC: Record<string, ByteMutator> = {
  bitflip: (rng, d) => {
    const out = new Uint8Array(d);
    for (let n = rng.range(1, 8); n > 0 && out.length > 0; n--) {
      const i = rng.int(out.length);
      out[i] = (out[i] ?? 0) ^ (1 << rng.int(8));
    }
    return out;
  },
  'byte-interesting': (rng, d) => {
    const out = new Uint8Array(d);
    for (let n = rng.range(1, 4); n > 0 && out.length > 0; n--) out[rng.int(out.length)] = rng.pick(U8_INTERESTING);
    return out;
  },
  'u16-interesting': (rng, d) => {
    const out = new Uint8Array(d);
    setU16(out, rng.int(out.length), rng.pick(U16_INTERESTING));
    return out;
  },
  truncate: (rng, d) => d.slice(0, rng.int(d.length + 1)),
  'truncate-tail': (rng, d) => d.slice(0, Math.max(0, d.length - rng.range(1, 16))),
  'drop-range': (rng, d) => splice(d, rng.int(d.length + 1), rng.range(1, 32), new Uint8Array(0)),
  'insert-random': (rng, d) => splice(d, rng.int(d.length + 1), 0, rng.bytes(rng.range(1, 32))),
  'duplicate-range': (rng, d) => {
    const at = rng.int(d.length + 1);
    const chunk = d.slice(at, at + rng.range(1, 64));
    return splice(d, rng.int(d.length + 1), 0, chunk);
  },
  'append-random': (rng, d, _s, _c, max) => splice(d, d.length, 0, rng.bytes(rng.int(Math.max(1, max - d.length) + 1))),
  'zero-range': (rng, d) => {
    const out = new Uint8Array(d);
    out.fill(0, rng.int(out.length + 1), rng.int(out.length + 1) + rng.range(1, 16));
    return out;
  },
  'splice-other': (rng, d, _s, corpus) => {
    const other = rng.pick(corpus).bytes;
    const cut = rng.int(d.length + 1);
    return splice(d, cut, d.length - cut, other.subarray(rng.int(other.length + 1)));
  },
};

function at<T>(rng: Rng, list: readonly T[] | undefined): T | undefined {
  return list === undefined || list.length === 0 ? undefined : rng.pick(list);
}

/** DNS-aware mutators (need the seed's field map; offsets refer to the unmutated seed). */
const DNS: Record<string, ByteMutator> = {
  'count-lie': (rng, d, s) => {
    const out = new Uint8Array(d);
    const o = at(rng, s.fields?.counts);
    if (o !== undefined) setU16(out, o, lieAbout(rng, getU16(out, o), 0xffff));
    return out;
  },
  'rdlength-lie': (rng, d, s) => {
    const out = new Uint8Array(d);
    const o = at(rng, s.fields?.rdlengths);
    if (o !== undefined) setU16(out, o, lieAbout(rng, getU16(out, o), 0xffff));
    return out;
  },
  'label-length-lie': (rng, d, s) => {
    const out = new Uint8Array(d);
    const o = at(rng, s.fields?.labels);
    if (o !== undefined && o < out.length) out[o] = rng.weighted<() => number>([[() => lieAbout(rng, out[o] ?? 0, 0xff), 3], [() => rng.pick([63, 64, 0x40, 0x7f, 0x80, 0xbf]), 2]])();
    return out;
  },
  'oversized-label': (rng, d, s) => {
    const o = at(rng, s.fields?.labels) ?? at(rng, s.fields?.names);
    return o === undefined ? d : splice(d, o, 0, label(rng, rng.range(64, 255)));
  },
  'long-name': (rng, d, s) => {
    const o = at(rng, s.fields?.names);
    if (o === undefined) return d;
    const parts: Uint8Array[] = [];
    for (let n = rng.range(4, 70); n > 0; n--) parts.push(label(rng, rng.weighted([[63, 3], [1, 2], [rng.range(1, 63), 2]])));
    return splice(d, o, 0, Uint8Array.from(parts.flatMap((p) => [...p])));
  },
  'pointer-loop': (rng, d, s) => {
    const f = s.fields;
    if (f === undefined) return d;
    const out = new Uint8Array(d);
    const spots = [...f.names, ...f.pointers, ...f.labels];
    const a = at(rng, spots);
    if (a === undefined) return out;
    const b = at(rng, spots) ?? a;
    const pointer = (from: number, to: number): void => setU16(out, from, 0xc000 | (to & 0x3fff));
    rng.weighted<() => void>([
      [() => pointer(a, a), 3], // to itself
      [() => { pointer(a, b); pointer(b, a); }, 3], // mutual loop
      [() => pointer(a, Math.max(a, b) + rng.range(0, 8)), 2], // forwards
      [() => pointer(a, rng.int(12)), 1], // into the header
      [() => pointer(a, out.length + rng.range(0, 300)), 1], // past the end
      [() => pointer(a, Math.max(0, a - rng.range(1, 3))), 1], // into its own bytes
    ])();
    return out;
  },
  'string-length-lie': (rng, d, s) => {
    const out = new Uint8Array(d);
    const o = at(rng, s.fields?.stringLengths);
    if (o !== undefined && o < out.length) out[o] = lieAbout(rng, out[o] ?? 0, 0xff);
    return out;
  },
  'svcparam-lie': (rng, d, s) => {
    const out = new Uint8Array(d);
    const o = at(rng, s.fields?.paramLengths);
    if (o === undefined) return out;
    if (rng.chance(0.5)) setU16(out, o, lieAbout(rng, getU16(out, o), 0xffff));
    else setU16(out, o - 2, rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 65534, 65535, getU16(out, o - 6)]));
    return out;
  },
  'type-swap': (rng, d, s) => {
    const out = new Uint8Array(d);
    const o = at(rng, s.fields?.types);
    if (o !== undefined) setU16(out, o, rng.pick([1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 64, 65, 0, 255, 65535, rng.int(65536)]));
    return out;
  },
  'class-lie': (rng, d, s) => {
    const out = new Uint8Array(d);
    const o = at(rng, s.fields?.classes);
    if (o !== undefined) setU16(out, o, rng.pick([0, 2, 3, 4, 5, 254, 255, 0x8001, 0xffff, rng.int(65536)]));
    return out;
  },
  'flags-flip': (rng, d, s) => {
    const out = new Uint8Array(d);
    const o = s.fields?.flags;
    if (o !== undefined) setU16(out, o, getU16(out, o) ^ (1 << rng.int(16)));
    return out;
  },
};

const GENERIC_NAMES = Object.keys(GENERIC);
const DNS_NAMES = Object.keys(DNS);

/**
 * One to four stacked byte mutations of `seed` (DNS-aware ones first when the seed has a field
 * map; about one input in 20 is pure random bytes instead). Never longer than `maxLength`.
 */
export function mutateBytes(rng: Rng, seed: ByteSeed, corpus: readonly ByteSeed[], maxLength: number): Mutated<Uint8Array> {
  if (rng.chance(0.05)) return { value: rng.bytes(rng.smallLength(maxLength)), mutation: 'random-bytes' };
  const names: string[] = [];
  let data = seed.bytes;
  const steps = rng.weighted([[1, 5], [2, 3], [3, 1], [4, 1]]);
  for (let i = 0; i < steps; i++) {
    const dnsStep = seed.fields !== undefined && (i === 0 ? rng.chance(0.6) : rng.chance(0.2));
    const name = dnsStep ? rng.pick(DNS_NAMES) : rng.pick(GENERIC_NAMES);
    const mutator = (dnsStep ? DNS[name] : GENERIC[name])!;
    data = mutator(rng, data, seed, corpus, maxLength);
    names.push(name);
  }
  if (data.length > maxLength) data = data.slice(0, maxLength);
  return { value: data, mutation: names.join('+') };
}

// ---------------------------------------------------------------------------------------------
// Text

const CHARS = [
  ' ', '\t', '\n', '\r', '"', '\\', '=', ',', '.', ':', '/', '%', '#', '@', '?', '&', '-', '_', '*', '0', '9', 'A', 'z',
  '\u0000', '\u001f', '\u007f', '\u0085', '\u00a0', '\u00e9', '\u200b', '\u2028', '\u202e', '\ufeff', '\ufffd',
  '\ud800', '\udfff', '\ud83d\ude00', '\u4e2d', '\u0301',
];
const TOKENS = [
  '@', '.', '..', '\\#', '""', '"', '\\', '-1', '0', '00', '007', '1e3', '0x10', '65535', '65536', '4294967295',
  '4294967296', '99999999999999999999', 'NaN', 'Infinity', '1.5', '256.1.1.1', '1.2.3', '::', '::ffff:1.2.3.4',
  '1::2::3', 'fe80::1%eth0', 'A', 'AAAA', 'TXT', 'SVCB', 'HTTPS', 'SRV', 'CNAME', 'NS', 'TYPE0', 'TYPE65535',
  'TYPE65536', 'port=', 'port=99999', 'alpn=', 'alpn=,', 'mandatory=port', 'mandatory=mandatory', 'key65535=zz',
  'key7=', 'ech=!!', 'no-default-alpn=1', 'ipv4hint=1.2.3.4,', 'pk:', 'https://', 'http://user@', ':8080', '?x=1', '#frag',
  'y'.repeat(52), 'x'.repeat(63), 'x'.repeat(64), `${'a'.repeat(63)}.`.repeat(5), 'é'.repeat(40), '\ud800x',
];

type TextMutator = (rng: Rng, text: string, corpus: readonly string[]) => string;

function randomChar(rng: Rng): string {
  return rng.chance(0.6) ? rng.pick(CHARS) : String.fromCharCode(rng.chance(0.7) ? rng.range(0x20, 0x7e) : rng.int(0x10000));
}

function tokens(text: string): string[] {
  return text.split(/([ \t]+)/);
}

const TEXT: Record<string, TextMutator> = {
  'char-replace': (rng, t) => { const i = rng.int(t.length); return t.slice(0, i) + randomChar(rng) + t.slice(i + 1); },
  'char-insert': (rng, t) => { const i = rng.int(t.length + 1); return t.slice(0, i) + randomChar(rng) + t.slice(i); },
  'char-delete': (rng, t) => { const i = rng.int(t.length); return t.slice(0, i) + t.slice(i + rng.range(1, 4)); },
  'token-insert': (rng, t) => { const p = tokens(t); p.splice(rng.int(p.length + 1), 0, rng.pick(TOKENS), ' '); return p.join(''); },
  'token-replace': (rng, t) => { const p = tokens(t); p[rng.int(p.length)] = rng.pick(TOKENS); return p.join(''); },
  'token-delete': (rng, t) => { const p = tokens(t); p.splice(rng.int(p.length), 1); return p.join(''); },
  'token-duplicate': (rng, t) => { const p = tokens(t); const x = rng.pick(p); p.splice(rng.int(p.length + 1), 0, ' ', x, ' '); return p.join(''); },
  'token-swap': (rng, t) => {
    const p = tokens(t);
    const i = rng.int(p.length);
    const j = rng.int(p.length);
    [p[i], p[j]] = [p[j] ?? '', p[i] ?? ''];
    return p.join('');
  },
  truncate: (rng, t) => t.slice(0, rng.int(t.length + 1)),
  repeat: (rng, t) => { const i = rng.int(t.length); const chunk = t.slice(i, i + rng.range(1, 8)); return t.slice(0, i) + chunk.repeat(rng.range(2, 400)) + t.slice(i); },
  'case-flip': (rng, t) => { const i = rng.int(t.length); const c = t[i] ?? ''; return t.slice(0, i) + (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()) + t.slice(i + 1); },
  'number-lie': (rng, t) => t.replace(/[0-9]+/, () => rng.pick(['-1', '0', '00', '65535', '65536', '4294967295', '4294967296', '1e3', '0x10', '1.5', '99999999999999999999', ''])),
  'splice-other': (rng, t, corpus) => { const o = rng.pick(corpus); return t.slice(0, rng.int(t.length + 1)) + o.slice(rng.int(o.length + 1)); },
};
const TEXT_NAMES = Object.keys(TEXT);

/** A random string: printable ASCII, tricky characters, or any UTF-16 code units. */
export function randomText(rng: Rng, maxLength: number): string {
  const n = rng.smallLength(maxLength);
  let out = '';
  const mode = rng.int(3);
  for (let i = 0; i < n; i++) out += mode === 0 ? String.fromCharCode(rng.range(0x20, 0x7e)) : mode === 1 ? randomChar(rng) : String.fromCharCode(rng.int(0x10000));
  return out;
}

/** One to four stacked text mutations of `seed` (one in 20: a random string instead). */
export function mutateText(rng: Rng, seed: string, corpus: readonly string[], maxLength: number): Mutated<string> {
  if (rng.chance(0.05)) return { value: randomText(rng, maxLength), mutation: 'random-text' };
  const names: string[] = [];
  let text = seed;
  for (let i = rng.weighted([[1, 5], [2, 3], [3, 1], [4, 1]]); i > 0; i--) {
    const name = rng.pick(TEXT_NAMES);
    text = TEXT[name]!(rng, text, corpus);
    names.push(name);
  }
  return { value: text.length > maxLength ? text.slice(0, maxLength) : text, mutation: names.join('+') };
}

// ---------------------------------------------------------------------------------------------
// JSON values

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const EDGE_NUMBERS = [0, -0, 1, -1, 0.5, 1.5, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, -1e308, 5e-324];
const EDGE_STRINGS = ['', ' ', '@', '.', '-', 'a/b', '..', '__proto__', 'constructor', 'toString', '0', 'true', 'null', '\u0000', '\ud800', '\u202e', 'é', 'x'.repeat(65), 'y'.repeat(52), 'pk:', '00'.repeat(32), 'zz'.repeat(32)];
const EDGE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'id', 'jsonrpc', 'method', 'params', 'name', 'key', 'records', 'type', 'ttl', 'secretKey', 'publicKey', ''];

/** A random JSON value (bounded depth and size). */
export function randomJson(rng: Rng, depth = 0): Json {
  const kind = depth >= 3 ? rng.int(5) : rng.int(7);
  switch (kind) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.chance(0.5) ? rng.pick(EDGE_NUMBERS) : rng.range(-1000, 100_000);
    case 3: return rng.chance(0.6) ? rng.pick(EDGE_STRINGS) : randomText(rng, 80);
    case 4: return rng.pick([...TOKENS, ...EDGE_STRINGS]);
    case 5: return Array.from({ length: rng.smallLength(8) }, () => randomJson(rng, depth + 1));
    default: {
      const out: { [key: string]: Json } = {};
      for (let n = rng.smallLength(6); n > 0; n--) out[rng.chance(0.5) ? rng.pick(EDGE_KEYS) : randomText(rng, 12)] = randomJson(rng, depth + 1);
      return out;
    }
  }
}

interface Slot { parent: Json[] | { [key: string]: Json }; key: string | number; value: Json }

function slots(value: Json, out: Slot[] = [], depth = 0): Slot[] {
  if (depth > 32 || value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) value.forEach((v, i) => { out.push({ parent: value, key: i, value: v }); slots(v, out, depth + 1); });
  else for (const [k, v] of Object.entries(value)) { out.push({ parent: value, key: k, value: v }); slots(v, out, depth + 1); }
  return out;
}

function put(slot: Slot, value: Json): void {
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
  else Object.defineProperty(slot.parent, slot.key, { value, enumerable: true, writable: true, configurable: true });
}

type JsonMutator = (rng: Rng, slot: Slot) => void;

/** Stacked JSON mutations stop growing a value beyond this many characters of JSON. */
const MAX_JSON_CHARS = 48_000;

const JSON_MUTATORS: Record<string, JsonMutator> = {
  'replace-random': (rng, s) => put(s, randomJson(rng)),
  'replace-edge': (rng, s) => put(s, typeof s.value === 'number' || rng.chance(0.5) ? rng.pick(EDGE_NUMBERS) : rng.pick(EDGE_STRINGS)),
  'type-confuse': (rng, s) => put(s, rng.pick<Json>([null, true, 0, '', [], {}, [s.value], { value: s.value }, JSON.stringify(s.value) ?? 'null'])),
  delete: (_rng, s) => { if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1); else delete s.parent[s.key as string]; },
  'add-key': (rng, s) => {
    if (s.value !== null && typeof s.value === 'object' && !Array.isArray(s.value)) {
      Object.defineProperty(s.value, rng.pick(EDGE_KEYS), { value: randomJson(rng, 2), enumerable: true, writable: true, configurable: true });
    } else put(s, { [rng.pick(EDGE_KEYS)]: s.value });
  },
  rename: (rng, s) => {
    if (Array.isArray(s.parent)) return;
    delete s.parent[s.key as string];
    put({ ...s, key: rng.chance(0.5) ? rng.pick(EDGE_KEYS) : `${String(s.key)}${randomChar(rng)}` }, s.value);
  },
  'string-mutate': (rng, s) => { if (typeof s.value === 'string') put(s, mutateText(rng, s.value, TOKENS, 2000).value); else put(s, randomJson(rng)); },
  'deep-nest': (rng, s) => { let v: Json = s.value; for (let n = rng.range(10, 2000); n > 0; n--) v = rng.chance(0.5) ? [v] : { a: v }; put(s, v); },
  'grow-array': (rng, s) => {
    const size = (JSON.stringify(s.value) ?? '').length + 1;
    const n = Math.max(2, Math.min(rng.range(2, 300), Math.floor(MAX_JSON_CHARS / size)));
    put(s, Array.from({ length: n }, () => (rng.chance(0.7) ? s.value : randomJson(rng, 2))));
  },
};
const JSON_NAMES = Object.keys(JSON_MUTATORS);

/** One to three stacked structural mutations of a copy of `seed`. */
export function mutateJson(rng: Rng, seed: Json): Mutated<Json> {
  const root: { [key: string]: Json } = { root: structuredClone(seed) };
  const names: string[] = [];
  for (let i = rng.weighted([[1, 6], [2, 3], [3, 1]]); i > 0; i--) {
    if (!Object.hasOwn(root, 'root')) root['root'] = null;
    if (names.length > 0 && (JSON.stringify(root['root']) ?? '').length > MAX_JSON_CHARS) break;
    const all = slots(root);
    const slot = rng.pick(all);
    const name = rng.pick(JSON_NAMES);
    JSON_MUTATORS[name]!(rng, slot);
    names.push(name);
  }
  return { value: root['root'] ?? null, mutation: names.join('+') };
}
