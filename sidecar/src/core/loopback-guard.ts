/**
 * Loopback addresses (`isLoopbackHost`, `isLoopbackHostPort`: the one definition used everywhere),
 * and the test-only network guard built on them.
 *
 * The guard: when `PKARR_LOOPBACK_ONLY=1` (set for every `npm test` run and inherited
 * by the sidecar processes tests spawn), any relay URL or DHT bootstrap address that is not on the
 * loopback range is refused, so a test can never reach a public relay or bootstrap node by
 * accident (e.g. through a default).
 *
 * The NAT lab (test/natlab/) runs sidecars inside network namespaces whose addresses exist only
 * there. It names those prefixes in `PKARR_LAB_NETS` (comma-separated IPv4 CIDRs, e.g.
 * `11.77.0.0/16,10.0.0.0/8`); they are allowed too, and only while loopback-only mode is on: the
 * switch cannot widen anything in a normal run.
 */
import { BlockList, isIPv4 } from 'node:net';
import { PkarrError } from './errors.ts';

/** True for `localhost`, `::1` (bracketed or not) and 127.x.y.z. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** True for `HOST:PORT` (IPv6 as `[::1]:PORT` or `::1:PORT`) with a loopback HOST and a decimal PORT. */
export function isLoopbackHostPort(address: string): boolean {
  const colon = address.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(address.slice(colon + 1)) && isLoopbackHost(address.slice(0, colon));
}

let labNets: { text: string; list: BlockList } | null = null;

/** The lab prefixes of `PKARR_LAB_NETS` (parsed once per distinct value); throws on a malformed one. */
function labNetworks(): BlockList | null {
  const text = process.env['PKARR_LAB_NETS'] ?? '';
  if (text === '') return null;
  if (labNets?.text === text) return labNets.list;
  const list = new BlockList();
  for (const cidr of text.split(',')) {
    const [net, bits] = cidr.trim().split('/');
    const prefix = Number(bits);
    if (net === undefined || !isIPv4(net) || !Number.isInteger(prefix) || prefix < 8 || prefix > 32) {
      throw new PkarrError('INVALID_ARGUMENT', `PKARR_LAB_NETS: invalid IPv4 prefix ${JSON.stringify(cidr)} (expected a.b.c.d/8..32)`);
    }
    list.addSubnet(net, prefix, 'ipv4');
  }
  labNets = { text, list };
  return list;
}

/** True when loopback-only mode is on (tests). */
export function isLoopbackOnly(): boolean {
  return process.env['PKARR_LOOPBACK_ONLY'] === '1';
}

/** True when `host` is an address of the NAT lab named by `PKARR_LAB_NETS` (only in loopback-only mode). */
export function isLabAddress(host: string): boolean {
  if (!isLoopbackOnly() || !isIPv4(host)) return false;
  return labNetworks()?.check(host, 'ipv4') ?? false;
}

/** Throws when loopback-only mode is on and `host` is neither a loopback nor a lab address. */
export function assertAllowedHost(host: string, what: string): void {
  if (!isLoopbackOnly()) return;
  if (!isLoopbackHost(host) && !isLabAddress(host)) {
    throw new PkarrError('INVALID_ARGUMENT', `${what} ${JSON.stringify(host)} refused: PKARR_LOOPBACK_ONLY=1 allows loopback addresses only (and the NAT lab's PKARR_LAB_NETS)`);
  }
}
