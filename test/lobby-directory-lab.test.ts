/**
 * The lobby directory through real NATs (natlab, nftables in router namespaces) and real libtorrent
 * DHT nodes (stock BEP44 storage): a host behind a port-restricted NAT with no port mapping opens a
 * public lobby — its beacon is announced on the topic but unreachable from outside — and a browser
 * behind another port-restricted NAT finds it through the directory only (the beacon route counts it
 * unreachable). Needs root and network namespaces: without them this suite fails (it never skips).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatLab } from './natlab/lab.ts';
import type { LabBrowsed, LabHosted } from './lobby-directory-lab-agent.ts';

const AGENT = './test/lobby-directory-lab-agent.ts';

describe('lobby directory through real NATs (natlab)', () => {
  let lab: NatLab;
  beforeAll(async () => {
    lab = await NatLab.create({ sites: [{ nat: 'port-restricted' }, { nat: 'port-restricted' }], dhtNodes: 16 });
  }, 120_000);
  afterAll(async () => { await lab?.close(); }, 60_000);

  it('a port-restricted host with no mapping is browsable through the directory, not through its beacon', async () => {
    const hostSite = lab.sites[0]!;
    const hostAgent = await lab.agent(hostSite.hosts[0]!);
    const hosted = await hostAgent.callWithin<LabHosted>(60_000, AGENT, 'host', { bootstrap: lab.bootstrap, game: 'natgame', name: 'Behind NAT', address: hostSite.wanAddress });
    console.log(`[host ${hostSite.nat}] lobby stored on ${hosted.lobbyStoredOn} nodes, announced to ${String(hosted.announcedTo)}, beacon port ${String(hosted.beaconPort)}; ` +
      `directory: ${hosted.directoryError ?? JSON.stringify(hosted.directory)} (slot stored on ${String(hosted.directoryStoredOn)})`);
    expect(hosted.lobbyStoredOn).toBeGreaterThan(0);
    expect(hosted.directoryError).toBeNull();
    expect(hosted.directory).toMatchObject({ action: 'written', entries: 1 });
    expect(hosted.directoryStoredOn).toBeGreaterThan(0);
    expect(hosted.announcedTo).toBeGreaterThan(0);

    const browserAgent = await lab.agent(lab.sites[1]!.hosts[0]!);
    const browsed = await browserAgent.callWithin<LabBrowsed>(60_000, AGENT, 'browse', { bootstrap: lab.bootstrap, game: 'natgame' });
    console.log(`[browser] ${JSON.stringify(browsed.lobbies)} topic peers ${browsed.stats.peers}, unreachable ${browsed.stats.rejected.unreachable}; directory ${JSON.stringify(browsed.stats.directory)}`);
    expect(browsed.lobbies).toEqual([{ name: 'Behind NAT', source: 'directory', publicKey: hosted.publicKey }]);
    expect(browsed.stats.peers).toBe(1); // the announce reached the DHT…
    expect(browsed.stats.rejected.unreachable).toBe(1); // …but the beacon behind the NAT cannot be fetched
    expect(browsed.stats.directory).toMatchObject({ keys: 1, resolved: 1, slotErrors: 0 });
  }, 150_000);
});
