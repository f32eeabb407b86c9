/**
 * Browsing the lobbies of one game version, from three sources merged by key (the most recently
 * signed record wins): the game's DHT topic (beacon-scan.ts), the game's lobby directory
 * (directory-scan.ts: pkarr packets listing host keys, readable through the DHT or any relay, so
 * hosts without a reachable beacon are found too) and a list of known keys (friends, bookmarks),
 * the last two resolved through the pkarr client, and the local network (lan/lan-browser.ts: mDNS
 * announcements carrying signed packets, no internet needed; LAN lobbies heard between refreshes
 * are applied at once). Filters and sorting run here (lobby-filters.ts).
 *
 * Live updates: each `refresh()` (or the `watch` timer) emits
 * - `found` when a lobby becomes visible (new, or now passing the filters),
 * - `updated` when a visible lobby's content changed (name, players, custom data, endpoints…),
 * - `lost` with a reason: `closed` (its record says open=0), `expired` (not re-signed within 3 TTLs:
 *   the host is gone without closing), `gone` (absent from every source for `missesBeforeLost`
 *   refreshes in a row: beacon unreachable, announce expired, key no longer resolving), or
 *   `filtered` (it no longer passes the filters).
 * `found`/`updated` fire while a refresh runs, as soon as a beacon answered; `lost` for `gone` at its end.
 * This is the one place lobbies are compared and sorted: a client applies the events as they come
 * and places a found or updated lobby at `positionOf(key)` (rpc: `index`), it never diffs or sorts.
 *
 * Each lobby carries the round-trip time to its host (`rttMs`), measured when its beacon is fetched
 * (beacon-client.ts: the TCP handshake): the lowest of its last RTT_SAMPLES measurements (a busy
 * event loop only ever adds to a measurement), kept while other sources deliver the lobby; null for
 * a host this browser never contacted (directory, known keys, LAN).
 */
import { EventEmitter } from 'node:events';
import { isPkarrError } from '../core/errors.ts';
import { PublicKey } from '../core/keys.ts';
import { mapLimited } from '../util/map-limited.ts';
import { nowMicros } from '../core/timestamp.ts';
import type { PkarrClient } from '../client/types.ts';
import { emptyScanStats, scanTopic, type ScanOptions, type ScanStats } from './beacon-scan.ts';
import { emptyDirectoryStats, scanDirectory, SlotCache, type DirectoryScanOptions, type DirectoryStats, type KeyVerdict } from './directory-scan.ts';
import { compareLobbies, matchesFilters, selectLobbies, type LobbyFilters, type LobbySort } from './lobby-filters.ts';
import { isLobbyStale, parseLobby, type Lobby } from './lobby-record.ts';
import { lobbyTopicText, type TopicDht } from './topic.ts';
import type { LanSighting, LobbyLanBrowser } from './lobby-lan.ts';
import { contentOf, lanLobby, preferredCopy, RTT_SAMPLES, type BrowsedLobby, type LobbySource } from './browsed-lobby.ts';

export type { BrowsedLobby } from './browsed-lobby.ts';

/** How long a refresh listens on the LAN after its query (ms). */
export const DEFAULT_LAN_WINDOW_MS = 750;

export type LostReason = 'closed' | 'expired' | 'gone' | 'filtered';

export interface BrowseStats extends ScanStats {
  known: { requested: number; found: number; notFound: number; failed: number };
  /** The lobby directory (zeros when not read). */
  directory: DirectoryStats;
  /** The local network: lobbies of this game heard this refresh, whether a query went out (back-off). */
  lan: { heard: number; queried: boolean };
  /** Lobbies (distinct keys) seen this refresh whose record says open=0 / that are stale. */
  closed: number;
  stale: number;
  /** With `confirm`: topic lobbies whose key did not resolve to a lobby through the client. */
  unconfirmed: number;
  /** Lobbies listed after this refresh (visible: fresh and passing the filters). */
  lobbies: number;
  durationMs: number;
}

export interface BrowseResult {
  lobbies: BrowsedLobby[];
  stats: BrowseStats;
}

export interface LobbyBrowserOptions {
  game: string;
  gameVersion: string;
  /** Topic browsing; null = known keys only. */
  dht: TopicDht | null;
  /** Known-key resolution, the lobby directory (and `confirm`); null = topic only. */
  client: PkarrClient | null;
  filters?: LobbyFilters;
  sort?: LobbySort;
  knownKeys?: readonly (PublicKey | string)[];
  /** Browse the topic (default true when a dht is given). */
  topic?: boolean;
  /** Read the lobby directory (default true when a client is given). */
  directory?: boolean;
  /** Directory tuning: slots (must match the hosts'), keys resolved at once / at most. */
  directoryScan?: Partial<Pick<DirectoryScanOptions, 'slots' | 'concurrency' | 'maxKeys' | 'powBits'>>;
  /** LAN discovery (lan/lan-browser.ts); null/absent = none. */
  lan?: LobbyLanBrowser | null;
  /** Listen on the LAN (default true when `lan` is given). */
  lanEnabled?: boolean;
  /** How long a refresh listens on the LAN after its query (default 750 ms). */
  lanWindowMs?: number;
  /** Refreshes in a row a lobby may be missing before it is lost as `gone` (default 2). */
  missesBeforeLost?: number;
  /** Also resolve every topic lobby's key through the client and keep the newer record (default false). */
  confirm?: boolean;
  scan?: Partial<Pick<ScanOptions, 'concurrency' | 'beaconTimeoutMs' | 'maxPeers' | 'lookupTimeoutMs' | 'checkBeacon'>>;
  /** Known keys resolved at once (default 8). */
  knownConcurrency?: number;
  /** Clock (µs), for tests. */
  now?: () => bigint;
}

type BrowserEvents = {
  found: [BrowsedLobby];
  updated: [BrowsedLobby];
  lost: [BrowsedLobby, LostReason];
};

interface Entry {
  lobby: BrowsedLobby;
  visible: boolean;
  misses: number;
}

export class LobbyBrowser extends EventEmitter<BrowserEvents> {
  readonly game: string;
  readonly gameVersion: string;
  readonly #options: LobbyBrowserOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => bigint;
  readonly #lifetime = new AbortController();
  readonly #slotCache = new SlotCache();
  #filters: LobbyFilters;
  #sort: LobbySort;
  #known: PublicKey[];
  /** The last RTT_SAMPLES round-trip measurements by key. */
  readonly #rtt = new Map<string, number[]>();
  #running: Promise<BrowseResult> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #unlisten: (() => void) | null = null;

  constructor(options: LobbyBrowserOptions) {
    super();
    lobbyTopicText(options.game, options.gameVersion); // INVALID_ARGUMENT for a bad game id or version
    this.#options = options;
    this.game = options.game;
    this.gameVersion = options.gameVersion;
    this.#filters = options.filters ?? {};
    this.#sort = options.sort ?? 'players';
    this.#known = (options.knownKeys ?? []).map((k) => (k instanceof PublicKey ? k : PublicKey.parse(k)));
    this.#now = options.now ?? nowMicros;
    const lan = this.#lan();
    if (lan !== null) {
      // Between refreshes: LAN lobbies appear (and close) as soon as they are heard.
      const onSighting = (s: LanSighting): void => {
        if (s.lobby.game === this.game && s.lobby.gameVersion === this.gameVersion) this.#apply(lanLobby(s));
      };
      const onGone = (z32: string): void => this.#lanGone(z32);
      lan.on('sighting', onSighting);
      lan.on('gone', onGone);
      this.#unlisten = () => { lan.off('sighting', onSighting); lan.off('gone', onGone); };
    }
  }

  #lan(): LobbyLanBrowser | null {
    return this.#options.lanEnabled === false ? null : this.#options.lan ?? null;
  }

  /** A LAN lobby's host said goodbye or its announcements expired. */
  #lanGone(z32: string): void {
    const entry = this.#entries.get(z32);
    if (entry === undefined || entry.lobby.source !== 'lan') return;
    const limit = Math.max(1, this.#options.missesBeforeLost ?? 2);
    if (this.#options.dht === null && this.#options.client === null) {
      // LAN only: no other source can still vouch for it
      this.#entries.delete(z32);
      if (entry.visible) this.emit('lost', entry.lobby, 'gone');
    } else {
      entry.misses = Math.max(entry.misses, limit - 1); // lost at the next refresh unless another source has it
    }
  }

  /** The visible lobbies, filtered and sorted. */
  get lobbies(): BrowsedLobby[] {
    return selectLobbies([...this.#entries.values()].filter((e) => e.visible).map((e) => e.lobby), this.#filters, this.#sort);
  }

  /**
   * Where the visible lobby `z32` stands in `lobbies` now (0 = first), or -1 when it is not
   * visible. Read in a `found`/`updated` listener, it is where a client mirroring the list through
   * the events places that lobby (every change of the order comes with an event, except under sort
   * `newest`, where a re-signed record moves without one).
   */
  positionOf(z32: string): number {
    const target = this.#entries.get(z32);
    if (target === undefined || !target.visible) return -1;
    const compare = compareLobbies(this.#sort);
    let position = 0;
    for (const entry of this.#entries.values()) {
      if (entry.visible && entry !== target && compare(entry.lobby, target.lobby) < 0) position++;
    }
    return position;
  }

  get knownKeys(): readonly PublicKey[] {
    return this.#known;
  }

  /** Replaces the known keys (they are resolved from the next refresh on). */
  setKnownKeys(keys: readonly (PublicKey | string)[]): void {
    this.#known = keys.map((k) => (k instanceof PublicKey ? k : PublicKey.parse(k)));
  }

  /** Changes filters and sort; emits found / lost('filtered') for lobbies that enter or leave the view. */
  setFilters(filters: LobbyFilters, sort: LobbySort = this.#sort): void {
    this.#filters = filters;
    this.#sort = sort;
    for (const entry of this.#entries.values()) this.#reevaluate(entry);
  }

  /** Runs one refresh (joins the running one if any) and returns the visible lobbies with statistics. */
  refresh(): Promise<BrowseResult> {
    if (this.#running === null) {
      this.#running = this.#refresh().finally(() => { this.#running = null; });
    }
    return this.#running;
  }

  /** Refreshes now and then every `intervalMs` until `unwatch()`/`close()`. */
  watch(intervalMs: number): void {
    if (!(Number.isFinite(intervalMs) && intervalMs >= 1000)) throw new RangeError(`watch interval must be at least 1000 ms, got ${intervalMs}`);
    this.unwatch();
    this.#timer = setInterval(() => void this.refresh(), intervalMs);
    this.#timer.unref();
    void this.refresh();
  }

  unwatch(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Stops watching and cuts a running refresh short. */
  async close(): Promise<void> {
    this.unwatch();
    this.#unlisten?.();
    this.#unlisten = null;
    this.#lifetime.abort();
    await this.#running?.catch(() => undefined);
  }

  async #refresh(): Promise<BrowseResult> {
    const started = performance.now();
    const round = new Map<string, BrowsedLobby>();
    const pending = new Set<Promise<void>>();
    let unconfirmed = 0;
    const accept = (lobby: BrowsedLobby): void => {
      const key = lobby.publicKey.z32;
      const best = round.get(key);
      const chosen = best === undefined ? lobby : preferredCopy(best, lobby, 'current').lobby;
      if (chosen === best) return;
      round.set(key, chosen);
      this.#apply(chosen);
    };
    const client = this.#options.client;
    const confirm = this.#options.confirm === true && client !== null;
    const onTopicLobby = (lobby: Lobby, beacon: { host: string; port: number }, measured: number): void => {
      const browsed: BrowsedLobby = { ...lobby, source: 'topic', beacon, rttMs: this.#measured(lobby.publicKey.z32, measured) };
      if (!confirm) return accept(browsed);
      // A key that cannot be resolved (not found, or the lookup failed: no node answered) is unconfirmed.
      const check = this.#resolveLobby(browsed.publicKey, 'known').then((resolved) => {
        if (!resolved.ok) { unconfirmed++; return; }
        accept(resolved.lobby.timestamp > browsed.timestamp ? { ...resolved.lobby, rttMs: browsed.rttMs } : browsed);
      }, () => { unconfirmed++; }).finally(() => pending.delete(check));
      pending.add(check);
    };

    const known = { requested: this.#known.length, found: 0, notFound: 0, failed: 0 };
    const useTopic = this.#options.dht !== null && (this.#options.topic ?? true);
    const scanWork: Promise<ScanStats> = useTopic
      ? scanTopic({ ...this.#options.scan, dht: this.#options.dht!, game: this.game, gameVersion: this.gameVersion, onLobby: onTopicLobby, signal: this.#lifetime.signal })
      : Promise.resolve(emptyScanStats());
    const knownWork = client === null ? Promise.resolve() : mapLimited(this.#known, this.#options.knownConcurrency ?? 8, async (key) => {
      try {
        const verdict = await this.#resolveLobby(key, 'known');
        if (!verdict.ok) known.notFound++;
        else { known.found++; accept(verdict.lobby); }
      } catch {
        known.failed++;
      }
    });
    const useDirectory = client !== null && (this.#options.directory ?? true);
    const directoryWork: Promise<DirectoryStats> = useDirectory
      ? scanDirectory({
        ...this.#options.directoryScan,
        client,
        game: this.game,
        gameVersion: this.gameVersion,
        now: this.#now,
        signal: this.#lifetime.signal,
        cache: this.#slotCache,
        isKnown: (z32) => round.has(z32),
        resolveLobby: (key) => this.#resolveLobby(key, 'directory'),
        onLobby: (lobby) => accept({ ...lobby, source: 'directory', beacon: null, rttMs: null }),
      })
      : Promise.resolve(emptyDirectoryStats());
    const lan = this.#lan();
    const lanWork: Promise<{ heard: number; queried: boolean }> = lan === null
      ? Promise.resolve({ heard: 0, queried: false })
      : lan.browse(this.game, this.gameVersion, { windowMs: this.#options.lanWindowMs ?? DEFAULT_LAN_WINDOW_MS, signal: this.#lifetime.signal, onSighting: (s) => accept(lanLobby(s)) });
    const [scan, , directory, lanStats] = await Promise.all([scanWork, knownWork, directoryWork, lanWork]);
    while (pending.size > 0) await Promise.all([...pending]);

    const now = this.#now();
    let closed = 0;
    let stale = 0;
    for (const lobby of round.values()) {
      if (!lobby.open) closed++;
      if (isLobbyStale(lobby, now)) stale++;
    }
    this.#endRound(new Set(round.keys()));
    const lobbies = this.lobbies;
    const stats: BrowseStats = { ...scan, known, directory, lan: lanStats, closed, stale, unconfirmed, lobbies: lobbies.length, durationMs: Math.round(performance.now() - started) };
    return { lobbies, stats };
  }

  /** The lobby behind a key (known, confirmed or listed in the directory), or why not. */
  async #resolveLobby(key: PublicKey, source: LobbySource): Promise<{ ok: true; lobby: BrowsedLobby } | Extract<KeyVerdict, { ok: false }>> {
    const client = this.#options.client;
    if (client === null) return { ok: false, reason: 'notFound' };
    let found;
    try {
      found = await client.resolve(key, 'NetworkOnly');
    } catch (err) {
      if (isPkarrError(err, 'NOT_FOUND')) return { ok: false, reason: 'notFound' };
      throw err;
    }
    if (found === null) return { ok: false, reason: 'notFound' };
    let lobby: Lobby;
    try {
      lobby = parseLobby(found.packet);
    } catch {
      return { ok: false, reason: 'notLobby' };
    }
    if (lobby.game !== this.game || lobby.gameVersion !== this.gameVersion) return { ok: false, reason: 'otherGame' };
    return { ok: true, lobby: { ...lobby, source, beacon: null, rttMs: null } };
  }

  #visible(lobby: Lobby): boolean {
    return !isLobbyStale(lobby, this.#now()) && matchesFilters(lobby, this.#filters);
  }

  #lostReason(lobby: Lobby): LostReason {
    if (isLobbyStale(lobby, this.#now())) return 'expired';
    if (!lobby.open && (this.#filters.openOnly ?? true)) return 'closed';
    return 'filtered';
  }

  #apply(copy: BrowsedLobby): void {
    const key = copy.publicKey.z32;
    const entry = this.#entries.get(key);
    // An older copy (or, at the same signing time, a non-LAN copy of a lobby heard on the LAN)
    // still says the lobby is around: the entry stays, with the newest round-trip time.
    const choice = entry === undefined ? { kept: 'candidate' as const, lobby: copy } : preferredCopy(entry.lobby, copy, 'candidate');
    if (entry !== undefined && choice.kept === 'current') {
      const measured = entry.lobby.rttMs === null && choice.lobby.rttMs !== null;
      entry.lobby = choice.lobby; // perhaps with a newer round-trip time
      entry.misses = 0;
      if (measured && entry.visible) this.emit('updated', entry.lobby); // the first measurement
      return;
    }
    const candidate = choice.lobby;
    const previous = entry?.lobby;
    const wasVisible = entry?.visible ?? false;
    const visible = this.#visible(candidate);
    this.#entries.set(key, { lobby: candidate, visible, misses: 0 });
    if (visible && !wasVisible) this.emit('found', candidate);
    else if (visible && previous !== undefined && contentOf(previous) !== contentOf(candidate)) this.emit('updated', candidate);
    else if (!visible && wasVisible) this.emit('lost', candidate, this.#lostReason(candidate));
  }

  #reevaluate(entry: Entry): void {
    const visible = this.#visible(entry.lobby);
    if (visible === entry.visible) return;
    entry.visible = visible;
    if (visible) this.emit('found', entry.lobby);
    else this.emit('lost', entry.lobby, this.#lostReason(entry.lobby));
  }

  #endRound(seen: ReadonlySet<string>): void {
    const limit = Math.max(1, this.#options.missesBeforeLost ?? 2);
    for (const [key, entry] of [...this.#entries]) {
      if (!seen.has(key)) entry.misses++;
      this.#reevaluate(entry); // time passes: a lobby not re-signed for 3 TTLs expires
      if (entry.misses >= limit) {
        this.#entries.delete(key);
        if (entry.visible) this.emit('lost', entry.lobby, 'gone');
      }
    }
    for (const key of [...this.#rtt.keys()]) if (!this.#entries.has(key)) this.#rtt.delete(key);
  }

  /** Records a beacon measurement of `z32`; the lobby's round-trip time: the lowest recent one. */
  #measured(z32: string, ms: number): number {
    const samples = [...(this.#rtt.get(z32) ?? []), ms].slice(-RTT_SAMPLES);
    this.#rtt.set(z32, samples);
    return Math.min(...samples);
  }
}
