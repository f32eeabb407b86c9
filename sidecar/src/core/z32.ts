/**
 * z-base-32 as pkarr uses it (andreasots/base32, Alphabet::Z): MSB-first, no padding, lowercase only.
 * The decoder keeps `floor(len * 5 / 8)` bytes and, like the reference, ignores the trailing pad bits.
 */
import { PkarrError } from './errors.ts';

const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';
const INVERSE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) INVERSE[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes as z-base-32 (32 bytes → 52 characters). */
export function z32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes z-base-32; any character outside the alphabet (including uppercase) is an error. */
export function z32Decode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let pos = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? INVERSE[code]! : -1;
    if (value < 0) {
      throw new PkarrError('INVALID_ZBASE32', `invalid z-base-32 character ${JSON.stringify(text[i])} at position ${i}`);
    }
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (pos < out.length) out[pos++] = (buffer >>> bits) & 0xff;
    }
  }
  return out;
}
