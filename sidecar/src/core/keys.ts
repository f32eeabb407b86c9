/**
 * Pkarr keys: an Ed25519 public key is the domain (z-base-32, 52 chars), the 32-byte seed is the
 * secret. Parsing follows the reference cascade (pubky/pkarr pkarr/src/types/keys.rs `from_str`) so
 * that `pk:<z32>`, bare z32 and URLs with the key as TLD are accepted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PkarrError } from './errors.ts';
import { createSigner, isValidPoint, verifySignature, type Signer } from './ed25519.ts';
import { z32Decode, z32Encode } from './z32.ts';

const VALID_POINT_CACHE_SIZE = 4096;
const validPoints = new Set<string>();

function assertValidPoint(bytes: Uint8Array, z32: string): void {
  if (validPoints.has(z32)) return;
  if (!isValidPoint(bytes)) {
    throw new PkarrError('INVALID_ED25519_PUBLIC_KEY', `invalid Ed25519 public key ${z32}: cannot decompress Edwards point`);
  }
  if (validPoints.size >= VALID_POINT_CACHE_SIZE) validPoints.clear();
  validPoints.add(z32);
}

/**
 * Narrows any accepted textual form to the 52-character key candidate, exactly as the Rust
 * reference does: each step runs only while the remaining text is longer than 52 characters.
 */
export function extractKeyText(input: string): string {
  let s = input;
  const longer = (): boolean => s.length > 52;
  const after = (sep: string): void => { const i = s.indexOf(sep); if (i >= 0) s = s.slice(i + sep.length); };
  const before = (sep: string): void => { const i = s.indexOf(sep); if (i >= 0) s = s.slice(0, i); };
  if (!longer()) return s;
  after(':'); // scheme
  if (!longer()) return s;
  if (s.startsWith('//')) s = s.slice(2);
  if (!longer()) return s;
  after('@'); // userinfo
  if (!longer()) return s;
  before(':'); // port
  if (!longer()) return s;
  before('/'); // path
  if (!longer()) return s;
  before('?'); // query
  if (!longer()) return s;
  before('#'); // fragment
  if (!longer()) return s;
  if (s.endsWith('.')) s = s.replace(/^\.+|\.+$/g, '');
  const dot = s.lastIndexOf('.');
  if (dot >= 0) s = s.slice(dot + 1);
  return s;
}

/** An Ed25519 public key: a pkarr domain. Immutable. */
export class PublicKey {
  /** The raw 32-byte key. */
  readonly bytes: Uint8Array;
  /** The canonical z-base-32 form (52 lowercase characters). */
  readonly z32: string;

  private constructor(bytes: Uint8Array, z32: string) {
    this.bytes = bytes;
    this.z32 = z32;
  }

  /** From 32 raw bytes; checks the length and that the bytes are a valid curve point. */
  static fromBytes(bytes: Uint8Array): PublicKey {
    if (bytes.length !== 32) {
      throw new PkarrError('INVALID_PUBLIC_KEY_LENGTH', `invalid public key length: expected 32 bytes, got ${bytes.length}`);
    }
    const copy = new Uint8Array(bytes);
    const z32 = z32Encode(copy);
    assertValidPoint(copy, z32);
    return new PublicKey(copy, z32);
  }

  /**
   * From 32 raw bytes without the curve check. Only for callers that verify a signature with this
   * key right away (a valid signature proves a valid point).
   */
  static fromBytesUnchecked(bytes: Uint8Array): PublicKey {
    if (bytes.length !== 32) {
      throw new PkarrError('INVALID_PUBLIC_KEY_LENGTH', `invalid public key length: expected 32 bytes, got ${bytes.length}`);
    }
    const copy = new Uint8Array(bytes);
    return new PublicKey(copy, z32Encode(copy));
  }

  /**
   * Parses `<z32>`, `pk:<z32>` or any URL/hostname whose last label is the key (the reference
   * cascade).
   */
  static parse(input: string): PublicKey {
    if (typeof input !== 'string') throw new PkarrError('INVALID_PUBLIC_KEY_ENCODING', 'public key must be a string');
    const text = extractKeyText(input);
    let bytes: Uint8Array;
    try {
      bytes = z32Decode(text);
    } catch (err) {
      throw new PkarrError('INVALID_PUBLIC_KEY_ENCODING', `invalid public key encoding ${JSON.stringify(input)}: ${(err as Error).message}`);
    }
    return PublicKey.fromBytes(bytes);
  }

  /** `parse` that returns null instead of throwing. */
  static tryParse(input: string): PublicKey | null {
    try {
      return PublicKey.parse(input);
    } catch {
      return null;
    }
  }

  /** `pk:<z32>`. */
  toUri(): string {
    return `pk:${this.z32}`;
  }

  toString(): string {
    return this.z32;
  }

  toJSON(): string {
    return this.z32;
  }

  equals(other: PublicKey): boolean {
    return this.z32 === other.z32;
  }

  /** The BEP44 target: sha1 of the 32 key bytes (no salt). */
  dhtTarget(): Uint8Array {
    return new Uint8Array(createHash('sha1').update(this.bytes).digest());
  }

  /** Verifies an Ed25519 signature by this key. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return verifySignature(this.bytes, message, signature);
  }
}

/** An Ed25519 keypair from its 32-byte seed (the pkarr secret key). */
export class Keypair {
  readonly publicKey: PublicKey;
  readonly #seed: Uint8Array;
  readonly #signer: Signer;

  private constructor(seed: Uint8Array) {
    this.#seed = new Uint8Array(seed);
    this.#signer = createSigner(this.#seed);
    this.publicKey = PublicKey.fromBytesUnchecked(this.#signer.publicKey);
  }

  /** A new random keypair. */
  static generate(): Keypair {
    return new Keypair(randomBytes(32));
  }

  /** From the 32-byte secret seed. */
  static fromSeed(seed: Uint8Array): Keypair {
    if (!(seed instanceof Uint8Array) || seed.length !== 32) {
      throw new PkarrError('INVALID_SECRET_KEY', `invalid secret key: expected 32 bytes, got ${seed?.length ?? 0}`);
    }
    return new Keypair(seed);
  }

  /** From the key-file form: 64 hex characters of the seed, surrounding whitespace ignored. */
  static fromSecretKeyHex(text: string): Keypair {
    const hex = text.trim();
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw new PkarrError('INVALID_SECRET_KEY', `invalid secret key: expected 64 hex characters, got ${hex.length} characters`);
    }
    return new Keypair(Buffer.from(hex, 'hex'));
  }

  /** A copy of the 32-byte seed. */
  secretKey(): Uint8Array {
    return new Uint8Array(this.#seed);
  }

  /** The key-file form: 64 lowercase hex characters. */
  toSecretKeyHex(): string {
    return Buffer.from(this.#seed).toString('hex');
  }

  sign(message: Uint8Array): Uint8Array {
    return this.#signer.sign(message);
  }

  /** Never reveal the seed through logging or JSON. */
  toJSON(): string {
    return `Keypair(${this.publicKey.z32})`;
  }
}
