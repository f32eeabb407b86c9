/**
 * Ed25519 primitives behind one small interface, with the fastest backend that loads:
 * - native libsodium (`sodium-native`, an optional dependency) where it can be loaded — about 1.7×
 *   faster than OpenSSL here (`npm run bench -- core` prints both);
 * - otherwise node:crypto (OpenSSL), which needs no native addon (the single-executable sidecar).
 * `PKARR_CRYPTO=node` forces node:crypto. @noble/ed25519 is used only for what neither exposes
 * cheaply: checking that 32 bytes are a valid curve point (node:crypto imports some 32-byte strings
 * that are not; pkarr refuses them as keys). Both backends produce identical signatures (Ed25519 is
 * deterministic) and reject invalid points during verification.
 */
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { Point } from '@noble/ed25519';

/** The subset of sodium-native used here. */
interface SodiumNative {
  crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
  crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

function loadSodium(): SodiumNative | null {
  if (process.env['PKARR_CRYPTO'] === 'node') return null;
  try {
    const require = createRequire(import.meta.url);
    const sodium = require('sodium-native') as SodiumNative;
    return typeof sodium.crypto_sign_verify_detached === 'function' ? sodium : null;
  } catch {
    return null; // not installed, or not loadable (e.g. inside the single executable)
  }
}

const sodium = loadSodium();

/** Which backend signs and verifies: 'sodium-native' or 'node:crypto'. */
export const cryptoBackend: 'sodium-native' | 'node:crypto' = sodium ? 'sodium-native' : 'node:crypto';

/** A signing key derived from a 32-byte seed. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** Derives the public key from a 32-byte seed and returns a signer holding the private key. */
export function createSigner(seed: Uint8Array): Signer {
  if (sodium) {
    const publicKey = new Uint8Array(32);
    const secretKey = new Uint8Array(64);
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, seed);
    return {
      publicKey,
      sign(message: Uint8Array): Uint8Array {
        const signature = new Uint8Array(64);
        sodium.crypto_sign_detached(signature, message, secretKey);
        return signature;
      },
    };
  }
  const privateKey = createPrivateKey({ key: Buffer.from(seed), format: 'raw-private', asymmetricKeyType: 'ed25519' });
  const publicKey = new Uint8Array(createPublicKey(privateKey).export({ format: 'raw-public' }));
  return {
    publicKey,
    sign: (message: Uint8Array): Uint8Array => new Uint8Array(cryptoSign(null, message, privateKey)),
  };
}

const KEY_OBJECT_CACHE_SIZE = 4096;
const publicKeyObjects = new Map<string, KeyObject>();

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1');
  let keyObject = publicKeyObjects.get(id);
  if (keyObject === undefined) {
    keyObject = createPublicKey({ key: Buffer.from(publicKey), format: 'raw-public', asymmetricKeyType: 'ed25519' });
    if (publicKeyObjects.size >= KEY_OBJECT_CACHE_SIZE) {
      const oldest = publicKeyObjects.keys().next().value;
      if (oldest !== undefined) publicKeyObjects.delete(oldest);
    }
    publicKeyObjects.set(id, keyObject);
  }
  return keyObject;
}

/**
 * Verifies an Ed25519 signature. Both backends decompress the key and reject invalid points, so a
 * `true` here also proves the key is a valid point.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    if (sodium) return sodium.crypto_sign_verify_detached(signature, message, publicKey);
    return cryptoVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/** True when the 32 bytes decompress to a point on the Ed25519 curve (ed25519-dalek's check). */
export function isValidPoint(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  try {
    Point.fromBytes(publicKey);
    return true;
  } catch {
    return false;
  }
}
