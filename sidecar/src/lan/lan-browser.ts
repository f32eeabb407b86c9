/**
 * Listening for LAN lobbies (lan-wire.ts format) and asking for them. Every announcement heard is
 * checked like a DHT lobby — signature (SignedPacket.fromBytes), instance name = key, parseLobby —
 * and kept in a table by key with the address it came from, until its mDNS TTL runs out; the most
 * recently signed record of a key wins. Drops are counted by reason, never thrown.
 *
 * Bounds: ≤ 1024 lobbies in the table (the one closest to expiry goes first), ≤ 500 signature
 * checks per second (a flood of forged records costs a bounded CPU share; the rest is dropped as
 * `rateLimited`), a repeat of the exact bytes already verified is not verified again. Queries back
 * off per target: 0, 0.25, 0.75, 1.75 s … doubling up to 60 s between two, reset after 60 s idle.
 *
 * A goodbye (TTL 0) removes a key only if it is at least as recent as what the table holds, so a
 * replayed old packet cannot hide a live lobby for longer than its host's next announcement.
 */
import type { RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Packet } from 'dns-packet';
import type { PublicKey } from '../core/keys.ts';
import type { LanSighting } from '../lobby/lobby-lan.ts';
import { parseLobby, type Lobby } from '../lobby/lobby-record.ts';
import { encodeQuery, lanGameSubtype, lanInstanceName, lobbyTxtRecords, ttlOf, txtPacketBytes, verifyLobbyBytes, type LanRejection } from './lan-wire.ts';

export interface LanBrowserStats {
  /** Lobby records heard (TXT records of our service). */
  records: number;
  verified: number;
  /** Exact repeats of a verified record (not verified again). */
  repeats: number;
  /** Valid records older than the one held. */
  older: number;
  goodbyes: number;
  expired: number;
  evicted: number;
  rejected: Record<LanRejection | 'notLobby' | 'rateLimited', number>;
  queriesSent: number;
  queriesSuppressed: number;
}

export interface LanListenChannel {
  send(packet: Packet): void;
  on(event: 'response', listener: (message: Packet, rinfo: RemoteInfo) => void): unknown;
  off(event: 'response', listener: (message: Packet, rinfo: RemoteInfo) => void): unknown;
}

export interface LanBrowserOptions {
  maxLobbies?: number;
  verifyPerSecond?: number;
}

export type { LanSighting };

type Events = {
  sighting: [LanSighting];
  gone: [string, 'goodbye' | 'expired'];
};

const FIRST_GAP_MS = 250;
const MAX_GAP_MS = 60_000;

export class LanBrowser extends EventEmitter<Events> {
  readonly stats: LanBrowserStats = {
    records: 0, verified: 0, repeats: 0, older: 0, goodbyes: 0, expired: 0, evicted: 0,
    rejected: { malformed: 0, oversized: 0, unsupported: 0, badSignature: 0, keyMismatch: 0, notLobby: 0, rateLimited: 0 },
    queriesSent: 0, queriesSuppressed: 0,
  };
  readonly #channel: LanListenChannel;
  readonly #table = new Map<string, LanSighting>();
  readonly #backoff = new Map<string, { lastAt: number; gapMs: number }>();
  readonly #maxLobbies: number;
  readonly #verifyPerSecond: number;
  readonly #sweep: NodeJS.Timeout;
  readonly #onResponse = (message: Packet, rinfo: RemoteInfo): void => this.#heard(message, rinfo);
  #budget = { second: 0, used: 0 };

  constructor(channel: LanListenChannel, options: LanBrowserOptions = {}) {
    super();
    this.setMaxListeners(1024); // two per watching LobbyBrowser (32 watches per connection)
    this.#channel = channel;
    this.#maxLobbies = options.maxLobbies ?? 1024;
    this.#verifyPerSecond = options.verifyPerSecond ?? 500;
    channel.on('response', this.#onResponse);
    this.#sweep = setInterval(() => this.#expire(), 500);
    this.#sweep.unref();
  }

  /** Live lobbies heard (optionally of one game version). */
  sightings(game?: string, gameVersion?: string): LanSighting[] {
    this.#expire();
    return [...this.#table.values()].filter((s) => game === undefined || (s.lobby.game === game && s.lobby.gameVersion === gameVersion));
  }

  get(key: PublicKey): LanSighting | null {
    this.#expire();
    return this.#table.get(key.z32) ?? null;
  }

  /** Multicasts a query unless the back-off says it is too soon; true when sent. */
  query(target: { game: string; gameVersion: string } | { key: PublicKey }): boolean {
    const id = 'key' in target ? lanInstanceName(target.key) : lanGameSubtype(target.game, target.gameVersion);
    const now = Date.now();
    let state = this.#backoff.get(id);
    if (state !== undefined && now - state.lastAt > MAX_GAP_MS) state = undefined; // idle: start over
    if (state !== undefined && now - state.lastAt < state.gapMs) {
      this.stats.queriesSuppressed++;
      return false;
    }
    if (this.#backoff.size >= 4096) this.#backoff.clear();
    this.#backoff.set(id, { lastAt: now, gapMs: state === undefined ? FIRST_GAP_MS : Math.min(MAX_GAP_MS, state.gapMs * 2) });
    this.stats.queriesSent++;
    this.#channel.send(encodeQuery(target));
    return true;
  }

  /** The lobby of one key: from the table at once, else queried for up to `timeoutMs`. */
  find(key: PublicKey, timeoutMs: number, signal?: AbortSignal): Promise<LanSighting | null> {
    const known = this.get(key);
    if (known !== null) return Promise.resolve(known);
    return new Promise((resolve) => {
      const onSighting = (s: LanSighting): void => { if (s.packet.publicKey.z32 === key.z32) done(s); };
      const done = (result: LanSighting | null): void => {
        clearTimeout(timer);
        clearInterval(retry);
        this.off('sighting', onSighting);
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = (): void => done(null);
      const timer = setTimeout(() => done(null), timeoutMs);
      const retry = setInterval(() => this.query({ key }), FIRST_GAP_MS);
      this.on('sighting', onSighting);
      signal?.addEventListener('abort', onAbort);
      this.query({ key });
    });
  }

  /**
   * One browse: hands over the lobbies of this game version already heard, queries, and hands over
   * those heard within `windowMs`; resolves with how many were handed over.
   */
  browse(game: string, gameVersion: string, options: { windowMs: number; onSighting: (s: LanSighting) => void; signal?: AbortSignal }): Promise<{ heard: number; queried: boolean }> {
    let heard = 0;
    const give = (s: LanSighting): void => {
      if (s.lobby.game !== game || s.lobby.gameVersion !== gameVersion) return;
      heard++;
      options.onSighting(s);
    };
    for (const s of this.sightings(game, gameVersion)) give(s);
    const queried = this.query({ game, gameVersion });
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('sighting', give);
        options.signal?.removeEventListener('abort', done);
        resolve({ heard, queried });
      };
      const timer = setTimeout(done, options.windowMs);
      this.on('sighting', give);
      options.signal?.addEventListener('abort', done);
    });
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#channel.off('response', this.#onResponse);
    this.removeAllListeners();
  }

  #heard(message: Packet, rinfo: RemoteInfo): void {
    for (const record of lobbyTxtRecords(message)) {
      this.stats.records++;
      const joined = txtPacketBytes(record);
      if (!joined.ok) { this.stats.rejected[joined.reason]++; continue; }
      const ttl = ttlOf(record);
      const z32 = record.name.slice(0, record.name.indexOf('.')).toLowerCase();
      const held = this.#table.get(z32);
      if (held !== undefined && ttl > 0 && Buffer.from(held.packet.toBytes()).equals(joined.bytes)) {
        this.stats.repeats++;
        held.heardAt = Date.now();
        held.expiresAt = held.heardAt + ttl * 1000;
        held.from = preferredSender(held.lobby, held.from, rinfo.address);
        continue;
      }
      if (!this.#spend()) { this.stats.rejected.rateLimited++; continue; }
      const verdict = verifyLobbyBytes(record.name, joined.bytes, ttl);
      if (!verdict.ok) { this.stats.rejected[verdict.reason]++; continue; }
      let lobby: Lobby;
      try {
        lobby = parseLobby(verdict.announcement.packet);
      } catch {
        this.stats.rejected.notLobby++;
        continue;
      }
      this.stats.verified++;
      this.#accept({ lobby, packet: verdict.announcement.packet, from: rinfo.address, heardAt: Date.now(), expiresAt: Date.now() + ttl * 1000 }, ttl);
    }
  }

  #accept(sighting: LanSighting, ttl: number): void {
    const z32 = sighting.packet.publicKey.z32;
    const held = this.#table.get(z32);
    if (held !== undefined && held.packet.timestamp > sighting.packet.timestamp) {
      this.stats.older++;
      return;
    }
    if (ttl === 0) {
      this.stats.goodbyes++;
      this.#table.delete(z32);
      if (!sighting.lobby.open) this.emit('sighting', sighting); // the signed closed record
      this.emit('gone', z32, 'goodbye');
      return;
    }
    if (held !== undefined) sighting.from = preferredSender(sighting.lobby, held.from, sighting.from);
    if (held === undefined && this.#table.size >= this.#maxLobbies) this.#evictOne();
    this.#table.set(z32, sighting);
    this.emit('sighting', sighting);
  }

  #spend(): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (this.#budget.second !== second) this.#budget = { second, used: 0 };
    return this.#budget.used++ < this.#verifyPerSecond;
  }

  #evictOne(): void {
    let victim: string | null = null;
    let soonest = Infinity;
    for (const [key, s] of this.#table) if (s.expiresAt < soonest) { soonest = s.expiresAt; victim = key; }
    if (victim !== null) { this.#table.delete(victim); this.stats.evicted++; }
  }

  #expire(): void {
    const now = Date.now();
    for (const [key, s] of this.#table) {
      if (s.expiresAt > now) continue;
      this.#table.delete(key);
      this.stats.expired++;
      this.emit('gone', key, 'expired');
    }
  }
}

/** True when the signed record names `address` in one of its endpoints. */
function namedIn(lobby: Lobby, address: string): boolean {
  const a = address.replace(/^::ffff:/i, '').toLowerCase();
  return lobby.endpoints.some((e) => e.host.toLowerCase() === a);
}

/**
 * Which sender address to keep when a lobby is heard again (over IPv4 and IPv6, or on two
 * interfaces): one the record names wins (joins can use it), else the latest.
 */
function preferredSender(lobby: Lobby, held: string, heard: string): string {
  return namedIn(lobby, heard) || !namedIn(lobby, held) ? heard : held;
}
