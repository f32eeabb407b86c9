/**
 * The relay's persistent packet cache: an LRU of verified signed packets in SQLite (`node:sqlite`),
 * with a small in-memory LRU of decoded packets in front of it for cached GETs.
 *
 * Durability: WAL journal with `synchronous = FULL`, so every write is fsynced before `put`
 * returns. The relay answers 204 to a PUT only after `put` returned, so an acknowledged packet
 * survives a process crash and a power loss. PUTs are bounded by the DHT round trip (tens of ms),
 * so the extra fsync per PUT is not the bottleneck; reads never touch the disk when hot.
 *
 * LRU: every row has a `last_access` (ms of the wall clock, made strictly increasing: accesses within
 * one ms get successive values, so "least recently accessed" never depends on ties). Hot hits only mark the key dirty in memory; dirty keys are
 * written in one transaction every `accessFlushMs` (default 5 s) or before an eviction. When the
 * row count exceeds `capacity`, the least recently accessed rows are deleted in one statement, in
 * batches of ~1% of the capacity (at least 1, at most 10,000), so eviction is not a query per insert.
 *
 * Rows are verified again when loaded (signature, DNS, key): a corrupt row is deleted with a log
 * line and reads as a miss. A `last_seen` more than 60 s in the future is reset to 0 (as the
 * reference's storage form).
 */
import { mkdirSync, renameSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { PkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import { SignedPacket, PUBLIC_KEY_BYTES } from '../core/signed-packet.ts';
import { nowMicros } from '../core/timestamp.ts';
import { z32Encode } from '../core/z32.ts';
import { LruMap } from '../util/lru-map.ts';

/** Options of {@link PacketStore.open}. */
export interface PacketStoreOptions {
  /** SQLite file path; null keeps everything in memory (lost on exit). */
  path: string | null;
  /** Maximum number of packets kept (least recently accessed evicted first). 0 disables the cache. */
  capacity: number;
  /** Decoded packets kept in memory in front of SQLite; default min(capacity, 10,000). */
  hotCapacity?: number;
  /** Interval for writing buffered access times, ms; default 5000. */
  accessFlushMs?: number;
  /** Receives one-line operational messages (corrupt rows, a replaced database file). */
  log?: (line: string) => void;
}

/** A stored packet with its relay payload ready to send. Immutable; replaced on every update. */
export interface CachedPacket {
  readonly packet: SignedPacket;
  /** `sig ‖ ts ‖ dns`, the GET response body. */
  readonly payload: Buffer;
}

/** What {@link PacketStore.put} did. */
export type StoreOutcome =
  | 'inserted' // no packet for this key before
  | 'replaced' // the new packet is more recent
  | 'refreshed' // same bytes, newer lastSeen
  | 'unchanged'; // the stored packet is as recent or more recent (or the cache is disabled)

const FUTURE_LAST_SEEN_TOLERANCE = 60_000_000n;
const MAX_DIRTY_ACCESSES = 10_000;

/** Wraps a packet with its relay payload. */
export function cachedPacket(packet: SignedPacket): CachedPacket {
  const payload = Buffer.from(packet.toRelayPayload());
  return { packet, payload };
}

function isSqliteCorruption(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /not a database|malformed|corrupt/i.test(message);
}

/** Persistent LRU of signed packets. Synchronous (node:sqlite); one instance per database file. */
export class PacketStore {
  readonly capacity: number;
  readonly #db: DatabaseSync;
  readonly #hot: LruMap<string, CachedPacket>;
  readonly #dirty = new Map<string, Uint8Array>();
  readonly #log: (line: string) => void;
  readonly #evictBatch: number;
  readonly #timer: NodeJS.Timeout | null;
  #count: number;
  #closed = false;
  /** The last access time handed out (see {@link #accessTime}). */
  #lastAccess = 0;
  readonly #select: StatementSync;
  readonly #upsert: StatementSync;
  readonly #refresh: StatementSync;
  readonly #touch: StatementSync;
  readonly #evict: StatementSync;
  readonly #deleteOne: StatementSync;

  private constructor(db: DatabaseSync, options: PacketStoreOptions) {
    this.capacity = options.capacity;
    this.#db = db;
    this.#log = options.log ?? (() => {});
    this.#hot = new LruMap(Math.min(options.capacity, options.hotCapacity ?? 10_000));
    this.#evictBatch = Math.max(1, Math.min(10_000, Math.floor(options.capacity / 100)));
    db.exec(`CREATE TABLE IF NOT EXISTS packets (
      key BLOB PRIMARY KEY,
      bytes BLOB NOT NULL,
      timestamp INTEGER NOT NULL,
      last_seen INTEGER NOT NULL,
      last_access INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS packets_by_access ON packets(last_access);`);
    this.#select = db.prepare('SELECT bytes, last_seen FROM packets WHERE key = ?');
    this.#select.setReadBigInts(true);
    this.#upsert = db.prepare(`INSERT INTO packets (key, bytes, timestamp, last_seen, last_access) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(key) DO UPDATE SET bytes = excluded.bytes, timestamp = excluded.timestamp,
        last_seen = excluded.last_seen, last_access = excluded.last_access`);
    this.#refresh = db.prepare('UPDATE packets SET last_seen = ?, last_access = ? WHERE key = ?');
    this.#touch = db.prepare('UPDATE packets SET last_access = ? WHERE key = ?');
    this.#evict = db.prepare('DELETE FROM packets WHERE key IN (SELECT key FROM packets WHERE key != ? ORDER BY last_access LIMIT ?) RETURNING key');
    this.#deleteOne = db.prepare('DELETE FROM packets WHERE key = ?');
    const row = db.prepare('SELECT count(*) AS n, max(last_access) AS last FROM packets').get() as { n: number; last: number | null } | undefined;
    this.#count = row?.n ?? 0;
    this.#lastAccess = row?.last ?? 0;
    const flushMs = options.accessFlushMs ?? 5000;
    this.#timer = options.capacity > 0 ? setInterval(() => this.flushAccessTimes(), flushMs) : null;
    this.#timer?.unref();
    if (this.#count > this.capacity) this.#evictDownTo(this.capacity, new Uint8Array(0));
  }

  /**
   * Opens (creating if needed) the store. A file that is not a valid SQLite database is renamed to
   * `<path>.corrupt-<ms>` and a fresh one is created (it is a cache). Other failures throw
   * PkarrError('IO_ERROR').
   */
  static open(options: PacketStoreOptions): PacketStore {
    if (!Number.isInteger(options.capacity) || options.capacity < 0) {
      throw new PkarrError('INVALID_ARGUMENT', `cache size must be a non-negative integer, got ${options.capacity}`);
    }
    const path = options.path ?? ':memory:';
    try {
      return new PacketStore(PacketStore.#connect(path), options);
    } catch (err) {
      if (options.path === null || !isSqliteCorruption(err) || !existsSync(path)) {
        throw new PkarrError('IO_ERROR', `cannot open packet store ${path}: ${(err as Error).message}`, undefined, { cause: err });
      }
      const aside = `${path}.corrupt-${Date.now()}`;
      renameSync(path, aside);
      for (const suffix of ['-wal', '-shm']) if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
      options.log?.(`packet store ${path} was not a valid database (${(err as Error).message}); moved to ${aside}, starting empty`);
      return new PacketStore(PacketStore.#connect(path), options);
    }
  }

  static #connect(path: string): DatabaseSync {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
      db.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (err) {
      db.close();
      throw err;
    }
    return db;
  }

  /** Number of packets stored. */
  get size(): number {
    return this.#count;
  }

  /** Number of decoded packets held in memory. */
  get hotSize(): number {
    return this.#hot.size;
  }

  /**
   * The hot (in-memory) entry for a canonical z32 string, or undefined; never touches SQLite.
   * This is the GET fast path: it runs before the path is even parsed as a key.
   */
  getHot(z32: string): CachedPacket | undefined {
    const entry = this.#hot.get(z32);
    if (entry !== undefined) this.#markAccess(z32, entry.packet.publicKey.bytes);
    return entry;
  }

  /** The stored packet for `key` (counts as an access for the LRU), or null. */
  get(key: PublicKey): CachedPacket | null {
    const entry = this.#load(key);
    if (entry !== null) this.#markAccess(key.z32, key.bytes);
    return entry;
  }

  /** Like get, without counting as an access. */
  peek(key: PublicKey): CachedPacket | null {
    return this.#load(key);
  }

  /**
   * Stores `packet` if the store has nothing for its key, if it is more recent than the stored one,
   * or if it is the same bytes with a newer lastSeen (reference cache-update rule). The write is
   * durable when this returns.
   */
  put(packet: SignedPacket): StoreOutcome {
    if (this.capacity === 0 || this.#closed) return 'unchanged';
    const key = packet.publicKey;
    const existing = this.#load(key);
    const nowMs = this.#accessTime();
    if (existing !== null && !packet.moreRecentThan(existing.packet)) {
      if (!packet.isSameAs(existing.packet) || packet.lastSeen <= existing.packet.lastSeen) return 'unchanged';
      this.#refresh.run(packet.lastSeen, nowMs, key.bytes);
      this.#hot.set(key.z32, { packet: existing.packet.withLastSeen(packet.lastSeen), payload: existing.payload });
      return 'refreshed';
    }
    const cached = cachedPacket(packet);
    this.#upsert.run(key.bytes, cached.packet.toBytes(), BigInt.asIntN(64, packet.timestamp), packet.lastSeen, nowMs);
    this.#hot.set(key.z32, cached);
    this.#dirty.delete(key.z32);
    if (existing !== null) return 'replaced';
    this.#count += 1;
    if (this.#count > this.capacity) this.#evictDownTo(Math.max(1, this.capacity - this.#evictBatch), key.bytes);
    return 'inserted';
  }

  /** Now in ms, or one more than the last access time handed out when the clock has not moved on. */
  #accessTime(): number {
    this.#lastAccess = Math.max(Date.now(), this.#lastAccess + 1);
    return this.#lastAccess;
  }

  /** Writes buffered access times in one transaction. */
  flushAccessTimes(): void {
    if (this.#dirty.size === 0 || this.#closed) return;
    const nowMs = this.#accessTime();
    this.#db.exec('BEGIN');
    try {
      for (const keyBytes of this.#dirty.values()) this.#touch.run(nowMs, keyBytes);
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      this.#log(`packet store: cannot write access times: ${(err as Error).message}`);
    }
    this.#dirty.clear();
  }

  /** Flushes access times and closes the database. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.flushAccessTimes();
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#hot.clear();
    this.#db.close();
  }

  #markAccess(z32: string, keyBytes: Uint8Array): void {
    this.#dirty.set(z32, keyBytes);
    if (this.#dirty.size >= MAX_DIRTY_ACCESSES) this.flushAccessTimes();
  }

  #load(key: PublicKey): CachedPacket | null {
    if (this.capacity === 0 || this.#closed) return null;
    const hot = this.#hot.get(key.z32);
    if (hot !== undefined) return hot;
    const row = this.#select.get(key.bytes) as { bytes: Uint8Array; last_seen: bigint } | undefined;
    if (row === undefined) return null;
    let lastSeen = row.last_seen;
    if (lastSeen > nowMicros() + FUTURE_LAST_SEEN_TOLERANCE) lastSeen = 0n;
    let packet: SignedPacket;
    try {
      packet = SignedPacket.fromBytes(row.bytes, lastSeen);
      if (Buffer.compare(row.bytes.subarray(0, PUBLIC_KEY_BYTES), key.bytes) !== 0) {
        throw new PkarrError('INVALID_SIGNATURE', 'row holds a packet of another key');
      }
    } catch (err) {
      this.#log(`packet store: deleting corrupt row for ${key.z32}: ${(err as Error).message}`);
      if (this.#deleteOne.run(key.bytes).changes !== 0) this.#count -= 1;
      return null;
    }
    const cached = cachedPacket(packet);
    this.#hot.set(key.z32, cached);
    return cached;
  }

  /** Deletes the least recently accessed rows (never `keep`) until `target` rows remain. */
  #evictDownTo(target: number, keep: Uint8Array): void {
    const excess = this.#count - target;
    if (excess <= 0) return;
    this.flushAccessTimes();
    const removed = this.#evict.all(keep, excess) as { key: Uint8Array }[];
    for (const { key } of removed) this.#hot.delete(z32Encode(key));
    this.#count -= removed.length;
  }
}
