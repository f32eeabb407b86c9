/**
 * One browse of a game's lobby directory (docs/nat.md §4): resolve every slot of the current and
 * the previous window in parallel (NetworkOnly, through the client: DHT and/or relays), keep the
 * entries whose proof of work checks (one hash each; the rest are dropped and counted), then
 * resolve each distinct host key (bounded concurrency) through the browser's own key resolution and
 * keep only lobbies of this game and version. Nothing a slot says is trusted: it only names keys,
 * and each lobby is its host's own signed record. Resolves (never rejects) with its statistics.
 *
 * A `SlotCache` (one per LobbyBrowser) keeps the reads of a previous window once it ended more than
 * 2 minutes ago: hosts only write their current window (a clock a minute off included), so a watch
 * reads the previous window's slots once instead of at every refresh.
 */
import { isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import { mapLimited } from '../util/map-limited.ts';
import { nowMicros } from '../core/timestamp.ts';
import type { PkarrClient } from '../client/types.ts';
import { DIRECTORY_POW_BITS } from './directory-pow.ts';
import { emptyEntryRejects, mergeEntries, readSlot, type DirectoryEntry, type EntryRejects, type ReadSlot } from './directory-record.ts';
import { directoryId, directoryWindow, slotKeypair, windowBounds } from './directory-slots.ts';
import type { Lobby } from './lobby-record.ts';

/** What resolving a listed key gave. */
export type KeyVerdict =
  | { ok: true; lobby: Lobby }
  | { ok: false; reason: 'notFound' | 'notLobby' | 'otherGame' };

export interface DirectoryRejects extends EntryRejects {
  /** The key resolves to nothing. */
  notFound: number;
  /** The key publishes something that is not a valid lobby. */
  notLobby: number;
  /** A valid lobby of another game or version. */
  otherGame: number;
  /** The key's resolution failed (network). */
  failed: number;
}

export interface DirectoryStats {
  /** Slot packets asked for (2 windows × slots). */
  slots: number;
  /** Slots that held a packet. */
  slotsFound: number;
  /** Slots of a settled previous window taken from the browser's cache (not looked up again). */
  slotsCached: number;
  /** Slot reads that failed; the first error is in `slotError`. */
  slotErrors: number;
  /** Entry strings read from all slots. */
  entries: number;
  /** Distinct host keys with a valid entry. */
  keys: number;
  /** Keys over `maxKeys` (not resolved). */
  skipped: number;
  /** Keys another source already found this refresh (not resolved again). */
  alreadyFound: number;
  /** Keys that resolved to a lobby of this game and version. */
  resolved: number;
  rejected: DirectoryRejects;
  slotError?: string;
}

export const DEFAULT_DIRECTORY_CONCURRENCY = 8;
export const DEFAULT_DIRECTORY_MAX_KEYS = 300;

export interface DirectoryScanOptions {
  client: PkarrClient;
  game: string;
  gameVersion: string;
  slots?: number;
  /** Resolves a listed key to a lobby of this game version (the browser's, shared with known keys). */
  resolveLobby: (key: PublicKey) => Promise<KeyVerdict>;
  onLobby: (lobby: Lobby) => void;
  /** Keys already found this refresh (skipped). */
  isKnown?: (z32: string) => boolean;
  /** Keys resolved at once (default 8) and at most (default 300). */
  concurrency?: number;
  maxKeys?: number;
  powBits?: number;
  now?: () => bigint;
  signal?: AbortSignal;
  cache?: SlotCache;
}

/** Seconds after a window's end from which no honest host writes its slots any more. */
export const SLOT_SETTLED_AFTER_SECONDS = 120;

/** Reads (or "empty") of slots of settled windows, keyed by window and slot. */
export class SlotCache {
  readonly #reads = new Map<string, ReadSlot | null>();

  get(window: number, slot: number): ReadSlot | null | undefined {
    return this.#reads.get(`${window}:${slot}`);
  }

  set(window: number, slot: number, read: ReadSlot | null): void {
    this.#reads.set(`${window}:${slot}`, read);
  }

  /** Forgets windows before `oldest`. */
  prune(oldest: number): void {
    for (const key of this.#reads.keys()) if (Number(key.slice(0, key.indexOf(':'))) < oldest) this.#reads.delete(key);
  }

  get size(): number {
    return this.#reads.size;
  }
}

export function emptyDirectoryStats(): DirectoryStats {
  return { slots: 0, slotsFound: 0, slotsCached: 0, slotErrors: 0, entries: 0, keys: 0, skipped: 0, alreadyFound: 0, resolved: 0, rejected: { ...emptyEntryRejects(), notFound: 0, notLobby: 0, otherGame: 0, failed: 0 } };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one directory browse. */
export async function scanDirectory(options: DirectoryScanOptions): Promise<DirectoryStats> {
  const stats = emptyDirectoryStats();
  const dir = directoryId(options.game, options.gameVersion, options.slots);
  const nowUs = (options.now ?? nowMicros)();
  const current = directoryWindow(nowUs);
  const nowSeconds = Number(nowUs / 1_000_000n);
  const cache = options.cache;
  cache?.prune(current - 1);
  const bits = options.powBits ?? DIRECTORY_POW_BITS;
  const reads: { window: number; slot: number }[] = [];
  for (const window of [current, current - 1]) for (let slot = 0; slot < dir.slots; slot++) reads.push({ window, slot });
  stats.slots = reads.length;

  const lists = await Promise.all(reads.map(async ({ window, slot }): Promise<DirectoryEntry[]> => {
    const settled = window < current && nowSeconds > windowBounds(window).end + SLOT_SETTLED_AFTER_SECONDS;
    let read = settled ? cache?.get(window, slot) : undefined;
    if (read !== undefined) {
      stats.slotsCached++;
    } else {
      let found;
      try {
        found = await options.client.resolve(slotKeypair(dir, window, slot).publicKey, 'NetworkOnly');
      } catch (err) {
        if (!isPkarrError(err, 'NOT_FOUND')) {
          stats.slotErrors++;
          stats.slotError ??= describe(err);
          return [];
        }
        found = null;
      }
      read = found === null ? null : readSlot(found.packet, dir, window, bits);
      if (settled) cache?.set(window, slot, read);
    }
    if (read === null) return [];
    stats.slotsFound++;
    stats.entries += read.total;
    for (const key of Object.keys(read.rejected) as (keyof EntryRejects)[]) stats.rejected[key] += read.rejected[key];
    return read.entries;
  }));

  const entries = mergeEntries(...lists); // one per host, newest first
  stats.keys = entries.length;
  const maxKeys = options.maxKeys ?? DEFAULT_DIRECTORY_MAX_KEYS;
  stats.skipped = Math.max(0, entries.length - maxKeys);
  await mapLimited(entries.slice(0, maxKeys), Math.max(1, options.concurrency ?? DEFAULT_DIRECTORY_CONCURRENCY), async (entry) => {
    if (options.signal?.aborted) return;
    if (options.isKnown?.(entry.hostKey.z32) === true) { stats.alreadyFound++; return; }
    let verdict: KeyVerdict;
    try {
      verdict = await options.resolveLobby(entry.hostKey);
    } catch {
      stats.rejected.failed++;
      return;
    }
    if (!verdict.ok) { stats.rejected[verdict.reason]++; return; }
    stats.resolved++;
    try {
      options.onLobby(verdict.lobby);
    } catch {
      // A throwing listener must not stop the scan.
    }
  });
  return stats;
}
