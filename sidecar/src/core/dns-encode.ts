/**
 * DNS message encoder that writes exactly what the Rust reference (pkarr + simple-dns
 * `Packet::new_reply(0)` + `build_bytes_vec_compressed`) writes for the same records (spec §1.8):
 *
 * - header `0000 8000 0000 <ancount> 0000 0000`; every record in the answers section; class IN;
 * - owner names normalised against the origin (names.ts, spec §1.9);
 * - name compression with simple-dns's rules: one suffix table for the whole message; for each
 *   name, walk its label suffixes from the left; a suffix seen before becomes the pointer
 *   `0xC000|offset` and ends the name, otherwise its offset is remembered (only if ≤ 0x3FFF) and
 *   the label is written. Matching is byte-exact and case-sensitive. Owner names and NS/CNAME
 *   targets are compressed; SRV and SVCB/HTTPS targets are written in full and never enter the table;
 * - TXT: the strings as given; an empty list is written as one empty string (simple-dns does that).
 *
 * Everything is validated before a byte is written; problems raise PkarrError 'INVALID_NAME'
 * (names) or 'INVALID_RECORD' (anything else) with a message naming the record. The 1000-byte
 * pkarr limit is not checked here (that is the signed packet's job).
 */
import { PkarrError } from './errors.ts';
import { checkOpaqueRdata } from './dns-decode.ts';
import {
  formatIPv6, isWellFormed, nameToLabels, normalizeName, normalizeTarget, parseIPv4, parseIPv6, utf8Bytes,
} from './names.ts';
import type { DnsRecord, SVCBRecord, TXTRecord } from './records.ts';
import { CLASS_IN, TYPE_CODES } from './records.ts';
import { encodeSvcbRdata, normalizeSvcParams, validateSvcParams } from './svcb.ts';

/** simple-dns `MAX_CHARACTER_STRING_LENGTH` (255); text is chunked at one byte less. */
export const MAX_CHARACTER_STRING_BYTES = 255;
const TXT_CHUNK_BYTES = MAX_CHARACTER_STRING_BYTES - 1;
const MAX_POINTER_OFFSET = 0x3fff;
const MODELLED_TYPE_CODES = new Set<number>(Object.values(TYPE_CODES));

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

/** Throws PkarrError('INVALID_ARGUMENT') unless `origin` is a single non-empty label. */
function checkOrigin(origin: string): void {
  if (typeof origin !== 'string' || origin === '' || origin.includes('.') || utf8Bytes(origin).length > 63) {
    throw new PkarrError('INVALID_ARGUMENT', `origin must be a single DNS label (the signer's z32), got ${JSON.stringify(origin)}`);
  }
}

/**
 * Validates one record for encoding against `origin` (throws 'INVALID_NAME' / 'INVALID_RECORD'
 * naming `record #index`): owner name after normalisation, TTL u32, addresses, TXT strings ≤ 255
 * bytes, u16 fields, targets, SvcParams, UNKNOWN type code and rdata ≤ 65535 bytes.
 */
export function validateRecord(record: DnsRecord, origin: string, index = 0): void {
  checkOrigin(origin);
  const what = label(record, index);
  const bad = (msg: string): PkarrError => new PkarrError('INVALID_RECORD', `${what}: ${msg}`);
  if (typeof record !== 'object' || record === null) throw bad('not an object');
  if (typeof record.name !== 'string') throw new PkarrError('INVALID_NAME', `${what}: name must be a string`);
  nameToLabels(normalizeName(record.name, origin), `${what}: owner name`);
  if (!isInt(record.ttl, 0xffffffff)) throw bad(`TTL ${String(record.ttl)} is not an integer in 0-4294967295`);
  switch (record.type) {
    case 'A':
      if (parseIPv4(record.address) === null) throw bad(`invalid IPv4 address ${JSON.stringify(record.address)}`);
      break;
    case 'AAAA':
      if (parseIPv6(record.address) === null) throw bad(`invalid IPv6 address ${JSON.stringify(record.address)}`);
      break;
    case 'CNAME':
    case 'NS':
      if (typeof record.target !== 'string') throw new PkarrError('INVALID_NAME', `${what}: target must be a string`);
      nameToLabels(normalizeTarget(record.target), `${what}: target`);
      break;
    case 'TXT': {
      if (!Array.isArray(record.strings)) throw bad('strings must be an array');
      let total = 0;
      for (const s of record.strings) {
        if (typeof s !== 'string' || !isWellFormed(s)) throw bad('TXT strings must be well-formed strings');
        const n = utf8Bytes(s).length;
        if (n > MAX_CHARACTER_STRING_BYTES) throw bad(`TXT string of ${n} bytes is longer than 255 (split it with txtStrings)`);
        total += 1 + n;
      }
      if (total > 0xffff) throw bad('TXT rdata is longer than 65535 bytes');
      break;
    }
    case 'SRV':
      for (const f of ['priority', 'weight', 'port'] as const) {
        if (!isInt(record[f], 0xffff)) throw bad(`SRV ${f} ${String(record[f])} is not in 0-65535`);
      }
      if (typeof record.target !== 'string') throw new PkarrError('INVALID_NAME', `${what}: target must be a string`);
      nameToLabels(normalizeTarget(record.target), `${what}: target`);
      break;
    case 'SVCB':
    case 'HTTPS':
      if (typeof record.target !== 'string') throw new PkarrError('INVALID_NAME', `${what}: target must be a string`);
      encodeSvcbRdata(record.priority, record.target, record.params, what);
      break;
    case 'UNKNOWN': {
      if (!isInt(record.typeCode, 0xffff)) throw bad(`typeCode ${String(record.typeCode)} is not in 0-65535`);
      if (MODELLED_TYPE_CODES.has(record.typeCode)) throw bad(`typeCode ${record.typeCode} has its own record type; use it`);
      if (!(record.data instanceof Uint8Array)) throw bad('data must be a Uint8Array');
      if (record.data.length > 0xffff) throw bad(`rdata of ${record.data.length} bytes is longer than 65535`);
      const problem = checkOpaqueRdata(record.typeCode, record.data);
      if (problem !== null) throw bad(`rdata is not valid for type ${record.typeCode}: ${problem}`);
      break;
    }
    default:
      throw bad(`unknown record type ${JSON.stringify((record as { type: unknown }).type)}`);
  }
}

/**
 * The canonical form of a (valid) record: what `decodeDnsPacket(encodeDnsPacket([record], origin))`
 * gives back. Owner normalised against `origin`, targets via normalizeTarget, IPv6 in RFC 5952 form,
 * TXT `[]` → `['']`, SvcParams sorted (svcb.ts), byte arrays copied.
 */
export function normalizeRecord(record: DnsRecord, origin: string): DnsRecord {
  const name = normalizeName(record.name, origin);
  switch (record.type) {
    case 'A': return { ...record, name };
    case 'AAAA': return { ...record, name, address: formatIPv6(parseIPv6(record.address) ?? new Uint8Array(16)) };
    case 'CNAME': case 'NS': case 'SRV': return { ...record, name, target: normalizeTarget(record.target) };
    case 'TXT': return { ...record, name, strings: record.strings.length === 0 ? [''] : [...record.strings] };
    case 'SVCB': case 'HTTPS':
      return { ...record, name, target: normalizeTarget(record.target), params: normalizeSvcParams(record.params) };
    case 'UNKNOWN': return { ...record, name, data: Uint8Array.from(record.data) };
  }
}

/** Growable big-endian byte writer. */
class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): void { this.ensure(1); this.buf[this.length++] = v & 0xff; }
  u16(v: number): void { this.u8(v >>> 8); this.u8(v); }
  u32(v: number): void { this.u16(Math.floor(v / 0x10000)); this.u16(v % 0x10000); }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.length); this.length += b.length; }
  setU16(at: number, v: number): void { this.buf[at] = (v >>> 8) & 0xff; this.buf[at + 1] = v & 0xff; }
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

/** Writes names, compressing with simple-dns's shared suffix table. */
class NameWriter {
  private readonly table = new Map<string, number>();
  private readonly out: ByteWriter;

  constructor(out: ByteWriter) { this.out = out; }

  /** Writes `labels` uncompressed and without touching the table. */
  plain(labels: readonly Uint8Array[]): void {
    for (const l of labels) { this.out.u8(l.length); this.out.bytes(l); }
    this.out.u8(0);
  }

  /** Writes `labels` compressed (simple-dns `compress_append`). */
  compressed(labels: readonly Uint8Array[]): void {
    // Labels come from splitting on '.', so their bytes never contain 0x2E: '.' is a safe joiner.
    const suffixes: string[] = new Array<string>(labels.length);
    let suffix = '';
    for (let i = labels.length - 1; i >= 0; i--) {
      const key = String.fromCharCode(...(labels[i] ?? []));
      suffix = i === labels.length - 1 ? key : `${key}.${suffix}`;
      suffixes[i] = suffix;
    }
    for (let i = 0; i < labels.length; i++) {
      const suffix = suffixes[i] ?? '';
      const seen = this.table.get(suffix);
      if (seen !== undefined) { this.out.u16(0xc000 | seen); return; }
      if (this.out.length <= MAX_POINTER_OFFSET) this.table.set(suffix, this.out.length);
      const l = labels[i] ?? new Uint8Array(0);
      this.out.u8(l.length);
      this.out.bytes(l);
    }
    this.out.u8(0);
  }
}

const targetLabels = (target: string): Uint8Array[] => nameToLabels(normalizeTarget(target), 'target');

function typeCode(record: DnsRecord): number {
  return record.type === 'UNKNOWN' ? record.typeCode : TYPE_CODES[record.type];
}

function writeRdata(record: DnsRecord, out: ByteWriter, names: NameWriter): void {
  switch (record.type) {
    case 'A': out.bytes(parseIPv4(record.address) ?? new Uint8Array(4)); break;
    case 'AAAA': out.bytes(parseIPv6(record.address) ?? new Uint8Array(16)); break;
    case 'CNAME': case 'NS': names.compressed(targetLabels(record.target)); break;
    case 'TXT':
      for (const s of record.strings.length === 0 ? [''] : record.strings) {
        const b = utf8Bytes(s);
        out.u8(b.length);
        out.bytes(b);
      }
      break;
    case 'SRV':
      out.u16(record.priority); out.u16(record.weight); out.u16(record.port);
      names.plain(targetLabels(record.target));
      break;
    case 'SVCB': case 'HTTPS': {
      const r: SVCBRecord = record;
      out.bytes(encodeSvcbRdata(r.priority, r.target, r.params, 'SVCB'));
      break;
    }
    case 'UNKNOWN': out.bytes(record.data); break;
  }
}

/**
 * Encodes `records` as a pkarr DNS message, byte-identical to the Rust reference (file comment).
 * `origin` is the signer's z32 (owner names are normalised against it). Validates every record
 * first (validateRecord); throws PkarrError 'INVALID_NAME' / 'INVALID_RECORD' / 'INVALID_ARGUMENT'.
 */
export function encodeDnsPacket(records: readonly DnsRecord[], origin: string): Uint8Array {
  checkOrigin(origin);
  if (!Array.isArray(records)) throw new PkarrError('INVALID_ARGUMENT', 'records must be an array');
  if (records.length > 0xffff) throw new PkarrError('INVALID_RECORD', `${records.length} records do not fit in a DNS message`);
  records.forEach((r, i) => validateRecord(r, origin, i));

  const out = new ByteWriter();
  out.u16(0); // ID
  out.u16(0x8000); // QR (response), opcode 0, rcode 0
  out.u16(0); out.u16(records.length); out.u16(0); out.u16(0);
  const names = new NameWriter(out);
  records.forEach((record, i) => {
    names.compressed(nameToLabels(normalizeName(record.name, origin), 'owner name'));
    out.u16(typeCode(record));
    out.u16(CLASS_IN);
    out.u32(record.ttl);
    const lengthAt = out.length;
    out.u16(0);
    writeRdata(record, out, names);
    const rdlength = out.length - lengthAt - 2;
    if (rdlength > 0xffff) throw new PkarrError('INVALID_RECORD', `${label(record, i)}: rdata is longer than 65535 bytes`);
    out.setU16(lengthAt, rdlength);
  });
  return out.result();
}
