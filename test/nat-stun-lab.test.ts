/**
 * DHT-STUN and the NAT-type classifier against real libtorrent DHT nodes (BEP42 `ip`) through real
 * Linux NATs (nftables in router namespaces, miniupnpd for the mapped case), built by the shared
 * NAT lab (test/natlab/). Everything runs inside each LAN host's namespace through the lab's agent
 * (nat-stun-lab-agent.ts): the production punch socket on port 7777, the production port mapper
 * for the mapped case, the reachability adapter with the namespace's real interface addresses.
 * Then an unknown host on the WAN sends to the reported public address, to check what
 * `directlyReachable` claims. Needs root and network namespaces: without them this suite fails
 * (it never skips).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from './natlab/agent-client.ts';
import { NatLab, type LabHost } from './natlab/lab.ts';
import type { LabOpenArgs, LabProbeResult } from './nat-stun-lab-agent.ts';
import type { UdpAddress } from '../sidecar/src/nat/udp-channel.ts';

const AGENT = './test/nat-stun-lab-agent.ts';
const UDP = './test/natlab/scenarios/udp.ts';
const PORT = 7777;
const DHT_NODES = 8;
/** How long an unsolicited datagram from the WAN gets to arrive (the lab has no delay; a dropped one never does). */
const INBOUND_WAIT_MS = 1000;

describe('DHT-STUN through real NATs (natlab)', () => {
  let lab: NatLab;
  let wan: AgentClient;
  let wanPort: number;
  const host = (site: number): LabHost => lab.sites[site]!.hosts[0]!;

  /** Opens the punch socket in `where` (mapping it when asked), probes, and returns the result with the agent. */
  async function probeFrom(where: LabHost, extra: Partial<LabOpenArgs> = {}): Promise<{ result: LabProbeResult; agent: AgentClient }> {
    const agent = await lab.agent(where);
    await agent.callWithin(20_000, AGENT, 'open', { port: PORT, nodes: lab.bootstrap, count: DHT_NODES, timeoutMs: 3000, ...extra } satisfies LabOpenArgs);
    const result = await agent.callWithin<LabProbeResult>(15_000, AGENT, 'probe');
    const seen = result.stun.observations.map((o) => (o.mapped === null ? o.outcome : `${o.mapped.host}:${o.mapped.port}`));
    console.log(`[${where.site.nat}${where.site.upnp ? '+upnp' : ''}] ${result.report.summary}\n  seen: ${[...new Set(seen)].join(' ')}`);
    return { result, agent };
  }

  /** Sends from an unknown WAN host to `to`; resolves with whether it reached the punch socket. */
  async function reachesFromWan(agent: AgentClient, to: UdpAddress): Promise<boolean> {
    const text = `d-probe-${randomBytes(8).toString('hex')}`; // 'd': the punch socket hands it to the KRPC channel
    for (let i = 0; i < 3; i++) await wan.call(UDP, 'send', wanPort, to, text);
    const deadline = Date.now() + INBOUND_WAIT_MS;
    for (;;) {
      const got = await agent.call<{ text: string }[]>(AGENT, 'inbound');
      if (got.some((g) => g.text === text)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
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
    wan = await lab.agent(lab.services);
    wanPort = await wan.call<number>(UDP, 'open', 0, await lab.serviceAddress());
  }, 120_000);
  afterAll(async () => { await lab?.close(); }, 60_000);

  it('no NAT: public at the host\'s own address and port, and reachable from anyone', async () => {
    const { result, agent } = await probeFrom(host(0));
    expectAllAnswered(result);
    const r = result.report;
    expect([r.type, r.rating, r.directlyReachable, r.punchable, r.routable, r.doubleNat, r.voters])
      .toEqual(['public', 'open', true, true, true, false, DHT_NODES]);
    expect(r.publicAddress).toEqual({ host: host(0).address, port: PORT });
    expect(await reachesFromWan(agent, r.publicAddress!)).toBe(true);
  });

  it('port-restricted cone (masquerade): cone at the router\'s WAN address with the port kept; not reachable unsolicited', async () => {
    const { result, agent } = await probeFrom(host(1));
    expectAllAnswered(result);
    const r = result.report;
    expect([r.type, r.rating, r.punchable, r.directlyReachable, r.portPreserved, r.voters, r.dissenters])
      .toEqual(['cone', 'moderate', true, false, true, DHT_NODES, 0]);
    expect(r.publicAddress).toEqual({ host: lab.sites[1]!.wanAddress, port: PORT });
    expect(await reachesFromWan(agent, r.publicAddress!)).toBe(false);
  });

  it('symmetric (masquerade random): a different port per DHT node, symmetric, not punchable', async () => {
    const { result } = await probeFrom(host(2));
    expectAllAnswered(result);
    const ports = new Set(result.stun.observations.map((o) => o.mapped!.port));
    expect(ports.size).toBeGreaterThan(DHT_NODES / 2);
    const r = result.report;
    expect([r.type, r.rating, r.punchable, r.publicAddress, r.publicHost]).toEqual(['symmetric', 'strict', false, null, lab.sites[2]!.wanAddress]);
  });

  it('full cone (DNAT): cone at the router\'s WAN address (STUN cannot see that it also filters nothing)', async () => {
    const { result, agent } = await probeFrom(host(3));
    expectAllAnswered(result);
    const r = result.report;
    expect([r.type, r.rating, r.punchable, r.directlyReachable, r.voters]).toEqual(['cone', 'moderate', true, false, DHT_NODES]);
    expect(r.publicAddress).toEqual({ host: lab.sites[3]!.wanAddress, port: PORT });
    // Conservative: the report does not claim direct reachability, though this NAT gives it.
    expect(await reachesFromWan(agent, r.publicAddress!)).toBe(true);
  });

  it('as the sidecar will run it: nodes from its DHT node\'s routing table (DhtClient)', async () => {
    const { result } = await probeFrom(host(1), { port: PORT + 1, viaDhtClient: true });
    const r = result.report;
    expect(result.stun.observations.length).toBeGreaterThanOrEqual(2);
    expect(result.stun.observations.every((o) => lab.bootstrap.includes(o.node))).toBe(true);
    expect([r.type, r.punchable, r.publicAddress]).toEqual(['cone', true, { host: lab.sites[1]!.wanAddress, port: PORT + 1 }]);
  });

  it('mapped by the router (the port mapper, NAT-PMP at miniupnpd): mapped at the granted port, reachable there', async () => {
    const site = lab.sites[4]!;
    const { result, agent } = await probeFrom(host(4), { map: { method: 'natpmp', externalPort: 7000 } });
    expectAllAnswered(result);
    expect(result.mapping).toMatchObject({ externalHost: site.wanAddress, internalPort: PORT, via: 'nat-pmp', publicAddress: true });
    const r = result.report;
    expect([r.type, r.rating, r.directlyReachable, r.punchable, r.via, r.doubleNat]).toEqual(['mapped', 'open', true, true, 'nat-pmp', false]);
    expect(r.publicAddress).toEqual({ host: site.wanAddress, port: result.mapping!.externalPort });
    expect(r.observedAddress?.host).toBe(site.wanAddress);
    expect(await reachesFromWan(agent, r.publicAddress!)).toBe(true);
  });
});
