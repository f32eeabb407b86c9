/**
 * DNS message decoder (RFC 1035 wire format) for pkarr packets. Pure, no I/O.
 *
 * Parses like simple-dns's `Packet::parse` (balliegojr/simple-dns, the DNS library of pkarr), so
 * the same messages are accepted:
 * - the header's reserved Z bit (0x0040) must be clear; other flags/ID/opcode/rcode are ignored;
 * - all four sections are parsed (a malformed authority/additional record is an error) but only
 *   the answers are returned; bytes after the last section are ignored;
 * - classes must be IN/CS/CH/HS/NONE (ANY too in questions; the mDNS top bit is masked); records of
 *   every class are returned (the model has no class field);
 * - names: labels ≤ 63 bytes, whole name ≤ 255 bytes on the wire, compressed or not.
 *
 * Deliberate differences (stricter than simple-dns, never looser):
 * - a compression pointer must point strictly backwards, to a name that ends before the pointer
 *   (what every real encoder writes). This makes loops and forward chains impossible and bounds
 *   the work by the message length;
 * - A/AAAA/CNAME/NS/SRV/TXT rdata must be exactly as long as its rdlength says;
 * - SVCB/HTTPS params are checked strictly (svcb.ts);
 * - the section counts are checked against the message length before anything is allocated.
 *
 * Unknown types come back as UNKNOWN with their raw rdata. For the RFC 1035 types whose rdata
 * holds compressible names (MD, MF, MB, MG, MR, PTR, MINFO, MX, SOA, and RP/AFSDB/RT/KX) the names
 * are decompressed into the returned bytes, so the rdata stays meaningful outside this message;
 * OPT rdata is checked structurally. Other types simple-dns knows (HINFO, CAA, ...) are not parsed.
 *
 * Names are returned dot-joined without a trailing dot, labels decoded as lossy UTF-8 (like
 * Rust's `Name::to_string`); the root owner name is `''`, a root rdata target is `.`.
 * Every failure is a PkarrError('DNS_ERROR').
 */
import { PkarrError } from './errors.ts';
import { MAX_NAME_BYTES, formatIPv4At, formatIPv6At } from './names.ts';
import type { DnsRecord } from './records.ts';
import { TYPE_CODES } from './records.ts';
import { decodeSvcbRdata } from './svcb.ts';

const HEADER_BYTES = 12;
/** The reserved Z bit of the header flags; simple-dns rejects a message that sets it. */
export const RESERVED_Z_FLAG = 0x0040;
const OPT_TYPE = 41;
const RR_CLASSES = new Set([1, 2, 3, 4, 254]);
const QUESTION_CLASSES = new Set([1, 2, 3, 4, 254, 255]);

type Field = 'name' | 'u16' | 'u32';
/** Layout of the opaque types whose names are decompressed (see the file comment). */
const NAME_LAYOUTS: ReadonlyMap<number, readonly Field[]> = new Map<number, readonly Field[]>([
  [3, ['name']], [4, ['name']], [7, ['name']], [8, ['name']], [9, ['name']], [12, ['name']],
  [14, ['name', 'name']], [17, ['name', 'name']],
  [15, ['u16', 'name']], [18, ['u16', 'name']], [21, ['u16', 'name']], [36, ['u16', 'name']],
  [6, ['name', 'name', 'u32', 'u32', 'u32', 'u32', 'u32']],
]);

const fail = (msg: string): PkarrError => new PkarrError('DNS_ERROR', msg);

function u16(msg: Uint8Array, at: number): number {
  return ((msg[at] ?? 0) << 8) | (msg[at + 1] ?? 0);
}

function u32(msg: Uint8Array, at: number): number {
  return (u16(msg, at) * 0x10000) + u16(msg, at + 2);
}

/**
 * Walks a name at `offset` whose own labels must end before `limit`, handing each label to
 * `onLabel` (the offset of its length byte and its length), and returns where the name ends in the
 * message. Pointers (when allowed) must point strictly backwards; the name they reference must end
 * before the pointer itself. The one place that validates names: both readers below use it.
 */
function walkName(msg: Uint8Array, offset: number, limit: number, allowPointers: boolean, onLabel: (at: number, len: number) => void): number {
  let pos = offset;
  let end = -1;
  let wire = 1;
  for (;;) {
    if (pos >= limit) throw fail(`name at offset ${offset} runs past its bounds`);
    const len = msg[pos] ?? 0;
    if (len === 0) return end < 0 ? pos + 1 : end;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (!allowPointers) throw fail(`compression pointer at offset ${pos} is not allowed here`);
      if (pos + 2 > limit) throw fail(`truncated compression pointer at offset ${pos}`);
      const target = u16(msg, pos) & 0x3fff;
      if (target >= pos) throw fail(`compression pointer at offset ${pos} does not point backwards (to ${target})`);
      if (end < 0) end = pos + 2;
      limit = pos;
      pos = target;
      continue;
    }
    // kind 0 means len ≤ 63 (MAX_LABEL_BYTES): the two top bits are the label type.
    if (kind !== 0) throw fail(`unsupported label type 0x${len.toString(16)} at offset ${pos}`);
    if (pos + 1 + len > limit) throw fail(`label at offset ${pos} runs past its bounds`);
    wire += 1 + len;
    if (wire > MAX_NAME_BYTES) throw fail(`name at offset ${offset} is longer than ${MAX_NAME_BYTES} bytes`);
    onLabel(pos, len);
    pos += 1 + len;
  }
}

/** Reads a name as its label bytes (for rdata kept opaque). */
function readName(msg: Uint8Array, offset: number, limit: number, allowPointers = true): { labels: Uint8Array[]; end: number } {
  const labels: Uint8Array[] = [];
  const end = walkName(msg, offset, limit, allowPointers, (at, len) => labels.push(msg.subarray(at + 1, at + 1 + len)));
  return { labels, end };
}

/**
 * Returns the rdata of an opaque type as self-contained bytes: names of the RFC 1035 name-bearing
 * types are decompressed; OPT options are checked; anything else is copied as is.
 */
function opaqueRdata(msg: Uint8Array, type: number, start: number, end: number, allowPointers: boolean): Uint8Array {
  if (type === OPT_TYPE) {
    for (let pos = start; pos < end;) {
      if (end - pos < 4 || pos + 4 + u16(msg, pos + 2) > end) throw fail('malformed OPT option');
      pos += 4 + u16(msg, pos + 2);
    }
  }
  const layout = NAME_LAYOUTS.get(type);
  if (layout === undefined) return msg.slice(start, end);
  const out: number[] = [];
  let pos = start;
  for (const field of layout) {
    if (field === 'name') {
      const name = readName(msg, pos, end, allowPointers);
      for (const l of name.labels) out.push(l.length, ...l);
      out.push(0);
      pos = name.end;
    } else {
      const n = field === 'u16' ? 2 : 4;
      if (pos + n > end) throw fail(`type ${type} rdata is truncated`);
      out.push(...msg.subarray(pos, pos + n));
      pos += n;
    }
  }
  if (pos !== end) throw fail(`type ${type} rdata has ${end - pos} trailing bytes`);
  return Uint8Array.from(out);
}

/**
 * Checks opaque rdata the encoder is about to write for an UNKNOWN record: returns an error
 * message when simple-dns (or our decoder) would reject it, or when it holds a compression
 * pointer (meaningless outside its original message); null when it is fine.
 */
export function checkOpaqueRdata(typeCode: number, data: Uint8Array): string | null {
  try {
    opaqueRdata(data, typeCode, 0, data.length, false);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Lossy UTF-8 decoder for non-ASCII text (invalid bytes become U+FFFD, BOM kept), as utf8Text. */
const utf8Lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
/** Node's native Latin-1 slice (for ASCII, Latin-1 = UTF-8); much cheaper than TextDecoder. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/** `msg[start, end)` as lossy UTF-8 text (same result as utf8Text, without the subarray for ASCII). */
function text(msg: Uint8Array, start: number, end: number): string {
  let ascii = true;
  for (let i = start; i < end; i++) if ((msg[i] ?? 0) >= 0x80) { ascii = false; break; }
  if (!ascii) return utf8Lossy.decode(msg.subarray(start, end));
  if (end - start > 16 && latin1Slice !== undefined) return latin1Slice.call(msg, start, end);
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCharCode(msg[i] ?? 0);
  return out;
}

/** Per message: label texts already decoded, by offset (every name ends in the same origin label). */
type LabelTexts = Map<number, string>;

/** Where the last name read by readNameText ended (saves a result object per name). */
let nameEnd = 0;

/**
 * Reads a name as text (labels dot-joined, lossy UTF-8, root = `''`) and sets nameEnd; label texts
 * are decoded once per message offset.
 */
function readNameText(msg: Uint8Array, offset: number, limit: number, labels: LabelTexts): string {
  let name = '';
  nameEnd = walkName(msg, offset, limit, true, (at, len) => {
    let label = labels.get(at);
    if (label === undefined) {
      label = text(msg, at + 1, at + 1 + len);
      labels.set(at, label);
    }
    name = name === '' ? label : `${name}.${label}`;
  });
  return name;
}

/** An rdata name that must fill `msg[at, end)` exactly; the root is returned as `.`. */
function exactName(msg: Uint8Array, at: number, end: number, type: number, labels: LabelTexts): string {
  const name = readNameText(msg, at, end, labels);
  if (nameEnd !== end) throw fail(`type ${type} rdata at offset ${at} has trailing bytes`);
  return name === '' ? '.' : name;
}

function checkSize(type: number, start: number, end: number, size: number): void {
  if (end - start !== size) throw fail(`type ${type} rdata at offset ${start} must be ${size} bytes, not ${end - start}`);
}

/** Where the last record read by readRecord ended. */
let recordEnd = 0;

/** Decodes one resource record at `pos`; returns it and sets recordEnd. */
function readRecord(msg: Uint8Array, pos: number, labels: LabelTexts): DnsRecord {
  const name = readNameText(msg, pos, msg.length, labels);
  const h = nameEnd;
  if (h + 10 > msg.length) throw fail(`record at offset ${pos} is truncated`);
  const type = u16(msg, h);
  const cls = u16(msg, h + 2) & 0x7fff;
  const ttl = u32(msg, h + 4);
  const start = h + 10;
  const end = start + u16(msg, h + 8);
  if (end > msg.length) throw fail(`rdata of the record at offset ${pos} overruns the message`);
  if (type !== OPT_TYPE && cls !== 1 && !RR_CLASSES.has(cls)) throw fail(`record at offset ${pos} has unknown class ${cls}`);
  recordEnd = end;
  switch (type) {
    case TYPE_CODES.A:
      checkSize(type, start, end, 4);
      return { type: 'A', name, ttl, address: formatIPv4At(msg, start) };
    case TYPE_CODES.AAAA:
      checkSize(type, start, end, 16);
      return { type: 'AAAA', name, ttl, address: formatIPv6At(msg, start) };
    case TYPE_CODES.CNAME:
      return { type: 'CNAME', name, ttl, target: exactName(msg, start, end, type, labels) };
    case TYPE_CODES.NS:
      return { type: 'NS', name, ttl, target: exactName(msg, start, end, type, labels) };
    case TYPE_CODES.TXT: {
      const strings: string[] = [];
      for (let at = start; at < end;) {
        const n = msg[at] ?? 0;
        if (at + 1 + n > end) throw fail(`TXT character-string at offset ${at} overruns the rdata`);
        strings.push(text(msg, at + 1, at + 1 + n));
        at += 1 + n;
      }
      return { type: 'TXT', name, ttl, strings };
    }
    case TYPE_CODES.SRV:
      if (end - start < 7) throw fail(`SRV rdata at offset ${start} is truncated`);
      return {
        type: 'SRV', name, ttl, priority: u16(msg, start), weight: u16(msg, start + 2), port: u16(msg, start + 4),
        target: exactName(msg, start + 6, end, type, labels),
      };
    case TYPE_CODES.SVCB:
    case TYPE_CODES.HTTPS: {
      const rdata = decodeSvcbRdata(msg, start, end, (at, limit) => ({ name: readNameText(msg, at, limit, labels), end: nameEnd }));
      return { type: type === TYPE_CODES.SVCB ? 'SVCB' : 'HTTPS', name, ttl, ...rdata };
    }
    default:
      return { type: 'UNKNOWN', name, ttl, typeCode: type, data: opaqueRdata(msg, type, start, end, true) };
  }
}

function decodeMessage(msg: Uint8Array): DnsRecord[] {
  if (!(msg instanceof Uint8Array)) throw fail('DNS message must be a Uint8Array');
  if (msg.length < HEADER_BYTES) throw fail(`DNS message is ${msg.length} bytes, shorter than its 12-byte header`);
  if ((u16(msg, 2) & RESERVED_Z_FLAG) !== 0) throw fail('DNS header has the reserved Z bit set');
  const qd = u16(msg, 4);
  const an = u16(msg, 6);
  const ns = u16(msg, 8);
  const ar = u16(msg, 10);
  // Smallest question is 5 bytes, smallest record 11: refuse counts the message cannot hold.
  if (HEADER_BYTES + 5 * qd + 11 * (an + ns + ar) > msg.length) {
    throw fail(`DNS section counts (${qd}/${an}/${ns}/${ar}) do not fit in ${msg.length} bytes`);
  }
  const labels: LabelTexts = new Map();
  let pos = HEADER_BYTES;
  for (let i = 0; i < qd; i++) {
    readNameText(msg, pos, msg.length, labels);
    const q = nameEnd;
    if (q + 4 > msg.length) throw fail(`question at offset ${pos} is truncated`);
    const cls = u16(msg, q + 2) & 0x7fff;
    if (!QUESTION_CLASSES.has(cls)) throw fail(`question at offset ${pos} has unknown class ${cls}`);
    pos = q + 4;
  }
  const answers: DnsRecord[] = [];
  for (let i = 0; i < an + ns + ar; i++) {
    const record = readRecord(msg, pos, labels);
    if (i < an) answers.push(record);
    pos = recordEnd;
  }
  return answers;
}

/**
 * Decodes a DNS message and returns its answer records (see the file comment for the exact rules).
 * Throws only PkarrError('DNS_ERROR'). Work is bounded by the input length: at most length/11
 * records, each name at most 255 label bytes plus a strictly decreasing chain of pointers.
 */
export function decodeDnsPacket(bytes: Uint8Array): DnsRecord[] {
  try {
    return decodeMessage(bytes);
  } catch (err) {
    if (err instanceof PkarrError && err.code === 'DNS_ERROR') throw err;
    const detail = err instanceof Error ? err.message : String(err);
    throw new PkarrError('DNS_ERROR', `malformed DNS message: ${detail}`, undefined, { cause: err });
  }
}
