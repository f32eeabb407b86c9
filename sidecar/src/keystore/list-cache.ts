/**
 * What `KeyStore.list()` learnt about each key file, so a repeated list only stats the files
 * instead of reading every one and deriving its public key again.
 *
 * An entry is used only while the file's identity is unchanged: device, inode, size, mtime and
 * ctime (nanoseconds). Atomic writes rename a new inode over the name, so a replacement shows up
 * as a new inode even when size and mtime happen to be equal; an in-place rewrite changes mtime
 * and ctime, and nothing outside the kernel can set ctime back.
 *
 * "Racily clean" files (the trick git's index uses): file times have a coarse granularity (a
 * kernel tick; whole seconds on some file systems), so a file changed again within the same tick
 * as the stat we cached could keep every field. An entry is therefore only stored when the file's
 * mtime and ctime are more than RACY_WINDOW_MS older than the moment before its stat; younger
 * files are read again on every list until they age.
 */
import type { BigIntStats } from 'node:fs';
import type { PublicKey } from '../core/keys.ts';

/** Files changed more recently than this (ms) before the stat are never cached. */
export const RACY_WINDOW_MS = 2000;

/** A key file's outcome: its public key, or why it cannot be read (reported, never cached as absent). */
export type KeyFileOutcome = { publicKey: PublicKey } | { error: unknown };

interface Entry {
  identity: string;
  outcome: KeyFileOutcome;
}

function identityOf(stats: BigIntStats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`;
}

/** Outcomes of key files by name, valid for one file identity each. */
export class KeyListCache {
  readonly #entries = new Map<string, Entry>();

  /** The cached outcome of `name` if its file still has the identity it had when cached. */
  lookup(name: string, stats: BigIntStats): KeyFileOutcome | null {
    const entry = this.#entries.get(name);
    if (entry === undefined) return null;
    if (entry.identity === identityOf(stats)) return entry.outcome;
    this.#entries.delete(name);
    return null;
  }

  /**
   * Remembers the outcome of reading `name`, whose stat (taken at or after `statStartedMs`, before
   * the read) is `stats`. Skipped for racily clean files (module doc).
   */
  remember(name: string, stats: BigIntStats, outcome: KeyFileOutcome, statStartedMs: number): void {
    const changedMs = Number((stats.mtimeNs > stats.ctimeNs ? stats.mtimeNs : stats.ctimeNs) / 1_000_000n);
    if (statStartedMs - changedMs <= RACY_WINDOW_MS) {
      this.#entries.delete(name);
      return;
    }
    this.#entries.set(name, { identity: identityOf(stats), outcome });
  }

  /** Drops `name` (its file is gone or could not be examined). */
  forget(name: string): void {
    this.#entries.delete(name);
  }

  /** Drops every entry whose name is not in `names` (files that disappeared). */
  retain(names: ReadonlySet<string>): void {
    for (const name of this.#entries.keys()) if (!names.has(name)) this.#entries.delete(name);
  }

  /** Number of cached entries (for tests). */
  get size(): number {
    return this.#entries.size;
  }
}
