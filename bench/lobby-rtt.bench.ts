/**
 * The round-trip time a lobby list shows (`rttMs`, lobby/beacon-client.ts: the TCP handshake of a
 * beacon fetch), in the NAT lab (test/natlab/: needs root and network namespaces): a host with a
 * public address serves its beacon, a player on another site fetches it, with LINK_MS of delay on
 * each site's access link (one way 2 × LINK_MS, a round trip 4 × LINK_MS). Baseline in the same
 * run: a plain TCP connect from the player to the same port (the handshake alone). The figure
 * should match the baseline and the injected round trip, whatever the HTTP exchange after it costs.
 */
import { NatLab } from '../test/natlab/lab.ts';
import { fmt, quantile } from './measure.ts';

const BEACON = './test/natlab/scenarios/beacon.ts';
const SAMPLES = 15;
const LINK_MS = 20;

export async function run(): Promise<void> {
  const lab = await NatLab.create({ sites: [{ nat: 'none' }, { nat: 'none' }], dhtNodes: 0 });
  try {
    await lab.setLinks([{ to: lab.sites[0]!, delayMs: LINK_MS }, { to: lab.sites[1]!, delayMs: LINK_MS }]);
    const hostSite = lab.sites[0]!.hosts[0]!;
    const host = await lab.agent(hostSite);
    const port = await host.call<number>(BEACON, 'serve', hostSite.address, 'rtt-bench');
    const player = await lab.agent(lab.sites[1]!.hosts[0]!);
    const { beacon, connect } = await player.callWithin<{ beacon: number[]; connect: number[] }>(60_000, BEACON, 'measure', hostSite.address, port, SAMPLES);
    const injected = 4 * LINK_MS;
    const b50 = quantile(beacon, 0.5);
    const c50 = quantile(connect, 0.5);
    console.log(`links ${LINK_MS} ms each (injected round trip ${injected} ms): beacon fetch rttMs p50 ${fmt(b50, 1)} ms (min ${fmt(Math.min(...beacon), 1)}, max ${fmt(Math.max(...beacon), 1)}), n=${beacon.length}`);
    console.log(`  baseline plain TCP connect p50 ${fmt(c50, 1)} ms: ratio ${fmt(b50 / c50, 2)}; vs the injected round trip ${fmt(b50 / injected, 2)}`);
  } finally {
    await lab.close();
  }
}
