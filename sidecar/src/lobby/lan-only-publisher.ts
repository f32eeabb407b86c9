/**
 * The "client" of a lobby host with no DHT and no relay (a LAN party with no internet): publishing
 * stores nothing anywhere (`storedOn: 0`, no DHT, no relay: the RPC answer says so) — the record
 * reaches players through the LAN announcer only — and resolving finds nothing. Lobby hosting needs
 * nothing else (lobby-host.ts); the lobby service forces `directory: false` with it.
 */
import type { PublishResult } from '../client/types.ts';
import type { LobbyPublisher } from './lobby-host.ts';

const NOWHERE: PublishResult = Object.freeze({ storedOn: 0, dht: null, relays: [] }) as PublishResult;

export const LAN_ONLY_PUBLISHER: LobbyPublisher = {
  publish: () => Promise.resolve({ ...NOWHERE, relays: [] }),
  resolve: () => Promise.resolve(null),
};
