/**
 * Join by code: the invite code is the host's public key in any form pkarr accepts (z32, `pk:<z32>`,
 * a link with the key as its host). Resolution is CacheFirst, then NetworkOnly when nothing was
 * found, when what was found is stale or closed (a cached copy may predate a re-open), or when it
 * sat in the cache longer than the lobby's own TTL (the packet cache keeps ≥ 300 s); the answer is a
 * verified lobby or a lobby error saying exactly why not (lobby-errors.ts).
 */
import { isPkarrError } from '../core/errors.ts';
import { PublicKey } from '../core/keys.ts';
import { nowMicros } from '../core/timestamp.ts';
import type { PacketSource, PkarrClient, ResolveResult } from '../client/types.ts';
import { lobbyError } from './lobby-errors.ts';
import { isLobbyStale, lobbyAgeSeconds, lobbyStaleAfterSeconds, parseLobby, type Lobby } from './lobby-record.ts';

export interface FindLobbyOptions {
  /** When given, a lobby of another game (or game version) is refused with OTHER_GAME. */
  game?: string;
  gameVersion?: string;
  /** Return closed lobbies instead of failing with LOBBY_CLOSED (default false). */
  allowClosed?: boolean;
  now?: () => bigint;
}

export interface FoundLobby {
  lobby: Lobby;
  /** `lan`: heard on the local network (lan/), from `lanAddress`. */
  source: PacketSource | 'lan';
  /** The address a LAN announcement came from (unsigned: joins use it only when the record names it). */
  lanAddress?: string;
}

/** Parses an invite code (INVALID_PUBLIC_KEY_ENCODING / INVALID_ED25519_PUBLIC_KEY on bad input). */
export function parseInviteCode(code: string): PublicKey {
  return PublicKey.parse(typeof code === 'string' ? code.trim() : code);
}

/** The invite code we hand out for a key: `pk:<z32>`. */
export function inviteCodeOf(key: PublicKey): string {
  return key.toUri();
}

function tryParse(found: ResolveResult | null): Lobby | null {
  if (found === null) return null;
  try {
    return parseLobby(found.packet);
  } catch {
    return null;
  }
}

async function resolveOrNull(client: PkarrClient, key: PublicKey, policy: 'CacheFirst' | 'NetworkOnly'): Promise<ResolveResult | null> {
  try {
    return await client.resolve(key, policy);
  } catch (err) {
    if (isPkarrError(err, 'NOT_FOUND')) return null;
    throw err;
  }
}

/** Resolves and checks the lobby behind an invite code. */
export async function findLobby(client: PkarrClient, code: string, options: FindLobbyOptions = {}): Promise<FoundLobby> {
  const key = parseInviteCode(code);
  const now = options.now ?? nowMicros;
  let found = await resolveOrNull(client, key, 'CacheFirst');
  const first = tryParse(found);
  // The packet cache keeps packets for ≥ 300 s; a lobby's own TTL (60 s) is what "fresh" means here.
  const cachedTooLong = found !== null && first !== null && found.source === 'cache' && found.packet.elapsedSeconds() > first.ttl;
  if (first === null || !first.open || cachedTooLong || isLobbyStale(first, now())) {
    const fresh = await resolveOrNull(client, key, 'NetworkOnly');
    if (fresh !== null && (found === null || fresh.packet.timestamp >= found.packet.timestamp)) found = fresh;
  }
  if (found === null) throw lobbyError('NO_LOBBY', `no lobby at this key: nothing is published under ${key.z32}`, { publicKey: key.z32 });
  const lobby = parseLobby(found.packet); // NOT_A_LOBBY, UNSUPPORTED_SCHEMA, INVALID_LOBBY
  checkFoundLobby(lobby, options);
  return { lobby, source: found.source };
}

/** The checks join by code applies to a verified lobby, in order: other game, expired, closed (lobby errors). */
export function checkFoundLobby(lobby: Lobby, options: FindLobbyOptions = {}): void {
  const key = lobby.publicKey;
  const now = options.now ?? nowMicros;
  if (options.game !== undefined && lobby.game !== options.game) {
    throw lobbyError('OTHER_GAME', `lobby ${key.z32} is for another game (${lobby.game}, not ${options.game})`, { game: lobby.game, gameVersion: lobby.gameVersion });
  }
  if (options.gameVersion !== undefined && lobby.gameVersion !== options.gameVersion) {
    throw lobbyError('OTHER_GAME', `lobby ${key.z32} is for another version of ${lobby.game} (${lobby.gameVersion}, not ${options.gameVersion})`, { game: lobby.game, gameVersion: lobby.gameVersion });
  }
  const at = now();
  if (isLobbyStale(lobby, at)) {
    throw lobbyError('LOBBY_EXPIRED', `lobby ${key.z32} expired: last signed ${lobbyAgeSeconds(lobby, at)} s ago (a live host re-signs within ${lobbyStaleAfterSeconds(lobby)} s)`, { ageSeconds: lobbyAgeSeconds(lobby, at) });
  }
  if (!lobby.open && options.allowClosed !== true) throw lobbyError('LOBBY_CLOSED', `lobby closed: ${lobby.name} (${key.z32}) no longer accepts players`, { name: lobby.name });
}
