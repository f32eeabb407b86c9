/**
 * Write tokens from recent lookups, per target, so that a `put` right after a `get` (resolve, then
 * publish) skips a second lookup. Tokens of bittorrent-dht nodes stay valid for 5–10 minutes (secrets
 * rotate every 5 min and the previous one is still accepted); we keep them for 2 minutes, and the
 * caller falls back to a fresh lookup when a cached set fails entirely.
 */
import { LruMap } from '../util/lru-map.ts';
import type { TokenNode } from './item-lookup.ts';

export const TOKEN_CACHE_TTL_MS = 2 * 60 * 1000;
/** As mainline's MAX_CACHED_ITERATIVE_QUERIES. */
export const TOKEN_CACHE_SIZE = 1000;

interface Entry {
  nodes: TokenNode[];
  at: number;
}

export class TokenCache {
  /** By target hex; reading does not refresh an entry, storing does (the least recently stored goes first). */
  readonly #entries: LruMap<string, Entry>;
  readonly #ttlMs: number;

  constructor(ttlMs: number = TOKEN_CACHE_TTL_MS, size: number = TOKEN_CACHE_SIZE) {
    this.#ttlMs = ttlMs;
    this.#entries = new LruMap(size);
  }

  /** The cached token nodes for `target`, or null when absent or expired. */
  get(target: Buffer, now: number = Date.now()): TokenNode[] | null {
    const id = target.toString('hex');
    const entry = this.#entries.peek(id);
    if (entry === undefined) return null;
    if (now - entry.at > this.#ttlMs) {
      this.#entries.delete(id);
      return null;
    }
    return entry.nodes;
  }

  /** Stores the token nodes of a finished lookup (an empty set is not cached). */
  set(target: Buffer, nodes: TokenNode[], now: number = Date.now()): void {
    const id = target.toString('hex');
    if (nodes.length === 0) {
      this.#entries.delete(id);
      return;
    }
    this.#entries.set(id, { nodes, at: now });
  }

  delete(target: Buffer): void {
    this.#entries.delete(target.toString('hex'));
  }

  clear(): void {
    this.#entries.clear();
  }
}
