/**
 * The lobby record: a lobby IS its host's signed pkarr packet (schema in docs/lobby.md).
 *
 * ```
 * _lobby  60 TXT "v=1" "game=demo" "gv=1.2" "name=Alice's room" "players=2" "max=8" "open=1" "beacon=41000" "x-mode=ctf"
 * @       60 A    203.0.113.7
 * _enet   60 SVCB 1 . port=7777 ipv4hint=203.0.113.7
 * ```
 *
 * Metadata are DNS-SD style attributes (txt-attributes.ts) under `_lobby`: required `v` (schema
 * version, 1), `game`, `gv`, `name`, `players`, `max`, `open` (1/0); optional `beacon` (the TCP port
 * of the host's beacon, lobby-browser.ts), `reach` (how the host can be reached through its NAT,
 * docs/nat.md: public, mapped, cone, symmetric, unknown), `admit` (`1`: the game server admits each
 * player with the handshake of docs/lobby.md §4.1) and custom `x-<key>` attributes. Unknown keys are ignored;
 * nothing is clamped: a bad value rejects the record with the reason.
 */
import { PkarrError, isPkarrError } from '../core/errors.ts';
import type { Keypair, PublicKey } from '../core/keys.ts';
import type { DnsRecord } from '../core/records.ts';
import { MAX_DNS_BYTES, SignedPacket } from '../core/signed-packet.ts';
import { nowMicros } from '../core/timestamp.ts';
import { customMap } from './custom-map.ts';
import { encodeEndpoints, lobbyAddresses, parseEndpoints, type LobbyEndpoint } from './lobby-endpoints.ts';
import { lobbyError } from './lobby-errors.ts';
import { encodeAttributes, parseAttributes } from './txt-attributes.ts';

export const LOBBY_SCHEMA_VERSION = 1;
/** Owner name of the metadata TXT record. */
export const LOBBY_RECORD_NAME = '_lobby';
/** Default TTL of every lobby record: short, so caches refresh while the host republishes. */
export const DEFAULT_LOBBY_TTL = 60;
/** Prefix of custom attributes on the wire (`custom.mode` ↔ `x-mode`). */
export const CUSTOM_PREFIX = 'x-';
/** A lobby whose newest record is older than this many TTLs is considered gone. */
export const STALE_TTL_FACTOR = 3;
/** Bounds of the staleness window in seconds (a huge record TTL must not keep a dead lobby alive). */
export const MIN_STALE_SECONDS = 60;
export const MAX_STALE_SECONDS = 1800;

export const GAME_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const GAME_VERSION_PATTERN = /^[A-Za-z0-9._+-]{1,32}$/;
export const CUSTOM_KEY_PATTERN = /^[a-z0-9_-]{1,30}$/;
export const MAX_LOBBY_NAME_CHARS = 64;
export const MAX_PLAYERS = 65535;

/**
 * The `reach` values of a record: the host's NAT type, from most to least reachable (docs/nat.md;
 * nat/nat-type.ts classifies the punch socket into one of them).
 */
export const NAT_TYPES = ['public', 'mapped', 'cone', 'symmetric', 'unknown'] as const;
export type NatType = (typeof NAT_TYPES)[number];

function isNatType(text: unknown): text is NatType {
  return typeof text === 'string' && (NAT_TYPES as readonly string[]).includes(text);
}

/** What a host publishes. */
export interface LobbyInfo {
  /** Game id, e.g. `com.example.tanks` (no `:`; it is part of the browse topic). */
  game: string;
  /** Game version; only lobbies of the same game version are browsed together. */
  gameVersion: string;
  name: string;
  players: number;
  maxPlayers: number;
  open: boolean;
  endpoints: LobbyEndpoint[];
  /**
   * Custom attributes, keys without the `x-` prefix (`{mode: 'ctf'}` → `x-mode=ctf`); own
   * enumerable properties are read (build it with `customMap` for keys like `__proto__`).
   */
  custom?: Record<string, string>;
  /** The beacon's public TCP port, when the lobby is browsable by topic. */
  beaconPort?: number;
  /** How the host can be reached through its NAT (absent: not stated, read as `unknown`). */
  reach?: NatType;
  /** The game server admits each player explicitly (docs/lobby.md §4.1), published as `admit=1`. */
  admission?: boolean;
  /** Record TTL in seconds (default 60). */
  ttl?: number;
}

/** A verified lobby read from a signed packet. */
export interface Lobby {
  publicKey: PublicKey;
  game: string;
  gameVersion: string;
  name: string;
  players: number;
  maxPlayers: number;
  open: boolean;
  endpoints: LobbyEndpoint[];
  /** Custom attributes: a null-prototype map (custom-map.ts); read with `ownValue`. */
  custom: Record<string, string>;
  beaconPort: number | null;
  /**
   * How the host says it can be reached; `unknown` when the record does not say or names a kind
   * this sidecar does not know (a newer host): a joiner then tries every path.
   */
  reach: NatType;
  /**
   * The game server admits each player with the handshake of docs/lobby.md §4.1 (`admit=1`); a
   * joiner waits for its admission. Another `admit` value (a newer handshake) reads as false.
   */
  admission: boolean;
  /** Every address the record claims (apex A/AAAA, SVCB hints). */
  addresses: string[];
  /** Record TTL (seconds, smallest of the `_lobby` TXT records). */
  ttl: number;
  /** The packet timestamp (µs): when the host last signed the lobby. */
  timestamp: bigint;
  packet: SignedPacket;
}

const NUMBER_PATTERN = /^(0|[1-9][0-9]{0,4})$/;
// C0/C1 controls, DEL, line/paragraph separators, bidi overrides: nothing a lobby list should render.
const CONTROL_PATTERN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Why `name` is not a valid lobby name, or null. */
function nameProblem(name: unknown): string | null {
  if (typeof name !== 'string') return 'name must be a string';
  const chars = [...name].length;
  if (name.trim().length === 0) return 'name must not be empty';
  if (chars > MAX_LOBBY_NAME_CHARS) return `name is ${chars} characters, ${chars - MAX_LOBBY_NAME_CHARS} over the ${MAX_LOBBY_NAME_CHARS}-character limit`;
  if (CONTROL_PATTERN.test(name)) return 'name must not contain control characters';
  return null;
}

/** Why the content fields are invalid, or null (shared by encode and parse, so both agree). */
function contentProblem(info: Omit<LobbyInfo, 'endpoints'>): string | null {
  if (typeof info.game !== 'string' || !GAME_ID_PATTERN.test(info.game)) return `invalid game id ${JSON.stringify(info.game)} (1-64 characters from A-Z a-z 0-9 . _ -)`;
  if (typeof info.gameVersion !== 'string' || !GAME_VERSION_PATTERN.test(info.gameVersion)) return `invalid game version ${JSON.stringify(info.gameVersion)} (1-32 characters from A-Z a-z 0-9 . _ + -)`;
  const name = nameProblem(info.name);
  if (name !== null) return name;
  if (!Number.isInteger(info.maxPlayers) || info.maxPlayers < 1 || info.maxPlayers > MAX_PLAYERS) return `invalid max players ${String(info.maxPlayers)} (1-${MAX_PLAYERS})`;
  if (!Number.isInteger(info.players) || info.players < 0 || info.players > info.maxPlayers) return `invalid player count ${String(info.players)} (0-${String(info.maxPlayers)}, at most max players)`;
  if (typeof info.open !== 'boolean') return 'open must be true or false';
  if (info.beaconPort !== undefined && (!Number.isInteger(info.beaconPort) || info.beaconPort < 1 || info.beaconPort > 65535)) return `invalid beacon port ${String(info.beaconPort)}`;
  if (info.admission !== undefined && typeof info.admission !== 'boolean') return 'admission must be true or false';
  if (info.reach !== undefined && !isNatType(info.reach)) return `invalid reach ${JSON.stringify(info.reach)} (${NAT_TYPES.join(', ')})`;
  for (const [key, value] of Object.entries(info.custom ?? {})) {
    if (!CUSTOM_KEY_PATTERN.test(key)) return `invalid custom key ${JSON.stringify(key)} (1-30 characters from a-z 0-9 _ -)`;
    if (typeof value !== 'string') return `custom value of ${key} must be a string`;
  }
  return null;
}

/** Validates a lobby to publish; throws INVALID_ARGUMENT with the reason. */
export function validateLobbyInfo(info: LobbyInfo): void {
  if (typeof info !== 'object' || info === null) throw lobbyInvalidArgument('a lobby must be an object');
  const problem = contentProblem(info);
  if (problem !== null) throw lobbyInvalidArgument(problem);
  if (info.ttl !== undefined && (!Number.isInteger(info.ttl) || info.ttl < 10 || info.ttl > 3600)) throw lobbyInvalidArgument(`invalid lobby TTL ${String(info.ttl)} (10-3600 seconds)`);
}

function lobbyInvalidArgument(message: string): PkarrError {
  return new PkarrError('INVALID_ARGUMENT', message);
}

/** The records of a lobby (metadata TXT, apex A/AAAA, endpoint SVCBs). Validates first. */
export function encodeLobby(info: LobbyInfo): DnsRecord[] {
  validateLobbyInfo(info);
  const ttl = info.ttl ?? DEFAULT_LOBBY_TTL;
  const attributes: [string, string][] = [
    ['v', String(LOBBY_SCHEMA_VERSION)],
    ['game', info.game],
    ['gv', info.gameVersion],
    ['name', info.name],
    ['players', String(info.players)],
    ['max', String(info.maxPlayers)],
    ['open', info.open ? '1' : '0'],
  ];
  if (info.beaconPort !== undefined) attributes.push(['beacon', String(info.beaconPort)]);
  if (info.reach !== undefined) attributes.push(['reach', info.reach]);
  if (info.admission === true) attributes.push(['admit', '1']);
  for (const [key, value] of Object.entries(info.custom ?? {})) attributes.push([`${CUSTOM_PREFIX}${key}`, value]);
  const txt: DnsRecord = { type: 'TXT', name: LOBBY_RECORD_NAME, ttl, strings: encodeAttributes(attributes) };
  return [txt, ...encodeEndpoints(info.endpoints, ttl)];
}

/**
 * Encodes and signs a lobby. Over the 1000-byte DNS limit it throws PACKET_TOO_LARGE
 * (`lobbyError: LOBBY_TOO_LARGE`) saying by how much.
 */
export function signLobby(keypair: Keypair, info: LobbyInfo, options: { timestamp?: bigint } = {}): SignedPacket {
  const records = encodeLobby(info);
  try {
    return SignedPacket.sign(keypair, records, options);
  } catch (err) {
    if (isPkarrError(err, 'PACKET_TOO_LARGE')) {
      const size = typeof err.details?.['size'] === 'number' ? err.details['size'] : Number.NaN;
      throw lobbyError('LOBBY_TOO_LARGE', `lobby record is ${size} bytes, ${size - MAX_DNS_BYTES} over the ${MAX_DNS_BYTES}-byte limit: shorten name or custom data`, { size, limit: MAX_DNS_BYTES }, err);
    }
    throw err;
  }
}

/** Parses and checks the lobby in a (verified) packet; throws a lobby error with the reason. */
export function parseLobby(packet: SignedPacket): Lobby {
  const who = packet.publicKey.z32;
  const txts = packet.resourceRecords(LOBBY_RECORD_NAME).filter((r) => r.type === 'TXT');
  if (txts.length === 0) throw lobbyError('NOT_A_LOBBY', `not a lobby: ${who} publishes no ${LOBBY_RECORD_NAME} TXT record`);
  const attrs = parseAttributes(txts.flatMap((r) => r.strings));
  const version = attrs.get('v');
  if (version === undefined) throw lobbyError('INVALID_LOBBY', `invalid lobby ${who}: the ${LOBBY_RECORD_NAME} record has no v (schema version)`);
  if (version !== String(LOBBY_SCHEMA_VERSION)) {
    throw lobbyError('UNSUPPORTED_SCHEMA', `lobby ${who} uses schema version ${JSON.stringify(version)}; this sidecar reads version ${LOBBY_SCHEMA_VERSION}`, { version });
  }
  const missing = ['game', 'gv', 'name', 'players', 'max', 'open'].filter((k) => !attrs.has(k));
  if (missing.length > 0) throw lobbyError('INVALID_LOBBY', `invalid lobby ${who}: missing required key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, { missing: missing.join(',') });
  const number = (key: string): number => {
    const text = attrs.get(key) ?? '';
    if (!NUMBER_PATTERN.test(text)) throw lobbyError('INVALID_LOBBY', `invalid lobby ${who}: ${key}=${JSON.stringify(text)} is not a number 0-99999`);
    return Number(text);
  };
  const openText = attrs.get('open');
  if (openText !== '1' && openText !== '0') throw lobbyError('INVALID_LOBBY', `invalid lobby ${who}: open=${JSON.stringify(openText)} (expected 1 or 0)`);
  // A null-prototype map, so `x-__proto__` and `x-constructor` are kept as ordinary keys (custom-map.ts).
  const custom = customMap([...attrs]
    .filter(([key]) => key.startsWith(CUSTOM_PREFIX) && CUSTOM_KEY_PATTERN.test(key.slice(CUSTOM_PREFIX.length)))
    .map(([key, value]) => [key.slice(CUSTOM_PREFIX.length), value] as const));
  const beaconText = attrs.get('beacon');
  const reachText = attrs.get('reach');
  const content = {
    game: attrs.get('game') ?? '',
    gameVersion: attrs.get('gv') ?? '',
    name: attrs.get('name') ?? '',
    players: number('players'),
    maxPlayers: number('max'),
    open: openText === '1',
    custom,
    ...(beaconText === undefined ? {} : { beaconPort: number('beacon') }),
  };
  const problem = contentProblem(content);
  if (problem !== null) throw lobbyError('INVALID_LOBBY', `invalid lobby ${who}: ${problem}`);
  return {
    publicKey: packet.publicKey,
    game: content.game,
    gameVersion: content.gameVersion,
    name: content.name,
    players: content.players,
    maxPlayers: content.maxPlayers,
    open: content.open,
    endpoints: parseEndpoints(packet),
    custom,
    beaconPort: content.beaconPort ?? null,
    reach: isNatType(reachText) ? reachText : 'unknown',
    admission: attrs.get('admit') === '1',
    addresses: lobbyAddresses(packet),
    ttl: Math.min(...txts.map((r) => r.ttl)),
    timestamp: packet.timestamp,
    packet,
  };
}

/** Seconds since the host signed the lobby (0 for a timestamp in the future). */
export function lobbyAgeSeconds(lobby: Pick<Lobby, 'timestamp'>, now: bigint = nowMicros()): number {
  const diff = now - lobby.timestamp;
  return diff <= 0n ? 0 : Number(diff / 1_000_000n);
}

/** The staleness window of a lobby: STALE_TTL_FACTOR × its TTL, within [60 s, 1800 s]. */
export function lobbyStaleAfterSeconds(lobby: Pick<Lobby, 'ttl'>): number {
  return Math.min(MAX_STALE_SECONDS, Math.max(MIN_STALE_SECONDS, STALE_TTL_FACTOR * lobby.ttl));
}

/** True when the host has not re-signed the lobby within its staleness window (it is gone). */
export function isLobbyStale(lobby: Pick<Lobby, 'ttl' | 'timestamp'>, now: bigint = nowMicros()): boolean {
  return lobbyAgeSeconds(lobby, now) > lobbyStaleAfterSeconds(lobby);
}
