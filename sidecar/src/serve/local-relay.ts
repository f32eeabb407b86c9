/**
 * The local pkarr relay of `serve`: the relay web apps try first.
 *
 * Pkarr's guidance for browser apps is to call a relay on `http://127.0.0.1:6881` before remote
 * relays; a web export of a game (addons/pkarr/relay/) does exactly that. When the sidecar runs
 * on the same machine (a desktop game, or a player who installed it), `serve` answers there as a
 * standard pkarr relay over its own DHT node: `GET`/`PUT /{z32}` with the relay API's semantics,
 * CORS and the Private/Local Network Access preflight answers Chromium needs before a public page
 * may call loopback (relay/http-util.ts).
 *
 * It listens on 127.0.0.1 only. A port that is taken (another sidecar, a real relay) is not an
 * error: the sidecar runs on without it and says so. Any page the user opens can call it, so it
 * keeps the relay's per-client quotas (every caller is 127.0.0.1, so they bound the whole machine):
 * no page can turn it into a DHT flood, and it answers with nothing that is not public and signed.
 *
 * What this sidecar publishes (records, lobbies, their updates) goes into the local relay's store at
 * once ({@link keepOwnPacket}): the relay would otherwise answer from its cache for up to its
 * 300 s minimum TTL, and a web export on the same machine would not see the host's lobby update.
 */
import { isPkarrError } from '../core/errors.ts';
import type { SignedPacket } from '../core/signed-packet.ts';
import type { Dht } from '../dht/types.ts';
import { DEFAULT_RELAY_PORT, startRelay, type RunningRelay } from '../relay/relay-server.ts';

/** The port web apps try first (pkarr's convention). */
export const LOCAL_RELAY_PORT = DEFAULT_RELAY_PORT;
/** All callers share 127.0.0.1: quotas for the machine, generous enough for one game's browser. */
export const LOCAL_RELAY_RATE_LIMIT = '20r/s,burst=40';
export const LOCAL_RELAY_DHT_RATE_LIMIT = '5r/s,burst=20';
/** Packets the local relay keeps in memory (it keeps nothing on disk). */
export const LOCAL_RELAY_CACHE = 10_000;

export interface LocalRelayOptions {
  /** TCP port on 127.0.0.1 (default 6881; 0 picks a free one, for tests). */
  port: number;
  dht: Dht;
  log: (line: string) => void;
}

/** What became of the local relay: running, or why not (shown in `status().localRelay`). */
export type LocalRelayState = { url: string; relay: RunningRelay } | { url: null; reason: string };

/** Starts the local relay; a port in use (or any listen failure) gives a reason instead of throwing. */
export async function startLocalRelay(options: LocalRelayOptions): Promise<LocalRelayState> {
  try {
    const relay = await startRelay({
      host: '127.0.0.1',
      port: options.port,
      dht: options.dht,
      dataDir: null,
      cacheSize: LOCAL_RELAY_CACHE,
      rateLimit: LOCAL_RELAY_RATE_LIMIT,
      dhtRateLimit: LOCAL_RELAY_DHT_RATE_LIMIT,
      closeGraceMs: 500,
      log: options.log,
    });
    return { url: relay.url, relay };
  } catch (err) {
    if (!isPkarrError(err) || err.code !== 'IO_ERROR') throw err;
    return { url: null, reason: err.message };
  }
}

/**
 * Hands a packet this sidecar published to the local relay's store (the store's update rule keeps
 * the most recent one), so the local relay serves it at once instead of a cached older one.
 */
export function keepOwnPacket(state: LocalRelayState, packet: SignedPacket, log: (line: string) => void): void {
  if (state.url === null) return;
  try {
    state.relay.store.put(packet);
  } catch (err) {
    log(`local relay: cannot keep the packet of ${packet.publicKey.z32}: ${(err as Error).message}`);
  }
}
