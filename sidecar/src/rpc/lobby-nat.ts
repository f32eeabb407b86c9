/**
 * The NAT side of the `lobby.*` methods (docs/rpc.md "Reaching hosts behind NAT"):
 * - the hooks `lobby.host` calls when no address is given: map, learn the reachability, publish
 *   `reach` plus the `punch` and `lan` endpoints, take punched joiners into the game port;
 * - `lobby.join` (pick the path to a lobby's host and open it; the game connects where it says)
 *   and `lobby.leave` (close a punched path).
 */
import type { Keypair } from '../core/keys.ts';
import type { LobbyService } from '../lobby/lobby-service.ts';
import { TRANSPORT_PATTERN } from '../lobby/lobby-endpoints.ts';
import { lobbyError } from '../lobby/lobby-errors.ts';
import type { NatService } from '../nat/nat-service.ts';
import { planLanJoin } from '../nat/join-plan.ts';
import { invalidParams, type Dispatcher } from './dispatcher.ts';
import { lobbyToJson, type LobbyNatHooks } from './lobby-methods.ts';
import { requireLobbyCode } from './lobby-params.ts';
import { onlyFields, optionalInt, optionalString, requireString } from './params.ts';

type Params = Record<string, unknown>;

export interface LobbyNatContext {
  lobbies: LobbyService;
  nat: NatService | null;
}

/** Join timeout bounds, ms. */
const DEFAULT_JOIN_TIMEOUT_MS = 15_000;
const MAX_JOIN_TIMEOUT_MS = 120_000;

/** The `lobby.host` hooks over a NAT service; `keypairOf` reads the host key from the key store. */
export function lobbyNatHooks(nat: NatService, keypairOf: (name: string) => Promise<Keypair>): LobbyNatHooks {
  return {
    async prepare(name, options) {
      const prepared = await nat.host(name, await keypairOf(name), { gamePort: options.port, map: options.map, punch: options.punch });
      const address = prepared.address;
      // The first server's (UDP) port is mapped and punched; other servers (a WebSocket server's TCP
      // port) are reachable only on a public address, at their own port.
      const [first, ...others] = options.servers ?? [{ transport: options.transport, port: options.port }];
      const own = address === null || first === undefined ? [] : [
        { transport: first.transport, host: address, port: prepared.publicGamePort },
        ...(prepared.reach === 'public' ? others.map((s) => ({ transport: s.transport, host: address, port: s.port })) : []),
      ];
      // A beacon needs an inbound TCP port: only a public host has one (mapped hosts map UDP only).
      return { endpoints: [...own, ...prepared.endpoints], reach: prepared.reach, beacon: prepared.reach === 'public' };
    },
    release: (name) => nat.release(name),
  };
}

function optionalTransport(params: Params): string {
  const value = optionalString(params, 'transport') ?? 'enet';
  if (!TRANSPORT_PATTERN.test(value)) throw invalidParams('transport', `must be a transport name such as enet or ws, got ${JSON.stringify(value)}`);
  return value;
}

async function lobbyJoin(params: Params, ctx: LobbyNatContext): Promise<unknown> {
  onlyFields(params, ['code', 'game', 'gameVersion', 'transport', 'timeoutMs']);
  const code = requireLobbyCode(params); // a long code (any form of the key) or a short one
  const game = optionalString(params, 'game');
  const gameVersion = optionalString(params, 'gameVersion');
  const transport = optionalTransport(params);
  const timeoutMs = optionalInt(params, 'timeoutMs', 1000, MAX_JOIN_TIMEOUT_MS) ?? DEFAULT_JOIN_TIMEOUT_MS;
  const started = performance.now();
  const key = await ctx.lobbies.resolveCode(code); // a short code: through its slot
  const found = await ctx.lobbies.get(key.z32, { ...(game === undefined ? {} : { game }), ...(gameVersion === undefined ? {} : { gameVersion }) });
  const lobby = found.lobby;
  if (lobby.players >= lobby.maxPlayers) throw lobbyError('LOBBY_FULL', `lobby ${lobby.name} is full (${lobby.players}/${lobby.maxPlayers})`);
  // Heard on the LAN from an address its signed record names: connect there (docs/lobby.md §8).
  const onLan = found.lanAddress === undefined ? null : planLanJoin(lobby, transport, found.lanAddress);
  if (onLan !== null) return { ...onLan, lobby: lobbyToJson({ ...lobby, lanAddress: found.lanAddress }, found.source) };
  if (ctx.nat === null) {
    const endpoint = lobby.endpoints.find((e) => e.transport === transport);
    if (endpoint === undefined) throw lobbyError('NO_TRANSPORT', `the lobby offers no ${transport} endpoint`);
    return { via: 'direct', host: endpoint.host, port: endpoint.port, lobby: lobbyToJson(lobby, found.source) };
  }
  const resolvedMs = Math.round(performance.now() - started);
  const route = await ctx.nat.join(lobby, { transport, timeoutMs });
  // Where the time went (diagnostics; docs/nat.md §5): resolving the lobby, then opening the path.
  const timings = { resolveMs: resolvedMs, pathMs: Math.round(performance.now() - started) - resolvedMs };
  return { ...route, timings, lobby: lobbyToJson(lobby, found.source) };
}

async function lobbyLeave(params: Params, ctx: LobbyNatContext): Promise<unknown> {
  onlyFields(params, ['tunnelId']);
  const id = requireString(params, 'tunnelId');
  return { closed: ctx.nat?.leave(id) ?? false };
}

/** Registers `lobby.join` and `lobby.leave`. */
export function registerJoinMethods<C>(dispatcher: Dispatcher<C>, contextOf: (context: C) => LobbyNatContext): Dispatcher<C> {
  return dispatcher
    .register('lobby.join', (params, context) => lobbyJoin(params, contextOf(context)))
    .register('lobby.leave', (params, context) => lobbyLeave(params, contextOf(context)));
}
