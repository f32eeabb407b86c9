/**
 * Presentation forms used by the DNS codec: owner-name normalisation and lookup (spec §1.9),
 * wire-name validation, and IPv4/IPv6 text <-> bytes.
 *
 * Names are plain dot-separated strings with no escapes: a label is the UTF-8 encoding of the
 * text between two dots (so a label can never contain a `.`). Everything is case-sensitive,
 * exactly like the Rust reference.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PkarrError } from './errors.ts';

/** Longest label on the wire, in bytes. */
export const MAX_LABEL_BYTES = 63;
/** Longest name on the wire (length bytes + labels + the final 0), in bytes. */
export const MAX_NAME_BYTES = 255;

const utf8 = new TextEncoder();
/** Lossy UTF-8 decoder (invalid bytes become U+FFFD, like Rust's `from_utf8_lossy`); keeps a BOM. */
const utf8Lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Encodes a well-formed string as UTF-8 (with a fast path for ASCII, the common case). */
export function utf8Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return utf8.encode(text);
    out[i] = c;
  }
  return out;
}

/** Decodes bytes as UTF-8, replacing invalid sequences with U+FFFD. */
export function utf8Text(bytes: Uint8Array): string {
  return utf8Lossy.decode(bytes);
}

/** True when `text` has no lone UTF-16 surrogate (so it survives a UTF-8 round trip). */
export function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/**
 * Normalises an owner name against `origin` (the signer's z32) exactly like pkarr's
 * `normalize_name` (spec §1.9):
 * 1. strip ONE trailing `.`;
 * 2. if the last `.`-separated label equals `origin`, keep the name;
 * 3. else if the last label is `@` or empty, the result is `origin` (so `foo.@` and `foo..` give
 *    the bare origin — a reference quirk kept on purpose);
 * 4. else append `.origin`.
 */
export function normalizeName(name: string, origin: string): string {
  const stripped = name.endsWith('.') ? name.slice(0, -1) : name;
  const last = stripped.slice(stripped.lastIndexOf('.') + 1);
  if (last === origin) return stripped;
  if (last === '@' || last === '') return origin;
  return `${stripped}.${origin}`;
}

/**
 * Canonical form of an rdata name (CNAME/NS/SRV/SVCB target): one trailing `.` is dropped and the
 * root name (`.` or the empty string) is written `.`. Targets are never made relative to the origin.
 */
export function normalizeTarget(name: string): string {
  if (name === '' || name === '.') return '.';
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * Records whose owner name matches `name` after normalisation against `origin` (pkarr's
 * `resource_records`). Owner names are compared exactly as stored (decoded packets carry absolute
 * names), case-sensitively. A normalised query starting with `*` matches every owner `X<rest>`
 * where `<rest>` is the query without its `*` and `X` contains no `.`: `*.foo` matches
 * `bar.foo.<origin>` but not `x.bar.foo.<origin>`.
 */
export function findRecords<T extends { name: string }>(records: readonly T[], name: string, origin: string): T[] {
  const query = normalizeName(name, origin);
  if (!query.startsWith('*')) return records.filter((r) => r.name === query);
  const rest = query.slice(1);
  return records.filter((r) => r.name.endsWith(rest) && !r.name.slice(0, r.name.length - rest.length).includes('.'));
}

/**
 * Splits a name into its wire labels, validating it (throws PkarrError('INVALID_NAME')):
 * `''` and `.` are the root (no labels); one trailing `.` is ignored; every label must be
 * 1–63 bytes of well-formed UTF-8 and the wire form must be ≤ 255 bytes. `what` names the
 * offending field in the message.
 */
export function nameToLabels(name: string, what: string): Uint8Array[] {
  if (typeof name !== 'string') throw new PkarrError('INVALID_NAME', `${what}: name must be a string`);
  if (name === '' || name === '.') return [];
  if (!isWellFormed(name)) throw new PkarrError('INVALID_NAME', `${what}: name ${JSON.stringify(name)} is not well-formed Unicode`);
  const body = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels: Uint8Array[] = [];
  let wire = 1;
  for (const text of body.split('.')) {
    const label = utf8Bytes(text);
    if (label.length === 0) throw new PkarrError('INVALID_NAME', `${what}: name ${JSON.stringify(name)} has an empty label`);
    if (label.length > MAX_LABEL_BYTES) {
      throw new PkarrError('INVALID_NAME', `${what}: label ${JSON.stringify(text)} is ${label.length} bytes (max ${MAX_LABEL_BYTES})`);
    }
    wire += 1 + label.length;
    labels.push(label);
  }
  if (wire > MAX_NAME_BYTES) {
    throw new PkarrError('INVALID_NAME', `${what}: name ${JSON.stringify(name)} is ${wire} bytes on the wire (max ${MAX_NAME_BYTES})`);
  }
  return labels;
}

/** Throws PkarrError('INVALID_NAME') unless `name` is a valid wire name (see nameToLabels). */
export function validateName(name: string, what: string): void {
  nameToLabels(name, what);
}

/** Joins wire labels into a name: dot-joined, no trailing dot, lossy UTF-8 (root = `''`). */
export function labelsToName(labels: readonly Uint8Array[]): string {
  return labels.map((l) => utf8Lossy.decode(l)).join('.');
}

// ---------------------------------------------------------------------------------------------
// IP addresses

/** Parses dotted-quad IPv4 (no leading zeros, as `net.isIPv4`) into 4 bytes, or null. */
export function parseIPv4(text: string): Uint8Array | null {
  if (typeof text !== 'string' || !isIPv4(text)) return null;
  return Uint8Array.from(text.split('.').map(Number));
}

/** Parses an IPv6 address (also `::ffff:1.2.3.4`; no zone id) into 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (typeof text !== 'string' || !isIPv6(text) || text.includes('%')) return null;
  const groups = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (const [i, g] of items.entries()) {
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (v4 === null) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const gap = text.indexOf('::');
  let words: number[] | null;
  if (gap < 0) {
    words = groups(text);
  } else {
    const head = groups(text.slice(0, gap));
    const tail = groups(text.slice(gap + 2));
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  }
  if (words === null || words.length !== 8) return null;
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => { bytes[2 * i] = w >> 8; bytes[2 * i + 1] = w & 0xff; });
  return bytes;
}

/** Formats 4 bytes as dotted-quad IPv4. */
export function formatIPv4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4)).join('.');
}

/**
 * Formats 16 bytes as IPv6 in RFC 5952 canonical form (lower case, longest zero run of ≥ 2 groups
 * shortened to `::`, first run on ties); IPv4-mapped addresses print as `::ffff:a.b.c.d`.
 */
export function formatIPv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes.subarray(12, 16))}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
