/**
 * Which path a player takes to a lobby's host (docs/nat.md "Joining"), decided from the verified
 * lobby record and this machine's own reachability. Pure: the NAT service carries it out.
 *
 * 1. `lan` — host and player share a public address (same router) and the host published its LAN
 *    address: connect there (no hairpin NAT needed).
 * 2. `direct` — the host says it is public or mapped, or does not say (`unknown`: an older host or
 *    an explicit address): connect to its endpoint for the transport.
 * 3. `punched` — the host is behind a cone or symmetric NAT and published a `punch` endpoint: open a
 *    punched path (UDP transports only), unless both sides are symmetric.
 * Anything else fails with UNREACHABLE_NAT and says what the player can do.
 *
 * A lobby heard on the local network (lan/, `heardFrom` = the announcement's source address) goes
 * first to `planLanJoin`: its `lan` endpoint (UDP transports) or its endpoint for the transport,
 * when the signed record names that very address. The source address alone is not signed, so a
 * replayed announcement from another machine can never redirect a player to that machine.
 */
import { PkarrError } from '../core/errors.ts';
import { lobbyError } from '../lobby/lobby-errors.ts';
import type { Lobby } from '../lobby/lobby-record.ts';
import type { NatReport } from './nat-type.ts';

export interface JoinPlan {
  via: 'lan' | 'direct' | 'punched';
  host: string;
  port: number;
}

/** Transports that a punched UDP path can carry. */
export const PUNCHABLE_TRANSPORTS: readonly string[] = ['enet'];

const ADVICE = 'the host can enable UPnP or NAT-PMP on its router (or forward the port), or another player can host';

/** The LAN path to a lobby heard from `heardFrom`, or null when its record does not name that address. */
export function planLanJoin(lobby: Pick<Lobby, 'endpoints'>, transport: string, heardFrom: string): JoinPlan | null {
  const from = heardFrom.replace(/^::ffff:/i, '').toLowerCase();
  const at = (name: string) => lobby.endpoints.find((e) => e.transport === name && e.host.toLowerCase() === from);
  const lan = PUNCHABLE_TRANSPORTS.includes(transport) ? at('lan') : undefined;
  const chosen = lan ?? at(transport);
  return chosen === undefined ? null : { via: 'lan', host: chosen.host, port: chosen.port };
}

export function planJoin(lobby: Pick<Lobby, 'reach' | 'endpoints'>, transport: string, own: Pick<NatReport, 'type' | 'publicHost'> | null, heardFrom: string | null = null): JoinPlan {
  const onLan = heardFrom === null ? null : planLanJoin(lobby, transport, heardFrom);
  if (onLan !== null) return onLan;
  const of = (name: string) => lobby.endpoints.find((e) => e.transport === name);
  const lan = of('lan');
  const punch = of('punch');
  const wanted = of(transport);
  const hostPublicIp = punch?.host ?? wanted?.host ?? null;
  if (lan !== undefined && PUNCHABLE_TRANSPORTS.includes(transport) && own?.publicHost != null && own.publicHost === hostPublicIp) {
    return { via: 'lan', host: lan.host, port: lan.port };
  }
  if (lobby.reach === 'public' || lobby.reach === 'mapped' || lobby.reach === 'unknown') {
    if (wanted !== undefined) return { via: 'direct', host: wanted.host, port: wanted.port };
    throw lobbyError('NO_TRANSPORT', `the lobby offers no ${transport} endpoint (it has ${lobby.endpoints.map((e) => e.transport).join(', ') || 'none'})`);
  }
  // cone or symmetric host: only a punched path reaches it
  if (!PUNCHABLE_TRANSPORTS.includes(transport)) {
    throw new PkarrError('UNREACHABLE_NAT', `the host is behind a ${lobby.reach} NAT and ${transport} cannot cross it (only ${PUNCHABLE_TRANSPORTS.join(', ')} can be punched); ${ADVICE}`, { hostNatType: lobby.reach });
  }
  if (punch === undefined) throw new PkarrError('UNREACHABLE_NAT', `the host is behind a ${lobby.reach} NAT and published no punch endpoint; ${ADVICE}`, { hostNatType: lobby.reach });
  if (lobby.reach === 'symmetric' && own?.type === 'symmetric') {
    throw new PkarrError('UNREACHABLE_NAT', `both NATs are symmetric: no path can be punched; ${ADVICE}`, { natType: own.type, hostNatType: lobby.reach });
  }
  return { via: 'punched', host: punch.host, port: punch.port };
}
