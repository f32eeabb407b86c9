/**
 * The port mapper against real miniupnpd 2.3.1 routers in the NAT lab (test/natlab/): for each
 * protocol forced on its own (UPnP IGD v2, UPnP IGD v1, NAT-PMP, PCP) a UDP and a TCP port are
 * mapped from a LAN host, the router's nft rules show them, a WAN host reaches both, 4 s leases
 * are renewed past two leases (while a control mapping made with natpmpc, never renewed, expires),
 * the external address is the router's WAN address, and close removes everything (rules gone,
 * WAN packets no longer arrive). A router without miniupnpd gives PORT_MAPPING_FAILED within the
 * discovery bound; the nat.* RPC methods map through the default gateway. Needs root and
 * namespaces: FAILS (never skips) without them. Times are printed as figures, never asserted.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortMapping } from '../sidecar/src/nat/port-mapper.ts';
import { node24, REPO_ROOT, type AgentClient } from './natlab/agent-client.ts';
import { NFT, nsExec } from './natlab/exec.ts';
import { NatLab, type LabSite } from './natlab/lab.ts';
import type { Received } from './natlab/scenarios/udp.ts';

const UDP = './test/natlab/scenarios/udp.ts';
const PM = './test/nat-port-mapper-agent.ts';
const NATPMPC = '/usr/bin/natpmpc';
/** Short leases: miniupnpd's PCP minimum lifetime (120 s by default) lowered for the renewal checks. */
const SHORT_LEASES = ['min_lifetime=2'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let lab: NatLab;
let wan: AgentClient;
let wanHost: string;
const figures: string[] = [];

beforeAll(async () => {
  lab = await NatLab.create({
    sites: [
      { nat: 'port-restricted', upnp: true, miniupnpdConf: SHORT_LEASES }, // 0: UPnP IGD v2
      { nat: 'port-restricted', upnp: true, miniupnpdConf: ['force_igd_desc_v1=yes', ...SHORT_LEASES] }, // 1: UPnP IGD v1
      { nat: 'port-restricted', upnp: true, miniupnpdConf: SHORT_LEASES }, // 2: NAT-PMP
      { nat: 'port-restricted', upnp: true, miniupnpdConf: SHORT_LEASES }, // 3: PCP
      { nat: 'port-restricted' }, // 4: no miniupnpd
      { nat: 'port-restricted', upnp: true }, // 5: RPC, default discovery
      { nat: 'port-restricted', upnp: true, hosts: 2 }, // 6: two hosts want one port (IGD v2, NAT-PMP, PCP)
      { nat: 'port-restricted', upnp: true, hosts: 2, miniupnpdConf: ['force_igd_desc_v1=yes'] }, // 7: the same on IGD v1
      { nat: 'port-restricted', upnp: true }, // 8: serve's exit paths
      { nat: 'port-restricted', upnp: true }, // 9: a router restart
    ],
  });
  wan = await lab.agent(lab.services);
  wanHost = await lab.serviceAddress();
}, 60_000);

afterAll(async () => {
  if (figures.length > 0) console.log(`[port-mapper] figures (one run, this machine):\n  ${figures.join('\n  ')}`);
  await lab?.close();
});

/** The router's miniupnpd redirect rules (the nat prerouting chain miniupnpd fills). */
async function redirects(site: LabSite): Promise<string[]> {
  const out = await nsExec(site.router, NFT, ['list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd']);
  return out.split('\n').map((l) => l.trim()).filter((l) => l.includes('dnat'));
}

function ruleFor(rules: string[], protocol: 'UDP' | 'TCP', externalPort: number, internal: string): boolean {
  const proto = protocol === 'UDP' ? '0x11' : '0x6';
  return rules.some((r) => r.includes(`${proto} th dport ${externalPort} `) && r.endsWith(`dnat ip to ${internal}`));
}

/** Sends `text` from a fresh WAN socket (no conntrack state) to wanAddress:port; true when it arrives at the LAN socket. */
async function udpArrives(lan: AgentClient, lanPort: number, to: { host: string; port: number }, text: string, ms: number): Promise<boolean> {
  const from = await wan.call<number>(UDP, 'open', 0, wanHost);
  await wan.call(UDP, 'send', from, to, text);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const got = await lan.call<Received[]>(UDP, 'received', lanPort);
    if (got.some((r) => r.text === text)) return true;
    await sleep(100);
  }
  return false;
}

interface Case { name: string; site: number; method: 'upnp' | 'natpmp' | 'pcp'; via: PortMapping['via']; port: number }

const CASES: Case[] = [
  { name: 'UPnP IGD v2', site: 0, method: 'upnp', via: 'upnp-igd2', port: 7101 },
  { name: 'UPnP IGD v1', site: 1, method: 'upnp', via: 'upnp-igd1', port: 7201 },
  { name: 'NAT-PMP', site: 2, method: 'natpmp', via: 'nat-pmp', port: 7301 },
  { name: 'PCP', site: 3, method: 'pcp', via: 'pcp', port: 7401 },
];

describe.concurrent('port mapping against miniupnpd, one protocol at a time', () => {
  for (const c of CASES) {
    it(`${c.name}: maps UDP and TCP, the WAN reaches them, 4 s leases outlive two leases, close removes them`, async () => {
      const site = lab.sites[c.site]!;
      const host = site.hosts[0]!;
      const lan = await lab.agent(host);
      const started = await lan.call<{ methods: string[]; ms: number }>(PM, 'start', { protocols: [c.method] });
      expect(started.methods).toEqual([c.method]);
      await lan.call(UDP, 'open', c.port);
      await lan.call(PM, 'tcpListen', c.port);
      const renewed: Record<string, number> = { UDP: 0, TCP: 0 };
      const failures: string[] = [];
      lan.on((event, data) => {
        const e = data as { type: string; mapping: PortMapping; error: string | null };
        if (event !== 'port-mapper') return;
        if (e.type === 'renewed') renewed[e.mapping.protocol]! += 1;
        else failures.push(`${e.type}: ${e.error ?? JSON.stringify(e.mapping)}`);
      });

      const udp = await lan.call<{ mapping: PortMapping; ms: number }>(PM, 'map', { protocol: 'UDP', internalPort: c.port, ttlSeconds: 4, description: 'pkarr-godot test' });
      const tcp = await lan.call<{ mapping: PortMapping; ms: number }>(PM, 'map', { protocol: 'TCP', internalPort: c.port, ttlSeconds: 4 });
      figures.push(`${c.name}: discovery ${started.ms.toFixed(0)} ms, map UDP ${udp.ms.toFixed(0)} ms, map TCP ${tcp.ms.toFixed(0)} ms`);
      for (const [m, protocol] of [[udp.mapping, 'UDP'], [tcp.mapping, 'TCP']] as const) {
        expect(m).toMatchObject({ protocol, internalPort: c.port, externalHost: site.wanAddress, publicAddress: true, via: c.via, lifetimeSeconds: 4 });
        expect(m.expiresAt).toBeGreaterThan(Date.now());
      }
      expect(await lan.call(PM, 'externalAddress')).toEqual({ host: site.wanAddress, publicAddress: true, via: c.method });

      // The router holds both redirects, and the WAN reaches the LAN host through them.
      const udpTarget = { host: site.wanAddress, port: udp.mapping.externalPort };
      const tcpPort = tcp.mapping.externalPort;
      let rules = await redirects(site);
      expect(ruleFor(rules, 'UDP', udp.mapping.externalPort, `${host.address}:${c.port}`), rules.join('\n')).toBe(true);
      expect(ruleFor(rules, 'TCP', tcpPort, `${host.address}:${c.port}`), rules.join('\n')).toBe(true);
      expect(await udpArrives(lan, c.port, udpTarget, `${c.name} first`, 2000)).toBe(true);
      expect(await wan.call(PM, 'tcpFetch', site.wanAddress, tcpPort, 3000)).toBe('hello from the LAN');

      // A control mapping with the same 4 s lease that nobody renews expires; ours stay past two leases.
      const control = lab.spawn(host.ns, NATPMPC, ['-g', site.lanAddress, '-a', String(c.port + 50), String(c.port + 50), 'udp', '4']);
      expect(await control.exited).toBe(0);
      expect(ruleFor(await redirects(site), 'UDP', c.port + 50, `${host.address}:${c.port + 50}`)).toBe(true);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && (renewed['UDP']! < 4 || renewed['TCP']! < 4 || ruleFor(await redirects(site), 'UDP', c.port + 50, `${host.address}:${c.port + 50}`))) await sleep(250);
      expect(failures).toEqual([]);
      expect(renewed['UDP']).toBeGreaterThanOrEqual(4); // renewed every 2 s: 4 renewals = two 4 s leases
      expect(renewed['TCP']).toBeGreaterThanOrEqual(4);
      rules = await redirects(site);
      expect(ruleFor(rules, 'UDP', c.port + 50, `${host.address}:${c.port + 50}`), 'the unrenewed control mapping should have expired').toBe(false);
      expect(ruleFor(rules, 'UDP', udp.mapping.externalPort, `${host.address}:${c.port}`), rules.join('\n')).toBe(true);
      expect(ruleFor(rules, 'TCP', tcpPort, `${host.address}:${c.port}`), rules.join('\n')).toBe(true);
      expect(await udpArrives(lan, c.port, udpTarget, `${c.name} after two leases`, 2000)).toBe(true);
      const held = await lan.call<PortMapping[]>(PM, 'mappings');
      expect(held.map((m) => m.expiresAt! > Date.now())).toEqual([true, true]);

      // close removes both: no redirect left, a fresh WAN socket's packet and a TCP connect no longer get through.
      const closed = await lan.call<{ errors: string[]; ms: number }>(PM, 'close');
      expect(closed.errors).toEqual([]);
      figures.push(`${c.name}: close (2 mappings) ${closed.ms.toFixed(0)} ms`);
      expect(await redirects(site)).toEqual([]);
      expect(await udpArrives(lan, c.port, udpTarget, `${c.name} after close`, 1000)).toBe(false);
      expect(await wan.call(PM, 'tcpFetch', site.wanAddress, tcpPort, 1500)).toBeNull();
      await lan.close();
    }, 60_000);
  }

  it('two LAN hosts asking for the same external port: the second gets another one, and each is reached', async () => {
    const conflicts = [
      { site: 6, method: 'pcp', port: 7611 }, { site: 6, method: 'natpmp', port: 7621 },
      { site: 6, method: 'upnp', port: 7631 }, { site: 7, method: 'upnp', port: 7641 },
    ] as const;
    const agents = new Map<string, AgentClient>();
    const agentFor = async (ns: string, method: string): Promise<AgentClient> => {
      const key = `${ns}/${method}`;
      let a = agents.get(key);
      if (a === undefined) {
        a = await lab.agent(ns);
        await a.call(PM, 'start', { protocols: [method] });
        agents.set(key, a);
      }
      return a;
    };
    try {
      for (const c of conflicts) {
        const site = lab.sites[c.site]!;
        const [first, second] = [await agentFor(site.hosts[0]!.ns, c.method), await agentFor(site.hosts[1]!.ns, c.method)];
        await first.call(UDP, 'open', c.port);
        await second.call(UDP, 'open', c.port);
        const a = (await first.call<{ mapping: PortMapping }>(PM, 'map', { protocol: 'UDP', internalPort: c.port, ttlSeconds: 60 })).mapping;
        const b = (await second.call<{ mapping: PortMapping }>(PM, 'map', { protocol: 'UDP', internalPort: c.port, ttlSeconds: 60 })).mapping;
        figures.push(`two hosts, ${b.via}: both asked for ${c.port}, got ${a.externalPort} and ${b.externalPort}`);
        expect(a.externalPort).toBe(c.port);
        expect(b.externalPort).not.toBe(c.port);
        expect(await udpArrives(first, c.port, { host: site.wanAddress, port: a.externalPort }, `${b.via} to the first`, 2000)).toBe(true);
        expect(await udpArrives(second, c.port, { host: site.wanAddress, port: b.externalPort }, `${b.via} to the second`, 2000)).toBe(true);
        const firstGot = await first.call<Received[]>(UDP, 'received', c.port);
        expect(firstGot.map((r) => r.text)).toEqual([`${b.via} to the first`]);
      }
      for (const a of agents.values()) expect((await a.call<{ errors: string[] }>(PM, 'close')).errors).toEqual([]);
      expect(await redirects(lab.sites[6]!)).toEqual([]);
      expect(await redirects(lab.sites[7]!)).toEqual([]);
    } finally {
      await Promise.allSettled([...agents.values()].map((a) => a.close()));
    }
  }, 60_000);

  it('serve removes its mappings when it stops: on stdin EOF and on SIGTERM', async () => {
    const site = lab.sites[8]!;
    const host = site.hosts[0]!;
    const lan = await lab.agent(host);
    try {
      for (const [exitPath, port] of [['stdin EOF', 7801], ['SIGTERM', 7811]] as const) {
        const serve = lab.spawn(host.ns, node24(), [join(REPO_ROOT, 'sidecar/src/cli/main.ts'), 'serve', '--no-dht', '--no-relays', '--data-dir', join(lab.dir, `serve-${port}`)], { stdin: true, cwd: REPO_ROOT });
        const ready = JSON.parse((await serve.waitFor(/\{"event":"ready"[^\n]*\}/, 20_000))[0]) as { port: number; token: string };
        for (const protocol of ['UDP', 'TCP']) {
          const answer = await lan.call<{ result?: PortMapping; error?: unknown }>(PM, 'wsCall', ready.port, ready.token, 'nat.map', { protocol, internalPort: port });
          expect(answer.error).toBeUndefined();
          expect(answer.result).toMatchObject({ externalHost: site.wanAddress, externalPort: port, via: 'pcp' });
        }
        expect((await redirects(site)).length).toBe(2);
        const t0 = performance.now();
        if (exitPath === 'stdin EOF') serve.child.stdin!.end();
        else serve.child.kill('SIGTERM');
        expect(await serve.exited).toBe(0);
        figures.push(`serve exit on ${exitPath} with 2 mappings: ${(performance.now() - t0).toFixed(0)} ms`);
        expect(await redirects(site), serve.stderr).toEqual([]);
      }
    } finally {
      await lan.close();
    }
  }, 60_000);

  it('a router restart: its announcement makes PCP and UPnP mappings come back at once, not at the next renewal', async () => {
    const site = lab.sites[9]!;
    const host = site.hosts[0]!;
    const [pcp, upnp] = [await lab.agent(host), await lab.agent(host)];
    try {
      await pcp.call(PM, 'start', { protocols: ['pcp'] });
      await upnp.call(PM, 'start', { protocols: ['upnp'] });
      await pcp.call(UDP, 'open', 7901);
      await upnp.call(UDP, 'open', 7902);
      const a = (await pcp.call<{ mapping: PortMapping }>(PM, 'map', { protocol: 'UDP', internalPort: 7901, ttlSeconds: 3600 })).mapping;
      const b = (await upnp.call<{ mapping: PortMapping }>(PM, 'map', { protocol: 'UDP', internalPort: 7902, ttlSeconds: 3600 })).mapping;
      expect([a.via, b.via]).toEqual(['pcp', 'upnp-igd2']);
      expect((await redirects(site)).length).toBe(2);

      // A reboot: miniupnpd stops and the router's rules are gone (miniupnpd itself leaves them in place).
      await site.miniupnpd!.stop();
      for (const chain of ['prerouting_miniupnpd', 'postrouting_miniupnpd', 'miniupnpd']) await nsExec(site.router, NFT, ['flush', 'chain', 'inet', 'filter', chain]);
      expect(await redirects(site)).toEqual([]);
      expect(await udpArrives(pcp, 7901, { host: site.wanAddress, port: 7901 }, 'while down', 500)).toBe(false);
      const conf = join(lab.dir, `miniupnpd-${site.router}.conf`);
      const t0 = performance.now();
      const restarted = lab.spawn(site.router, '/usr/sbin/miniupnpd', ['-f', conf, '-P', join(lab.dir, 'miniupnpd-restarted.pid'), '-d']);
      await restarted.waitFor(/HTTP listening on port/, 10_000, 'stderr');
      const deadline = Date.now() + 10_000;
      let rules = await redirects(site);
      while (Date.now() < deadline && rules.length < 2) {
        await sleep(100);
        rules = await redirects(site);
      }
      figures.push(`router restart -> PCP and UPnP mappings back after ${(performance.now() - t0).toFixed(0)} ms (leases of 3600 s: the next renewal was 30 min away)`);
      expect(ruleFor(rules, 'UDP', 7901, `${host.address}:7901`), rules.join('\n')).toBe(true);
      expect(ruleFor(rules, 'UDP', 7902, `${host.address}:7902`), rules.join('\n')).toBe(true);
      expect(await udpArrives(pcp, 7901, { host: site.wanAddress, port: 7901 }, 'after restart via pcp', 2000)).toBe(true);
      expect(await udpArrives(upnp, 7902, { host: site.wanAddress, port: 7902 }, 'after restart via upnp', 2000)).toBe(true);
      for (const agent of [pcp, upnp]) expect((await agent.call<{ errors: string[] }>(PM, 'close')).errors).toEqual([]);
      expect(await redirects(site)).toEqual([]);
    } finally {
      await Promise.allSettled([pcp.close(), upnp.close()]);
    }
  }, 60_000);

  it('a router without miniupnpd: PORT_MAPPING_FAILED naming every protocol, within the discovery bound', async () => {
    const lan = await lab.agent(lab.sites[4]!.hosts[0]!);
    const failure = await lan.callWithin<{ code: string; message: string; ms: number }>(10_000, PM, 'startFailure', { discoveryTimeoutMs: 3000 });
    figures.push(`no port mapping on the router: PORT_MAPPING_FAILED after ${failure.ms.toFixed(0)} ms (bound 3000 ms)`);
    expect(failure.code).toBe('PORT_MAPPING_FAILED');
    expect(failure.message).toMatch(/PCP: .*NAT-PMP: .*UPnP: no Internet Gateway Device answered/);
    await lan.close();
  }, 30_000);

  it('nat.map / nat.status / nat.unmap over RPC find the default gateway and prefer PCP', async () => {
    const site = lab.sites[5]!;
    const host = site.hosts[0]!;
    const lan = await lab.agent(host);
    const mapped = await lan.call<{ result?: Record<string, unknown>; error?: unknown }>(PM, 'rpc', 'nat.map', { protocol: 'UDP', internalPort: 7501, description: 'rpc test' });
    expect(mapped.error).toBeUndefined();
    expect(mapped.result).toMatchObject({ protocol: 'UDP', internalPort: 7501, externalHost: site.wanAddress, externalPort: 7501, via: 'pcp', publicAddress: true, gateway: `${site.lanAddress}:5351` });
    expect(mapped.result?.['lifetimeSeconds']).toBe(3600); // the default lease
    const status = await lan.call<{ result: { methods: string[]; mappings: unknown[]; externalAddress: unknown } }>(PM, 'rpc', 'nat.status', {});
    expect(status.result.methods).toEqual(['pcp', 'natpmp', 'upnp']);
    expect(status.result.mappings).toHaveLength(1);
    expect(status.result.externalAddress).toEqual({ host: site.wanAddress, publicAddress: true, via: 'pcp' });
    await lan.call(PM, 'rpc', 'nat.map', { protocol: 'TCP', internalPort: 7502 });
    expect((await redirects(site)).length).toBe(2);
    expect(await lan.call(PM, 'rpc', 'nat.unmap', { protocol: 'UDP', internalPort: 7501 })).toMatchObject({ result: { removed: true } });
    expect((await redirects(site)).length).toBe(1);
    expect(await lan.call(PM, 'rpc', 'close', {})).toEqual([]);
    expect(await redirects(site)).toEqual([]);
    await lan.close();
  }, 30_000);
});
