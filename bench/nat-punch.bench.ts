/**
 * Hole punching in the NAT lab (test/natlab/: needs root and network namespaces): time from
 * `punchToHost` to a verified WELCOME between two port-restricted NATs, over 8 libtorrent DHT nodes,
 * with the host polling its rendezvous every 2 s (the default) and every 0.5 s. Baseline measured in
 * the same run: one BEP5 announce by the joiner's DhtClient (the DHT work a punch cannot avoid).
 */
import { Keypair } from '../sidecar/src/core/keys.ts';
import type { JoinResult, SetupResult } from '../test/nat-punch-agent.ts';
import { NatLab } from '../test/natlab/lab.ts';
import { fmt, quantile } from './measure.ts';

const AGENT = './test/nat-punch-agent.ts';
const SAMPLES = 6;

async function sample(lab: NatLab, pollIntervalMs: number): Promise<{ pathMs: number; announceMs: number }> {
  const [hostAgent, joinAgent] = await Promise.all([lab.agent(lab.sites[0]!.hosts[0]!), lab.agent(lab.sites[1]!.hosts[0]!)]);
  try {
    const [host, joiner] = await Promise.all([
      hostAgent.call<SetupResult>(AGENT, 'setup', lab.bootstrap),
      joinAgent.call<SetupResult>(AGENT, 'setup', lab.bootstrap),
    ]);
    if (host.publicAddress === null) throw new Error(`host NAT not classified as cone: ${JSON.stringify(host)}`);
    const announceMs = await joinAgent.call<number>(AGENT, 'announceOnly', joiner.announcePort);
    const keypair = Keypair.generate();
    await hostAgent.call(AGENT, 'host', keypair.toSecretKeyHex(), pollIntervalMs);
    const result = await joinAgent.callWithin<JoinResult>(40_000, AGENT, 'join', {
      hostKey: keypair.publicKey.z32, hostPunchAddress: host.publicAddress, natType: joiner.nat, hostNatType: host.nat,
      announcePort: joiner.announcePort, timeoutMs: 20_000,
    });
    if (!result.ok) throw new Error(`punch failed: ${result.code} ${result.message}`);
    return { pathMs: result.ms, announceMs };
  } finally {
    await Promise.all([hostAgent.close(), joinAgent.close()]);
  }
}

export async function run(): Promise<void> {
  const lab = await NatLab.create({ sites: [{ nat: 'port-restricted' }, { nat: 'port-restricted' }], dhtNodes: 8 });
  try {
    for (const pollIntervalMs of [2000, 500]) {
      const path: number[] = [];
      const announce: number[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const s = await sample(lab, pollIntervalMs);
        path.push(s.pathMs);
        announce.push(s.announceMs);
      }
      const p50 = quantile(path, 0.5);
      const base = quantile(announce, 0.5);
      console.log(`port-restricted ↔ port-restricted, host polls every ${pollIntervalMs} ms: time to path p50 ${fmt(p50)} ms, max ${fmt(Math.max(...path))} ms (n=${path.length}); `
        + `baseline one DHT announce p50 ${fmt(base)} ms; ratio ${fmt(p50 / base, 1)}×`);
    }
  } finally {
    await lab.close();
  }
}
