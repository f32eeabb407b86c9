/**
 * Ed25519 primitives. Signing and verification use node:crypto (OpenSSL), the fastest option that
 * needs no native addon (stack.md §2; `npm run bench` compares it with sodium and noble). @noble/ed25519
 * is used only for what node lacks: checking that 32 bytes are a valid curve point (node's
 * createPublicKey accepts invalid points, spec §6.1 B).
 */
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { Point } from '@noble/ed25519';

const KEY_OBJECT_CACHE_SIZE = 4096;
const publicKeyObjects = new Map<string, KeyObject>();

/** Derives the 32-byte public key from a 32-byte seed and returns the private KeyObject with it. */
export function keyFromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: Uint8Array } {
  const privateKey = createPrivateKey({ key: Buffer.from(seed), format: 'raw-private', asymmetricKeyType: 'ed25519' });
  const publicKey = new Uint8Array(createPublicKey(privateKey).export({ format: 'raw-public' }));
  return { privateKey, publicKey };
}

/** Signs `message` (pure Ed25519, RFC 8032). */
export function signWith(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(cryptoSign(null, message, privateKey));
}

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
 * Verifies an Ed25519 signature. OpenSSL decompresses the key and rejects invalid points itself,
 * so a `true` here also proves the key is a valid point.
 */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
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
