/**
 * DNS-SD style TXT attributes (RFC 6763 §6): one `key=value` per TXT character-string.
 *
 * - Keys: lowercase `[a-z0-9_-]{1,32}` when we write them. When reading, keys are compared
 *   case-insensitively as RFC 6763 §6.4 asks (folded to lowercase).
 * - Values: everything after the FIRST `=`, taken literally (RFC 6763 §6.5: values are opaque bytes,
 *   so a value may itself contain `=` or spaces; there is no escaping on the wire). Ours are UTF-8
 *   text; the only limit is that `key=value` fits one 255-byte character-string.
 * - A string without `=` is a boolean attribute (value `''` here); a string starting with `=` (no
 *   key) is ignored; when a key appears twice only the first occurrence counts (RFC 6763 §6.4).
 */
import { PkarrError } from '../core/errors.ts';
import { isWellFormed, utf8Bytes } from '../core/names.ts';

/** Longest TXT character-string on the wire, in bytes. */
export const MAX_ATTRIBUTE_BYTES = 255;
/** Attribute keys we write. */
export const ATTRIBUTE_KEY_PATTERN = /^[a-z0-9_-]{1,32}$/;

/** Attributes in the order they appear (first occurrence of each key). */
export type TxtAttributes = Map<string, string>;

/** Encodes one attribute; throws INVALID_ARGUMENT naming the key when it cannot be written. */
export function encodeAttribute(key: string, value: string): string {
  if (!ATTRIBUTE_KEY_PATTERN.test(key)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid lobby key ${JSON.stringify(key)}: expected 1-32 characters from a-z 0-9 _ -`);
  }
  if (typeof value !== 'string' || !isWellFormed(value)) {
    throw new PkarrError('INVALID_ARGUMENT', `lobby value of ${key} must be a well-formed string`);
  }
  const text = `${key}=${value}`;
  const size = utf8Bytes(text).length;
  if (size > MAX_ATTRIBUTE_BYTES) {
    throw new PkarrError('INVALID_ARGUMENT', `lobby value of ${key} is too long: "${key}=…" is ${size} bytes, ${size - MAX_ATTRIBUTE_BYTES} over the ${MAX_ATTRIBUTE_BYTES}-byte TXT string limit`, { key, size, limit: MAX_ATTRIBUTE_BYTES });
  }
  return text;
}

/** Encodes attributes in iteration order as TXT character-strings. */
export function encodeAttributes(attributes: Iterable<readonly [string, string]>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const [key, value] of attributes) {
    if (seen.has(key)) throw new PkarrError('INVALID_ARGUMENT', `lobby key ${key} given twice`);
    seen.add(key);
    out.push(encodeAttribute(key, value));
  }
  return out;
}

/** Parses TXT character-strings into attributes (never throws; see the module doc for the rules). */
export function parseAttributes(strings: Iterable<string>): TxtAttributes {
  const out: TxtAttributes = new Map();
  for (const text of strings) {
    if (text.length === 0) continue;
    const eq = text.indexOf('=');
    if (eq === 0) continue;
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase();
    if (out.has(key)) continue;
    out.set(key, eq < 0 ? '' : text.slice(eq + 1));
  }
  return out;
}
