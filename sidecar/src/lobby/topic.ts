/**
 * The BEP5 topic under which the public lobbies of one game version are announced:
 * `info_hash = sha1("pkarr-godot-lobby:v1:" + game + ":" + gameVersion)` (UTF-8). The game id and
 * version cannot contain `:` (lobby-record.ts patterns), so the text is unambiguous.
 */
import { createHash } from 'node:crypto';
import { PkarrError } from '../core/errors.ts';
import { GAME_ID_PATTERN, GAME_VERSION_PATTERN } from './lobby-record.ts';

/** Prefix of the topic text; the `v1` is the topic scheme, bumped with an incompatible lobby schema. */
export const TOPIC_PREFIX = 'pkarr-godot-lobby:v1:';

/** The topic text of a game version (before hashing). */
export function lobbyTopicText(game: string, gameVersion: string): string {
  if (typeof game !== 'string' || !GAME_ID_PATTERN.test(game)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid game id ${JSON.stringify(game)} (1-64 characters from A-Z a-z 0-9 . _ -)`);
  }
  if (typeof gameVersion !== 'string' || !GAME_VERSION_PATTERN.test(gameVersion)) {
    throw new PkarrError('INVALID_ARGUMENT', `invalid game version ${JSON.stringify(gameVersion)} (1-32 characters from A-Z a-z 0-9 . _ + -)`);
  }
  return `${TOPIC_PREFIX}${game}:${gameVersion}`;
}

/** The 20-byte BEP5 info-hash of a game version's lobby topic. */
export function lobbyTopic(game: string, gameVersion: string): Uint8Array {
  return new Uint8Array(createHash('sha1').update(lobbyTopicText(game, gameVersion), 'utf8').digest());
}

/** The BEP5 half of the DHT adapter (DhtClient implements it). */
export interface TopicDht {
  /** announce_peer `port` under `infoHash`; resolves with the nodes that accepted it. */
  announce(infoHash: Uint8Array, port: number, signal?: AbortSignal): Promise<number>;
  /** get_peers lookup; `onPeer` once per distinct peer; resolves with the peer count when it ends. */
  lookup(infoHash: Uint8Array, onPeer: (host: string, port: number) => void, signal?: AbortSignal): Promise<number>;
}
