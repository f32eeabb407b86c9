/**
 * The rendezvous of hole punching (docs/nat.md §3): a joiner BEP5-announces its punch socket's
 * public port under `sha1("pkarr-godot-rendezvous:v1:" + host z32 + ":" + floor(unix / 60))`; the
 * host polls the current and the previous window and probes each new address. DHT nodes accept an
 * announce only with a token bound to the announcer's IP, so a joiner can point the host at its own
 * IP only; the watcher still bounds how many new addresses it reports per minute.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import type { TopicDht } from '../lobby/topic.ts';
import type { UdpAddress } from './udp-channel.ts';

export const RENDEZVOUS_PREFIX = 'pkarr-godot-rendezvous:v1:';
/** Length of one rendezvous window, seconds. */
export const WINDOW_SECONDS = 60;
/** Default pause between two polls of the host's watcher, ms. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;
/** Default bound on new addresses the watcher reports per minute. */
export const DEFAULT_MAX_NEW_PER_MINUTE = 30;
/** Default time after which an address still announced is reported again, ms. */
export const DEFAULT_REPEAT_AFTER_MS = 15_000;
/** Default age after which a window's poll is a full lookup again, ms. */
export const DEFAULT_FULL_LOOKUP_EVERY_MS = 10_000;
/** Closest nodes a targeted poll asks. */
const TARGETED_NODES = 8;

/**
 * The DHT the rendezvous needs: BEP5 announce and lookup, and optionally a targeted poll of the
 * closest nodes found by the last lookup (DhtClient.pollPeers).
 */
export interface RendezvousDht extends TopicDht {
  /** An announce that does not wait for unresponsive nodes (DhtClient.announceQuick); used when present. */
  announceQuick?(infoHash: Uint8Array, port: number, signal?: AbortSignal): Promise<number>;
  pollPeers?(infoHash: Uint8Array, onPeer: (host: string, port: number) => void, count?: number, signal?: AbortSignal): Promise<number>;
}

/** The window index of a time (ms since the epoch). */
export function rendezvousWindow(nowMs: number): number {
  return Math.floor(nowMs / 1000 / WINDOW_SECONDS);
}

/** The 20-byte info-hash of a host's rendezvous in one window. */
export function rendezvousHash(hostKey: PublicKey, windowIndex: number): Uint8Array {
  if (!Number.isSafeInteger(windowIndex) || windowIndex < 0) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid rendezvous window ${String(windowIndex)}`);
  }
  return new Uint8Array(createHash('sha1').update(`${RENDEZVOUS_PREFIX}${hostKey.z32}:${windowIndex}`, 'utf8').digest());
}

/** Joiner side: announces `publicPort` (the punch socket's public port) on the window of `nowMs`. Resolves with the nodes that stored it. */
export function announceRendezvous(dht: RendezvousDht, hostKey: PublicKey, publicPort: number, options: { nowMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  if (!Number.isInteger(publicPort) || publicPort < 1 || publicPort > 65535) {
    return Promise.reject(new PkarrError('INVALID_ARGUMENT', `invalid public punch port ${String(publicPort)} (1-65535)`));
  }
  const window = rendezvousWindow(options.nowMs ?? Date.now());
  const hash = rendezvousHash(hostKey, window);
  if (dht.announceQuick === undefined) return dht.announce(hash, publicPort, options.signal);
  // The quick announce reaches the closest nodes it found within a few round trips (usually those
  // the host polls); then, in the background, the thorough one reaches the true closest set once its
  // lookup has waited out the unresponsive nodes, so a quick lookup that ended early is repaired
  // seconds later. Not at once: the thorough lookup's queries to dead nodes would hold the socket's
  // in-flight slots the quick one needs.
  const thorough = (): Promise<number> => dht.announce(hash, publicPort, options.signal);
  return dht.announceQuick(hash, publicPort, options.signal).then(
    (stored) => {
      thorough().catch(() => undefined);
      return stored;
    },
    () => thorough(),
  );
}

export interface RendezvousWatcherOptions {
  dht: RendezvousDht;
  hostKey: PublicKey;
  /** Called for each new address (again after `repeatAfterMs` if still announced; within the per-minute bound). */
  onAddress: (address: UdpAddress) => void;
  /** Pause between polls, ms (default 2000). */
  pollIntervalMs?: number;
  /** New addresses reported per minute at most (default 30); more are dropped and counted. */
  maxNewPerMinute?: number;
  /**
   * With a DHT that has `pollPeers`: a window's polls ask only the closest nodes of its last full
   * lookup, and a full lookup runs again after this long (default 30000 ms) or when none answered.
   */
  fullLookupEveryMs?: number;
  /**
   * An address still announced this long after it was reported is reported again (default 15000
   * ms): a joiner that retries from the same socket gets probed again.
   */
  repeatAfterMs?: number;
  /** Clock (tests). */
  now?: () => number;
  /** Called after each full lookup of a window: the peers it found (new or not; 0 when it failed), time, error (for logs). */
  onFullLookup?: (outcome: { window: number; peers: number; ms: number; error?: string }) => void;
}

export interface RendezvousWatcherStats {
  polls: number;
  /** Full iterative get_peers lookups, and targeted polls of the closest nodes. */
  fullLookups: number;
  targetedPolls: number;
  /** Addresses reported. */
  reported: number;
  /** New addresses dropped by the per-minute bound. */
  rateLimited: number;
  /** Peers that are not an IPv4 address with a port 1-65535. */
  invalid: number;
  /** Lookups that failed (DHT trouble). */
  failedLookups: number;
}

/** Host side: polls the current and previous rendezvous window while open. */
export class RendezvousWatcher {
  readonly stats: RendezvousWatcherStats = { polls: 0, fullLookups: 0, targetedPolls: 0, reported: 0, rateLimited: 0, invalid: 0, failedLookups: 0 };
  readonly #options: RendezvousWatcherOptions;
  readonly #pollIntervalMs: number;
  readonly #maxNewPerMinute: number;
  readonly #now: () => number;
  readonly #fullLookupEveryMs: number;
  /** When each window's last full lookup ended. */
  readonly #fullAt = new Map<number, number>();
  /** Addresses reported: when last, and the latest window they were seen in. */
  readonly #reported = new Map<string, { at: number; window: number }>();
  readonly #repeatAfterMs: number;
  /** Times (ms) of the reports of the last minute. */
  readonly #recent: number[] = [];
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(options: RendezvousWatcherOptions) {
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#maxNewPerMinute = options.maxNewPerMinute ?? DEFAULT_MAX_NEW_PER_MINUTE;
    if (!Number.isFinite(this.#pollIntervalMs) || this.#pollIntervalMs < 10) {
      throw new PkarrError('INVALID_ARGUMENT', `invalid rendezvous poll interval ${String(this.#pollIntervalMs)} ms (≥ 10)`);
    }
    if (!Number.isInteger(this.#maxNewPerMinute) || this.#maxNewPerMinute < 1) {
      throw new PkarrError('INVALID_ARGUMENT', `invalid maxNewPerMinute ${String(this.#maxNewPerMinute)} (≥ 1)`);
    }
    this.#repeatAfterMs = options.repeatAfterMs ?? DEFAULT_REPEAT_AFTER_MS;
    if (!Number.isFinite(this.#repeatAfterMs) || this.#repeatAfterMs < 1000) {
      throw new PkarrError('INVALID_ARGUMENT', `invalid repeatAfterMs ${String(this.#repeatAfterMs)} (≥ 1000)`);
    }
    this.#fullLookupEveryMs = options.fullLookupEveryMs ?? DEFAULT_FULL_LOOKUP_EVERY_MS;
    if (!Number.isFinite(this.#fullLookupEveryMs) || this.#fullLookupEveryMs < 0) {
      throw new PkarrError('INVALID_ARGUMENT', `invalid fullLookupEveryMs ${String(this.#fullLookupEveryMs)}`);
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Starts polling (idempotent). */
  start(): this {
    if (this.#running === null && !this.#abort.signal.aborted) this.#running = this.#loop();
    return this;
  }

  /** Stops polling; resolves when the running lookup has ended. */
  async close(): Promise<void> {
    this.#abort.abort(new Error('rendezvous watcher closed'));
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#running;
  }

  /** One poll of both windows (also used by the loop). */
  async poll(): Promise<void> {
    const window = rendezvousWindow(this.#now());
    for (const [id, entry] of this.#reported) if (entry.window < window - 1) this.#reported.delete(id);
    for (const key of [...this.#fullAt.keys()]) if (key < window - 1) this.#fullAt.delete(key);
    this.stats.polls++;
    await Promise.all([window, window - 1].filter((w) => w >= 0).map((w) => this.#lookup(w)));
  }

  async #lookup(window: number): Promise<void> {
    const signal = this.#abort.signal;
    if (signal.aborted) return;
    const { dht, hostKey } = this.#options;
    const hash = rendezvousHash(hostKey, window);
    const onPeer = (host: string, port: number): void => this.#peer(window, host, port);
    let fullStarted: number | null = null;
    try {
      const fullAt = this.#fullAt.get(window);
      if (dht.pollPeers !== undefined && fullAt !== undefined && this.#now() - fullAt < this.#fullLookupEveryMs) {
        this.stats.targetedPolls++;
        if ((await dht.pollPeers(hash, onPeer, TARGETED_NODES, signal)) > 0) return;
      }
      this.stats.fullLookups++;
      fullStarted = this.#now();
      const peers = await dht.lookup(hash, onPeer, signal);
      this.#fullAt.set(window, this.#now());
      this.#fullLookupEnded(window, peers, fullStarted);
    } catch (err) {
      if (!signal.aborted) this.stats.failedLookups++;
      if (fullStarted !== null && !signal.aborted) this.#fullLookupEnded(window, 0, fullStarted, err instanceof Error ? err.message : String(err));
    }
  }

  #fullLookupEnded(window: number, peers: number, started: number, error?: string): void {
    try {
      this.#options.onFullLookup?.({ window, peers, ms: this.#now() - started, ...(error === undefined ? {} : { error }) });
    } catch {
      // A throwing listener must not stop the watcher.
    }
  }

  #peer(window: number, host: string, port: number): void {
    if (this.#abort.signal.aborted) return;
    if (!isIPv4(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
      this.stats.invalid++;
      return;
    }
    const id = `${host}:${port}`;
    const now = this.#now();
    const entry = this.#reported.get(id);
    if (entry !== undefined) {
      entry.window = Math.max(entry.window, window);
      if (now - entry.at < this.#repeatAfterMs) return; // the same joiner, in either window
    }
    while (this.#recent.length > 0 && this.#recent[0]! <= now - 60_000) this.#recent.shift();
    if (this.#recent.length >= this.#maxNewPerMinute) {
      this.stats.rateLimited++;
      return; // not marked: reported on a later poll once the bound allows
    }
    this.#recent.push(now);
    this.#reported.set(id, { at: now, window: Math.max(entry?.window ?? window, window) });
    this.stats.reported++;
    try {
      this.#options.onAddress({ host, port });
    } catch {
      // A throwing listener must not stop the watcher.
    }
  }

  async #loop(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      await this.poll();
      if (signal.aborted) return;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        this.#timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, this.#pollIntervalMs);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
