/**
 * A site's home router: nftables NAT of the chosen kind in the router namespace, optional hairpin
 * (NAT loopback) and optional miniupnpd (UPnP IGD + NAT-PMP + PCP).
 *
 * Ruleset: family inet, table `filter`, with the chains miniupnpd 2.3.1 expects (natlab.md), so the
 * same table works with and without miniupnpd.
 * - port-restricted: `masquerade` (Linux keeps the source port when free; conntrack filters
 *   inbound by remote address+port).
 * - symmetric: `masquerade random` (a new port per destination).
 * - full-cone: masquerade plus a DNAT of every inbound UDP port 1024-65535 that has no conntrack
 *   entry to the site's first host (a "DMZ host"): because masquerade keeps the host's port, the
 *   mapped port WAN:P reaches host:P from anyone after one outbound packet. Only the first host
 *   gets full-cone behaviour; further hosts of a full-cone site behave port-restricted.
 * - hairpin on: packets from the LAN to the router's WAN address go through the same port forwards
 *   (the full-cone DNAT, miniupnpd's mappings) and are masqueraded so replies come back through
 *   the router; off: they are delivered to the router itself (nothing listens: ICMP unreachable).
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nftLoad } from './exec.ts';
import { LabProcess } from './process.ts';

export type NatKind = 'none' | 'full-cone' | 'port-restricted' | 'symmetric';
export const NAT_KINDS: readonly NatKind[] = ['none', 'full-cone', 'port-restricted', 'symmetric'];

export const WAN_IF = 'wan0';
export const LAN_IF = 'lan0';
export const MINIUPNPD = '/usr/sbin/miniupnpd';

export interface RouterSpec {
  nat: Exclude<NatKind, 'none'>;
  hairpin: boolean;
  wanAddress: string;
  /** LAN prefix, e.g. 10.77.3.0/24. */
  lanNet: string;
  /** Address of the router on the LAN. */
  lanAddress: string;
  /** The full-cone DMZ host. */
  firstHost: string;
}

/** The nft script of a NAT router. */
export function natRuleset(spec: RouterSpec): string {
  const masq = spec.nat === 'symmetric' ? 'masquerade random' : 'masquerade';
  const pre: string[] = ['jump prerouting_miniupnpd'];
  const post: string[] = ['jump postrouting_miniupnpd', `oifname "${WAN_IF}" ${masq}`];
  if (spec.nat === 'full-cone') {
    pre.push(`iifname "${WAN_IF}" udp dport 1024-65535 dnat ip to ${spec.firstHost}`);
    if (spec.hairpin) pre.push(`iifname "${LAN_IF}" ip daddr ${spec.wanAddress} udp dport 1024-65535 dnat ip to ${spec.firstHost}`);
  }
  if (spec.hairpin) {
    pre.push(`iifname "${LAN_IF}" ip daddr ${spec.wanAddress} jump hairpin_miniupnpd`);
    post.push(`oifname "${LAN_IF}" ip saddr ${spec.lanNet} ct status dnat masquerade`);
  }
  return [
    'table inet filter {',
    `  chain forward {`,
    `    type filter hook forward priority 0; policy drop;`,
    `    ct state established,related accept`,
    `    iifname "${LAN_IF}" accept`,
    `    ct status dnat accept`,
    `    jump miniupnpd`,
    `  }`,
    `  chain miniupnpd {`,
    `  }`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority -100; policy accept;`,
    ...pre.map((r) => `    ${r}`),
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority 100; policy accept;`,
    ...post.map((r) => `    ${r}`),
    `  }`,
    `  chain prerouting_miniupnpd {`,
    `  }`,
    `  chain postrouting_miniupnpd {`,
    `  }`,
    `  chain hairpin_miniupnpd {`,
    `  }`,
    '}',
    '',
  ].join('\n');
}

export async function loadNatRuleset(ns: string, spec: RouterSpec): Promise<void> {
  await nftLoad(ns, natRuleset(spec));
}

/** Writes a miniupnpd.conf (plus `extraConf` lines) into `dir` and starts miniupnpd in `ns`; resolves once it listens. */
export async function startMiniupnpd(ns: string, dir: string, spec: RouterSpec, register: (p: LabProcess) => void, extraConf: string[] = []): Promise<LabProcess> {
  const conf = join(dir, `miniupnpd-${ns}.conf`);
  const lanPrefix = spec.lanNet;
  await writeFile(conf, [
    `ext_ifname=${WAN_IF}`,
    `listening_ip=${LAN_IF}`,
    'http_port=5000',
    'enable_natpmp=yes',
    'enable_upnp=yes',
    'secure_mode=no',
    'system_uptime=yes',
    'notify_interval=60',
    'clean_ruleset_interval=600',
    `uuid=${randomUUID()}`,
    ...extraConf,
    `allow 1024-65535 ${lanPrefix} 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n'));
  const proc = new LabProcess(ns, MINIUPNPD, ['-f', conf, '-P', join(dir, `miniupnpd-${ns}.pid`), '-d']);
  register(proc);
  await proc.waitFor(/HTTP listening on port/, 10_000, 'stderr');
  return proc;
}
