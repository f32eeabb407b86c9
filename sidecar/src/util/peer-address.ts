/**
 * The text of a peer's IP address as quotas and logs key it: one form per address, whether it came
 * from a socket (`::ffff:1.2.3.4` on a dual-stack listener) or a proxy header (`"[v6]:port"`,
 * `v4:port`). Used by the relay's client identity (relay/client-ip.ts) and the DNS servers. And the
 * `host:port` split of node addresses (dht/dht-node.ts, nat/dht-stun.ts, nat/nat-service.ts).
 */
import { isIP } from 'node:net';

/** `::ffff:1.2.3.4` → `1.2.3.4`; strips brackets and an optional port of `[v6]:port` / `v4:port`. */
export function normalizeAddress(text: string): string | null {
  let s = text.trim().replace(/^"|"$/g, '');
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) return null;
    s = s.slice(1, end);
  } else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(s)) {
    s = s.slice(0, s.lastIndexOf(':'));
  }
  if (s.toLowerCase().startsWith('::ffff:') && isIP(s.slice(7)) === 4) s = s.slice(7);
  return isIP(s) === 0 ? null : s.toLowerCase();
}

/**
 * Splits `host:port` at the last colon: a non-empty host (not checked further: callers say which
 * hosts they take) and a decimal port 1-65535. Null for anything else.
 */
export function splitHostPort(text: string): { host: string; port: number } | null {
  const colon = typeof text === 'string' ? text.lastIndexOf(':') : -1;
  if (colon <= 0) return null;
  const portText = text.slice(colon + 1);
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) return null;
  return { host: text.slice(0, colon), port };
}
