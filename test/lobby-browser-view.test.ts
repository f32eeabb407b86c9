/**
 * What a player's lobby list shows, from LobbyBrowser (sidecar/src/lobby/lobby-browser.ts), on
 * 127.0.0.1 with real beacons and (for the LAN) real loopback multicast, and a topic "DHT" that
 * hands out the beacons' addresses: each lobby's round-trip time (measured on its beacon fetch,
 * null when its host was never contacted), a lobby heard on the LAN listed as LAN even when its
 * beacon also answered (keeping the beacon's round-trip time), and the one home of diffing and
 * sorting: a client that applies found/updated/lost at `positionOf` holds exactly the browser's
 * sorted list, through reorders, closes, vanished hosts and filter changes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PkarrClient } from '../sidecar/src/client/types.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import type { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { LanDiscovery } from '../sidecar/src/lan/lan-discovery.ts';
import { BeaconServer } from '../sidecar/src/lobby/beacon-server.ts';
import { LobbyBrowser, type BrowsedLobby, type LobbyBrowserOptions } from '../sidecar/src/lobby/lobby-browser.ts';
import { signLobby, type LobbyInfo } from '../sidecar/src/lobby/lobby-record.ts';
import type { TopicDht } from '../sidecar/src/lobby/topic.ts';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const GAME = { game: 'view', gameVersion: '1' };

function info(name: string, beaconPort: number | undefined, extra: Partial<LobbyInfo> = {}): LobbyInfo {
  return { ...GAME, name, players: 1, maxPlayers: 4, open: true, ...(beaconPort === undefined ? {} : { beaconPort }), endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 7777 }], ...extra };
}

/** A host: a key and a beacon on 127.0.0.1 serving its current record. */
interface Host { keypair: Keypair; beacon: BeaconServer; port: number; packet: SignedPacket | null; sign(extra?: Partial<LobbyInfo>): SignedPacket; name: string }

async function host(name: string, extra: Partial<LobbyInfo> = {}): Promise<Host> {
  const keypair = Keypair.generate();
  const beacon = await BeaconServer.start({ host: '127.0.0.1' });
  cleanup.push(() => beacon.close());
  let current = extra;
  let last = 0n;
  const h: Host = {
    keypair, beacon, name, port: beacon.port, packet: null,
    sign(change = {}) {
      current = { ...current, ...change };
      last = nowMicros() > last ? nowMicros() : last + 1n; // strictly newer each time
      const packet = signLobby(keypair, info(name, h.port, current), { timestamp: last });
      beacon.setPacket(packet);
      h.packet = packet;
      return packet;
    },
  };
  h.sign();
  return h;
}

/** A topic "DHT" whose lookup returns the beacons of `hosts` (those still listed). */
function topicOf(hosts: Host[]): TopicDht {
  return {
    announce: async () => 0,
    lookup: async (_hash, onPeer) => {
      for (const h of hosts) onPeer('127.0.0.1', h.port); // a closed beacon's port stays announced
      return hosts.length;
    },
  };
}

/** A pkarr client that resolves the given packets by key (known keys, the directory: never contacts the host). */
function clientOf(packets: SignedPacket[]): PkarrClient {
  const byKey = new Map(packets.map((p) => [p.publicKey.z32, p]));
  // Only resolve is used by the browser (known keys); the rest of the interface is not reached.
  return {
    resolve: async (key: { z32: string }) => {
      const packet = byKey.get(key.z32);
      return packet === undefined ? null : { packet, source: 'dht' };
    },
  } as unknown as PkarrClient;
}

function browser(options: Partial<LobbyBrowserOptions>): LobbyBrowser {
  const b = new LobbyBrowser({ ...GAME, dht: null, client: null, directory: false, scan: { beaconTimeoutMs: 3000 }, ...options });
  cleanup.push(() => b.close());
  return b;
}

/** A client's copy of the list, kept only from the events and positionOf (no diffing, no sorting). */
function mirror(b: LobbyBrowser): { keys: string[]; events: string[] } {
  const view = { keys: [] as string[], events: [] as string[] };
  const place = (l: BrowsedLobby): void => {
    const index = b.positionOf(l.publicKey.z32);
    expect(index).toBeGreaterThanOrEqual(0);
    const at = view.keys.indexOf(l.publicKey.z32);
    if (at >= 0) view.keys.splice(at, 1);
    view.keys.splice(index, 0, l.publicKey.z32);
  };
  b.on('found', (l) => { view.events.push(`found ${l.name}`); place(l); });
  b.on('updated', (l) => { view.events.push(`updated ${l.name} ${l.players}`); place(l); });
  b.on('lost', (l, reason) => {
    view.events.push(`lost ${l.name} ${reason}`);
    expect(b.positionOf(l.publicKey.z32)).toBe(-1);
    view.keys.splice(view.keys.indexOf(l.publicKey.z32), 1);
  });
  return view;
}

const keysOf = (lobbies: BrowsedLobby[]): string[] => lobbies.map((l) => l.publicKey.z32);

describe('the lobby list a player sees', () => {
  it('carries the round-trip time to hosts whose beacon answered, and null for hosts never contacted', async () => {
    const near = await host('Near');
    const friend = Keypair.generate();
    const friendPacket = signLobby(friend, info('Friend', undefined));
    const b = browser({ dht: topicOf([near]), client: clientOf([friendPacket]), knownKeys: [friend.publicKey] });
    const result = await b.refresh();
    const byName = Object.fromEntries(result.lobbies.map((l) => [l.name, l]));
    expect(Object.keys(byName).sort()).toEqual(['Friend', 'Near']);
    expect(byName['Near']!.source).toBe('topic');
    const rtt = byName['Near']!.rttMs;
    // A measurement, never 0 ("unknown" is null), bounded by the fetch deadline.
    expect(typeof rtt === 'number' && rtt > 0 && rtt <= 3000).toBe(true);
    expect(byName['Friend']).toMatchObject({ source: 'known', rttMs: null });
    console.log(`beacon round trip on loopback: ${String(rtt)} ms`);

    // Further refreshes: the lowest of the recent measurements, never above the first.
    let lowest = rtt as number;
    for (let i = 0; i < 3; i++) {
      const next = (await b.refresh()).lobbies.find((l) => l.name === 'Near')!.rttMs!;
      expect(next).toBeLessThanOrEqual(lowest);
      lowest = next;
    }
    const rttNow = lowest;
    // An unreachable beacon on the next refresh: the lobby stays (one miss) with its estimate.
    await near.beacon.close();
    const again = await b.refresh();
    expect(again.stats.rejected.unreachable).toBe(1);
    expect(again.lobbies.find((l) => l.name === 'Near')?.rttMs).toBe(rttNow);
  });

  it('a lobby first listed without a round-trip time is updated once its beacon answers', async () => {
    const host1 = await host('Measured later');
    // The same record also resolves as a known key, which may be listed first (rttMs null).
    const b = browser({ dht: topicOf([host1]), client: clientOf([host1.packet!]), knownKeys: [host1.keypair.publicKey] });
    const seen: (number | null)[] = [];
    b.on('found', (l) => seen.push(l.rttMs));
    b.on('updated', (l) => seen.push(l.rttMs));
    await b.refresh();
    expect(seen.length === 1 || (seen.length === 2 && seen[0] === null)).toBe(true);
    expect(seen.at(-1)).toBeGreaterThan(0); // the last event a client saw carries the measurement
    const events = seen.length;
    await b.refresh();
    expect(seen).toHaveLength(events); // later measurements are not events
  });

  it('lists a lobby heard on the LAN as a LAN lobby, with the round-trip time its beacon answered with', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const lanHost = await LanDiscovery.start({ port, interfaces: ['127.0.0.1'], ipv6: false, announceIntervalMs: 1000 });
    cleanup.push(() => lanHost.close());
    const lanPlayer = await LanDiscovery.start({ port, interfaces: ['127.0.0.1'], ipv6: false, announceIntervalMs: 1000 });
    cleanup.push(() => lanPlayer.close());
    const both = await host('Both ways');
    lanHost.announcer.set(both.sign(), { browsable: true }); // the same signed record on the LAN and at the beacon
    const b = browser({ dht: topicOf([both]), lan: lanPlayer.browser, lanWindowMs: 500 });
    const view = mirror(b);
    // Heard between refreshes: listed at once (bounded wait for the multicast).
    for (let i = 0; i < 50 && view.events.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(view.events).toEqual(['found Both ways']);
    const result = await b.refresh();
    expect(result.stats.lan.heard).toBe(1);
    expect(result.stats.fetched).toBe(1);
    expect(result.lobbies).toHaveLength(1);
    const lobby = result.lobbies[0]!;
    expect([lobby.source, lobby.lanAddress]).toEqual(['lan', '127.0.0.1']);
    expect(typeof lobby.rttMs === 'number' && lobby.rttMs > 0).toBe(true);
    // Listed from the LAN first (no round trip), then measured by its beacon: one update.
    expect(view.events).toEqual(['found Both ways', 'updated Both ways 1']);
    // Heard and fetched again on the next refresh: no event, whatever copy comes first.
    await b.refresh();
    expect(view.events).toEqual(['found Both ways', 'updated Both ways 1']);
    expect(b.lobbies[0]?.source).toBe('lan');
  });

  it('a client applying found/updated/lost at positionOf holds exactly the sorted list', async () => {
    const hosts = [await host('Alpha', { players: 1 }), await host('Bravo', { players: 2 }), await host('Charlie', { players: 3 }), await host('Delta', { players: 2 })];
    const listed = [...hosts];
    const b = browser({ dht: topicOf(listed), missesBeforeLost: 2 });
    const view = mirror(b);
    await b.refresh();
    expect(b.lobbies.map((l) => l.name)).toEqual(['Charlie', 'Bravo', 'Delta', 'Alpha']);
    expect(view.keys).toEqual(keysOf(b.lobbies));

    // Reorder: Alpha overtakes everyone, Charlie drops; a re-sign alone changes nothing.
    const [alpha, bravo, charlie, delta] = hosts as [Host, Host, Host, Host];
    alpha.sign({ players: 4 });
    charlie.sign({ players: 0 });
    bravo.sign();
    view.events.length = 0;
    await b.refresh();
    expect(view.events.sort()).toEqual(['updated Alpha 4', 'updated Charlie 0']);
    expect(b.lobbies.map((l) => l.name)).toEqual(['Alpha', 'Bravo', 'Delta', 'Charlie']);
    expect(view.keys).toEqual(keysOf(b.lobbies));

    // A close, a host that vanished (lost after 2 misses) and a rename that moves a lobby.
    bravo.sign({ open: false });
    listed.splice(listed.indexOf(delta), 1);
    charlie.sign({ players: 2, name: 'Aardvark' });
    view.events.length = 0;
    await b.refresh();
    await b.refresh();
    expect(view.events).toEqual(expect.arrayContaining(['lost Bravo closed', 'lost Delta gone']));
    expect(b.lobbies.map((l) => l.name)).toEqual(['Alpha', 'Aardvark']);
    expect(view.keys).toEqual(keysOf(b.lobbies));

    // Filters: full lobbies leave the view and come back.
    b.setFilters({ notFull: true });
    expect(b.lobbies.map((l) => l.name)).toEqual(['Aardvark']);
    expect(view.keys).toEqual(keysOf(b.lobbies));
    b.setFilters({});
    expect(view.keys).toEqual(keysOf(b.lobbies));
    expect(view.events.slice(-2)).toEqual(['lost Alpha filtered', 'found Alpha']);
  });
});
