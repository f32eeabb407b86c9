/**
 * The text of a peer's IP address as quotas and logs key it: one form per address, whether it came
 * from a socket (`::ffff:1.2.3.4` on a dual-stack listener) or a proxy header (`"[v6]:port"`,
 * `v4:port`). Used by the relay's client identity (relay/client-ip.ts) and the DNS servers.
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
