/**
 * What the lobby layer needs of LAN discovery (lan/lan-discovery.ts implements it): the announcer
 * for hosted lobbies, the browser that hears other hosts' lobbies, and this machine's LAN address.
 * Declared here so that `lan/` builds on lobby records without `lobby/` depending on `lan/`; the
 * composition root (serve/sidecar.ts) hands the real LanDiscovery to the lobby service.
 */
import type { PublicKey } from '../core/keys.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { LobbyLanAnnouncer } from './lobby-host.ts';
import type { Lobby } from './lobby-record.ts';

/** A verified lobby record heard on the LAN. */
export interface LanSighting {
  lobby: Lobby;
  packet: SignedPacket;
  /** The address the announcement came from (unsigned: used only when the record names it). */
  from: string;
  /** Date.now() when last heard, and when it expires (heard + mDNS TTL). */
  heardAt: number;
  expiresAt: number;
}

/** What browsers and join by code need of the LAN browser (lan/lan-browser.ts). */
export interface LobbyLanBrowser {
  on(event: 'sighting', listener: (sighting: LanSighting) => void): unknown;
  on(event: 'gone', listener: (z32: string, reason: 'goodbye' | 'expired') => void): unknown;
  off(event: 'sighting', listener: (sighting: LanSighting) => void): unknown;
  off(event: 'gone', listener: (z32: string, reason: 'goodbye' | 'expired') => void): unknown;
  /** Asks for `key` and waits up to `timeoutMs` for its record; null when none was heard. */
  find(key: PublicKey, timeoutMs: number, signal?: AbortSignal): Promise<LanSighting | null>;
  /** Asks for the game's lobbies and reports each one heard within the window. */
  browse(game: string, gameVersion: string, options: { windowMs: number; onSighting: (s: LanSighting) => void; signal?: AbortSignal }): Promise<{ heard: number; queried: boolean }>;
}

/** LAN discovery as the lobby service uses it. */
export interface LobbyLan {
  /** False when no interface is usable (the service then acts as if there were no LAN). */
  readonly active: boolean;
  /** This machine's first LAN IPv4 address (what a LAN-only host advertises), or null. */
  readonly lanAddress: string | null;
  readonly announcer: LobbyLanAnnouncer;
  readonly browser: LobbyLanBrowser;
}
