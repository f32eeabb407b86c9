/**
 * Keys anyone can derive (docs/nat.md §4, docs/lobby.md "Short invite codes"): the Ed25519 keypair
 * whose 32-byte seed is sha256 of a public text. Whoever knows the text can sign for the key, so
 * such a key is a meeting point (a directory slot, a short code's slot), never a proof of anything:
 * what it points at must be checked on its own (a host's own signed lobby, a fingerprint).
 */
import { createHash } from 'node:crypto';
import { Keypair } from '../core/keys.ts';

/** The keypair of `sha256(text)` (UTF-8). */
export function publicKeypairOf(text: string): Keypair {
  return Keypair.fromSeed(new Uint8Array(createHash('sha256').update(text, 'utf8').digest()));
}
