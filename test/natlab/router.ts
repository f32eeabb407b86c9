/**
 * A site's home router: nftables NAT of the chosen kind in the router namespace, optional hairpin
 * (NAT loopback) and optional miniupnpd (UPnP IGD + NAT-PMP + PCP).
 *
 * Ruleset: family inet, table `filter`, with the chains miniupnpd 2.3.1 expects (Debian's
 * nft_init.sh that would make them cannot run), so the same table works with and without miniupnpd.
 * - port-restricted: `masquerade` (Linux keeps the source port when free; conntrack filters
 *   inbound by remote address+port).
 * - symmetric: `masquerade random` (a new port per destination).
 * - full-cone: masquerade, plus dynamic maps learnt from every outbound UDP packet after source
 *   NAT (`fullcone`: public port → host address . port; `fullcone_rev`: the reverse; 2 min idle
 *   timeout): a host's endpoint keeps its public port for every destination, no two endpoints
 *   share one, and every new inbound UDP flow is DNATed through `fullcone`: once a host has sent
 *   from a port, anyone reaches it at that public port (endpoint-independent mapping and
 *   filtering), for every host of the site.
 * - hairpin on: packets from the LAN to the router's WAN address go through the same port forwards
 *   (the full-cone map; miniupnpd's mappings, mirrored by hairpin.ts into `hairpin_miniupnpd`
 *   because miniupnpd's own rules match `iif wan0`) and are masqueraded so replies come back
 *   through the router; off: they are delivered to the router itself (nothing listens there).
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
}

/** The nft script of a NAT router. */
export function natRuleset(spec: RouterSpec): string {
  const masq = spec.nat === 'symmetric' ? 'masquerade random' : 'masquerade';
  const fullCone = spec.nat === 'full-cone';
  const pre: string[] = ['jump prerouting_miniupnpd'];
  const post: string[] = ['jump postrouting_miniupnpd'];
  if (fullCone) {
    post.push(
      // An internal endpoint that already has a public port keeps it for every destination…
      `oifname "${WAN_IF}" meta l4proto udp snat ip to ip saddr . udp sport map @fullcone_rev`,
      // …and never gets a public port another endpoint owns (Linux would reuse one per destination).
      `oifname "${WAN_IF}" udp sport @fullcone_ports masquerade random`,
    );
  }
  post.push(`oifname "${WAN_IF}" ${masq}`);
  if (fullCone) {
    pre.push(`iifname "${WAN_IF}" meta l4proto udp dnat ip to udp dport map @fullcone`);
    if (spec.hairpin) pre.push(`iifname "${LAN_IF}" ip daddr ${spec.wanAddress} meta l4proto udp dnat ip to udp dport map @fullcone`);
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
    ...(fullCone ? [
      `  map fullcone {`,
      `    type inet_service : ipv4_addr . inet_service`,
      `    flags dynamic,timeout`,
      `    timeout 120s`,
      `  }`,
      `  map fullcone_rev {`,
      `    type ipv4_addr . inet_service : ipv4_addr . inet_service`,
      `    flags dynamic,timeout`,
      `    timeout 120s`,
      `  }`,
      `  set fullcone_ports {`,
      `    type inet_service`,
      `    flags dynamic,timeout`,
      `    timeout 120s`,
      `  }`,
      `  chain fullcone_learn {`,
      `    type filter hook postrouting priority srcnat + 10; policy accept;`,
      `    oifname "${WAN_IF}" meta l4proto udp ct direction original ct status snat update @fullcone { ct reply proto-dst : ct original ip saddr . ct original proto-src }`,
      `    oifname "${WAN_IF}" meta l4proto udp ct direction original ct status snat update @fullcone_rev { ct original ip saddr . ct original proto-src : ct reply ip daddr . ct reply proto-dst }`,
      `    oifname "${WAN_IF}" meta l4proto udp ct direction original ct status snat update @fullcone_ports { ct reply proto-dst }`,
      `  }`,
    ] : []),
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
