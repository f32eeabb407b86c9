/**
 * The address a request is accounted to for rate limiting.
 *
 * Direct (default): the TCP peer address. Behind a reverse proxy (`--behind-proxy`): the first
 * valid address of `X-Forwarded-For` (the original client as the first proxy saw it), then
 * `X-Real-IP`, then the `for=` of `Forwarded` (RFC 7239), then the peer address. Only enable it
 * behind a proxy that sets these headers: otherwise clients can pick their own bucket.
 */
import type { IncomingMessage } from 'node:http';
import { normalizeAddress } from '../util/peer-address.ts';

function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function fromProxyHeaders(req: IncomingMessage): string | null {
  const xff = headerText(req, 'x-forwarded-for');
  if (xff !== undefined) {
    for (const part of xff.split(',')) {
      const address = normalizeAddress(part);
      if (address !== null) return address;
    }
  }
  const real = headerText(req, 'x-real-ip');
  if (real !== undefined) {
    const address = normalizeAddress(real);
    if (address !== null) return address;
  }
  const forwarded = headerText(req, 'forwarded');
  if (forwarded !== undefined) {
    for (const match of forwarded.matchAll(/for=("[^"]*"|[^;,\s]+)/gi)) {
      const address = normalizeAddress(match[1] ?? '');
      if (address !== null) return address;
    }
  }
  return null;
}

/** The rate-limit identity of `req` (see the module doc). */
export function clientAddress(req: IncomingMessage, behindProxy: boolean): string {
  if (behindProxy) {
    const proxied = fromProxyHeaders(req);
    if (proxied !== null) return proxied;
  }
  const peer = req.socket.remoteAddress;
  if (peer === undefined) return 'unknown';
  return normalizeAddress(peer) ?? peer;
}
