/**
 * The `lobby.*` JSON-RPC methods (docs/rpc.md, "Lobbies"): host / update / close a lobby under a
 * stored key, get one by invite code, browse a game's lobbies once, or watch them live with
 * `lobby.found` / `lobby.updated` / `lobby.lost` / `lobby.refreshed` notifications.
 *
 * Wiring (serve): `registerLobbyMethods(dispatcher, (ctx) => ({ lobbies, connection }))` with one
 * LobbyService per sidecar; call `lobbies.dropConnection(id)` when a connection closes and
 * `lobbies.shutdown()` before the client and the DHT stop.
 */
import { PkarrError, isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import { nowMicros } from '../core/timestamp.ts';
import type { BrowseResult, BrowseStats, BrowsedLobby } from '../lobby/lobby-browser.ts';
import type { LobbyEndpoint } from '../lobby/lobby-endpoints.ts';
import { customMap } from '../lobby/custom-map.ts';
import { inviteCodeOf } from '../lobby/lobby-lookup.ts';
import { parseShortCode } from '../lobby/short-code.ts';
import { lobbyAgeSeconds, parseLobby as lobbyFromPacket, type Lobby } from '../lobby/lobby-record.ts';
import type { NatType } from '../nat/nat-type.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { BrowseRequest, LobbyConnection, LobbyService, WatchEvent } from '../lobby/lobby-service.ts';
import { invalidParams, type Dispatcher } from './dispatcher.ts';
import { BROWSE_FIELDS, browseRequest, optionalCustom, optionalEndpoints, optionalServers, requireLobbyCode } from './lobby-params.ts';
import { onlyFields, optionalBoolean, optionalInt, optionalString, requireInt, requireKeyName, requireString } from './params.ts';

type Params = Record<string, unknown>;

/** What the lobby methods need from the handler context. */
export interface LobbyRpcContext {
  lobbies: LobbyService;
  /** The calling connection (watch events go to it); null = use `broadcast`. */
  connection: LobbyConnection | null;
  broadcast?: (method: string, params: unknown) => void;
  /** NAT traversal for hosts that give no address (rpc/lobby-nat.ts); absent = none. */
  nat?: LobbyNatHooks | null;
}

/** How `lobby.host` makes a lobby reachable when no address or endpoints are given (docs/nat.md). */
export interface LobbyNatHooks {
  /** `servers` (several transports): an endpoint for each that players can reach; else `port`/`transport`. */
  prepare(name: string, options: { port: number; transport: string; servers?: { transport: string; port: number }[]; map: boolean; punch: boolean }): Promise<{ endpoints: LobbyEndpoint[]; reach: NatType; beacon: boolean }>;
  release(name: string): Promise<void>;
}

/** Default and smallest watch refresh period, seconds. */
export const DEFAULT_WATCH_SECONDS = 15;
export const MIN_WATCH_SECONDS = 5;

/** The JSON form of a lobby (docs/rpc.md). `timestamp` is a decimal string (64-bit). */
export function lobbyToJson(lobby: Lobby & { beacon?: { host: string; port: number } | null; lanAddress?: string; rttMs?: number | null }, source: string, now: bigint = nowMicros()): Record<string, unknown> {
  return {
    publicKey: lobby.publicKey.z32,
    inviteCode: inviteCodeOf(lobby.publicKey),
    name: lobby.name,
    game: lobby.game,
    gameVersion: lobby.gameVersion,
    players: lobby.players,
    maxPlayers: lobby.maxPlayers,
    open: lobby.open,
    reach: lobby.reach,
    admission: lobby.admission,
    endpoints: lobby.endpoints.map((e) => ({ transport: e.transport, host: e.host, port: e.port, ...(e.alpn === undefined ? {} : { alpn: e.alpn }) })),
    custom: customMap(Object.entries(lobby.custom)),
    ageSeconds: lobbyAgeSeconds(lobby, now),
    source,
    rttMs: lobby.rttMs ?? null,
    timestamp: lobby.timestamp.toString(),
    ttl: lobby.ttl,
    ...(lobby.beacon ? { beacon: { host: lobby.beacon.host, port: lobby.beacon.port } } : {}),
    ...(lobby.lanAddress === undefined ? {} : { lanAddress: lobby.lanAddress }),
  };
}

function statsToJson(stats: BrowseStats): Record<string, unknown> {
  return { ...stats, rejected: { ...stats.rejected }, known: { ...stats.known }, directory: { ...stats.directory, rejected: { ...stats.directory.rejected } } };
}

/** A watch's refresh: how many lobbies are listed, and the statistics (the lobbies come as events). */
function refreshedToJson(result: BrowseResult): Record<string, unknown> {
  return { count: result.lobbies.length, stats: statsToJson(result.stats) };
}

function browseToJson(result: BrowseResult): Record<string, unknown> {
  const now = nowMicros();
  return { lobbies: result.lobbies.map((l: BrowsedLobby) => lobbyToJson(l, l.source, now)), stats: statsToJson(result.stats) };
}

/**
 * The request with its short known codes replaced by the host keys they lead to; a code that
 * leads nowhere (yet) is left out, as a known key with no lobby would simply not be listed.
 */
async function withShortCodesResolved(request: BrowseRequest, lobbies: LobbyService): Promise<BrowseRequest> {
  const keys = request.knownKeys;
  const isShort = (k: PublicKey | string): k is string => typeof k === 'string' && parseShortCode(k) !== null;
  if (keys === undefined || !keys.some(isShort)) return request;
  const resolved = await Promise.all(keys.map((k) => (!isShort(k) ? (typeof k === 'string' ? k : k.z32) : lobbies.resolveCode(k).then((key) => key.z32, () => null))));
  return { ...request, knownKeys: [...new Set(resolved.filter((k): k is string => k !== null))] };
}

async function lobbyHost(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, ['key', 'game', 'gameVersion', 'name', 'maxPlayers', 'players', 'port', 'transport', 'servers', 'address', 'endpoints', 'custom', 'public', 'beacon', 'directory', 'ttl', 'beaconPort', 'beaconPublicPort', 'nat', 'map', 'punch', 'open', 'admission', 'createKey']);
  const name = requireKeyName(params, 'key');
  const endpoints = optionalEndpoints(params);
  const servers = optionalServers(params);
  if (servers !== undefined && (params['port'] !== undefined || params['transport'] !== undefined)) throw invalidParams('servers', 'give servers or port and transport, not both');
  const port = endpoints === undefined && servers === undefined ? requireInt(params, 'port', 1, 65535) : servers?.[0]?.port;
  const options = {
    game: requireString(params, 'game'),
    gameVersion: requireString(params, 'gameVersion'),
    name: requireString(params, 'name'),
    maxPlayers: requireInt(params, 'maxPlayers', 1, 65535),
    players: optionalInt(params, 'players', 0, 65535) ?? 0,
    public: optionalBoolean(params, 'public', true),
    beacon: optionalBoolean(params, 'beacon', true),
    directory: optionalBoolean(params, 'directory', true),
    open: optionalBoolean(params, 'open', true),
    admission: optionalBoolean(params, 'admission', false),
    ...(port === undefined ? {} : { port }),
    ...(endpoints === undefined ? {} : { endpoints }),
    ...(servers === undefined ? {} : { servers }),
  };
  const extra = {
    transport: optionalString(params, 'transport'),
    address: optionalString(params, 'address'),
    custom: optionalCustom(params),
    ttl: optionalInt(params, 'ttl', 10, 3600),
    beaconPort: optionalInt(params, 'beaconPort', 0, 65535),
    beaconPublicPort: optionalInt(params, 'beaconPublicPort', 1, 65535),
  };
  const defined = Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined));
  const natWanted = optionalBoolean(params, 'nat', true); // checked even where NAT traversal is off
  const natHooks = natWanted && extra.address === undefined && endpoints === undefined ? ctx.nat ?? null : null;
  const natOptions = { map: optionalBoolean(params, 'map', true), punch: optionalBoolean(params, 'punch', true) };
  // Everything is checked; now the key (one round trip: no keys.generate expected to fail first).
  const keyCreated = optionalBoolean(params, 'createKey', false) ? await ctx.lobbies.ensureKey(name) : false;
  // No address and no endpoints: the sidecar finds how players reach this host (map, punch).
  let natError: string | undefined;
  const nat = natHooks !== null
    ? await natHooks.prepare(name, { port: port!, transport: extra.transport ?? servers?.[0]?.transport ?? 'enet', ...(servers === undefined ? {} : { servers }), ...natOptions }).catch((err: unknown) => {
      // No public address (no internet: a LAN party): with LAN discovery the lobby lives on the LAN.
      if (!ctx.lobbies.lanActive || !isPkarrError(err, 'ADDRESS_UNKNOWN')) throw err;
      natError = err.message;
      return null;
    })
    : null;
  let hosting;
  try {
    hosting = await ctx.lobbies.host(name, { ...options, ...defined, ...(nat === null ? {} : { endpoints: nat.endpoints, reach: nat.reach, beacon: nat.beacon }) });
  } catch (err) {
    if (nat !== null) await ctx.nat?.release(name);
    throw err;
  }
  const { host, opened } = hosting;
  return {
    publicKey: host.publicKey.z32,
    inviteCode: inviteCodeOf(host.publicKey),
    keyCreated,
    shortCode: hosting.shortCode,
    ...(hosting.shortCodeError === undefined ? {} : { shortCodeError: hosting.shortCodeError }),
    timestamp: opened.packet.timestamp.toString(),
    size: opened.packet.size,
    storedOn: opened.publish.storedOn,
    beaconPort: opened.beaconPort,
    announcedTo: opened.announcedTo,
    ...(opened.announceError === undefined ? {} : { announceError: opened.announceError }),
    ...(opened.publishError === undefined ? {} : { publishError: opened.publishError }),
    ...(natError === undefined ? {} : { natError }),
    directory: opened.directory === null ? null : { window: opened.directory.window, slot: opened.directory.slot, action: opened.directory.action, entries: opened.directory.entries },
    ...(opened.directoryError === undefined ? {} : { directoryError: opened.directoryError }),
    addressSource: opened.addressSource,
    lobby: lobbyToJson(parseOwn(host.packet), 'local'),
  };
}

/** Our own packet, parsed back (it was validated when signed). */
function parseOwn(packet: SignedPacket | null): Lobby {
  if (packet === null) throw new PkarrError('INTERNAL', 'hosted lobby has no packet');
  return lobbyFromPacket(packet);
}

async function lobbyUpdate(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, ['key', 'players', 'maxPlayers', 'name', 'open', 'custom']);
  const name = requireKeyName(params, 'key');
  const change = Object.fromEntries(Object.entries({
    players: optionalInt(params, 'players', 0, 65535),
    maxPlayers: optionalInt(params, 'maxPlayers', 1, 65535),
    name: optionalString(params, 'name'),
    open: params['open'] === undefined ? undefined : optionalBoolean(params, 'open', true),
    custom: optionalCustom(params),
  }).filter(([, v]) => v !== undefined));
  if (Object.keys(change).length === 0) throw invalidParams('players', 'give at least one of players, maxPlayers, name, open, custom');
  const { host, publication } = await ctx.lobbies.update(name, change);
  return {
    publicKey: host.publicKey.z32,
    timestamp: publication.packet.timestamp.toString(),
    storedOn: publication.publish.storedOn,
    lobby: lobbyToJson(lobbyFromPacket(publication.packet), 'local'),
  };
}

async function lobbyClose(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, ['key', 'lingerSeconds']);
  const name = requireKeyName(params, 'key');
  const linger = optionalInt(params, 'lingerSeconds', 0, 300);
  const { host, closed } = await ctx.lobbies.close(name, linger === undefined ? undefined : linger * 1000);
  await ctx.nat?.release(name);
  return {
    publicKey: host.publicKey.z32,
    closed: true,
    timestamp: closed.packet.timestamp.toString(),
    storedOn: closed.publish?.storedOn ?? 0,
    ...(closed.publishError === undefined ? {} : { publishError: closed.publishError }),
  };
}

async function lobbyHosted(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, []);
  const now = nowMicros();
  return ctx.lobbies.hosted().flatMap(({ name, host }) => (host.packet === null ? [] : [{
    key: name,
    beaconPort: host.beaconPort,
    lobby: lobbyToJson(lobbyFromPacket(host.packet), 'local', now),
  }]));
}

async function lobbyGet(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, ['code', 'game', 'gameVersion', 'allowClosed']);
  const code = requireLobbyCode(params); // a bad code is -32602 with the key error's code
  const game = optionalString(params, 'game');
  const gameVersion = optionalString(params, 'gameVersion');
  const found = await ctx.lobbies.get(code, {
    ...(game === undefined ? {} : { game }),
    ...(gameVersion === undefined ? {} : { gameVersion }),
    allowClosed: optionalBoolean(params, 'allowClosed', false),
  });
  return lobbyToJson(found.lanAddress === undefined ? found.lobby : { ...found.lobby, lanAddress: found.lanAddress }, found.source);
}

async function lobbyBrowse(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, BROWSE_FIELDS);
  return browseToJson(await ctx.lobbies.browse(await withShortCodesResolved(browseRequest(params), ctx.lobbies)));
}

function eventToNotification(event: WatchEvent): [string, Record<string, unknown>] {
  switch (event.type) {
    case 'found':
    case 'updated':
      return [`lobby.${event.type}`, { watchId: event.watchId, index: event.index, lobby: lobbyToJson(event.lobby, event.lobby.source) }];
    case 'lost':
      return ['lobby.lost', { watchId: event.watchId, publicKey: event.lobby.publicKey.z32, reason: event.reason }];
    case 'refreshed':
      return ['lobby.refreshed', { watchId: event.watchId, ...refreshedToJson(event.result), rtts: event.rtts }];
  }
}

async function lobbyWatch(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, [...BROWSE_FIELDS, 'intervalSeconds']);
  const request = await withShortCodesResolved(browseRequest(params), ctx.lobbies);
  const seconds = optionalInt(params, 'intervalSeconds', MIN_WATCH_SECONDS, 3600) ?? DEFAULT_WATCH_SECONDS;
  const send = ctx.connection !== null ? ctx.connection.notify.bind(ctx.connection) : ctx.broadcast;
  if (send === undefined) throw new PkarrError('INVALID_ARGUMENT', 'lobby.watch needs a connection to notify');
  const watchId = ctx.lobbies.watch(request, seconds * 1000, ctx.connection, (event) => {
    const [method, payload] = eventToNotification(event);
    send(method, payload);
  });
  return { watchId, intervalSeconds: seconds };
}

async function lobbyRefresh(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, ['watchId']);
  const result = await ctx.lobbies.refreshWatch(requireString(params, 'watchId'));
  if (result === null) throw invalidParams('watchId', 'no such watch');
  // The lobbies themselves went out as the watch's notifications: not a second time here.
  return refreshedToJson(result);
}

async function lobbyUnwatch(params: Params, ctx: LobbyRpcContext): Promise<unknown> {
  onlyFields(params, ['watchId']);
  return { removed: await ctx.lobbies.unwatch(requireString(params, 'watchId')) };
}

/** Registers every `lobby.*` method on `dispatcher`; `contextOf` maps the handler context to the lobby one. */
export function registerLobbyMethods<C>(dispatcher: Dispatcher<C>, contextOf: (context: C) => LobbyRpcContext): Dispatcher<C> {
  const wrap = (handler: (params: Params, ctx: LobbyRpcContext) => Promise<unknown>) => (params: Params, context: C) => handler(params, contextOf(context));
  return dispatcher
    .register('lobby.host', wrap(lobbyHost))
    .register('lobby.update', wrap(lobbyUpdate))
    .register('lobby.close', wrap(lobbyClose))
    .register('lobby.hosted', wrap(lobbyHosted))
    .register('lobby.get', wrap(lobbyGet))
    .register('lobby.browse', wrap(lobbyBrowse))
    .register('lobby.watch', wrap(lobbyWatch))
    .register('lobby.refresh', wrap(lobbyRefresh))
    .register('lobby.unwatch', wrap(lobbyUnwatch));
}
