/**
 * Who may open the RPC WebSocket: checks on the HTTP upgrade request, before any method runs.
 *
 * 1. Host must name the loopback listener (`127.0.0.1:<port>`, `localhost:<port>`, `[::1]:<port>`):
 *    a DNS-rebinding guard. Bad host → 403.
 * 2. An Origin header (browsers always send one) must be on the allowlist: a cross-site
 *    WebSocket hijacking guard. Bad origin → 403.
 * 3. The per-run token, from the subprotocol `token.<hex>` (the only way on Godot web) or
 *    `Authorization: Bearer <hex>`, compared in constant time. Missing/wrong → 401.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The subprotocol the server selects; a client offering none of ours gets no subprotocol. */
export const RPC_SUBPROTOCOL = 'pkarr-godot.v1';
/** Prefix of the subprotocol carrying the token. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'token.';

export type HandshakeVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/** Lowercased origin without a trailing slash, for comparisons. */
export function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time comparison that leaks neither content nor length (both sides hashed first). */
export function tokensEqual(provided: string, expected: string): boolean {
  return timingSafeEqual(digest(provided), digest(expected));
}

/** The offered subprotocols, in order. */
export function offeredSubprotocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  if (typeof raw !== 'string') return [];
  return raw.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
}

/** The token the client presented (subprotocol first, then bearer header), or null. */
export function presentedToken(req: IncomingMessage): string | null {
  for (const p of offeredSubprotocols(req)) {
    if (p.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return p.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
  }
  const auth = req.headers['authorization'];
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1]) return m[1];
  }
  return null;
}

/** Host header values accepted for a listener on `port`. */
export function allowedHosts(port: number): Set<string> {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  if (port === 80) hosts.push('127.0.0.1', 'localhost', '[::1]');
  return new Set(hosts);
}

export interface HandshakePolicy {
  token: string;
  port: number;
  /** Normalised origins (normalizeOrigin) that may connect. */
  allowOrigins: ReadonlySet<string>;
}

/** Applies the three checks in order: Host, Origin, token. */
export function checkHandshake(req: IncomingMessage, policy: HandshakePolicy): HandshakeVerdict {
  const host = req.headers.host?.toLowerCase();
  if (!host || !allowedHosts(policy.port).has(host)) return { ok: false, status: 403, reason: 'host not allowed' };
  const origin = req.headers.origin;
  if (origin !== undefined && !policy.allowOrigins.has(normalizeOrigin(origin))) {
    return { ok: false, status: 403, reason: 'origin not allowed' };
  }
  const token = presentedToken(req);
  if (token === null) return { ok: false, status: 401, reason: 'missing token' };
  if (!tokensEqual(token, policy.token)) return { ok: false, status: 401, reason: 'wrong token' };
  return { ok: true };
}
