/**
 * A strict, bounded bencode codec (BEP3) for the few KRPC messages the sidecar writes and reads
 * itself on a shared UDP socket (DHT-STUN pings, nat/dht-stun.ts). bittorrent-dht keeps its own
 * codec for its own socket; the `bencode` packages in node_modules are transitive dependencies of it
 * (three versions) and lenient on malformed input, so untrusted datagrams are decoded here instead.
 *
 * Decoding rejects, with a BencodeError: truncated or trailing data, leading zeros, `-0`, integers
 * outside the safe range, duplicate dictionary keys, more than MAX_DEPTH nesting levels, and input
 * longer than the caller's limit. Byte strings come back as Buffers (views of the input), dictionaries
 * as null-prototype records keyed by the key bytes read as latin1 (one character per byte).
 */

export type BencodeValue = Buffer | number | BencodeValue[] | BencodeDict;
export interface BencodeDict {
  [key: string]: BencodeValue;
}

/** Deepest nesting accepted (KRPC messages use 3). */
export const MAX_DEPTH = 16;

/** A datagram that is not valid bencode. */
export class BencodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BencodeError';
  }
}

const D = 0x64; // d
const L = 0x6c; // l
const I = 0x69; // i
const E = 0x65; // e
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Decodes one bencoded value that must span all of `bytes` (at most `maxBytes` long). */
export function bdecode(bytes: Uint8Array, maxBytes = 65_536): BencodeValue {
  if (bytes.length > maxBytes) throw new BencodeError(`input of ${bytes.length} bytes exceeds ${maxBytes}`);
  if (bytes.length === 0) throw new BencodeError('empty input');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = { pos: 0 };
  const value = readValue(buf, reader, 0);
  if (reader.pos !== buf.length) throw new BencodeError(`${buf.length - reader.pos} trailing bytes`);
  return value;
}

function readValue(buf: Buffer, r: { pos: number }, depth: number): BencodeValue {
  if (r.pos >= buf.length) throw new BencodeError('truncated input');
  const c = buf[r.pos]!;
  if (c === I) {
    r.pos++;
    const n = readDecimal(buf, r, E, true);
    r.pos++; // the 'e'
    return n;
  }
  if (c >= ZERO && c <= NINE) return readBytes(buf, r);
  if (c !== L && c !== D) throw new BencodeError(`unexpected byte 0x${c.toString(16)} at ${r.pos}`);
  if (depth >= MAX_DEPTH) throw new BencodeError(`nesting deeper than ${MAX_DEPTH}`);
  r.pos++;
  if (c === L) {
    const list: BencodeValue[] = [];
    for (;;) {
      if (r.pos >= buf.length) throw new BencodeError('truncated list');
      if (buf[r.pos] === E) { r.pos++; return list; }
      list.push(readValue(buf, r, depth + 1));
    }
  }
  const dict = Object.create(null) as BencodeDict;
  for (;;) {
    if (r.pos >= buf.length) throw new BencodeError('truncated dictionary');
    if (buf[r.pos] === E) { r.pos++; return dict; }
    const keyAt = buf[r.pos]!;
    if (keyAt < ZERO || keyAt > NINE) throw new BencodeError(`dictionary key at ${r.pos} is not a byte string`);
    const key = readBytes(buf, r).toString('latin1');
    if (Object.hasOwn(dict, key)) throw new BencodeError(`duplicate dictionary key ${JSON.stringify(key)}`);
    dict[key] = readValue(buf, r, depth + 1);
  }
}

/** Reads a decimal up to (not past) `end`; `signed` allows a leading minus. */
function readDecimal(buf: Buffer, r: { pos: number }, end: number, signed: boolean): number {
  const start = r.pos;
  let negative = false;
  if (signed && buf[r.pos] === MINUS) { negative = true; r.pos++; }
  const digitsAt = r.pos;
  let n = 0;
  while (r.pos < buf.length && buf[r.pos] !== end) {
    const d = buf[r.pos]!;
    if (d < ZERO || d > NINE) throw new BencodeError(`invalid digit 0x${d.toString(16)} at ${r.pos}`);
    n = n * 10 + (d - ZERO);
    if (n > Number.MAX_SAFE_INTEGER) throw new BencodeError(`integer at ${start} out of range`);
    r.pos++;
  }
  if (r.pos >= buf.length) throw new BencodeError('truncated number');
  const digits = r.pos - digitsAt;
  if (digits === 0) throw new BencodeError(`empty number at ${start}`);
  if (digits > 1 && buf[digitsAt] === ZERO) throw new BencodeError(`leading zero at ${start}`);
  if (negative && n === 0) throw new BencodeError(`negative zero at ${start}`);
  return negative ? -n : n;
}

function readBytes(buf: Buffer, r: { pos: number }): Buffer {
  const length = readDecimal(buf, r, COLON, false);
  r.pos++; // the ':'
  if (length > buf.length - r.pos) throw new BencodeError(`byte string of ${length} bytes runs past the end`);
  const out = buf.subarray(r.pos, r.pos + length);
  r.pos += length;
  return out;
}

/** Encodable values: byte strings (Uint8Array, or text as UTF-8), safe integers, lists, dictionaries. */
export type BencodeInput = Uint8Array | string | number | readonly BencodeInput[] | { readonly [key: string]: BencodeInput };

/** Encodes `value` (text values as UTF-8, dictionary keys as latin1); keys are sorted by their bytes, as BEP3 requires. */
export function bencode(value: BencodeInput): Buffer {
  const parts: Buffer[] = [];
  write(value, parts, 0);
  return Buffer.concat(parts);
}

function write(value: BencodeInput, out: Buffer[], depth: number): void {
  if (depth > MAX_DEPTH) throw new BencodeError(`nesting deeper than ${MAX_DEPTH}`);
  if (value === undefined || value === null || typeof value === 'boolean') throw new BencodeError(`cannot encode ${String(value)}`);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new BencodeError(`cannot encode ${value}: not a safe integer`);
    out.push(Buffer.from(`i${value}e`, 'latin1'));
  } else if (typeof value === 'string' || value instanceof Uint8Array) {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    out.push(Buffer.from(`${bytes.length}:`, 'latin1'), Buffer.from(bytes));
  } else if (Array.isArray(value)) {
    out.push(Buffer.from('l', 'latin1'));
    for (const item of value as readonly BencodeInput[]) write(item, out, depth + 1);
    out.push(Buffer.from('e', 'latin1'));
  } else {
    const dict = value as { readonly [key: string]: BencodeInput };
    // Keys are latin1 both ways (one character per byte), as bdecode returns them.
    const keys = Object.keys(dict).map((k) => {
      if (/[^\x00-\xff]/.test(k)) throw new BencodeError(`dictionary key ${JSON.stringify(k)} has a character above U+00FF`);
      return Buffer.from(k, 'latin1');
    }).sort(Buffer.compare);
    out.push(Buffer.from('d', 'latin1'));
    for (const key of keys) {
      out.push(Buffer.from(`${key.length}:`, 'latin1'), key);
      write(dict[key.toString('latin1')]!, out, depth + 1);
    }
    out.push(Buffer.from('e', 'latin1'));
  }
}
