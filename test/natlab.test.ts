/**
 * The NAT lab (test/natlab/) behaves as it claims: each NAT kind's mapping and filtering, BEP42
 * `ip` from libtorrent nodes behind each NAT, miniupnpd mappings, hairpin on/off, the natlab.md
 * hole-punching result, and a cleanup that leaves nothing behind. Needs root and namespaces: it
 * FAILS (never skips) without them. Figures are printed, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentClient } from './natlab/agent-client.ts';
import { type LabHost, type LabSite, NatLab } from './natlab/lab.ts';
import { listNamespaces } from './natlab/namespaces.ts';
import type { Peer, Received } from './natlab/scenarios/udp.ts';

const UDP = './test/natlab/scenarios/udp.ts';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function peerOf(hostPort: string): Peer {
  const [host, port] = hostPort.split(':');
  return { host: host!, port: Number(port) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let lab: NatLab;
let wan: AgentClient;
/** Two public addresses in the services namespace, for probes from "anyone". */
let wanA: string;
let wanB: string;
const site: Record<string, LabSite> = {};

beforeAll(async () => {
  const t0 = performance.now();
  lab = await NatLab.create({
    sites: [
      { nat: 'port-restricted', upnp: true, hairpin: true, hosts: 2 },
      { nat: 'port-restricted' },
      { nat: 'symmetric' },
      { nat: 'symmetric' },
      { nat: 'full-cone', hairpin: true },
      { nat: 'none' },
      { nat: 'port-restricted', upnp: true, hairpin: false, hosts: 2 },
    ],
    dhtNodes: 10,
  });
  console.log(`[natlab] 7 sites (9 hosts, 2 miniupnpd) + 10 libtorrent nodes up in ${Math.round(performance.now() - t0)} ms (prefix ${lab.prefix})`);
  [site['pr-upnp'], site['pr'], site['sym'], site['sym2'], site['fc'], site['pub'], site['pr-nohair']] = lab.sites;
  wan = await lab.agent(lab.services);
  wanA = await lab.serviceAddress();
  wanB = await lab.serviceAddress();
}, 60_000);

afterAll(async () => {
  await lab?.close();
});

async function hostAgent(host: LabHost, port: number): Promise<AgentClient> {
  const agent = await lab.agent(host);
  await agent.call(UDP, 'open', port);
  return agent;
}

/** Polls `port` of `agent` until a datagram with `text` arrives (true) or `ms` pass (false). */
async function arrives(agent: AgentClient, port: number, text: string, ms = 1_000): Promise<Received | null> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const got = await agent.call<Received[]>(UDP, 'received', port);
    const hit = got.find((r) => r.text === text);
    if (hit) return hit;
    await sleep(50);
  }
  return null;
}

describe('NAT lab: mapping and filtering of each NAT kind', () => {
  it('libtorrent nodes report BEP42 ip = router WAN address and the source port (port-restricted keeps it)', async () => {
    const a = await hostAgent(site['pr']!.hosts[0]!, 7001);
    for (const node of lab.bootstrap.slice(0, 3)) {
      const r = await a.call<{ ip: Peer | null }>(UDP, 'krpcPing', 7001, peerOf(node));
      expect(r.ip).toEqual({ host: site['pr']!.wanAddress, port: 7001 });
    }
    // Filtering by address+port: a WAN stranger, and the pinged node's address from another port, are dropped.
    await wan.call(UDP, 'open', 7101, wanA);
    await a.call(UDP, 'send', 7001, { host: wanA, port: 7101 }, 'hello');
    expect(await arrives(wan, 7101, 'hello')).not.toBeNull();
    await wan.call(UDP, 'send', 7101, { host: site['pr']!.wanAddress, port: 7001 }, 'reply-same');
    expect(await arrives(a, 7001, 'reply-same')).not.toBeNull();
    await wan.call(UDP, 'open', 7102, wanA);
    await wan.call(UDP, 'send', 7102, { host: site['pr']!.wanAddress, port: 7001 }, 'other-port');
    await wan.call(UDP, 'open', 7103, wanB);
    await wan.call(UDP, 'send', 7103, { host: site['pr']!.wanAddress, port: 7001 }, 'other-addr');
    expect(await arrives(a, 7001, 'other-port', 600)).toBeNull();
    expect(await arrives(a, 7001, 'other-addr', 100)).toBeNull();
  });

  it('symmetric: a new public port per destination, and BEP42 names it', async () => {
    const a = await hostAgent(site['sym']!.hosts[0]!, 7002);
    const ports = new Set<number>();
    for (const node of lab.bootstrap.slice(0, 4)) {
      const r = await a.call<{ ip: Peer | null }>(UDP, 'krpcPing', 7002, peerOf(node));
      expect(r.ip?.host).toBe(site['sym']!.wanAddress);
      ports.add(r.ip!.port);
    }
    console.log(`[natlab] symmetric NAT: 4 destinations -> public ports ${[...ports].join(', ')}`);
    expect(ports.size).toBe(4);
  });

  it('full cone: after one outbound packet anyone can reach the mapped port', async () => {
    const a = await hostAgent(site['fc']!.hosts[0]!, 7003);
    const r = await a.call<{ ip: Peer | null }>(UDP, 'krpcPing', 7003, peerOf(lab.bootstrap[0]!));
    expect(r.ip).toEqual({ host: site['fc']!.wanAddress, port: 7003 });
    await wan.call(UDP, 'open', 7104, wanB);
    await wan.call(UDP, 'send', 7104, r.ip, 'stranger');
    const got = await arrives(a, 7003, 'stranger');
    expect(got?.from).toEqual({ host: wanB, port: 7104 });
  });

  it('no NAT: the host has a public address that anyone reaches', async () => {
    const host = site['pub']!.hosts[0]!;
    const a = await hostAgent(host, 7004);
    const r = await a.call<{ ip: Peer | null }>(UDP, 'krpcPing', 7004, peerOf(lab.bootstrap[1]!));
    expect(r.ip).toEqual({ host: host.address, port: 7004 });
    await wan.call(UDP, 'open', 7105, wanA);
    await wan.call(UDP, 'send', 7105, { host: host.address, port: 7004 }, 'direct');
    expect(await arrives(a, 7004, 'direct')).not.toBeNull();
  });

  it('two hosts behind one router: each is mapped and reachable by its own peer', async () => {
    const [h0, h1] = site['pr-upnp']!.hosts;
    const a = await hostAgent(h0!, 7005);
    const b = await hostAgent(h1!, 7005);
    const ra = await a.call<{ ip: Peer | null }>(UDP, 'krpcPing', 7005, peerOf(lab.bootstrap[2]!));
    const rb = await b.call<{ ip: Peer | null }>(UDP, 'krpcPing', 7005, peerOf(lab.bootstrap[2]!));
    console.log(`[natlab] two hosts on port 7005 behind one router: public ports ${ra.ip?.port} and ${rb.ip?.port}`);
    expect(ra.ip?.host).toBe(site['pr-upnp']!.wanAddress);
    expect(rb.ip?.host).toBe(site['pr-upnp']!.wanAddress);
    expect(ra.ip?.port).not.toBe(rb.ip?.port);
  });
});

describe('NAT lab: miniupnpd', () => {
  it('maps a port for upnpc and one for natpmpc; the WAN reaches both', async () => {
    const s = site['pr-upnp']!;
    const host = s.hosts[0]!;
    const upnpc = lab.spawn(host.ns, '/usr/bin/upnpc', ['-a', host.address, '7010', '7010', 'UDP']);
    expect(await upnpc.exited).toBe(0);
    expect(upnpc.stdout).toMatch(new RegExp(`external ${s.wanAddress.replace(/\./g, '\\.')}:7010 UDP is redirected to internal ${host.address.replace(/\./g, '\\.')}:7010`));
    const natpmpc = lab.spawn(host.ns, '/usr/bin/natpmpc', ['-g', s.lanAddress, '-a', '7011', '7011', 'udp', '3600']);
    expect(await natpmpc.exited).toBe(0);
    expect(natpmpc.stdout).toMatch(/Mapped public port 7011 protocol UDP to local port 7011/);
    const a = await hostAgent(host, 7010);
    await a.call(UDP, 'open', 7011);
    await wan.call(UDP, 'open', 7106, wanB);
    await wan.call(UDP, 'send', 7106, { host: s.wanAddress, port: 7010 }, 'via-upnp');
    await wan.call(UDP, 'send', 7106, { host: s.wanAddress, port: 7011 }, 'via-natpmp');
    expect(await arrives(a, 7010, 'via-upnp')).not.toBeNull();
    expect(await arrives(a, 7011, 'via-natpmp')).not.toBeNull();
  });
});

describe('NAT lab: cleanup', () => {
  it('close() leaves no namespace with the run prefix and no process it started', async () => {
    const t0 = performance.now();
    const other = await NatLab.create({ sites: [{ nat: 'port-restricted', upnp: true }, { nat: 'symmetric' }], dhtNodes: 20 });
    const started = performance.now() - t0;
    const agent = await other.agent(other.sites[0]!.hosts[0]!);
    expect(await agent.call<number>(UDP, 'open', 0)).toBeGreaterThan(0);
    const pids = other.processes.map((p) => p.pid);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    const t1 = performance.now();
    await other.close();
    console.log(`[natlab] lab with 2 sites (1 miniupnpd) + 20 libtorrent nodes: start ${Math.round(started)} ms, stop ${Math.round(performance.now() - t1)} ms`);
    expect((await listNamespaces()).filter((n) => n.startsWith(other.prefix))).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l.includes(other.dir))).toEqual([]);
  }, 60_000);
});
