/**
 * Hole punching through real Linux NATs (test/natlab/: network namespaces, nftables routers on a
 * routed WAN, libtorrent DHT nodes). Each side runs in its own LAN namespace (nat-punch-agent.ts):
 * it measures its punch socket with DHT-STUN, then the joiner announces on the host's rendezvous
 * over the libtorrent nodes and punches. Needs root and namespaces: without them the lab throws
 * (the test fails, it never skips).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import type { NatType } from '../sidecar/src/nat/nat-type.ts';
import type { AgentClient } from './natlab/agent-client.ts';
import { NatLab } from './natlab/lab.ts';
import type { JoinResult, SetupResult } from './nat-punch-agent.ts';

const AGENT = './test/nat-punch-agent.ts';
/** Site indices of the lab built below. */
const PR_A = 0;
const PR_B = 1;
const SYM_A = 2;
const SYM_B = 3;
const FULL_CONE = 4;
const PUBLIC = 5;
const UDP = './test/natlab/scenarios/udp.ts';

let lab: NatLab | null = null;

beforeAll(async () => {
  lab = await NatLab.create({
    sites: [{ nat: 'port-restricted' }, { nat: 'port-restricted' }, { nat: 'symmetric' }, { nat: 'symmetric' }, { nat: 'full-cone' }, { nat: 'none' }],
    dhtNodes: 8,
  });
}, 120_000);

afterAll(async () => {
  await lab?.close();
});

interface Side {
  agent: AgentClient;
  setup: SetupResult;
}

async function sideAt(site: number): Promise<Side> {
  const agent = await lab!.agent(lab!.sites[site]!.hosts[0]!);
  const setup = await agent.call<SetupResult>(AGENT, 'setup', lab!.bootstrap);
  return { agent, setup };
}

/** A host at `hostSite` (watching its rendezvous) and a joiner at `joinSite` that punches to it. */
async function punch(hostSite: number, joinSite: number, options: { timeoutMs?: number; openerTtl?: number } = {}): Promise<{ host: Side; joiner: Side; result: JoinResult }> {
  const [host, joiner] = await Promise.all([sideAt(hostSite), sideAt(joinSite)]);
  const keypair = Keypair.generate();
  await host.agent.call(AGENT, 'host', keypair.toSecretKeyHex());
  const hostPunchAddress = host.setup.publicAddress ?? { host: host.setup.publicHost ?? lab!.sites[hostSite]!.wanAddress, port: host.setup.announcePort };
  const timeoutMs = options.timeoutMs ?? 20_000;
  const result = await joiner.agent.callWithin<JoinResult>(timeoutMs + 10_000, AGENT, 'join', {
    hostKey: keypair.publicKey.z32,
    hostPunchAddress,
    natType: joiner.setup.nat,
    hostNatType: host.setup.nat,
    announcePort: joiner.setup.announcePort,
    timeoutMs,
    ...(options.openerTtl !== undefined ? { openerTtl: options.openerTtl } : {}),
  });
  return { host, joiner, result };
}

/** Sends DATA both ways and checks every datagram arrives on the other side. */
async function exchange(host: Side, joiner: Side): Promise<void> {
  const toHost = Array.from({ length: 5 }, (_, i) => `to-host-${i}`);
  const toJoiner = Array.from({ length: 5 }, (_, i) => `to-joiner-${i}`);
  const atHost: string[] = [];
  const atJoiner: string[] = [];
  const offHost = host.agent.on((event, data) => { if (event === 'data') atHost.push((data as { text: string }).text); });
  const offJoiner = joiner.agent.on((event, data) => { if (event === 'data') atJoiner.push((data as { text: string }).text); });
  await host.agent.waitEvent('path', 5_000).catch(() => undefined); // may have arrived already
  await joiner.agent.call(AGENT, 'send', 0, toHost);
  await host.agent.call(AGENT, 'send', 0, toJoiner);
  const deadline = Date.now() + 5_000;
  while ((atHost.length < 5 || atJoiner.length < 5) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  offHost();
  offJoiner();
  expect(atHost.sort()).toEqual(toHost);
  expect(atJoiner.sort()).toEqual(toJoiner);
}

function expectNat(side: Side, nat: NatType): void {
  expect(side.setup.nat, `DHT-STUN classification: ${JSON.stringify(side.setup)}`).toBe(nat);
}

async function closeAll(...sides: Side[]): Promise<void> {
  await Promise.all(sides.map((s) => s.agent.close()));
}

describe('hole punching in the NAT lab', () => {
  it('the punch socket\'s per-datagram TTL: TTL-2 datagrams die in the WAN, the ones sent among them at the default TTL arrive', async () => {
    const sender = await sideAt(PR_A);
    const receiver = await lab!.agent(lab!.sites[PUBLIC]!.hosts[0]!);
    try {
      const port = await receiver.call<number>(UDP, 'open', 0);
      await sender.agent.call(AGENT, 'sendMixedTtl', { host: lab!.sites[PUBLIC]!.hosts[0]!.address, port }, 40, 2);
      await new Promise((r) => setTimeout(r, 500));
      const got = (await receiver.call<{ text: string }[]>(UDP, 'received', port)).map((r) => Number(r.text.slice(2)));
      expect(got.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
    } finally {
      await closeAll(sender);
      await receiver.close();
    }
  }, 60_000);


  it('port-restricted ↔ port-restricted: the path opens through the rendezvous and carries DATA both ways', async () => {
    const { host, joiner, result } = await punch(PR_A, PR_B);
    try {
      expectNat(host, 'cone');
      expectNat(joiner, 'cone');
      expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
      if (!result.ok) return;
      expect(result.remote).toEqual(host.setup.publicAddress);
      expect(result.stats.openersSent).toBeGreaterThanOrEqual(1);
      expect(result.stats.probesReceived).toBeGreaterThanOrEqual(1);
      console.log(`[figure] port-restricted ↔ port-restricted: path in ${result.ms} ms (STUN ${host.setup.stunMs}/${joiner.setup.stunMs} ms), ${JSON.stringify(result.stats)}`);
      await exchange(host, joiner);
    } finally {
      await closeAll(host, joiner);
    }
  }, 90_000);

  it('port-restricted ↔ port-restricted without the low-TTL opener (TTL 64) does not open: the TTL is what makes it work', async () => {
    const { host, joiner, result } = await punch(PR_A, PR_B, { openerTtl: 64, timeoutMs: 8_000 });
    try {
      expect(result, JSON.stringify(result)).toMatchObject({ ok: false, code: 'UNREACHABLE_NAT' });
      const counters = await host.agent.call<{ host: { probesSent: number; welcomesSent: number } }>(AGENT, 'counters');
      expect(counters.host.probesSent).toBeGreaterThanOrEqual(1); // the host saw the rendezvous and probed
      expect(counters.host.welcomesSent).toBe(0);
      expect(result.stats.probesReceived).toBe(0); // but its router picked another port: the joiner's NAT dropped them
    } finally {
      await closeAll(host, joiner);
    }
  }, 90_000);

  it('symmetric ↔ symmetric fails at once with UNREACHABLE_NAT, before sending anything', async () => {
    const { host, joiner, result } = await punch(SYM_A, SYM_B);
    try {
      expectNat(host, 'symmetric');
      expectNat(joiner, 'symmetric');
      expect(result, JSON.stringify(result)).toMatchObject({ ok: false, code: 'UNREACHABLE_NAT' });
      if (result.ok) return;
      expect(result.message).toMatch(/symmetric.*UPnP/);
      expect(result.stats.openersSent + result.stats.hellosSent + result.stats.announces).toBe(0);
    } finally {
      await closeAll(host, joiner);
    }
  }, 90_000);

  it('full-cone host ← symmetric joiner: the joiner\'s normal-TTL HELLOs get through and the path carries DATA', async () => {
    const { host, joiner, result } = await punch(FULL_CONE, SYM_A);
    try {
      expectNat(host, 'cone');
      expectNat(joiner, 'symmetric');
      expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
      if (!result.ok) return;
      console.log(`[figure] full-cone host ← symmetric joiner: path in ${result.ms} ms, ${JSON.stringify(result.stats)}`);
      await exchange(host, joiner);
    } finally {
      await closeAll(host, joiner);
    }
  }, 90_000);

  it('symmetric host ← full-cone joiner: the host\'s probes come from a new port, the joiner follows them', async () => {
    const { host, joiner, result } = await punch(SYM_B, FULL_CONE);
    try {
      expectNat(host, 'symmetric');
      expectNat(joiner, 'cone');
      expect(result, JSON.stringify(result)).toMatchObject({ ok: true });
      if (!result.ok) return;
      expect(result.remote.host).toBe(host.setup.publicHost);
      console.log(`[figure] symmetric host ← full-cone joiner: path in ${result.ms} ms, ${JSON.stringify(result.stats)}`);
      await exchange(host, joiner);
    } finally {
      await closeAll(host, joiner);
    }
  }, 90_000);

  it('port-restricted host ← symmetric joiner: no answer, UNREACHABLE_NAT naming both NAT types', async () => {
    const { host, joiner, result } = await punch(PR_A, SYM_B, { timeoutMs: 6_000 });
    try {
      expect(result, JSON.stringify(result)).toMatchObject({ ok: false, code: 'UNREACHABLE_NAT' });
      if (result.ok) return;
      expect(result.message).toMatch(/your NAT is symmetric, the host's is cone/);
      expect(result.message).toMatch(/UPnP/);
    } finally {
      await closeAll(host, joiner);
    }
  }, 90_000);
});
