/**
 * DNS message encoder that writes exactly what the Rust reference (pkarr + simple-dns
 * `Packet::new_reply(0)` + `build_bytes_vec_compressed`) writes for the same records:
 *
 * - header `0000 8000 0000 <ancount> 0000 0000`; every record in the answers section; class IN;
 * - owner names normalised against the origin (names.ts);
 * - name compression with simple-dns's rules: one suffix table for the whole message; for each
 *   name, walk its label suffixes from the left; a suffix seen before becomes the pointer
 *   `0xC000|offset` and ends the name, otherwise its offset is remembered (only if ≤ 0x3FFF) and
 *   the label is written. Matching is byte-exact and case-sensitive. Owner names and NS/CNAME
 *   targets are compressed; SRV and SVCB/HTTPS targets are written in full and never enter the table;
 * - TXT: the strings as given; an empty list is written as one empty string (simple-dns does that).
 *
 * Every record is validated before a byte of it is written and nothing is returned on an error;
 * problems raise PkarrError 'INVALID_NAME' (names) or 'INVALID_RECORD' (anything else) with a
 * message naming the first bad record. The 1000-byte pkarr limit is not checked here (that is the
 * signed packet's job).
 *
 * Speed: one pass that validates and writes into a reused buffer (dns-writer.ts), addresses parsed
 * by hand straight into it; the only allocation per call is the returned copy.
 */
import { PkarrError } from './errors.ts';
import { checkOpaqueRdata } from './dns-decode.ts';
import { DnsWriter, throwNameError } from './dns-writer.ts';
import { formatIPv6At, isWellFormed, normalizeName, normalizeTarget, parseIPv4Into, parseIPv6Into, utf8Bytes } from './names.ts';
import type { DnsRecord, TXTRecord } from './records.ts';
import { CLASS_IN, TYPE_CODES } from './records.ts';
import { normalizeSvcParams, writeSvcbRdata } from './svcb.ts';

/** simple-dns `MAX_CHARACTER_STRING_LENGTH` (255); text is chunked at one byte less. */
export const MAX_CHARACTER_STRING_BYTES = 255;
const TXT_CHUNK_BYTES = MAX_CHARACTER_STRING_BYTES - 1;
const MODELLED_TYPE_CODES = new Set<number>(Object.values(TYPE_CODES));
/** type, class, TTL and rdlength after the owner name. */
const FIXED_RR_BYTES = 10;

/**
 * Splits a text into TXT character-strings of at most 254 UTF-8 bytes, like simple-dns's
 * `TXT::try_from(&str)`. Tiny deviation: a chunk never ends in the middle of a multi-byte
 * character (simple-dns cuts at exactly 254 bytes), so chunks may be a few bytes shorter when a
 * non-ASCII character straddles a boundary; ASCII text gives identical chunks. `''` gives `['']`.
 */
export function txtStrings(text: string): string[] {
  if (typeof text !== 'string' || !isWellFormed(text)) {
    throw new PkarrError('INVALID_RECORD', 'TXT text must be a well-formed string');
  }
  const chunks: string[] = [];
  let current = '';
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > TXT_CHUNK_BYTES) { chunks.push(current); current = ''; bytes = 0; }
    current += ch;
    bytes += n;
  }
  if (current !== '' || chunks.length === 0) chunks.push(current);
  return chunks;
}

/** The text of a TXT record: its character-strings concatenated (how pkarr reads TXT values). */
export function txtText(record: Pick<TXTRecord, 'strings'>): string {
  return record.strings.join('');
}

const isInt = (v: unknown, max: number): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;

function label(record: unknown, index: number): string {
  const r = record as { type?: unknown; name?: unknown };
  const type = typeof r?.type === 'string' ? r.type : '?';
  const name = typeof r?.name === 'string' ? r.name : '?';
  return `record #${index} (${type} ${JSON.stringify(name)})`;
}

const badRecord = (record: unknown, index: number, msg: string): PkarrError =>
  new PkarrError('INVALID_RECORD', `${label(record, index)}: ${msg}`);

/** The last origin that passed checkOrigin (the signer's key rarely changes between calls). */
let checkedOrigin = '';

/** Throws PkarrError('INVALID_ARGUMENT') unless `origin` is a single non-empty label. */
function checkOrigin(origin: string): void {
  if (origin === checkedOrigin && origin !== '') return;
  if (typeof origin !== 'string' || origin === '' || origin.includes('.') || utf8Bytes(origin).length > 63) {
    throw new PkarrError('INVALID_ARGUMENT', `origin must be a single DNS label (the signer's z32), got ${JSON.stringify(origin)}`);
  }
  checkedOrigin = origin;
}

const ipv6 = new Uint8Array(16);

/** A valid IPv6 address in the form the decoder gives back (RFC 5952). */
function canonicalIPv6(address: string): string {
  if (!parseIPv6Into(address, ipv6, 0)) ipv6.fill(0);
  return formatIPv6At(ipv6, 0);
}

/** A record target as the decoder gives it back: what nameToLabels keeps, root written `.`. */
function wireTarget(target: string): string {
  const t = normalizeTarget(target);
  return t !== '.' && t.endsWith('.') ? t.slice(0, -1) : t;
}

/**
 * Writes the owner name normalised against the writer's origin (normalizeName's rules) without
 * building the normalised string: the text before the origin is written relative to it.
 */
function writeOwner(w: DnsWriter, record: DnsRecord, origin: string, index: number): void {
  const name = record.name;
  const end = name.charCodeAt(name.length - 1) === 0x2e ? name.length - 1 : name.length;
  const dot = end === 0 ? -1 : name.lastIndexOf('.', end - 1);
  const last = end - dot - 1;
  let relativeEnd: number;
  if (last === origin.length && name.startsWith(origin, dot + 1)) relativeEnd = dot < 0 ? 0 : dot === 0 ? -1 : dot;
  else if (last === 0 || (last === 1 && name.charCodeAt(end - 1) === 0x40)) relativeEnd = 0; // '@' or empty last label
  else relativeEnd = end;
  if (relativeEnd < 0 || !w.nameInOrigin(name, relativeEnd, true)) {
    throwNameError(normalizeName(name, origin), `${label(record, index)}: owner name`);
  }
}

/** Writes a name or throws nameToLabels' INVALID_NAME error for it. */
function writeName(w: DnsWriter, name: string, compress: boolean, record: DnsRecord, index: number, field: string): void {
  if (!w.name(name, compress)) throwNameError(name, `${label(record, index)}: ${field}`);
}

function writeTarget(w: DnsWriter, record: DnsRecord & { target: unknown }, index: number, compress: boolean): void {
  if (typeof record.target !== 'string') throw new PkarrError('INVALID_NAME', `${label(record, index)}: target must be a string`);
  writeName(w, normalizeTarget(record.target), compress, record, index, 'target');
}

function writeTxt(w: DnsWriter, record: TXTRecord, index: number): void {
  const strings: unknown = record.strings;
  if (!Array.isArray(strings)) throw badRecord(record, index, 'strings must be an array');
  if (strings.length === 0) { w.u8(0); return; }
  let total = 0;
  for (const s of strings as unknown[]) {
    if (typeof s !== 'string') throw badRecord(record, index, 'TXT strings must be well-formed strings');
    let n: number;
    if (s.length > MAX_CHARACTER_STRING_BYTES) {
      // Too long whatever its encoding: report it without writing it.
      if (!isWellFormed(s)) throw badRecord(record, index, 'TXT strings must be well-formed strings');
      n = Buffer.byteLength(s, 'utf8');
    } else {
      const at = w.length;
      w.u8(0);
      n = w.utf8(s, 0, s.length);
      if (n < 0) throw badRecord(record, index, 'TXT strings must be well-formed strings');
      w.buf[at] = n;
    }
    if (n > MAX_CHARACTER_STRING_BYTES) throw badRecord(record, index, `TXT string of ${n} bytes is longer than 255 (split it with txtStrings)`);
    total += 1 + n;
  }
  if (total > 0xffff) throw badRecord(record, index, 'TXT rdata is longer than 65535 bytes');
}

/**
 * Validates and writes one resource record (owner, type, class, TTL, rdlength, rdata). Checks in
 * order: owner name, TTL, then the type's fields; throws 'INVALID_NAME' / 'INVALID_RECORD' naming
 * `record #index`.
 */
function writeRecord(w: DnsWriter, record: DnsRecord, origin: string, index: number): void {
  if (typeof record !== 'object' || record === null) throw badRecord(record, index, 'not an object');
  if (typeof record.name !== 'string') throw new PkarrError('INVALID_NAME', `${label(record, index)}: name must be a string`);
  writeOwner(w, record, origin, index);
  if (!isInt(record.ttl, 0xffffffff)) throw badRecord(record, index, `TTL ${String(record.ttl)} is not an integer in 0-4294967295`);
  w.ensure(FIXED_RR_BYTES);
  const fixed = w.length;
  w.length += FIXED_RR_BYTES;
  let type: number;
  switch (record.type) {
    case 'A': {
      const a: unknown = record.address;
      w.ensure(4);
      if (typeof a !== 'string' || !parseIPv4Into(a, 0, a.length, w.buf, w.length)) {
        throw badRecord(record, index, `invalid IPv4 address ${JSON.stringify(record.address)}`);
      }
      w.length += 4;
      type = TYPE_CODES.A;
      break;
    }
    case 'AAAA': {
      const a: unknown = record.address;
      w.ensure(16);
      if (typeof a !== 'string' || !parseIPv6Into(a, w.buf, w.length)) {
        throw badRecord(record, index, `invalid IPv6 address ${JSON.stringify(record.address)}`);
      }
      w.length += 16;
      type = TYPE_CODES.AAAA;
      break;
    }
    case 'CNAME':
    case 'NS':
      writeTarget(w, record, index, true);
      type = TYPE_CODES[record.type];
      break;
    case 'TXT':
      writeTxt(w, record, index);
      type = TYPE_CODES.TXT;
      break;
    case 'SRV':
      for (const f of ['priority', 'weight', 'port'] as const) {
        if (!isInt(record[f], 0xffff)) throw badRecord(record, index, `SRV ${f} ${String(record[f])} is not in 0-65535`);
        w.u16(record[f]);
      }
      writeTarget(w, record, index, false);
      type = TYPE_CODES.SRV;
      break;
    case 'SVCB':
    case 'HTTPS':
      if (typeof record.target !== 'string') throw new PkarrError('INVALID_NAME', `${label(record, index)}: target must be a string`);
      writeSvcbRdata(w, record.priority, record.target, record.params, label(record, index));
      type = TYPE_CODES[record.type];
      break;
    case 'UNKNOWN': {
      if (!isInt(record.typeCode, 0xffff)) throw badRecord(record, index, `typeCode ${String(record.typeCode)} is not in 0-65535`);
      if (MODELLED_TYPE_CODES.has(record.typeCode)) throw badRecord(record, index, `typeCode ${record.typeCode} has its own record type; use it`);
      if (!(record.data instanceof Uint8Array)) throw badRecord(record, index, 'data must be a Uint8Array');
      if (record.data.length > 0xffff) throw badRecord(record, index, `rdata of ${record.data.length} bytes is longer than 65535`);
      const problem = checkOpaqueRdata(record.typeCode, record.data);
      if (problem !== null) throw badRecord(record, index, `rdata is not valid for type ${record.typeCode}: ${problem}`);
      w.bytes(record.data);
      type = record.typeCode;
      break;
    }
    default:
      throw badRecord(record, index, `unknown record type ${JSON.stringify((record as { type: unknown }).type)}`);
  }
  const rdlength = w.length - fixed - FIXED_RR_BYTES;
  if (rdlength > 0xffff) throw badRecord(record, index, 'rdata is longer than 65535 bytes');
  w.setU16(fixed, type);
  w.setU16(fixed + 2, CLASS_IN);
  w.setU32(fixed + 4, record.ttl);
  w.setU16(fixed + 8, rdlength);
}

/** The encoder's buffer: encoding is synchronous and never nested, so one is shared. */
const writer = new DnsWriter();

/**
 * Validates one record for encoding against `origin` (throws 'INVALID_NAME' / 'INVALID_RECORD'
 * naming `record #index`): owner name after normalisation, TTL u32, addresses, TXT strings ≤ 255
 * bytes, u16 fields, targets, SvcParams, UNKNOWN type code and rdata ≤ 65535 bytes.
 */
export function validateRecord(record: DnsRecord, origin: string, index = 0): void {
  checkOrigin(origin);
  writer.setOrigin(origin);
  writeRecord(writer, record, origin, index);
}

/**
 * The canonical form of a (valid) record: exactly what `decodeDnsPacket(encodeDnsPacket([record],
 * origin))` gives back, same fields in the same order. Owner normalised against `origin`, targets
 * via normalizeTarget, IPv6 in RFC 5952 form, TXT `[]` → `['']`, SvcParams sorted (svcb.ts), arrays
 * and bytes copied.
 */
export function normalizeRecord(record: DnsRecord, origin: string): DnsRecord {
  const name = normalizeName(record.name, origin);
  const ttl = record.ttl;
  switch (record.type) {
    case 'A': return { type: 'A', name, ttl, address: record.address };
    case 'AAAA': return { type: 'AAAA', name, ttl, address: canonicalIPv6(record.address) };
    case 'CNAME': case 'NS': return { type: record.type, name, ttl, target: wireTarget(record.target) };
    case 'TXT': return { type: 'TXT', name, ttl, strings: record.strings.length === 0 ? [''] : record.strings.slice() };
    case 'SRV':
      return { type: 'SRV', name, ttl, priority: record.priority, weight: record.weight, port: record.port, target: wireTarget(record.target) };
    case 'SVCB': case 'HTTPS':
      return { type: record.type, name, ttl, priority: record.priority, target: wireTarget(record.target), params: normalizeSvcParams(record.params) };
    case 'UNKNOWN': return { type: 'UNKNOWN', name, ttl, typeCode: record.typeCode, data: Uint8Array.from(record.data) };
  }
}

/**
 * Encodes `records` like encodeDnsPacket, then hands the message to `finish` as `scratch[0,
 * length)` — a view of the encoder's reused buffer, valid only during the call (copy what you
 * keep). Lets SignedPacket.sign build its signable message without an intermediate copy.
 */
export function encodeDnsPacketWith<T>(records: readonly DnsRecord[], origin: string, finish: (scratch: Uint8Array, length: number) => T): T {
  checkOrigin(origin);
  if (!Array.isArray(records)) throw new PkarrError('INVALID_ARGUMENT', 'records must be an array');
  if (records.length > 0xffff) throw new PkarrError('INVALID_RECORD', `${records.length} records do not fit in a DNS message`);
  const w = writer;
  w.setOrigin(origin);
  // ID 0, QR (response) with opcode and rcode 0, no questions / authorities / additionals.
  w.u16(0);
  w.u16(0x8000);
  w.u16(0);
  w.u16(records.length);
  w.u16(0);
  w.u16(0);
  for (let i = 0; i < records.length; i++) writeRecord(w, records[i] as DnsRecord, origin, i);
  return finish(w.buf, w.length);
}

const copyOut = (scratch: Uint8Array, length: number): Uint8Array => scratch.slice(0, length);

/**
 * Encodes `records` as a pkarr DNS message, byte-identical to the Rust reference (file comment).
 * `origin` is the signer's z32 (owner names are normalised against it). Validates every record
 * (validateRecord); throws PkarrError 'INVALID_NAME' / 'INVALID_RECORD' / 'INVALID_ARGUMENT'.
 */
export function encodeDnsPacket(records: readonly DnsRecord[], origin: string): Uint8Array {
  return encodeDnsPacketWith(records, origin, copyOut);
}
