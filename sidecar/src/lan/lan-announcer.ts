/**
 * Announcing hosted lobbies on the local network (lan-wire.ts format). Each lobby is multicast:
 * - at once when set (open, update, re-sign) and again 1 s later (RFC 6762 §8.3: a lost first
 *   announcement is covered quickly);
 * - every `intervalMs` (default 15 s, 1 s – 5 min), with an mDNS TTL of 3 intervals, so browsers
 *   forget a host that vanished without a goodbye within 3 intervals;
 * - (private lobbies: none of the above, only the answer to a query for their own key)
 * - in answer to a query naming the service, its game subtype or its instance — at most once per
 *   second per lobby (RFC 6762 §6), always to the multicast group (never unicast to the asker, so
 *   nothing here can be aimed at a third party), whatever the query rate;
 * - on close, with its signed closed record (open=0) and TTL 0 (a goodbye), twice 250 ms apart.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Packet } from 'dns-packet';
import { PkarrError } from '../core/errors.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import { parseLobby } from '../lobby/lobby-record.ts';
import { encodeAnnouncement, lanGameSubtype, lanInstanceName, queryTargets } from './lan-wire.ts';

export const DEFAULT_LAN_ANNOUNCE_MS = 15_000;
export const MIN_LAN_ANNOUNCE_MS = 1_000;
export const MAX_LAN_ANNOUNCE_MS = 300_000;
/** Least time between two multicasts of one lobby, except the goodbye (RFC 6762 §6). */
const MIN_REPEAT_MS = 1_000;

/** What the announcer needs of the transport. */
export interface LanChannel {
  send(packet: Packet): void;
  on(event: 'query', listener: (message: Packet, rinfo: RemoteInfo) => void): unknown;
  off(event: 'query', listener: (message: Packet, rinfo: RemoteInfo) => void): unknown;
}

export interface LanAnnouncerStats {
  announcements: number;
  answers: number;
  /** Queries for a lobby answered less than a second before (not answered again). */
  suppressed: number;
  goodbyes: number;
}

interface Announced {
  packet: SignedPacket;
  game: string;
  gameVersion: string;
  lastSent: number;
  followUp: NodeJS.Timeout | null;
  /** false = a private lobby: never announced, answered only to a query for its own key. */
  browsable: boolean;
}

/** Checks an announce interval (INVALID_ARGUMENT outside 1 s – 5 min). */
export function checkAnnounceInterval(ms: number): number {
  if (!Number.isInteger(ms) || ms < MIN_LAN_ANNOUNCE_MS || ms > MAX_LAN_ANNOUNCE_MS) {
    throw new PkarrError('INVALID_ARGUMENT', `LAN announce interval must be ${MIN_LAN_ANNOUNCE_MS}-${MAX_LAN_ANNOUNCE_MS} ms, got ${String(ms)}`);
  }
  return ms;
}

export class LanAnnouncer {
  readonly intervalMs: number;
  /** mDNS TTL of announcements, seconds: 3 intervals. */
  readonly ttlSeconds: number;
  readonly stats: LanAnnouncerStats = { announcements: 0, answers: 0, suppressed: 0, goodbyes: 0 };
  readonly #channel: LanChannel;
  readonly #lobbies = new Map<string, Announced>();
  readonly #timer: NodeJS.Timeout;
  readonly #onQuery = (message: Packet): void => this.#answer(message);
  #closed = false;

  constructor(channel: LanChannel, options: { intervalMs?: number } = {}) {
    this.intervalMs = checkAnnounceInterval(options.intervalMs ?? DEFAULT_LAN_ANNOUNCE_MS);
    this.ttlSeconds = Math.ceil((3 * this.intervalMs) / 1000);
    this.#channel = channel;
    channel.on('query', this.#onQuery);
    this.#timer = setInterval(() => {
      for (const entry of this.#lobbies.values()) if (entry.browsable) this.#send(entry, 'announcements');
    }, this.intervalMs);
    this.#timer.unref();
  }

  /** Keys announced now. */
  get keys(): string[] {
    return [...this.#lobbies.keys()];
  }

  /**
   * Announces a lobby's current signed packet (a new lobby, or a new version of one). A private
   * lobby (`browsable: false`) is not announced: it only answers queries for its key (join by code).
   */
  set(packet: SignedPacket, options: { browsable?: boolean } = {}): void {
    if (this.#closed) return;
    const lobby = parseLobby(packet); // our own record: valid; gives the game for the subtype
    const z32 = packet.publicKey.z32;
    const previous = this.#lobbies.get(z32);
    if (previous?.followUp) clearTimeout(previous.followUp);
    const entry: Announced = { packet, game: lobby.game, gameVersion: lobby.gameVersion, lastSent: 0, followUp: null, browsable: options.browsable ?? true };
    this.#lobbies.set(z32, entry);
    if (!entry.browsable) return;
    this.#send(entry, 'announcements');
    entry.followUp = setTimeout(() => {
      entry.followUp = null;
      if (this.#lobbies.get(z32) === entry) this.#send(entry, 'announcements');
    }, MIN_REPEAT_MS);
    entry.followUp.unref();
  }

  /** Stops announcing a lobby: multicasts `final` (its closed record) with TTL 0, twice. */
  goodbye(final: SignedPacket): void {
    const z32 = final.publicKey.z32;
    const entry = this.#lobbies.get(z32);
    if (entry?.followUp) clearTimeout(entry.followUp);
    this.#lobbies.delete(z32);
    if (this.#closed) return;
    let lobby;
    try {
      lobby = parseLobby(final);
    } catch {
      return;
    }
    const message = encodeAnnouncement(final, lobby.game, lobby.gameVersion, 0);
    this.#channel.send(message);
    this.stats.goodbyes++;
    setTimeout(() => this.#channel.send(message), 250).unref();
  }

  /** Goodbyes for every lobby still announced, then stops. */
  close(): void {
    for (const entry of [...this.#lobbies.values()]) this.goodbye(entry.packet);
    this.#closed = true;
    clearInterval(this.#timer);
    this.#channel.off('query', this.#onQuery);
  }

  #answer(message: Packet): void {
    const targets = queryTargets(message);
    if (targets === null) return;
    for (const entry of this.#lobbies.values()) {
      const wanted = (entry.browsable && (targets.all || targets.subtypes.has(lanGameSubtype(entry.game, entry.gameVersion))))
        || targets.instances.has(lanInstanceName(entry.packet.publicKey));
      if (!wanted) continue;
      if (Date.now() - entry.lastSent < MIN_REPEAT_MS) this.stats.suppressed++;
      else this.#send(entry, 'answers');
    }
  }

  #send(entry: Announced, counter: 'announcements' | 'answers'): void {
    if (this.#closed) return;
    entry.lastSent = Date.now();
    this.stats[counter]++;
    this.#channel.send(encodeAnnouncement(entry.packet, entry.game, entry.gameVersion, this.ttlSeconds));
  }
}
