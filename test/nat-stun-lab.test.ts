/**
 * DHT-STUN and the NAT-type classifier against real libtorrent DHT nodes (BEP42 `ip`) through real
 * Linux NATs (nftables in router namespaces, miniupnpd for the mapped case), built by the shared
 * NAT lab (test/natlab/). The probe runs inside each LAN host's namespace through the lab's agent
 * (nat-stun-lab-agent.ts), from a socket on port 7777, with the host's real interface addresses.
 * Needs root and network namespaces: without them this suite fails (it never skips).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsExec } from './natlab/exec.ts';
import { NatLab, type LabHost } from './natlab/lab.ts';
import type { LabProbeArgs, LabProbeResult } from './nat-stun-lab-agent.ts';

const AGENT_MODULE = './test/nat-stun-lab-agent.ts';
const PORT = 7777;
const DHT_NODES = 8;

describe('DHT-STUN through real NATs (natlab)', () => {
  let lab: NatLab;
  const host = (site: number): LabHost => lab.sites[site]!.hosts[0]!;

  async function probeFrom(where: LabHost, extra: Partial<LabProbeArgs> = {}): Promise<LabProbeResult> {
    const agent = await lab.agent(where);
    try {
      const result = await agent.callWithin<LabProbeResult>(20_000, AGENT_MODULE, 'probe', { nodes: lab.bootstrap, port: PORT, count: DHT_NODES, timeoutMs: 3000, ...extra });
      const seen = result.stun.observations.map((o) => (o.mapped === null ? o.outcome : `${o.mapped.host}:${o.mapped.port}`));
      console.log(`[${where.site.nat}${where.site.upnp ? '+upnp' : ''}] ${result.report.summary}\n  seen: ${[...new Set(seen)].join(' ')}`);
      return result;
    } finally {
      await agent.close();
    }
  }

  /** Every libtorrent node answered with an `ip`: the lab's DHT really is a BEP42 DHT. */
  function expectAllAnswered(result: LabProbeResult): void {
    expect(result.stun.observations.map((o) => o.outcome)).toEqual(Array(DHT_NODES).fill('ok'));
    expect(result.stun.malformed + result.stun.unexpected).toBe(0);
    expect(result.localPort).toBe(PORT);
  }

  beforeAll(async () => {
    lab = await NatLab.create({
      sites: [{ nat: 'none' }, { nat: 'port-restricted' }, { nat: 'symmetric' }, { nat: 'full-cone' }, { nat: 'port-restricted', upnp: true }],
      dhtNodes: DHT_NODES,
    });
  }, 120_000);
  afterAll(async () => { await lab?.close(); }, 60_000);

  it('no NAT: public, at the host\'s own address and port', async () => {
    const result = await probeFrom(host(0));
    expectAllAnswered(result);
    const r = result.report;
    expect([r.type, r.rating, r.directlyReachable, r.punchable, r.routable, r.doubleNat, r.voters])
      .toEqual(['public', 'open', true, true, true, false, DHT_NODES]);
    expect(r.publicAddress).toEqual({ host: host(0).address, port: PORT });
  });

  it('port-restricted cone (masquerade): cone at the router\'s WAN address, port kept', async () => {
    const result = await probeFrom(host(1));
    expectAllAnswered(result);
    const r = result.report;
    expect([r.type, r.rating, r.punchable, r.directlyReachable, r.portPreserved, r.voters, r.dissenters])
      .toEqual(['cone', 'moderate', true, false, true, DHT_NODES, 0]);
    expect(r.publicAddress).toEqual({ host: lab.sites[1]!.wanAddress, port: PORT });
  });

  it('symmetric (masquerade random): a different port per DHT node, symmetric, not punchable', async () => {
    const result = await probeFrom(host(2));
    expectAllAnswered(result);
    const ports = new Set(result.stun.observations.map((o) => o.mapped!.port));
    expect(ports.size).toBeGreaterThan(DHT_NODES / 2);
    const r = result.report;
    expect([r.type, r.rating, r.punchable, r.publicAddress, r.publicHost]).toEqual(['symmetric', 'strict', false, null, lab.sites[2]!.wanAddress]);
  });

  it('full cone (DNAT + SNAT): cone at the router\'s WAN address', async () => {
    const result = await probeFrom(host(3));
    expectAllAnswered(result);
    const r = result.report;
    expect([r.type, r.rating, r.punchable, r.voters]).toEqual(['cone', 'moderate', true, DHT_NODES]);
    expect(r.publicAddress).toEqual({ host: lab.sites[3]!.wanAddress, port: PORT });
  });

  it('mapped by the router (NAT-PMP to miniupnpd): mapped at the granted external port; the DHT sees the WAN address', async () => {
    const site = lab.sites[4]!;
    const out = await nsExec(host(4).ns, '/usr/bin/natpmpc', ['-g', site.lanAddress, '-a', '7000', String(PORT), 'udp', '600']); // public, then private port
    const externalHost = /Public IP address : ([0-9.]+)/.exec(out)?.[1];
    const granted = /Mapped public port (\d+) protocol UDP to local port (\d+)/.exec(out);
    const externalPort = Number(granted?.[1]);
    expect([externalHost, externalPort > 0, Number(granted?.[2])]).toEqual([site.wanAddress, true, PORT]);
    const mapping = { externalHost: externalHost!, externalPort, via: 'nat-pmp' };
    const result = await probeFrom(host(4), { mapping });
    expectAllAnswered(result);
    const r = result.report;
    expect([r.type, r.rating, r.directlyReachable, r.punchable, r.via, r.doubleNat]).toEqual(['mapped', 'open', true, true, 'nat-pmp', false]);
    expect(r.publicAddress).toEqual({ host: site.wanAddress, port: externalPort });
    expect(r.observedAddress?.host).toBe(site.wanAddress);
  });
});
