/**
 * Short invite codes (docs/lobby.md "Short invite codes"): 10 characters a player can read out
 * and type, e.g. `K7M4Q-X9PT2`, that lead to a host's key through the DHT and relays alone.
 *
 * ```
 * fingerprint = scrypt(password = host public key (32 bytes), salt = "pkarr-godot-short-code:v1",
 *                      N = 2^14, r = 8, p = 1, 7 bytes)
 * code        = the first 50 bits of the fingerprint in Crockford base32 (0-9 A-Z without I L O U),
 *               shown as two groups of 5: XXXXX-XXXXX
 * slot key    = publicKeypairOf("pkarr-godot-short-code-slot:v1:" + code without the dash)
 * slot packet = _lobby-host TXT "<host z32>", signed with the slot key (anyone can write it)
 * ```
 * The slot key is public, so anybody can write the slot; what protects the player is the
 * fingerprint: a joiner takes only a key whose fingerprint IS the code. Pointing a code at another
 * host means finding an Ed25519 key with the same 50-bit fingerprint: 2^50 scrypt evaluations
 * (≈ 65 ms each here, memory-hard) ≈ millions of CPU-years. Overwriting the slot (denial of
 * service) stays possible; the host republishes it. Reading input is forgiving: case, spaces and
 * dashes are ignored and O/I/L read as 0/1/1.
 */
import { scrypt } from 'node:crypto';
import { PkarrError, isPkarrError } from '../core/errors.ts';
import { PublicKey, type Keypair } from '../core/keys.ts';
import type { TXTRecord } from '../core/records.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import { publicKeypairOf } from './public-keypair.ts';

/** Crockford base32: digits and letters without I, L, O, U. */
export const SHORT_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Characters of a code (5 bits each: 50 bits). */
export const SHORT_CODE_LENGTH = 10;
export const SHORT_CODE_BITS = SHORT_CODE_LENGTH * 5;
export const SHORT_CODE_SALT = 'pkarr-godot-short-code:v1';
export const SHORT_CODE_SLOT_PREFIX = 'pkarr-godot-short-code-slot:v1:';
/** scrypt cost (memory 128 * N * r = 16 MiB). Fixed by scheme v1: every joiner must agree. */
export const SHORT_CODE_SCRYPT = { N: 1 << 14, r: 8, p: 1 } as const;
/** The slot's record: the host's key. */
export const SHORT_CODE_RECORD_NAME = '_lobby-host';
export const SHORT_CODE_RECORD_TTL = 300;
/** Candidate keys a reader checks at most (each costs one scrypt; a squatter may list many). */
export const MAX_SHORT_CODE_CANDIDATES = 4;

/** Input readers confuse with the canonical characters. */
const READ_AS: Record<string, string> = { O: '0', I: '1', L: '1' };

/**
 * The canonical form (10 alphabet characters, no dash) of `text` when it is a short code, else
 * null. Case, spaces and dashes are ignored; O, I and L read as 0, 1 and 1.
 */
export function parseShortCode(text: unknown): string | null {
  if (typeof text !== 'string' || text.length > 40) return null;
  const compact = text.trim().toUpperCase().replace(/[\s-]+/g, '');
  if (compact.length !== SHORT_CODE_LENGTH) return null;
  let canonical = '';
  for (const char of compact) {
    const read = READ_AS[char] ?? char;
    if (!SHORT_CODE_ALPHABET.includes(read)) return null;
    canonical += read;
  }
  return canonical;
}

/** `XXXXX-XXXXX` for a canonical code. */
export function formatShortCode(canonical: string): string {
  return `${canonical.slice(0, 5)}-${canonical.slice(5)}`;
}

/** The first 50 bits of `bytes` (≥ 7 bytes) as a canonical code. */
export function encodeShortCode(bytes: Uint8Array): string {
  if (bytes.length * 8 < SHORT_CODE_BITS) throw new PkarrError('INVALID_ARGUMENT', `a short code needs ${SHORT_CODE_BITS} bits`);
  let code = '';
  for (let i = 0; i < SHORT_CODE_LENGTH; i++) {
    let value = 0;
    for (let bit = i * 5; bit < i * 5 + 5; bit++) value = (value << 1) | ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
    code += SHORT_CODE_ALPHABET[value];
  }
  return code;
}

/** The scrypt fingerprint of a host key (7 bytes). */
export function shortCodeFingerprint(hostKey: PublicKey): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    scrypt(hostKey.bytes, SHORT_CODE_SALT, 7, { ...SHORT_CODE_SCRYPT, maxmem: 64 * 1024 * 1024 }, (err, key) => {
      if (err) reject(new PkarrError('INTERNAL', `scrypt failed: ${err.message}`, undefined, { cause: err }));
      else resolve(new Uint8Array(key));
    });
  });
}

/** The canonical short code of a host key. */
export async function shortCodeOf(hostKey: PublicKey): Promise<string> {
  return encodeShortCode(await shortCodeFingerprint(hostKey));
}

/** The keypair of a code's slot (anyone can derive it). */
export function shortCodeSlotKeypair(canonical: string): Keypair {
  if (parseShortCode(canonical) !== canonical) throw new PkarrError('INVALID_ARGUMENT', `not a canonical short code: ${JSON.stringify(canonical)}`);
  return publicKeypairOf(SHORT_CODE_SLOT_PREFIX + canonical);
}

/** The slot's records: the host's key. */
export function shortCodeRecords(hostKey: PublicKey): TXTRecord[] {
  return [{ type: 'TXT', name: SHORT_CODE_RECORD_NAME, ttl: SHORT_CODE_RECORD_TTL, strings: [hostKey.z32] }];
}

/** The keys a (signature-verified) slot packet names, at most MAX_SHORT_CODE_CANDIDATES, unchecked. */
export function slotCandidates(packet: SignedPacket): PublicKey[] {
  const keys: PublicKey[] = [];
  for (const record of packet.resourceRecords(SHORT_CODE_RECORD_NAME)) {
    if (record.type !== 'TXT') continue;
    for (const text of record.strings) {
      if (keys.length >= MAX_SHORT_CODE_CANDIDATES) return keys;
      try {
        const key = PublicKey.parse(text);
        if (key.z32 === text && !keys.some((k) => k.z32 === key.z32)) keys.push(key);
      } catch (err) {
        if (!isPkarrError(err)) throw err;
      }
    }
  }
  return keys;
}

/** The first candidate of `packet` whose fingerprint is `canonical`, or null. */
export async function hostOfSlot(packet: SignedPacket, canonical: string): Promise<PublicKey | null> {
  for (const key of slotCandidates(packet)) {
    if ((await shortCodeOf(key)) === canonical) return key;
  }
  return null;
}
