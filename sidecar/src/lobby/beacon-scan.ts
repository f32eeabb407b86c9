/**
 * One scan of a game's DHT topic: a BEP5 lookup streams announcers (host:port of their beacons),
 * each beacon is fetched as soon as it is known (at most `concurrency` in flight), and every answer
 * is checked before it counts: the signature (SignedPacket.fromBytes), the lobby schema, the game
 * and version, and that the record names this beacon (its `beacon` port is the announced port and
 * the announcer's IP is one of its addresses — so a valid lobby replayed from someone else's beacon
 * is refused). Anything that fails is dropped and counted, never thrown.
 */
import { isPkarrError } from '../core/errors.ts';
import { SignedPacket } from '../core/signed-packet.ts';
import { fetchBeacon, DEFAULT_BEACON_TIMEOUT_MS } from './beacon-client.ts';
import { canonicalIp } from './lobby-endpoints.ts';
import { parseLobby, type Lobby } from './lobby-record.ts';
import { lobbyTopic, type TopicDht } from './topic.ts';

/** Why beacon answers were dropped. */
export interface RejectStats {
  /** Not a valid signed packet (bad signature, bad key, truncated, malformed DNS). */
  badSignature: number;
  /** A valid lobby of another game or game version. */
  otherGame: number;
  /** Signed, but no valid lobby of our schema inside. */
  notLobby: number;
  /** Refused, reset, timed out, or not HTTP 200. */
  unreachable: number;
  /** A body larger than a signed packet can be. */
  oversized: number;
  /** A valid lobby whose record does not name this beacon (replayed or misconfigured). */
  wrongBeacon: number;
}

export interface ScanStats {
  /** Distinct announcers the lookup returned. */
  peers: number;
  /** Announcers ignored over `maxPeers`. */
  skipped: number;
  /** Beacons that answered 200 with a body of acceptable size. */
  fetched: number;
  /** Answers whose signature verified. */
  verified: number;
  rejected: RejectStats;
  /** Set when the lookup failed (e.g. the DHT is down); the scan then found nothing new. */
  lookupError?: string;
}

export const DEFAULT_SCAN_CONCURRENCY = 32;
export const DEFAULT_MAX_PEERS = 500;
export const DEFAULT_LOOKUP_TIMEOUT_MS = 10_000;

export interface ScanOptions {
  dht: TopicDht;
  game: string;
  gameVersion: string;
  /**
   * Called for every accepted lobby (several answers may carry the same key), with the round-trip
   * time to its beacon (TCP handshake, beacon-client.ts), in ms.
   */
  onLobby: (lobby: Lobby, beacon: { host: string; port: number }, rttMs: number) => void;
  concurrency?: number;
  beaconTimeoutMs?: number;
  maxPeers?: number;
  lookupTimeoutMs?: number;
  /** Require the record to name the beacon (default true). */
  checkBeacon?: boolean;
  signal?: AbortSignal;
}

export function emptyScanStats(): ScanStats {
  return { peers: 0, skipped: 0, fetched: 0, verified: 0, rejected: { badSignature: 0, otherGame: 0, notLobby: 0, unreachable: 0, oversized: 0, wrongBeacon: 0 } };
}

export type BeaconVerdict = { ok: true; lobby: Lobby } | { ok: false; reason: Exclude<keyof RejectStats, 'unreachable'>; detail: string };

/** Checks the bytes a beacon at host:port served (pure apart from signature verification). */
export function judgeBeaconAnswer(bytes: Uint8Array, beacon: { host: string; port: number }, game: string, gameVersion: string, checkBeacon = true): BeaconVerdict {
  let packet: SignedPacket;
  try {
    packet = SignedPacket.fromBytes(bytes);
  } catch (err) {
    if (isPkarrError(err, 'PACKET_TOO_LARGE')) return { ok: false, reason: 'oversized', detail: err.message };
    return { ok: false, reason: 'badSignature', detail: err instanceof Error ? err.message : String(err) };
  }
  let lobby: Lobby;
  try {
    lobby = parseLobby(packet);
  } catch (err) {
    return { ok: false, reason: 'notLobby', detail: err instanceof Error ? err.message : String(err) };
  }
  if (lobby.game !== game || lobby.gameVersion !== gameVersion) {
    return { ok: false, reason: 'otherGame', detail: `${lobby.game} ${lobby.gameVersion}` };
  }
  if (checkBeacon) {
    const host = canonicalIp(beacon.host) ?? beacon.host;
    if (lobby.beaconPort !== beacon.port || !lobby.addresses.includes(host)) {
      return { ok: false, reason: 'wrongBeacon', detail: `record names beacon port ${String(lobby.beaconPort)} at ${lobby.addresses.join(', ') || 'no address'}, served from ${host}:${beacon.port}` };
    }
  }
  return { ok: true, lobby };
}

/** Runs one scan; resolves (never rejects) with its statistics once the lookup ended and every fetch settled. */
export async function scanTopic(options: ScanOptions): Promise<ScanStats> {
  const stats = emptyScanStats();
  const topic = lobbyTopic(options.game, options.gameVersion);
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_SCAN_CONCURRENCY);
  const maxPeers = options.maxPeers ?? DEFAULT_MAX_PEERS;
  const timeoutMs = options.beaconTimeoutMs ?? DEFAULT_BEACON_TIMEOUT_MS;
  const queue: { host: string; port: number }[] = [];
  const work = new Set<Promise<void>>();
  let running = 0;

  const fetchOne = async (beacon: { host: string; port: number }): Promise<void> => {
    const answer = await fetchBeacon(beacon.host, beacon.port, { timeoutMs, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    if (!answer.ok) {
      stats.rejected[answer.failure]++;
      return;
    }
    stats.fetched++;
    const verdict = judgeBeaconAnswer(answer.bytes, beacon, options.game, options.gameVersion, options.checkBeacon ?? true);
    if (verdict.ok || (verdict.reason !== 'badSignature' && verdict.reason !== 'oversized')) stats.verified++;
    if (!verdict.ok) {
      stats.rejected[verdict.reason]++;
      return;
    }
    try {
      options.onLobby(verdict.lobby, beacon, answer.rttMs);
    } catch {
      // A throwing listener must not stop the scan.
    }
  };
  const pump = (): void => {
    while (running < concurrency && queue.length > 0) {
      const beacon = queue.shift()!;
      running++;
      const task = fetchOne(beacon).finally(() => {
        running--;
        work.delete(task);
        pump();
      });
      work.add(task);
    }
  };
  const onPeer = (host: string, port: number): void => {
    stats.peers++;
    if (stats.peers > maxPeers) {
      stats.skipped++;
      return;
    }
    queue.push({ host, port });
    pump();
  };

  const lookupSignal = AbortSignal.any([AbortSignal.timeout(options.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])]);
  let failure: unknown = null;
  try {
    await options.dht.lookup(topic, onPeer, lookupSignal);
  } catch (err) {
    // A lookup cut short (timeout, abort) still delivered its peers; the fetches go on.
    if (!isPkarrError(err, 'TIMEOUT')) failure = err;
  }
  while (work.size > 0 || queue.length > 0) {
    pump();
    await Promise.all([...work]);
  }
  if (failure !== null) stats.lookupError = failure instanceof Error ? failure.message : String(failure);
  return stats;
}
