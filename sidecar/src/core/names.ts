/**
 * Presentation forms used by the DNS codec: owner-name normalisation and lookup (as pkarr's),
 * wire-name validation, and IPv4/IPv6 text <-> bytes.
 *
 * Names are plain dot-separated strings with no escapes: a label is the UTF-8 encoding of the
 * text between two dots (so a label can never contain a `.`). Everything is case-sensitive,
 * exactly like the Rust reference.
 */
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

/** `String.prototype.isWellFormed` (ES2024, native in Node 24; the lib target here is ES2023). */
const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** True when `text` has no lone UTF-16 surrogate (so it survives a UTF-8 round trip). */
export function isWellFormed(text: string): boolean {
  if (nativeIsWellFormed !== undefined) return nativeIsWellFormed.call(text);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/**
 * Normalises an owner name against `origin` (the signer's z32) exactly like pkarr's
 * `normalize_name` (pubky/pkarr pkarr/src/signed_packet.rs):
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
// IP addresses (parsed by hand: node:net's validation regexes cost more than the whole encoder)

/**
 * Parses the dotted-quad IPv4 in `text[from, to)` into `out[at, at + 4)` with `net.isIPv4`'s rules
 * (four decimal parts 0–255, no leading zeros, nothing else). Returns false (leaving `out` partly
 * written) when it is not one.
 */
export function parseIPv4Into(text: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || part === 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9 || (digits > 0 && value === 0)) return false;
    value = value * 10 + d;
    digits++;
    if (value > 255) return false;
  }
  if (part !== 3 || digits === 0) return false;
  out[at + 3] = value;
  return true;
}

/** Parses dotted-quad IPv4 (no leading zeros, as `net.isIPv4`) into 4 bytes, or null. */
export function parseIPv4(text: string): Uint8Array | null {
  if (typeof text !== 'string') return null;
  const out = new Uint8Array(4);
  return parseIPv4Into(text, 0, text.length, out, 0) ? out : null;
}

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
};

/** Scratch for parseIPv6Into (parsing is synchronous, so one is enough). */
const words = new Uint16Array(8);
const v4 = new Uint8Array(4);

/**
 * Parses an IPv6 address into `out[at, at + 16)`, accepting exactly what `net.isIPv6` accepts
 * minus zone ids: 1–4 hex digits per group, at most one `::` standing for one or more zero
 * groups, and an optional dotted-quad IPv4 as the last 32 bits. Returns false when it is not one.
 */
export function parseIPv6Into(text: string, out: Uint8Array, at: number): boolean {
  const n = text.length;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (n >= 2 && text.charCodeAt(0) === 0x3a && text.charCodeAt(1) === 0x3a) {
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let k = i;
    let value = 0;
    let dotted = false;
    for (; k < n; k++) {
      const c = text.charCodeAt(k);
      if (c === 0x3a) break;
      if (c === 0x2e) { dotted = true; continue; }
      const h = hexValue(c);
      if (h < 0) return false;
      value = (value << 4) | h;
    }
    if (dotted) {
      // An embedded IPv4 ends the address and fills two groups.
      if (k !== n || count > 6 || !parseIPv4Into(text, i, k, v4, 0)) return false;
      words[count++] = (v4[0]! << 8) | v4[1]!;
      words[count++] = (v4[2]! << 8) | v4[3]!;
      break;
    }
    if (k === i || k - i > 4 || count === 8) return false;
    words[count++] = value;
    if (k === n) break;
    // text[k] is ':'
    if (k + 1 < n && text.charCodeAt(k + 1) === 0x3a) {
      if (gap >= 0) return false;
      gap = count;
      i = k + 2;
    } else {
      i = k + 1;
      if (i === n) return false; // a trailing single ':'
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  // Write the groups, with `8 - count` zero groups where the `::` was.
  let w = at;
  for (let j = 0; j <= count; j++) {
    if (j === gap) for (let z = count; z < 8; z++) { out[w++] = 0; out[w++] = 0; }
    if (j === count) break;
    const v = words[j]!;
    out[w++] = v >>> 8;
    out[w++] = v & 0xff;
  }
  return true;
}

/** Parses an IPv6 address (also `::ffff:1.2.3.4`; no zone id) into 16 bytes, or null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (typeof text !== 'string') return null;
  const out = new Uint8Array(16);
  return parseIPv6Into(text, out, 0) ? out : null;
}

/** Formats the 4 bytes at `bytes[at]` as dotted-quad IPv4. */
export function formatIPv4At(bytes: Uint8Array, at: number): string {
  return `${bytes[at] ?? 0}.${bytes[at + 1] ?? 0}.${bytes[at + 2] ?? 0}.${bytes[at + 3] ?? 0}`;
}

/** Formats 4 bytes as dotted-quad IPv4. */
export function formatIPv4(bytes: Uint8Array): string {
  return formatIPv4At(bytes, 0);
}

/**
 * Formats the 16 bytes at `bytes[at]` as IPv6 in RFC 5952 canonical form (lower case, longest
 * zero run of ≥ 2 groups shortened to `::`, first run on ties); IPv4-mapped addresses print as
 * `::ffff:a.b.c.d`.
 */
export function formatIPv6At(bytes: Uint8Array, at: number): string {
  for (let i = 0; i < 8; i++) words[i] = ((bytes[at + 2 * i] ?? 0) << 8) | (bytes[at + 2 * i + 1] ?? 0);
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return `::ffff:${formatIPv4At(bytes, at + 12)}`;
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
  let text = '';
  let colon = false;
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      colon = false;
      i += bestLen - 1;
      continue;
    }
    if (colon) text += ':';
    text += words[i]!.toString(16);
    colon = true;
  }
  return text;
}

/**
 * Formats 16 bytes as IPv6 in RFC 5952 canonical form (lower case, longest zero run of ≥ 2 groups
 * shortened to `::`, first run on ties); IPv4-mapped addresses print as `::ffff:a.b.c.d`.
 */
export function formatIPv6(bytes: Uint8Array): string {
  return formatIPv6At(bytes, 0);
}
