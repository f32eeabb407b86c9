/**
 * Typed errors. Every failure the sidecar reports carries a stable string `code` so that
 * callers (CLI, relay, JSON-RPC, GDScript) can branch on it without parsing messages.
 */
export type PkarrErrorCode =
  // keys and z-base-32
  | 'INVALID_ZBASE32'
  | 'INVALID_PUBLIC_KEY_LENGTH'
  | 'INVALID_PUBLIC_KEY_ENCODING'
  | 'INVALID_ED25519_PUBLIC_KEY'
  | 'INVALID_SECRET_KEY'
  // signed packets (order of checks as the reference: length, size, key, signature, dns)
  | 'INVALID_SIGNED_PACKET_BYTES_LENGTH'
  | 'PACKET_TOO_LARGE'
  | 'INVALID_SIGNATURE'
  | 'INVALID_TIMESTAMP'
  // DNS
  | 'DNS_ERROR'
  | 'INVALID_RECORD'
  | 'INVALID_NAME'
  // network
  | 'NOT_MOST_RECENT'
  | 'NOT_FOUND'
  | 'NO_DHT_NODES'
  | 'NO_RESPONSES'
  | 'DHT_ERROR'
  | 'RELAY_ERROR'
  | 'TIMEOUT'
  | 'BAD_REQUEST'
  | 'INVALID_SIGNED_PACKET_SEQ'
  // NAT traversal (docs/nat.md)
  | 'UNREACHABLE_NAT'
  | 'ADDRESS_UNKNOWN'
  | 'PORT_MAPPING_FAILED'
  // generic
  | 'INVALID_ARGUMENT'
  | 'IO_ERROR'
  | 'INTERNAL';

export class PkarrError extends Error {
  readonly code: PkarrErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: PkarrErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PkarrError';
    this.code = code;
    this.details = details;
  }
}

/** True when `err` is a PkarrError (optionally with the given code). */
export function isPkarrError(err: unknown, code?: PkarrErrorCode): err is PkarrError {
  return err instanceof PkarrError && (code === undefined || err.code === code);
}
