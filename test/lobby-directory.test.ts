/**
 * Lobby directories (docs/nat.md §4): hosts with no beacon at all are browsable through pkarr
 * packets under topic-derived slot keys, on a loopback bittorrent-dht testnet and through our relay
 * server alone (relay-only clients, as web/mobile). Racing writers, bad proofs of work, forged
 * entries, the previous window, full slots and the 1000-byte limit. Each test uses its own game id:
 * slots written by earlier tests persist in the testnet.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import type { PkarrClient } from '../sidecar/src/client/types.ts';
import { Keypair, type PublicKey } from '../sidecar/src/core/keys.ts';
import { MAX_DNS_BYTES, SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { checkPow, leadingZeroBits, powPrefix, solvePow, DIRECTORY_POW_BITS } from '../sidecar/src/lobby/directory-pow.ts';
import { DirectoryPublisher } from '../sidecar/src/lobby/directory-publisher.ts';
import { encodeSlot, entriesThatFit, entryText, readSlot, type DirectoryEntry } from '../sidecar/src/lobby/directory-record.ts';
import { directoryId, directoryWindow, homeSlot, slotKeypair, slotOrder, windowBounds, type DirectoryId } from '../sidecar/src/lobby/directory-slots.ts';
import { LobbyBrowser } from '../sidecar/src/lobby/lobby-browser.ts';
import { LobbyHost } from '../sidecar/src/lobby/lobby-host.ts';
import { signLobby } from '../sidecar/src/lobby/lobby-record.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { FakeDht } from './relay-server-helpers.ts';

/** Cheap proofs for the tests that forge many entries (one test uses the real difficulty). */
const BITS = 8;

let testnet: Testnet;
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
function peer(): Peer {
  const dht = nodes[nextNode++ % nodes.length]!;
  const client = new Client({ dht, relays: [] });
  cleanup.push(() => client.close());
  return { dht, client };
}

/** A public lobby with no beacon (unreachable behind its NAT), listed in the directory only. */
async function openHidden(p: { dht: DhtClient | null; client: PkarrClient }, game: string, name: string, directory: ConstructorParameters<typeof LobbyHost>[0]['directory'] = { powBits: BITS }, keypair = Keypair.generate()): Promise<LobbyHost> {
  const host = new LobbyHost({ client: p.client, dht: p.dht, keypair, directory });
  cleanup.push(() => host.dispose());
  const opened = await host.open({ game, gameVersion: '1', name, maxPlayers: 4, port: 7777, address: '127.0.0.1', beacon: false });
  expect(opened.beaconPort).toBeNull();
  expect(opened.directoryError).toBeUndefined();
  return host;
}

function browserOf(p: { dht: DhtClient | null; client: PkarrClient }, game: string, extra: Partial<ConstructorParameters<typeof LobbyBrowser>[0]> = {}): LobbyBrowser {
  const browser = new LobbyBrowser({ game, gameVersion: '1', dht: p.dht, client: p.client, directoryScan: { powBits: BITS }, ...extra });
  cleanup.push(() => browser.close());
  return browser;
}

/** A valid entry (proof solved) for `key` at `time` in `window`. */
async function entry(dir: DirectoryId, window: number, key: PublicKey, time = windowBounds(window).start + 1, bits = BITS): Promise<DirectoryEntry> {
  const { nonce } = await solvePow(powPrefix(dir, window), `${key.z32}:${time}:`, bits);
  return { hostKey: key, time, nonce };
}

/** The entries a slot holds now, as a browser would read them. */
async function slotEntries(client: PkarrClient, dir: DirectoryId, window: number, slot: number): Promise<string[]> {
  const found = await client.resolve(slotKeypair(dir, window, slot).publicKey, 'NetworkOnly');
  return found === null ? [] : readSlot(found.packet, dir, window, BITS).entries.map((e) => e.hostKey.z32).sort();
}

describe('keys, proof of work and the slot record', () => {
  it('derives slot keys and home slots deterministically from the documented texts', () => {
    const dir = directoryId('tanks', '1.2');
    expect(slotKeypair(dir, 100, 3).publicKey.z32).toBe(slotKeypair(directoryId('tanks', '1.2'), 100, 3).publicKey.z32);
    const keys = new Set([slotKeypair(dir, 100, 3), slotKeypair(dir, 100, 4), slotKeypair(dir, 101, 3), slotKeypair(directoryId('tanks', '1.3'), 100, 3)].map((k) => k.publicKey.z32));
    expect(keys.size).toBe(4);
    const host = Keypair.generate().publicKey;
    expect(slotOrder(host, 100, 8)[0]).toBe(homeSlot(host, 100, 8));
    expect(new Set(slotOrder(host, 100, 8)).size).toBe(8);
    expect(() => directoryId('ta:nks', '1')).toThrow(/invalid game id/);
    expect(() => directoryId('tanks', '1', 0)).toThrow(/slot count/);
    expect(directoryWindow(1_200_000_000n * 1000n)).toBe(2000);
  });

  it('solves proofs that verify with one hash and refuses altered ones', async () => {
    expect(leadingZeroBits(new Uint8Array([0, 0, 0x1f, 0xff]))).toBe(19);
    const dir = directoryId('pow', '1');
    const e = await entry(dir, 50, Keypair.generate().publicKey, windowBounds(50).start, DIRECTORY_POW_BITS);
    expect(checkPow(powPrefix(dir, 50), entryText(e))).toBe(true);
    expect(checkPow(powPrefix(dir, 51), entryText(e))).toBe(false); // bound to the window
    expect(checkPow(powPrefix(directoryId('pow', '2'), 50), entryText(e))).toBe(false); // and the directory
    expect(checkPow(powPrefix(dir, 50), entryText({ ...e, time: e.time + 1 }))).toBe(false); // and the time
  });

  it('keeps the newest entries that fit 1000 bytes and drops out-of-window, malformed and bad-proof ones', async () => {
    const dir = directoryId('size', '1');
    const window = 77;
    const { start } = windowBounds(window);
    const entries = await Promise.all(Array.from({ length: 20 }, (_, i) => entry(dir, window, Keypair.generate().publicKey, start + i)));
    const slot = slotKeypair(dir, window, 0);
    const encoded = encodeSlot(slot, entries, nowMicros());
    expect(encoded.packet.dns.length).toBeLessThanOrEqual(MAX_DNS_BYTES);
    expect(encoded.kept.length).toBe(entriesThatFit(encoded.kept.concat(encoded.dropped), slot.publicKey.z32));
    expect(encoded.kept.length).toBeGreaterThanOrEqual(10);
    expect(encoded.kept.length + encoded.dropped.length).toBe(20);
    expect(Math.min(...encoded.kept.map((e) => e.time))).toBeGreaterThan(Math.max(...encoded.dropped.map((e) => e.time)));
    expect(() => SignedPacket.sign(slot, [...encoded.kept, encoded.dropped[0]!].map((e) => ({ type: 'TXT', name: '_lobbies', ttl: 60, strings: [entryText(e)] })))).toThrow(/over the 1000-byte limit/);
    const read = readSlot(encoded.packet, dir, window, BITS);
    expect(read.entries.map(entryText)).toEqual(encoded.kept.map(entryText));

    const good = entries[0]!;
    const records = [
      entryText(good),
      entryText({ ...good, nonce: good.nonce + 1 }), // bad proof (almost surely: 1 in 256 passes 8 bits)
      entryText({ ...good, time: start - 1 }), // previous window
      'not-an-entry',
      `${good.hostKey.z32}:0${good.time}:${good.nonce}`, // leading zero
    ];
    const crafted = SignedPacket.sign(slot, records.map((text) => ({ type: 'TXT', name: '_lobbies', ttl: 60, strings: [text] })));
    const checked = readSlot(crafted, dir, window, BITS);
    expect(checked.entries.map(entryText)).toEqual([entryText(good)]);
    expect(checked.total).toBe(5);
    expect(checked.rejected.wrongWindow).toBe(1);
    expect(checked.rejected.malformed).toBe(2);
    expect(checked.rejected.badPow + checked.entries.length).toBe(2); // the altered nonce is refused
  });
});

describe('lobby directory on a local DHT', () => {
  it('lists a host with no beacon (real difficulty) and a browser finds it through the directory only', async () => {
    const host = await openHidden(peer(), 'hidden', 'Behind NAT', {});
    const listing = host.directoryListing!;
    expect(listing.action).toBe('written');
    expect(listing.window).toBe(directoryWindow(nowMicros()));

    const browser = new LobbyBrowser({ game: 'hidden', gameVersion: '1', ...peer() });
    cleanup.push(() => browser.close());
    const result = await browser.refresh();
    expect(result.lobbies.map((l) => [l.name, l.source, l.beacon])).toEqual([['Behind NAT', 'directory', null]]);
    expect(result.stats.peers).toBe(0); // nothing on the topic: the beacon route could not find it
    expect(result.stats.directory).toMatchObject({ slots: 16, keys: 1, resolved: 1, slotErrors: 0 });

    // A second refresh of the host finds its entry and writes nothing.
    expect(await host.refreshDirectory()).toMatchObject({ action: 'present', attempts: 0 });
  });

  it('merges directory and beacon results: one lobby per key, found once', async () => {
    const p = peer();
    const host = new LobbyHost({ client: p.client, dht: p.dht, keypair: Keypair.generate(), beaconHost: '127.0.0.1', directory: { powBits: BITS } });
    cleanup.push(() => host.dispose());
    const opened = await host.open({ game: 'both', gameVersion: '1', name: 'Both ways', maxPlayers: 4, port: 7777, address: '127.0.0.1' });
    expect(opened.beaconPort).not.toBeNull();
    expect(opened.directory?.action).toBe('written');
    const result = await browserOf(peer(), 'both').refresh();
    expect(result.lobbies.map((l) => l.name)).toEqual(['Both ways']);
    expect(result.stats.directory.keys).toBe(1);
    expect(result.stats.directory.resolved + result.stats.directory.alreadyFound).toBe(1);
  });

  it('two hosts racing into one slot both end up listed after a refresh', async () => {
    const dirOptions = { powBits: BITS, slots: 1 };
    const [a, b] = await Promise.all([openHidden(peer(), 'race', 'A', dirOptions), openHidden(peer(), 'race', 'B', dirOptions)]);
    await a.refreshDirectory();
    await b.refreshDirectory();
    const window = directoryWindow(nowMicros());
    const dir = directoryId('race', '1', 1);
    expect(await slotEntries(peer().client, dir, window, 0)).toEqual([a.publicKey.z32, b.publicKey.z32].sort());
    const result = await browserOf(peer(), 'race', { directoryScan: { powBits: BITS, slots: 1 } }).refresh();
    expect(result.lobbies.map((l) => l.name).sort()).toEqual(['A', 'B']);
  });

  it('writers racing in the same millisecond sign different timestamps (DHT nodes keep the first of equal seqs: a split)', async () => {
    const now = nowMicros();
    const signed: bigint[] = [];
    const stub: PkarrClient = {
      resolve: async () => null, // both read the empty slot
      publish: async (packet) => { signed.push(packet.timestamp); return { storedOn: 1, dht: { ok: true, storedOn: 1 }, relays: [] }; },
    };
    const publishers = Array.from({ length: 16 }, () => new DirectoryPublisher({ client: stub, hostKey: Keypair.generate().publicKey, game: 'tie', gameVersion: '1', slots: 1, powBits: BITS, now: () => now }));
    await Promise.all(publishers.map((p) => p.refresh()));
    await Promise.all(publishers.map((p) => p.stop()));
    expect(signed).toHaveLength(16);
    for (const ts of signed) expect(ts >= now && ts < now + 1000n).toBe(true); // the clock's millisecond, sub-ms µs added
    expect(new Set(signed).size).toBeGreaterThan(1); // 16 equal ones: 1 in 1000^15 by chance
  });

  it('racing hosts repair a silently lost write by themselves (the check a few seconds after each write)', async () => {
    // The check must come after any racing write still in flight has landed (15 s in production; 3 s here).
    const dirOptions = { powBits: BITS, slots: 1, verifyMs: 3000 };
    const hosts = await Promise.all(['A', 'B', 'C'].map((name) => openHidden(peer(), 'selfheal', name, dirOptions)));
    const dir = directoryId('selfheal', '1', 1);
    const window = directoryWindow(nowMicros());
    const want = hosts.map((h) => h.publicKey.z32).sort();
    const deadline = Date.now() + 60_000;
    let listed: string[] = [];
    while (Date.now() < deadline) {
      listed = await slotEntries(peer().client, dir, window, 0);
      if (listed.join() === want.join()) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed).toEqual(want);
  }, 90_000);

  it('a write that loses to a newer one (NOT_MOST_RECENT) is re-read, merged and retried', async () => {
    const game = 'conflict';
    const pa = peer();
    const pb = peer();
    const keyA = Keypair.generate().publicKey;
    const keyB = Keypair.generate().publicKey;
    const b = new DirectoryPublisher({ client: pb.client, hostKey: keyB, game, gameVersion: '1', slots: 1, powBits: BITS });
    let interleaved = false;
    // A's first publish is overtaken: B writes (a newer timestamp) between A's read and A's write.
    const racing: PkarrClient = {
      resolve: (key, policy) => pa.client.resolve(key, policy),
      publish: async (packet) => {
        if (!interleaved) { interleaved = true; await new Promise((r) => setTimeout(r, 2)); await b.refresh(); }
        return pa.client.publish(packet);
      },
    };
    const a = new DirectoryPublisher({ client: racing, hostKey: keyA, game, gameVersion: '1', slots: 1, powBits: BITS });
    const listing = await a.refresh();
    expect(listing).toMatchObject({ action: 'written', attempts: 2, entries: 2 });
    expect(await slotEntries(peer().client, a.dir, listing.window, 0)).toEqual([keyA.z32, keyB.z32].sort());
    await a.stop();
    await b.stop();
  });

  it('ignores and counts entries with a bad proof of work and forged entries pointing at non-lobbies', async () => {
    const game = 'forged';
    const real = await openHidden(peer(), game, 'Real');
    const dir = directoryId(game, '1');
    const window = directoryWindow(nowMicros());
    const forger = peer();
    // A genuine lobby of this game listed with a broken proof; a key with nothing; a non-lobby; another game's lobby.
    const victim = Keypair.generate();
    await forger.client.publish(signLobby(victim, { game, gameVersion: '1', name: 'Bad proof', players: 0, maxPlayers: 2, open: true, endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 1 }] }));
    const plain = Keypair.generate();
    await forger.client.publish(SignedPacket.sign(plain, [{ type: 'A', name: '@', ttl: 60, address: '127.0.0.1' }]));
    const chess = Keypair.generate();
    await forger.client.publish(signLobby(chess, { game: 'chess', gameVersion: '1', name: 'Chess', players: 0, maxPlayers: 2, open: true, endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 1 }] }));
    const badProof = await entry(dir, window, victim.publicKey);
    let wrongNonce = badProof.nonce + 1;
    while (checkPow(powPrefix(dir, window), entryText({ ...badProof, nonce: wrongNonce }), BITS)) wrongNonce++;
    const forged = [
      { ...badProof, nonce: wrongNonce },
      await entry(dir, window, Keypair.generate().publicKey), // publishes nothing
      await entry(dir, window, plain.publicKey),
      await entry(dir, window, chess.publicKey),
    ];
    // Written into a slot the real host does not use, so its entry stays.
    const slot = (homeSlot(real.publicKey, window, dir.slots) + 1) % dir.slots;
    const slotKey = slotKeypair(dir, window, slot);
    await forger.client.publish(encodeSlot(slotKey, forged, nowMicros()).packet);

    const result = await browserOf(peer(), game).refresh();
    expect(result.lobbies.map((l) => l.name)).toEqual(['Real']);
    expect(result.stats.directory.rejected).toMatchObject({ badPow: 1, notFound: 1, notLobby: 1, otherGame: 1, failed: 0 });
    expect(result.stats.directory).toMatchObject({ entries: 5, keys: 4, resolved: 1 });
  });

  it('still reads the previous window', async () => {
    const lastWindow = { powBits: BITS, now: () => nowMicros() - 600_000_000n };
    const host = await openHidden(peer(), 'previous', 'Listed last window', lastWindow);
    expect(host.directoryListing!.window).toBe(directoryWindow(nowMicros()) - 1);
    const result = await browserOf(peer(), 'previous').refresh();
    expect(result.lobbies.map((l) => l.name)).toEqual(['Listed last window']);
  });

  it('a browser reads a settled previous window once, then from its cache', async () => {
    // A clock where the previous window ended > 2 minutes ago and the current one does not end during the test.
    const offset = Number(nowMicros() / 1_000_000n) % 600;
    const shift = BigInt(offset < 125 ? 125 - offset : offset > 580 ? 600 - offset + 125 : 0) * 1_000_000n;
    const now = (): bigint => nowMicros() + shift;
    const host = await openHidden(peer(), 'settled', 'Last window', { powBits: BITS, now: () => now() - 600_000_000n });
    const p = peer();
    const asked: string[] = [];
    const counting: PkarrClient = { resolve: (key, policy) => { asked.push(String(key)); return p.client.resolve(key, policy); }, publish: (packet) => p.client.publish(packet) };
    const browser = browserOf({ dht: null, client: counting }, 'settled', { now });
    const first = await browser.refresh();
    expect(first.lobbies.map((l) => l.name)).toEqual(['Last window']);
    expect(first.stats.directory).toMatchObject({ slots: 16, slotsCached: 0, slotsFound: 1, keys: 1 });
    expect(asked.filter((k) => k !== host.publicKey.z32)).toHaveLength(16);
    asked.length = 0;
    const second = await browser.refresh();
    expect(second.lobbies.map((l) => l.name)).toEqual(['Last window']);
    expect(second.stats.directory).toMatchObject({ slots: 16, slotsCached: 8, slotsFound: 1, keys: 1, resolved: 1 });
    expect(asked.filter((k) => k !== host.publicKey.z32)).toHaveLength(8); // only the current window again
  });

  it('a host re-adds itself after a vandal empties its slot, and skips a slot jammed at the 2^53 timestamp limit', async () => {
    const game = 'vandal';
    const dir = directoryId(game, '1', 2);
    const hostKey = Keypair.generate().publicKey;
    const publisher = new DirectoryPublisher({ client: peer().client, hostKey, game, gameVersion: '1', slots: 2, powBits: BITS });
    const first = await publisher.refresh();
    const vandal = peer();
    const slotKey = slotKeypair(dir, first.window, first.slot);
    await vandal.client.publish(encodeSlot(slotKey, [], nowMicros()).packet); // overwritten with an empty list
    expect(await slotEntries(peer().client, dir, first.window, first.slot)).toEqual([]);
    expect(await publisher.refresh()).toMatchObject({ slot: first.slot, action: 'written' });
    expect(await slotEntries(peer().client, dir, first.window, first.slot)).toEqual([hostKey.z32]);

    // Jammed: a slot signed at the largest timestamp bittorrent-dht carries cannot be written above.
    const other = Keypair.generate().publicKey;
    const home = homeSlot(other, first.window, 2);
    await vandal.client.publish(encodeSlot(slotKeypair(dir, first.window, home), [], BigInt(Number.MAX_SAFE_INTEGER)).packet);
    const jammedOut = new DirectoryPublisher({ client: peer().client, hostKey: other, game, gameVersion: '1', slots: 2, powBits: BITS });
    expect(await jammedOut.refresh()).toMatchObject({ slot: 1 - home, action: 'written', slotsRead: 2 });
    await publisher.stop();
    await jammedOut.stop();
  });

  it('moves to the next slot when the home slot is full and evicts the oldest only when every slot is full', async () => {
    const game = 'full';
    const dir = directoryId(game, '1', 2);
    const window = directoryWindow(nowMicros());
    const { start } = windowBounds(window);
    const filler = peer();
    const fill = async (slot: number): Promise<void> => {
      const keypair = slotKeypair(dir, window, slot);
      const entries = await Promise.all(Array.from({ length: 16 }, (_, i) => entry(dir, window, Keypair.generate().publicKey, start + i)));
      const encoded = encodeSlot(keypair, entries, nowMicros());
      expect(encoded.dropped.length).toBeGreaterThan(0);
      await filler.client.publish(encoded.packet);
    };
    const hostKey = Keypair.generate().publicKey;
    const home = homeSlot(hostKey, window, 2);
    await fill(home);
    const first = new DirectoryPublisher({ client: peer().client, hostKey, game, gameVersion: '1', slots: 2, powBits: BITS });
    const moved = await first.refresh();
    expect(moved).toMatchObject({ slot: 1 - home, action: 'written', evicted: 0, slotsRead: 2 });

    await fill(1 - home); // now both are full
    const other = Keypair.generate().publicKey;
    const second = new DirectoryPublisher({ client: peer().client, hostKey: other, game, gameVersion: '1', slots: 2, powBits: BITS });
    const evicting = await second.refresh();
    expect(evicting.action).toBe('written');
    expect(evicting.evicted).toBe(1);
    expect(evicting.slot).toBe(homeSlot(other, window, 2));
    expect(await slotEntries(peer().client, dir, window, evicting.slot)).toContain(other.z32);
    await first.stop();
    await second.stop();
  });
});

describe('lobby directory through a pkarr relay only (no DHT on either side)', () => {
  let relay: RunningRelay;
  beforeAll(async () => {
    relay = await startRelay({ port: 0, dht: new FakeDht(), rateLimit: null, dhtRateLimit: null, log: () => {} });
  });
  afterAll(async () => {
    await relay?.close();
  });

  it('a relay-only host with no beacon is browsable by a relay-only browser', async () => {
    const hostClient = new Client({ dht: null, relays: [relay.url] });
    const browserClient = new Client({ dht: null, relays: [relay.url] });
    cleanup.push(() => hostClient.close(), () => browserClient.close());
    const host = new LobbyHost({ client: hostClient, dht: null, keypair: Keypair.generate(), directory: { powBits: BITS } });
    cleanup.push(() => host.dispose());
    const opened = await host.open({ game: 'web', gameVersion: '1', name: 'Relay room', maxPlayers: 4, port: 7777, address: '127.0.0.1' });
    expect(opened).toMatchObject({ beaconPort: null, announcedTo: null });
    expect(opened.directory?.action).toBe('written');
    const secondClient = new Client({ dht: null, relays: [relay.url] });
    cleanup.push(() => secondClient.close());
    const second = await openHidden({ dht: null, client: secondClient }, 'web', 'Second');

    const result = await browserOf({ dht: null, client: browserClient }, 'web').refresh();
    expect(result.lobbies.map((l) => [l.name, l.source]).sort()).toEqual([['Relay room', 'directory'], ['Second', 'directory']]);
    expect(result.stats.directory).toMatchObject({ slots: 16, keys: 2, resolved: 2, slotErrors: 0 });
    await second.dispose();
  });

  it('a write overtaken at the relay (409) is re-read, merged and retried', async () => {
    const relayClient = (): Client => {
      const client = new Client({ dht: null, relays: [relay.url] });
      cleanup.push(() => client.close());
      return client;
    };
    const keyA = Keypair.generate().publicKey;
    const keyB = Keypair.generate().publicKey;
    const b = new DirectoryPublisher({ client: relayClient(), hostKey: keyB, game: 'web-race', gameVersion: '1', slots: 1, powBits: BITS });
    const aClient = relayClient();
    let interleaved = false;
    const racing: PkarrClient = {
      resolve: (key, policy) => aClient.resolve(key, policy),
      publish: async (packet) => {
        if (!interleaved) { interleaved = true; await new Promise((r) => setTimeout(r, 2)); await b.refresh(); }
        return aClient.publish(packet);
      },
    };
    const a = new DirectoryPublisher({ client: racing, hostKey: keyA, game: 'web-race', gameVersion: '1', slots: 1, powBits: BITS });
    expect(await a.refresh()).toMatchObject({ action: 'written', attempts: 2, entries: 2 });
    expect(await slotEntries(relayClient(), a.dir, a.last!.window, 0)).toEqual([keyA.z32, keyB.z32].sort());
    await a.stop();
    await b.stop();
  });
});
