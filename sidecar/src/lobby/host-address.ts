/**
 * The address a lobby advertises for its host. Either configured explicitly (from UPnP on the Godot
 * side, a port-forwarded address, a LAN address, 127.0.0.1 in tests: private and loopback addresses
 * are accepted ONLY this way), or learnt from the DHT: BEP42 responders report the address they see
 * us at (dht/address-votes.ts), which is used only when it is public and enough nodes agree.
 */
import { BlockList, isIPv4 } from 'node:net';
import { PkarrError } from '../core/errors.ts';
import { parseIPv6 } from '../core/names.ts';
import { canonicalIp } from './lobby-endpoints.ts';

/** Anything that knows our external address (DhtClient does). */
export interface ExternalAddressSource {
  externalAddress(): { host: string; port: number; votes: number } | null;
}

/** Where the advertised address came from. */
export type HostAddressSource = 'configured' | 'dht';

export interface HostAddress {
  host: string;
  source: HostAddressSource;
}

export interface HostAddressOptions {
  /** An explicitly configured IP or domain name; wins over everything. */
  address?: string;
  /** The DHT adapter, asked when no address is configured. */
  dht?: ExternalAddressSource | null;
  /** Distinct DHT responders that must agree (default 2). */
  minVotes?: number;
}

const nonPublic = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) nonPublic.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b:1::', 48], ['100::', 64], ['2001:db8::', 32],
  ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) nonPublic.addSubnet(net, prefix, 'ipv6');

/**
 * True for a globally routable unicast address; false for private, loopback, link-local, CGNAT,
 * documentation, multicast and unspecified ones (and for anything that is not an IP).
 */
export function isPublicAddress(host: string): boolean {
  const ip = canonicalIp(host);
  if (ip === null) return false;
  if (isIPv4(ip)) return !nonPublic.check(ip, 'ipv4');
  const bytes = parseIPv6(ip);
  if (bytes !== null && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return isPublicAddress(bytes.subarray(12).join('.')); // IPv4-mapped: judge the IPv4 address
  }
  return !nonPublic.check(ip, 'ipv6');
}

/**
 * The address to advertise. Throws ADDRESS_UNKNOWN when none is known, INVALID_ARGUMENT when the configured
 * text is neither an IP nor a domain name.
 */
export function resolveHostAddress(options: HostAddressOptions): HostAddress {
  if (options.address !== undefined) {
    const text = options.address;
    const ip = typeof text === 'string' ? canonicalIp(text) : null;
    if (ip !== null) return { host: ip, source: 'configured' };
    if (typeof text === 'string' && /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(text)) {
      return { host: text.toLowerCase(), source: 'configured' };
    }
    throw new PkarrError('INVALID_ARGUMENT', `invalid lobby address ${JSON.stringify(text)}: expected an IPv4/IPv6 address or a domain name`);
  }
  const minVotes = options.minVotes ?? 2;
  const seen = options.dht?.externalAddress() ?? null;
  if (seen !== null && seen.votes >= minVotes && isPublicAddress(seen.host)) return { host: seen.host, source: 'dht' };
  const why = seen === null
    ? 'no DHT node has reported it yet (BEP42 `ip`)'
    : !isPublicAddress(seen.host)
      ? `the DHT reports ${seen.host}, which is not a public address`
      : `only ${seen.votes} DHT node(s) reported ${seen.host} (need ${minVotes})`;
  throw new PkarrError('ADDRESS_UNKNOWN', `the public address of this host is unknown: ${why}; pass address explicitly (e.g. the UPnP external address; private and loopback addresses are accepted only that way)`);
}
