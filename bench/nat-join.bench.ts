/**
 * Joining a lobby behind a NAT, end to end, in the NAT lab (test/natlab/: needs root and network
 * namespaces), with 40 ms of delay on every access link (the host's, the player's and the DHT
 * nodes': one way between two sites is 80 ms, a round trip 160 ms). The host runs `serve` behind a
 * port-restricted NAT without a router mapping and opens its lobby with `lobby.host` (no address);
 * each sample starts a fresh player `serve` behind another port-restricted NAT, calls `lobby.join`
 * as Pkarr.join() does, and sends a game datagram to the address it answers: the figure is
 * `lobby.join` call → first game echo back. Baseline in the same run: one KRPC ping round trip
 * from the player's site to a DHT node (one RTT), so the result also reads in round trips.
 */
import { NatLab } from '../test/natlab/lab.ts';
import type { AgentClient } from '../test/natlab/agent-client.ts';
import { fmt, quantile } from './measure.ts';

const SIDECAR = './test/natlab/scenarios/sidecar.ts';
const UDP = './test/natlab/scenarios/udp.ts';
const SAMPLES = 7;
const LINK_MS = 40;

async function hostLobby(agent: AgentClient, bootstrap: string[]): Promise<string> {
  await agent.call(SIDECAR, 'start', 'host', bootstrap);
  await agent.call(SIDECAR, 'gameServer', 7777);
  await agent.call(SIDECAR, 'call', 'host', 'keys.generate', { name: 'lobby' });
  const opened = await agent.callWithin<{ result?: { inviteCode: string }; error?: { message: string } }>(90_000, SIDECAR, 'call', 'host', 'lobby.host', {
    key: 'lobby', game: 'bench', gameVersion: '1', name: 'bench host', maxPlayers: 64, port: 7777,
  }, 80_000);
  if (!opened.result) throw new Error(`lobby.host: ${opened.error?.message}`);
  return opened.result.inviteCode;
}

async function joinOnce(lab: NatLab, code: string): Promise<{ ms: number; via: string; resolveMs: number; pathMs: number }> {
  const agent = await lab.agent(lab.sites[1]!.hosts[0]!);
  try {
    await agent.call(SIDECAR, 'start', 'joiner', lab.bootstrap);
    // Let the fresh sidecar learn its own address first, as a game that started a while ago would.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const status = await agent.call<{ result?: { nat?: { reachability: string } } }>(SIDECAR, 'call', 'joiner', 'status', {});
      if (status.result?.nat?.reachability !== undefined && status.result.nat.reachability !== 'unknown') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const started = performance.now();
    const joined = await agent.callWithin<{ result?: { via: string; host: string; port: number; timings: { resolveMs: number; pathMs: number } }; error?: { message: string } }>(60_000, SIDECAR, 'call', 'joiner', 'lobby.join', { code, timeoutMs: 30_000 }, 50_000);
    if (!joined.result) throw new Error(`lobby.join: ${joined.error?.message}`);
    const echo = await agent.call<{ echoes: number; rttMs: number[] }>(SIDECAR, 'gameClient', joined.result.host, joined.result.port, 1, 10_000);
    if (echo.echoes === 0) throw new Error('no game echo through the path');
    return { ms: performance.now() - started, via: joined.result.via, ...joined.result.timings };
  } finally {
    await agent.close();
  }
}

export async function run(): Promise<void> {
  const lab = await NatLab.create({ sites: [{ nat: 'port-restricted' }, { nat: 'port-restricted' }], dhtNodes: 12 });
  try {
    await lab.setLinks([{ to: lab.sites[0]!, delayMs: LINK_MS }, { to: lab.sites[1]!, delayMs: LINK_MS }, { to: 'services', delayMs: LINK_MS }]);
    const host = await lab.agent(lab.sites[0]!.hosts[0]!);
    const code = await hostLobby(host, lab.bootstrap);
    const probe = await lab.agent(lab.sites[1]!.hosts[0]!);
    const port = await probe.call<number>(UDP, 'open', 0);
    const [h, p] = lab.bootstrap[0]!.split(':');
    const { rtts } = await probe.call<{ rtts: number[] }>(UDP, 'pingTimes', port, { host: h, port: Number(p) }, 5, 2_000);
    await probe.close();
    const rtt = quantile(rtts, 0.5);
    const joins: number[] = [];
    const resolves: number[] = [];
    const paths: number[] = [];
    const vias = new Set<string>();
    for (let i = 0; i < SAMPLES; i++) {
      const sample = await joinOnce(lab, code);
      joins.push(sample.ms);
      resolves.push(sample.resolveMs);
      paths.push(sample.pathMs);
      vias.add(sample.via);
    }
    const p50 = quantile(joins, 0.5);
    const p95 = quantile(joins, 0.95);
    console.log(`links ${LINK_MS} ms each (site-to-DHT RTT p50 ${fmt(rtt)} ms, baseline): lobby.join -> first game echo, port-restricted <- port-restricted, via ${[...vias].join('/')}`);
    console.log(`  p50 ${fmt(p50)} ms (${fmt(p50 / rtt, 1)} RTT), p95 ${fmt(p95)} ms (${fmt(p95 / rtt, 1)} RTT), n=${joins.length}; goal p50 < 3000 ms`);
    console.log(`  of which resolving the lobby p50 ${fmt(quantile(resolves, 0.5))} ms (${fmt(quantile(resolves, 0.5) / rtt, 1)} RTT), opening the path p50 ${fmt(quantile(paths, 0.5))} ms (${fmt(quantile(paths, 0.5) / rtt, 1)} RTT); the rest is the first game round trip`);
  } finally {
    await lab.close();
  }
}
