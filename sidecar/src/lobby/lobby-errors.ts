/**
 * Lobby failures. They are PkarrErrors with the closest existing code plus a finer, stable
 * `details.lobbyError` (the RPC layer passes it on in `error.data.lobbyError`), so callers can tell
 * "no lobby at this key" from "lobby closed" without parsing messages.
 */
import { PkarrError, isPkarrError, type PkarrErrorCode } from '../core/errors.ts';

export type LobbyErrorReason =
  /** Nothing published under the key (code NOT_FOUND). */
  | 'NO_LOBBY'
  /** The lobby's latest record says open=0 (code NOT_FOUND). */
  | 'LOBBY_CLOSED'
  /** The newest record is older than the lobby's staleness window: the host is gone (code NOT_FOUND). */
  | 'LOBBY_EXPIRED'
  /** The key publishes records, but no `_lobby` TXT (code INVALID_RECORD). */
  | 'NOT_A_LOBBY'
  /** A `_lobby` record of another schema version (code INVALID_RECORD). */
  | 'UNSUPPORTED_SCHEMA'
  /** A `_lobby` record with a missing or malformed required key (code INVALID_RECORD). */
  | 'INVALID_LOBBY'
  /** A valid lobby of another game or game version (code INVALID_RECORD). */
  | 'OTHER_GAME'
  /** The encoded lobby exceeds the 1000-byte DNS limit (code PACKET_TOO_LARGE). */
  | 'LOBBY_TOO_LARGE'
  /** Joining: every place is taken (code INVALID_ARGUMENT). */
  | 'LOBBY_FULL'
  /** Joining: the lobby offers no endpoint for the transport asked for (code NOT_FOUND). */
  | 'NO_TRANSPORT';

const CODES: Record<LobbyErrorReason, PkarrErrorCode> = {
  NO_LOBBY: 'NOT_FOUND',
  LOBBY_CLOSED: 'NOT_FOUND',
  LOBBY_EXPIRED: 'NOT_FOUND',
  NOT_A_LOBBY: 'INVALID_RECORD',
  UNSUPPORTED_SCHEMA: 'INVALID_RECORD',
  INVALID_LOBBY: 'INVALID_RECORD',
  OTHER_GAME: 'INVALID_RECORD',
  LOBBY_TOO_LARGE: 'PACKET_TOO_LARGE',
  LOBBY_FULL: 'INVALID_ARGUMENT',
  NO_TRANSPORT: 'NOT_FOUND',
};

/** A PkarrError carrying `details.lobbyError = reason`. */
export function lobbyError(reason: LobbyErrorReason, message: string, details: Record<string, unknown> = {}, cause?: unknown): PkarrError {
  return new PkarrError(CODES[reason], message, { ...details, lobbyError: reason }, cause === undefined ? undefined : { cause });
}

/** The lobby reason of an error, or null when it is not a lobby error. */
export function lobbyErrorReason(err: unknown): LobbyErrorReason | null {
  if (!isPkarrError(err)) return null;
  const reason = err.details?.['lobbyError'];
  return typeof reason === 'string' && reason in CODES ? (reason as LobbyErrorReason) : null;
}
