/**
 * A host listing itself in its game's lobby directory (docs/nat.md §4), so players can browse it
 * without reaching a beacon (a host behind NAT with no port mapping, a relay-only host).
 *
 * `refresh()`: for the current window, solve the entry's proof of work (once per window, ~0.1 s),
 * then try the slots in the host's order (directory-slots.ts): read the slot (NetworkOnly); if our
 * entry is there, done; if our entry fits without pushing anyone out, write it there; else try the
 * next slot. When every slot is full, the home slot is written anyway and its oldest entries drop.
 * A write signs the merged list with the slot key at `max(now, observed + 1)` plus 0–999 random µs
 * (same-millisecond racers must not sign equal timestamps) and publishes through the client (DHT +
 * relays). NOT_MOST_RECENT (someone wrote in between) → read again and merge, at
 * most `maxAttempts` times. A race lost silently (another writer's newer packet replaced ours on
 * the network after our publish succeeded) is repaired by the next refresh: `start()` refreshes
 * every `refreshMs` (2 min), 15–25 s after each write (a read that catches a race lost at open or
 * at a window start quickly: a racing write read the slot before ours landed, so it lands within a
 * DHT put's time after ours — the check waits longer than that), and just after each window starts (with a random delay up to 30 s, so
 * hosts do not all write at the same instant).
 *
 * Slot timestamps never touch the process-wide timestamp source: anyone can sign a slot with a
 * huge timestamp, and our own lobby records must not inherit it. A slot whose next timestamp would
 * pass 2^53 (bittorrent-dht's limit) is jammed: skipped like a full one.
 */
import { randomInt } from 'node:crypto';
import { PkarrError, isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import { nowMicros } from '../core/timestamp.ts';
import type { PkarrClient, PublishResult } from '../client/types.ts';
import { DIRECTORY_POW_BITS, powPrefix, solvePow } from './directory-pow.ts';
import { encodeSlot, entriesThatFit, mergeEntries, readSlot, type DirectoryEntry } from './directory-record.ts';
import { directoryId, directoryWindow, slotKeypair, slotOrder, DIRECTORY_WINDOW_SECONDS, type DirectoryId } from './directory-slots.ts';

export const DEFAULT_DIRECTORY_REFRESH_MS = 120_000;
export const DEFAULT_DIRECTORY_ATTEMPTS = 3;
/** The check after a write (plus up to 2/3 of it at random: 15-25 s). */
export const DEFAULT_DIRECTORY_VERIFY_MS = 15_000;
const MAX_START_JITTER_MS = 30_000;
const MAX_SLOT_TIMESTAMP = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Random microseconds below one millisecond (at most `room`), added to a slot's write timestamp.
 * The clock is whole milliseconds, so two hosts that read the same slot state and write within the
 * same millisecond would otherwise sign the same timestamp. DHT nodes refuse an equal seq (302), so
 * each node would keep whichever packet reached it first: the network splits between the two
 * packets, a host reading from its own half finds itself listed and writes nothing, and the other
 * host's entry stays invisible to part of the readers. Distinct timestamps make the newer write
 * replace the older one on every node, where the merge-and-retry logic handles it.
 */
function subMillisecondJitter(room: bigint): bigint {
  const jitter = BigInt(randomInt(1000));
  return jitter < room ? jitter : room < 0n ? 0n : room;
}

export interface DirectoryPublisherOptions {
  client: PkarrClient;
  hostKey: PublicKey;
  game: string;
  gameVersion: string;
  /** Slots per window (default 8; browsers must read the same number). */
  slots?: number;
  /** Proof-of-work difficulty (default DIRECTORY_POW_BITS; tests only). */
  powBits?: number;
  refreshMs?: number;
  /** Delay of the check after a write (default 15 s, plus up to 2/3 of it at random). */
  verifyMs?: number;
  /** Writes per slot before giving up on NOT_MOST_RECENT (default 3). */
  maxAttempts?: number;
  /** Clock (µs), for tests. */
  now?: () => bigint;
  /** Failures of background refreshes. */
  onError?: (err: unknown) => void;
}

/** What a refresh did. */
export interface DirectoryListing {
  window: number;
  slot: number;
  /** `present`: already listed, nothing written; `written`: the slot was published with our entry. */
  action: 'present' | 'written';
  /** Entries in the slot after the refresh (ours included). */
  entries: number;
  /** Entries pushed out to make room (only when every slot was full). */
  evicted: number;
  /** Writes tried (0 when present). */
  attempts: number;
  /** Slots read before ours was found or written. */
  slotsRead: number;
  publish?: PublishResult;
}

interface SlotState {
  packet: SignedPacket | null;
  /** Highest timestamp seen for the slot (a valid packet's, or an invalid item's seq). */
  observed: bigint;
  entries: DirectoryEntry[];
}

export class DirectoryPublisher {
  readonly dir: DirectoryId;
  readonly #options: DirectoryPublisherOptions;
  readonly #now: () => bigint;
  #entry: { window: number; entry: DirectoryEntry } | null = null;
  #running: Promise<DirectoryListing> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  readonly #lifetime = new AbortController();
  #last: DirectoryListing | null = null;
  /** The last refresh wrote: check again soon (a lost race shows up as a missing entry). */
  #verifyNext = false;

  constructor(options: DirectoryPublisherOptions) {
    this.dir = directoryId(options.game, options.gameVersion, options.slots);
    this.#options = options;
    this.#now = options.now ?? nowMicros;
  }

  /** The outcome of the last successful refresh. */
  get last(): DirectoryListing | null {
    return this.#last;
  }

  /** Makes sure we are listed in the current window (joins a running refresh). */
  refresh(): Promise<DirectoryListing> {
    if (this.#stopped) return Promise.reject(new PkarrError('INVALID_ARGUMENT', 'directory publisher stopped'));
    if (this.#running === null) {
      this.#running = this.#refresh().then((listing) => {
        this.#last = listing;
        this.#verifyNext = listing.action === 'written';
        return listing;
      }, (err: unknown) => {
        this.#verifyNext = false;
        throw err;
      }).finally(() => { this.#running = null; });
    }
    return this.#running;
  }

  /** Refreshes every `refreshMs` and shortly after each window starts, until `stop()`. */
  start(): void {
    if (this.#stopped || this.#timer !== null) return;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#lifetime.abort();
    await this.#running?.catch(() => undefined);
  }

  #schedule(): void {
    const verifyBase = this.#options.verifyMs ?? DEFAULT_DIRECTORY_VERIFY_MS;
    const verifyMs = verifyBase + Math.floor(Math.random() * verifyBase * 2 / 3); // 15-25 s by default
    const refreshMs = this.#verifyNext ? Math.min(verifyMs, this.#options.refreshMs ?? DEFAULT_DIRECTORY_REFRESH_MS) : this.#options.refreshMs ?? DEFAULT_DIRECTORY_REFRESH_MS;
    const nowMs = Number(this.#now() / 1000n);
    const windowMs = DIRECTORY_WINDOW_SECONDS * 1000;
    const toNextWindow = windowMs - (nowMs % windowMs) + Math.floor(Math.random() * MAX_START_JITTER_MS);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#stopped) return;
      this.refresh().catch((err: unknown) => this.#options.onError?.(err)).finally(() => { if (!this.#stopped) this.#schedule(); });
    }, Math.min(refreshMs, toNextWindow));
    this.#timer.unref();
  }

  async #refresh(): Promise<DirectoryListing> {
    const window = directoryWindow(this.#now());
    const entry = await this.#entryFor(window);
    const order = slotOrder(this.#options.hostKey, window, this.dir.slots);
    let slotsRead = 0;
    for (const slot of order) {
      slotsRead++;
      const listing = await this.#listIn(window, slot, entry, false);
      if (listing !== null) return { ...listing, slotsRead };
    }
    const listing = await this.#listIn(window, order[0]!, entry, true);
    if (listing === null) throw new PkarrError('NOT_MOST_RECENT', `every slot of directory ${this.dir.game} ${this.dir.gameVersion} window ${window} is jammed (timestamp at the 2^53 limit)`);
    return { ...listing, slotsRead: slotsRead + 1 };
  }

  /** Our entry for a window (the proof is solved once per window). */
  async #entryFor(window: number): Promise<DirectoryEntry> {
    if (this.#entry?.window === window) return this.#entry.entry;
    const time = Math.max(window * DIRECTORY_WINDOW_SECONDS, Math.min(Number(this.#now() / 1_000_000n), (window + 1) * DIRECTORY_WINDOW_SECONDS - 1));
    const stem = `${this.#options.hostKey.z32}:${time}:`;
    const { nonce } = await solvePow(powPrefix(this.dir, window), stem, this.#options.powBits ?? DIRECTORY_POW_BITS, this.#lifetime.signal);
    const entry: DirectoryEntry = { hostKey: this.#options.hostKey, time, nonce };
    this.#entry = { window, entry };
    return entry;
  }

  /** Lists us in one slot; null when the slot is full (and `evict` is false) or jammed. */
  async #listIn(window: number, slot: number, entry: DirectoryEntry, evict: boolean): Promise<Omit<DirectoryListing, 'slotsRead'> | null> {
    const keypair = slotKeypair(this.dir, window, slot);
    const maxAttempts = Math.max(1, this.#options.maxAttempts ?? DEFAULT_DIRECTORY_ATTEMPTS);
    const me = this.#options.hostKey.z32;
    let lastRace: unknown = null;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const state = await this.#read(keypair.publicKey, window);
      if (state.entries.some((e) => e.hostKey.z32 === me)) {
        return { window, slot, action: 'present', entries: state.entries.length, evicted: 0, attempts: attempt - 1 };
      }
      if (state.observed + 1n > MAX_SLOT_TIMESTAMP) return null;
      const merged = mergeEntries(state.entries, [entry]);
      const fit = entriesThatFit(merged, keypair.publicKey.z32);
      if (fit < merged.length && !evict) return null;
      if (!merged.slice(0, fit).some((e) => e.hostKey.z32 === me)) return null; // only newer entries fit
      const now = this.#now();
      const base = now > state.observed ? now : state.observed + 1n;
      const timestamp = base + subMillisecondJitter(MAX_SLOT_TIMESTAMP - base);
      const encoded = encodeSlot(keypair, merged, timestamp);
      try {
        const publish = await this.#options.client.publish(encoded.packet);
        return { window, slot, action: 'written', entries: encoded.kept.length, evicted: encoded.dropped.length, attempts: attempt, publish };
      } catch (err) {
        if (!isPkarrError(err, 'NOT_MOST_RECENT')) throw err;
        lastRace = err;
      }
    }
    throw new PkarrError('NOT_MOST_RECENT', `directory slot ${slot} of window ${window}: lost ${maxAttempts} write races in a row (retried at the next refresh)`, { slot, window }, { cause: lastRace });
  }

  async #read(key: PublicKey, window: number): Promise<SlotState> {
    try {
      const found = await this.#options.client.resolve(key, 'NetworkOnly');
      if (found === null) return { packet: null, observed: 0n, entries: [] };
      return { packet: found.packet, observed: found.packet.timestamp, entries: readSlot(found.packet, this.dir, window, this.#options.powBits ?? DIRECTORY_POW_BITS).entries };
    } catch (err) {
      if (isPkarrError(err, 'NOT_FOUND')) return { packet: null, observed: 0n, entries: [] };
      // The newest item is not a valid packet (vandalism): write above its seq.
      if (isPkarrError(err, 'INVALID_SIGNED_PACKET_SEQ') && typeof err.details?.['seq'] === 'string') {
        return { packet: null, observed: BigInt(err.details['seq']), entries: [] };
      }
      throw err;
    }
  }
}
