/**
 * What a host asks for when it opens a lobby (`LobbyOpenOptions`), and the lobby record those
 * options make: the endpoints assembled from an explicit list, or from the game servers (or
 * port/transport) at the given address or the DHT-reported public one (host-address.ts),
 * then the record's fields, checked before the host binds anything.
 */
import { customMap } from './custom-map.ts';
import { resolveHostAddress, type ExternalAddressSource, type HostAddressSource } from './host-address.ts';
import type { LobbyEndpoint } from './lobby-endpoints.ts';
import { validateLobbyInfo, type LobbyInfo, type NatType } from './lobby-record.ts';


export interface LobbyOpenOptions {
  game: string;
  gameVersion: string;
  name: string;
  maxPlayers: number;
  /** Default 0. */
  players?: number;
  /** The game server's port (ignored when `endpoints` is given). */
  port?: number;
  /** Default `enet`. */
  transport?: string;
  /** Explicit address (IP or domain); else the DHT-reported public address. Private/loopback only this way. */
  address?: string;
  /** Full endpoint list instead of port/transport/address. */
  endpoints?: LobbyEndpoint[];
  /**
   * Game servers on several transports at `address` (e.g. ENet and a WebSocket server for
   * browser players), one endpoint each, instead of port/transport; ignored with `endpoints`.
   */
  servers?: { transport: string; port: number }[];
  /** Joinable from the start (default true); false opens it locked (`open=0`). */
  open?: boolean;
  /** The game server admits each player with the handshake of docs/lobby.md §4.1 (`admit=1`). */
  admission?: boolean;
  custom?: Record<string, string>;
  /** Browsable (default true): beacon + topic and/or directory; false = invite-only (join by code). */
  public?: boolean;
  /** Public lobbies: run a beacon and announce it on the topic (default true; needs the DHT and a reachable TCP port). */
  beacon?: boolean;
  /** Public lobbies: list the lobby in the game's directory (default true; works through the DHT or relays only). */
  directory?: boolean;
  /** Record TTL, seconds (default 60). */
  ttl?: number;
  /** How the host is reached through its NAT (nat/nat-service.ts), published as `reach`. */
  reach?: NatType;
}

/**
 * The lobby record `options` describe (validated), and where its address came from (`endpoints`:
 * the options gave the endpoints). Throws when no address is given or known from `dht`.
 */
export function openedLobbyInfo(options: LobbyOpenOptions, dht: ExternalAddressSource | null): { info: LobbyInfo; addressSource: HostAddressSource | 'endpoints' } {
  let endpoints = options.endpoints;
  let addressSource: HostAddressSource | 'endpoints' = 'endpoints';
  if (endpoints === undefined) {
    const address = resolveHostAddress({ ...(options.address === undefined ? {} : { address: options.address }), dht });
    addressSource = address.source;
    const servers = options.servers ?? [{ transport: options.transport ?? 'enet', port: options.port ?? Number.NaN }];
    endpoints = servers.map((server) => ({ transport: server.transport, host: address.host, port: server.port }));
  }
  const info: LobbyInfo = {
    game: options.game,
    gameVersion: options.gameVersion,
    name: options.name,
    players: options.players ?? 0,
    maxPlayers: options.maxPlayers,
    open: options.open ?? true,
    endpoints,
    ...(options.custom === undefined ? {} : { custom: customMap(Object.entries(options.custom)) }),
    ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
    ...(options.reach === undefined ? {} : { reach: options.reach }),
    ...(options.admission === undefined ? {} : { admission: options.admission }),
  };
  validateLobbyInfo(info); // before binding anything
  return { info, addressSource };
}
