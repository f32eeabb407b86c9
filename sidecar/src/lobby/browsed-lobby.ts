/**
 * A lobby as a browser knows it (lobby-browser.ts): where it was found, its beacon, its
 * round-trip time, and the rules for its copies: which of two copies of one lobby is listed, and
 * which changes are worth an `updated` event.
 */
import type { Lobby } from './lobby-record.ts';
import type { LanSighting } from './lobby-lan.ts';

export type LobbySource = 'topic' | 'directory' | 'known' | 'lan';

/** A lobby as a browser knows it. */
export interface BrowsedLobby extends Lobby {
  source: LobbySource;
  /** The beacon it was fetched from (topic source). */
  beacon: { host: string; port: number } | null;
  /** Source `lan`: the address the announcement came from. */
  lanAddress?: string;
  /**
   * Round-trip time to the host in ms: the lowest of the last RTT_SAMPLES TCP handshakes with its
   * beacon; null when this browser never contacted the host (found through the directory, a known
   * key or the LAN only).
   */
  rttMs: number | null;
}

/** Beacon measurements a lobby's round-trip time is the lowest of. */
export const RTT_SAMPLES = 4;

/**
 * The fields whose change is worth an `updated` event (not the timestamp: hosts re-sign every TTL),
 * whether the lobby is heard on the local network, and whether its round-trip time is known (a
 * first measurement is news; later ones, which jitter, are not).
 */
export function contentOf(l: BrowsedLobby): string {
  return JSON.stringify([l.name, l.players, l.maxPlayers, l.open, l.endpoints, l.custom, l.beaconPort, l.reach, l.source === 'lan', l.rttMs !== null]);
}

/**
 * Of two copies of one lobby, the one to list: the more recently signed; at the same signing time
 * a copy heard on the LAN wins (the player is told the host is on the local network), else `tie`
 * decides. The copy listed keeps the other's round-trip time when it has none.
 */
export function preferredCopy(current: BrowsedLobby, candidate: BrowsedLobby, tie: 'current' | 'candidate'): { kept: 'current' | 'candidate'; lobby: BrowsedLobby } {
  let kept: 'current' | 'candidate';
  if (candidate.timestamp !== current.timestamp) kept = candidate.timestamp > current.timestamp ? 'candidate' : 'current';
  else if ((candidate.source === 'lan') !== (current.source === 'lan')) kept = candidate.source === 'lan' ? 'candidate' : 'current';
  else kept = tie;
  const winner = kept === 'current' ? current : candidate;
  // The newest measurement: the candidate's when it has one (it was just fetched).
  const rttMs = candidate.rttMs ?? current.rttMs;
  return { kept, lobby: winner.rttMs === rttMs ? winner : { ...winner, rttMs } };
}

/** A lobby heard on the LAN, as the browser lists it. */
export function lanLobby(s: LanSighting): BrowsedLobby {
  return { ...s.lobby, source: 'lan', beacon: null, lanAddress: s.from, rttMs: null };
}
