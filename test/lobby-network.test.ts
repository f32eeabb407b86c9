/**
 * Lobbies end to end on a local DHT testnet (127.0.0.1 only): hosts publish, announce and serve
 * beacons; browsers find them by topic, by code and by known key; forged beacons are dropped and
 * counted; closed, vanished and expired lobbies are reported lost. Each test uses its own game id,
 * so topics announced by earlier tests (they persist in the testnet) do not interfere.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { BeaconServer } from '../sidecar/src/lobby/beacon-server.ts';
import { LobbyBrowser, type BrowsedLobby, type LostReason } from '../sidecar/src/lobby/lobby-browser.ts';
import { lobbyErrorReason } from '../sidecar/src/lobby/lobby-errors.ts';
import { LobbyHost } from '../sidecar/src/lobby/lobby-host.ts';
import { findLobby } from '../sidecar/src/lobby/lobby-lookup.ts';
import { signLobby, type LobbyInfo } from '../sidecar/src/lobby/lobby-record.ts';
import { lobbyTopic } from '../sidecar/src/lobby/topic.ts';

let testnet: Testnet;
/** DHT nodes shared by the tests' hosts and browsers (each gets its own Client, so its own cache). */
const nodes: DhtClient[] = [];
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  testnet = await Testnet.create(25);
  for (let i = 0; i < 4; i++) nodes.push(await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 500 }));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});
afterAll(async () => {
  for (const node of nodes) await node.destroy();
  await testnet?.destroy();
});

interface Peer { dht: DhtClient; client: Client }

let nextNode = 0;
/** A peer on one of the shared DHT nodes (round robin) with a fresh pkarr client. */
async function peer(): Promise<Peer> {
  const dht = nodes[nextNode++ % nodes.length]!;
  const client = new Client({ dht, relays: [] });
  cleanup.push(() => client.close());
  return { dht, client };
}

async function openHost(game: string, name: string, players = 0, maxPlayers = 4): Promise<LobbyHost> {
  const { dht, client } = await peer();
  const host = new LobbyHost({ client, dht, keypair: Keypair.generate(), beaconHost: '127.0.0.1' });
  cleanup.push(() => host.dispose());
  await host.open({ game, gameVersion: '1', name, players, maxPlayers, port: 7777, address: '127.0.0.1' });
  return host;
}

interface Recorded { found: string[]; updated: BrowsedLobby[]; lost: [string, LostReason][] }

function browserOf(p: Peer, game: string, extra: Partial<ConstructorParameters<typeof LobbyBrowser>[0]> = {}): { browser: LobbyBrowser; events: Recorded } {
  const browser = new LobbyBrowser({ game, gameVersion: '1', dht: p.dht, client: p.client, scan: { beaconTimeoutMs: 3000 }, ...extra });
  const events: Recorded = { found: [], updated: [], lost: [] };
  browser.on('found', (l) => events.found.push(l.name));
  browser.on('updated', (l) => events.updated.push(l));
  browser.on('lost', (l, reason) => events.lost.push([l.name, reason]));
  cleanup.push(() => browser.close());
  return { browser, events };
}

/** An HTTP "beacon" serving fixed bytes at any path, on 127.0.0.1. */
async function forgedBeacon(body: Uint8Array): Promise<number> {
  const server = createServer((_req, res) => res.writeHead(200, { 'Content-Length': body.length }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return (server.address() as AddressInfo).port;
}

function info(game: string, name: string, beaconPort: number, extra: Partial<LobbyInfo> = {}): LobbyInfo {
  return { game, gameVersion: '1', name, players: 1, maxPlayers: 4, open: true, beaconPort, endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 7777 }], ...extra };
}

async function reasonOf(work: Promise<unknown>): Promise<string | null> {
  try {
    await work;
  } catch (err) {
    if (isPkarrError(err)) return lobbyErrorReason(err) ?? err.code;
    throw err;
  }
  return 'no error';
}

describe('lobbies on a local DHT', () => {
  it('3 hosts and a browser find each other by topic, by code and by known key', async () => {
    const hosts = [await openHost('find', 'Room A', 1), await openHost('find', 'Room B', 3), await openHost('find', 'Room C', 2)];
    const { browser, events } = browserOf(await peer(), 'find');
    const result = await browser.refresh();
    expect(result.lobbies.map((l) => l.name)).toEqual(['Room B', 'Room C', 'Room A']);
    expect(result.lobbies.every((l) => l.source === 'topic' && l.endpoints[0]?.port === 7777)).toBe(true);
    expect(result.stats).toMatchObject({ peers: 3, fetched: 3, verified: 3, lobbies: 3 });
    expect(events.found.sort()).toEqual(['Room A', 'Room B', 'Room C']);

    const joiner = await peer();
    for (const code of [hosts[1]!.publicKey.toUri(), hosts[1]!.publicKey.z32, `https://${hosts[1]!.publicKey.z32}/join?x=1`]) {
      const found = await findLobby(joiner.client, code, { game: 'find', gameVersion: '1' });
      expect(found.lobby.name).toBe('Room B');
      expect(found.lobby.endpoints).toEqual([{ transport: 'enet', host: '127.0.0.1', port: 7777 }]);
    }

    const friend = await peer();
    const { browser: byKey } = browserOf(friend, 'find', { dht: null, directory: false, knownKeys: [hosts[0]!.publicKey.z32, hosts[2]!.publicKey.toUri(), Keypair.generate().publicKey] });
    const known = await byKey.refresh();
    expect(known.lobbies.map((l) => [l.name, l.source])).toEqual([['Room C', 'known'], ['Room A', 'known']]);
    expect(known.stats.known).toEqual({ requested: 3, found: 2, notFound: 1, failed: 0 });
  });

  it('drops forged, foreign, replayed and unreachable beacons and counts them', async () => {
    const real = await openHost('forge', 'Real room');
    const realPacket = real.packet!;
    const forger = await peer();
    const topic = lobbyTopic('forge', '1');
    const announce = (port: number) => forger.dht.announce(topic, port);

    const forged = realPacket.toBytes().slice();
    forged[50] = (forged[50] ?? 0) ^ 0xff;
    await announce(await forgedBeacon(forged)); // bad signature
    await announce(await forgedBeacon(new Uint8Array(3000))); // oversized
    await announce(await forgedBeacon(realPacket.toBytes())); // a real lobby replayed from another beacon
    const plain = SignedPacket.sign(Keypair.generate(), [{ type: 'A', name: '@', ttl: 60, address: '127.0.0.1' }]);
    await announce(await forgedBeacon(plain.toBytes())); // not a lobby
    const otherGame = await BeaconServer.start({ host: '127.0.0.1' });
    cleanup.push(() => otherGame.close());
    otherGame.setPacket(signLobby(Keypair.generate(), info('chess', 'Chess club', otherGame.port)));
    await announce(otherGame.port); // a valid lobby of another game, naming its own beacon
    const gone = await forgedBeacon(new Uint8Array(0));
    await cleanup.pop()!(); // nothing listens there any more
    await announce(gone); // unreachable

    const { browser } = browserOf(await peer(), 'forge');
    const result = await browser.refresh();
    expect(result.lobbies.map((l) => l.name)).toEqual(['Real room']);
    expect(result.stats.peers).toBe(7);
    expect(result.stats.rejected).toEqual({ badSignature: 1, otherGame: 1, notLobby: 1, unreachable: 1, oversized: 1, wrongBeacon: 1 });
    expect(result.stats.verified).toBe(4);
    expect(result.stats.fetched).toBe(5); // the oversized body was refused by its Content-Length
  });

  it('with confirm, keeps only lobbies whose key also resolves through the DHT', async () => {
    await openHost('confirm', 'Published');
    const beaconOnly = await BeaconServer.start({ host: '127.0.0.1' });
    cleanup.push(() => beaconOnly.close());
    beaconOnly.setPacket(signLobby(Keypair.generate(), info('confirm', 'Beacon only', beaconOnly.port)));
    await (await peer()).dht.announce(lobbyTopic('confirm', '1'), beaconOnly.port);

    const plain = await browserOf(await peer(), 'confirm').browser.refresh();
    expect(plain.lobbies.map((l) => l.name)).toEqual(['Beacon only', 'Published']);
    const confirmed = await browserOf(await peer(), 'confirm', { confirm: true }).browser.refresh();
    expect(confirmed.lobbies.map((l) => l.name)).toEqual(['Published']);
    expect(confirmed.stats.unconfirmed).toBe(1);
  });

  it('reports a closed lobby, a vanished host and a filtered-out lobby as lost', async () => {
    const closing = await openHost('lost', 'Closing');
    const vanishing = await openHost('lost', 'Vanishing', 2);
    const staying = await openHost('lost', 'Staying', 1, 2);
    // Beacons only: through the directory a crashed host stays listed until its record expires.
    const { browser, events } = browserOf(await peer(), 'lost', { missesBeforeLost: 2, directory: false });
    expect((await browser.refresh()).lobbies).toHaveLength(3);

    await closing.close({ lingerMs: 60_000 }); // the beacon keeps serving the closed record
    await vanishing.dispose(); // crash: the beacon is gone, nothing closed
    await staying.update({ players: 2 });
    const second = await browser.refresh();
    expect(events.lost).toEqual([['Closing', 'closed']]);
    expect(events.updated.map((l) => [l.name, l.players])).toEqual([['Staying', 2]]);
    expect(second.stats.closed).toBe(1);
    expect(second.stats.rejected.unreachable).toBe(1);
    expect(second.lobbies.map((l) => l.name)).toEqual(['Staying', 'Vanishing']); // one miss is not enough

    await browser.refresh();
    expect(events.lost).toEqual([['Closing', 'closed'], ['Vanishing', 'gone']]);
    expect(browser.lobbies.map((l) => l.name)).toEqual(['Staying']);

    browser.setFilters({ notFull: true });
    expect(events.lost.at(-1)).toEqual(['Staying', 'filtered']);
    browser.setFilters({});
    expect(events.found.at(-1)).toBe('Staying');
  });

  it('reports an expired lobby as lost and never lists a stale one', async () => {
    await openHost('expire', 'Live');
    let skewSeconds = 0n;
    const { browser, events } = browserOf(await peer(), 'expire', { now: () => nowMicros() + skewSeconds * 1_000_000n });
    // A lobby last signed 400 s ago (its host died long ago), still served by a beacon.
    const stale = await BeaconServer.start({ host: '127.0.0.1' });
    cleanup.push(() => stale.close());
    stale.setPacket(signLobby(Keypair.generate(), info('expire', 'Ghost', stale.port), { timestamp: nowMicros() - 400_000_000n }));
    const announcer = await peer();
    await announcer.dht.announce(lobbyTopic('expire', '1'), stale.port);

    const first = await browser.refresh();
    expect(first.lobbies.map((l) => l.name)).toEqual(['Live']);
    expect(first.stats.stale).toBe(1);
    expect(events.found).toEqual(['Live']);

    skewSeconds = 200n; // the live host has not re-signed for 200 s > 3 × 60 s
    const second = await browser.refresh();
    expect(second.lobbies).toEqual([]);
    expect(events.lost).toEqual([['Live', 'expired']]);
  });

  it('explains why a code does not lead to a lobby', async () => {
    const p = await peer();
    expect(await reasonOf(findLobby(p.client, Keypair.generate().publicKey.z32))).toBe('NO_LOBBY');
    expect(await reasonOf(findLobby(p.client, 'not-a-key'))).toBe('INVALID_PUBLIC_KEY_ENCODING');

    const plain = Keypair.generate();
    await p.client.publish(SignedPacket.sign(plain, [{ type: 'A', name: '@', ttl: 60, address: '127.0.0.1' }]));
    expect(await reasonOf(findLobby((await peer()).client, plain.publicKey.z32))).toBe('NOT_A_LOBBY');

    const host = await openHost('codes', 'Mine');
    expect(await reasonOf(findLobby((await peer()).client, host.publicKey.toUri(), { game: 'other' }))).toBe('OTHER_GAME');
    expect(await reasonOf(findLobby((await peer()).client, host.publicKey.toUri(), { game: 'codes', gameVersion: '2' }))).toBe('OTHER_GAME');
    await host.close({ lingerMs: 0 });
    expect(await reasonOf(findLobby((await peer()).client, host.publicKey.toUri()))).toBe('LOBBY_CLOSED');

    const old = Keypair.generate();
    await p.client.publish(signLobby(old, info('codes', 'Old', 1), { timestamp: nowMicros() - 600_000_000n }));
    expect(await reasonOf(findLobby((await peer()).client, old.publicKey.z32))).toBe('LOBBY_EXPIRED');
  });
});
