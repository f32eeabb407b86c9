/**
 * Lobby directories, the keys (docs/nat.md §4): per game version and 10-minute window, `slots`
 * pkarr keys anyone can derive — and therefore anyone can sign for. Each slot is an ordinary signed
 * packet listing host keys (directory-record.ts); a browser resolves the slots, then each host's own
 * signed lobby record, so a slot can point at lobbies but never forge one.
 *
 * ```
 * window = floor(unix_seconds / 600)
 * seed   = sha256("pkarr-godot-directory:v1:" + game + ":" + gameVersion + ":" + window + ":" + slot)   (UTF-8; decimals)
 * slot key = the Ed25519 keypair of that 32-byte seed (the pkarr secret key)
 * home slot of a host = u32be(sha256("pkarr-godot-directory-slot:v1:" + window + ":" + hostZ32)[0..4]) mod slots
 * ```
 * A host tries its home slot, then the next ones (wrapping) when a slot is full. The home slot moves
 * every window, so two hosts that collide once do not collide forever.
 */
import { createHash } from 'node:crypto';
import { PkarrError } from '../core/errors.ts';
import type { Keypair, PublicKey } from '../core/keys.ts';
import { publicKeypairOf } from './public-keypair.ts';
import { lobbyTopicText } from './topic.ts';

/** Prefix of the slot seed text; `v1` is the directory scheme (record format, PoW, windows). */
export const DIRECTORY_SEED_PREFIX = 'pkarr-godot-directory:v1:';
export const DIRECTORY_SLOT_PREFIX = 'pkarr-godot-directory-slot:v1:';
/** Window length of scheme v1, seconds (fixed: hosts and browsers must agree on it). */
export const DIRECTORY_WINDOW_SECONDS = 600;
/** Slots per window (hosts and browsers of one game must use the same number). */
export const DEFAULT_DIRECTORY_SLOTS = 8;
export const MAX_DIRECTORY_SLOTS = 64;

/** The directory of one game version. */
export interface DirectoryId {
  game: string;
  gameVersion: string;
  /** Slots per window (default 8). */
  slots: number;
}

/** Checks game, version (same rules as the topic) and the slot count; throws INVALID_ARGUMENT. */
export function directoryId(game: string, gameVersion: string, slots: number = DEFAULT_DIRECTORY_SLOTS): DirectoryId {
  lobbyTopicText(game, gameVersion);
  if (!Number.isInteger(slots) || slots < 1 || slots > MAX_DIRECTORY_SLOTS) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid directory slot count ${String(slots)} (1-${MAX_DIRECTORY_SLOTS})`);
  }
  return { game, gameVersion, slots };
}

/** The window of a time given in microseconds since the epoch. */
export function directoryWindow(nowMicros: bigint): number {
  return Number(nowMicros / 1_000_000n / BigInt(DIRECTORY_WINDOW_SECONDS));
}

/** First and last second (inclusive) of a window. */
export function windowBounds(window: number): { start: number; end: number } {
  const start = window * DIRECTORY_WINDOW_SECONDS;
  return { start, end: start + DIRECTORY_WINDOW_SECONDS - 1 };
}

/** The seed text of a slot (before hashing). */
export function slotSeedText(dir: DirectoryId, window: number, slot: number): string {
  if (!Number.isSafeInteger(window) || window < 0) throw new PkarrError('INVALID_ARGUMENT', `invalid directory window ${String(window)}`);
  if (!Number.isInteger(slot) || slot < 0 || slot >= dir.slots) throw new PkarrError('INVALID_ARGUMENT', `invalid directory slot ${String(slot)} (0-${dir.slots - 1})`);
  return `${DIRECTORY_SEED_PREFIX}${dir.game}:${dir.gameVersion}:${window}:${slot}`;
}

/** The (public-secret) keypair of a slot. */
export function slotKeypair(dir: DirectoryId, window: number, slot: number): Keypair {
  return publicKeypairOf(slotSeedText(dir, window, slot));
}

/** The slot a host tries first in a window. */
export function homeSlot(hostKey: PublicKey, window: number, slots: number): number {
  const digest = createHash('sha256').update(`${DIRECTORY_SLOT_PREFIX}${window}:${hostKey.z32}`, 'utf8').digest();
  return digest.readUInt32BE(0) % slots;
}

/** The order in which a host tries the slots: home slot first, then the next ones, wrapping. */
export function slotOrder(hostKey: PublicKey, window: number, slots: number): number[] {
  const home = homeSlot(hostKey, window, slots);
  return Array.from({ length: slots }, (_, i) => (home + i) % slots);
}
