/**
 * LAN lobby discovery (sidecar/src/lan/): the wire codec, forged and oversized announcements
 * dropped and counted, announce interval bounds, query back-off, and announcer + browser over real
 * multicast on the loopback interface (224.0.0.251 on 127.0.0.1, a port of this run: nothing leaves
 * the machine). The namespace suite with real sidecars is lan-lab.test.ts.
 */
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import dnsPacket from 'dns-packet';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { signLobby, type LobbyInfo } from '../sidecar/src/lobby/lobby-record.ts';
import { LanAnnouncer, checkAnnounceInterval } from '../sidecar/src/lan/lan-announcer.ts';
import { LanBrowser, type LanSighting } from '../sidecar/src/lan/lan-browser.ts';
import { LanDiscovery } from '../sidecar/src/lan/lan-discovery.ts';
import { LanTransport } from '../sidecar/src/lan/lan-transport.ts';
import {
  decodeAnnouncements, encodeAnnouncement, encodeQuery, lanGameSubtype, lanInstanceName, queryTargets, MDNS_GROUP_V4,
} from '../sidecar/src/lan/lan-wire.ts';
import type { Packet } from 'dns-packet';
import { planJoin, planLanJoin } from '../sidecar/src/nat/join-plan.ts';
import { LobbyService } from '../sidecar/src/lobby/lobby-service.ts';
import { LobbyBrowser, type BrowsedLobby } from '../sidecar/src/lobby/lobby-browser.ts';

const host = Keypair.fromSeed(new Uint8Array(32).fill(3));
const other = Keypair.fromSeed(new Uint8Array(32).fill(4));

function info(over: Partial<LobbyInfo> = {}): LobbyInfo {
  return { game: 'tanks', gameVersion: '1.2', name: 'LAN room', players: 1, maxPlayers: 8, open: true, endpoints: [{ transport: 'enet', host: '10.77.0.2', port: 7777 }], ...over };
}

/** The wire round trip: encode, then decode as a received datagram. */
function roundTrip(packet: Packet): Packet {
  return dnsPacket.decode(dnsPacket.encode(packet));
}

describe('LAN wire codec', () => {
  it('an announcement carries the whole signed packet and decodes to the same, verified', () => {
    const signed = signLobby(host, info({ custom: { map: 'x'.repeat(200), mode: 'y'.repeat(200) } }));
    const wire = dnsPacket.encode(encodeAnnouncement(signed, 'tanks', '1.2', 45));
    expect(wire.length).toBeLessThan(1500);
    const { announcements, rejected } = decodeAnnouncements(dnsPacket.decode(wire));
    expect(rejected).toEqual([]);
    expect(announcements).toHaveLength(1);
    expect(announcements[0]!.ttl).toBe(45);
    expect(Buffer.from(announcements[0]!.packet.toBytes()).equals(Buffer.from(signed.toBytes()))).toBe(true);
  });

  it('queries name the game subtype or one instance; foreign questions are not ours', () => {
    expect(queryTargets(roundTrip(encodeQuery({ game: 'tanks', gameVersion: '1.2' })))!.subtypes.has(lanGameSubtype('tanks', '1.2'))).toBe(true);
    expect(queryTargets(roundTrip(encodeQuery({ key: host.publicKey })))!.instances.has(lanInstanceName(host.publicKey))).toBe(true);
    expect(lanGameSubtype('tanks', '1.2')).not.toBe(lanGameSubtype('tanks', '1.3'));
    expect(queryTargets(roundTrip({ type: 'query', questions: [{ type: 'PTR', name: '_http._tcp.local' }] }))).toBeNull();
  });

  it('a forged signature, a record under another key, an unknown version and oversized chunks are rejected with their reason', () => {
    const signed = signLobby(host, info());
    const bytes = Buffer.from(signed.toBytes());
    const forged = Buffer.from(bytes);
    forged[40] = forged[40]! ^ 1; // inside the signature
    const txt = (name: string, strings: Buffer[]): Packet => ({ type: 'response', answers: [{ type: 'TXT', name, ttl: 30, data: strings }] });
    const chunks = (b: Buffer): Buffer[] => [Buffer.from('v=1'), ...[0, 250, 500, 750, 1000].filter((o) => o < b.length).map((o, i) => Buffer.concat([Buffer.from(`s${i}=`), b.subarray(o, o + 250)]))];
    const verdicts = [
      txt(lanInstanceName(host.publicKey), chunks(forged)),
      txt(lanInstanceName(other.publicKey), chunks(bytes)), // genuine packet under someone else's name
      txt(lanInstanceName(host.publicKey), [Buffer.from('v=2'), ...chunks(bytes).slice(1)]),
      txt(lanInstanceName(host.publicKey), [Buffer.from('v=1'), Buffer.concat([Buffer.from('s0='), Buffer.alloc(252)])]),
      txt(lanInstanceName(host.publicKey), [Buffer.from('v=1'), Buffer.concat([Buffer.from('s9='), Buffer.alloc(10)])]),
      txt(lanInstanceName(host.publicKey), [Buffer.from('v=1'), chunks(bytes)[2]!]), // s0 missing
    ].map((p) => decodeAnnouncements(roundTrip(p)).rejected);
    expect(verdicts).toEqual([['badSignature'], ['keyMismatch'], ['unsupported'], ['oversized'], ['oversized'], ['malformed']]);
  });

  it('announce intervals outside 1 s – 5 min are refused', () => {
    expect(() => checkAnnounceInterval(999)).toThrow(/1000-300000/);
    expect(() => checkAnnounceInterval(300_001)).toThrow(/1000-300000/);
    expect(() => checkAnnounceInterval(1.5e3 + 0.5)).toThrow(/LAN announce interval/);
    expect(checkAnnounceInterval(1000)).toBe(1000);
  });
});

/** A fake channel: records what is sent, lets the test inject received messages. */
function fakeChannel() {
  const sent: Packet[] = [];
  const listeners = new Map<string, ((m: Packet, r: { address: string; port: number; family: 'IPv4'; size: number }) => void)[]>();
  return {
    sent,
    send: (p: Packet) => { sent.push(roundTrip(p)); },
    on: (event: string, l: (m: Packet, r: never) => void) => { listeners.set(event, [...(listeners.get(event) ?? []), l as never]); },
    off: (event: string, l: unknown) => { listeners.set(event, (listeners.get(event) ?? []).filter((x) => x !== l)); },
    deliver: (event: 'query' | 'response', p: Packet, from = '10.77.0.2') => {
      for (const l of listeners.get(event) ?? []) l(roundTrip(p), { address: from, port: 5353, family: 'IPv4', size: 100 });
    },
  };
}

describe('announcer and browser (logic, fake channel)', () => {
  it('the announcer answers a query at most once per second per lobby and only for its game; goodbye is TTL 0 with the closed record', () => {
    const ch = fakeChannel();
    const announcer = new LanAnnouncer(ch, { intervalMs: 60_000 });
    try {
      announcer.set(signLobby(host, info()));
      expect(ch.sent).toHaveLength(1);
      for (let i = 0; i < 50; i++) ch.deliver('query', encodeQuery({ game: 'tanks', gameVersion: '1.2' }));
      ch.deliver('query', encodeQuery({ game: 'tanks', gameVersion: '9' }));
      expect(ch.sent).toHaveLength(1); // just announced: the queries within the second are suppressed
      expect(announcer.stats.suppressed).toBe(50);
      const closed = signLobby(host, info({ open: false }));
      announcer.goodbye(closed);
      const last = decodeAnnouncements(ch.sent.at(-1)!).announcements[0]!;
      expect(last.ttl).toBe(0);
      expect(last.packet.timestamp).toBe(closed.timestamp);
      expect(announcer.keys).toEqual([]);
    } finally {
      announcer.close();
    }
  });

  it('a private lobby is never announced and answers only a query for its own key', () => {
    const ch = fakeChannel();
    const announcer = new LanAnnouncer(ch, { intervalMs: 60_000 });
    try {
      announcer.set(signLobby(other, info({ name: 'secret' })), { browsable: false });
      ch.deliver('query', encodeQuery({ game: 'tanks', gameVersion: '1.2' }));
      ch.deliver('query', { type: 'query', questions: [{ type: 'PTR', name: '_pkarr-lobby._udp.local' }] });
      expect(ch.sent).toHaveLength(0);
      ch.deliver('query', encodeQuery({ key: other.publicKey }));
      expect(ch.sent).toHaveLength(1);
      expect(decodeAnnouncements(ch.sent[0]!).announcements[0]!.packet.publicKey.z32).toBe(other.publicKey.z32);
    } finally {
      announcer.close();
    }
  });

  it('the browser keeps verified lobbies, counts forged ones, honours goodbyes only when not older, and backs off its queries', () => {
    const ch = fakeChannel();
    const browser = new LanBrowser(ch);
    try {
      const seen: LanSighting[] = [];
      browser.on('sighting', (s) => seen.push(s));
      const first = signLobby(host, info(), { timestamp: 1_000_000n * BigInt(Math.floor(Date.now() / 1000)) });
      ch.deliver('response', encodeAnnouncement(first, 'tanks', '1.2', 30));
      ch.deliver('response', encodeAnnouncement(first, 'tanks', '1.2', 30)); // a repeat: not verified again
      const forged = Buffer.from(first.toBytes());
      forged[50] = forged[50]! ^ 0xff;
      ch.deliver('response', { type: 'response', answers: [{ type: 'TXT', name: lanInstanceName(host.publicKey), ttl: 30, data: [Buffer.from('v=1'), ...[0, 250].map((o, i) => Buffer.concat([Buffer.from(`s${i}=`), forged.subarray(o, o + 250)]))] }] });
      expect(seen).toHaveLength(1);
      expect(seen[0]!.from).toBe('10.77.0.2');
      expect(browser.stats).toMatchObject({ verified: 1, repeats: 1, rejected: { badSignature: 1 } });
      // a goodbye replaying an older record does not remove the lobby
      const older = signLobby(host, info(), { timestamp: first.timestamp - 5_000_000n });
      ch.deliver('response', encodeAnnouncement(older, 'tanks', '1.2', 0));
      expect(browser.get(host.publicKey)).not.toBeNull();
      expect(browser.stats.older).toBe(1);
      const closed = signLobby(host, info({ open: false }), { timestamp: first.timestamp + 1n });
      const gone: string[] = [];
      browser.on('gone', (key, why) => gone.push(`${key}:${why}`));
      ch.deliver('response', encodeAnnouncement(closed, 'tanks', '1.2', 0));
      expect(browser.get(host.publicKey)).toBeNull();
      expect(seen.at(-1)!.lobby.open).toBe(false);
      expect(gone).toEqual([`${host.publicKey.z32}:goodbye`]);
      // back-off: the first query goes out, immediate repeats do not
      expect(browser.query({ game: 'tanks', gameVersion: '1.2' })).toBe(true);
      expect(browser.query({ game: 'tanks', gameVersion: '1.2' })).toBe(false);
      expect(browser.query({ key: other.publicKey })).toBe(true);
      expect(browser.stats).toMatchObject({ queriesSent: 2, queriesSuppressed: 1 });
    } finally {
      browser.close();
    }
  });

  it('a flood of forged records is verified at most verifyPerSecond times a second, the rest dropped as rateLimited', () => {
    const ch = fakeChannel();
    const browser = new LanBrowser(ch, { verifyPerSecond: 20 });
    try {
      const bytes = Buffer.from(signLobby(host, info()).toBytes());
      for (let i = 0; i < 100; i++) {
        const forged = Buffer.from(bytes);
        forged[33] = i; // a different (bad) signature each time
        ch.deliver('response', { type: 'response', answers: [{ type: 'TXT', name: lanInstanceName(host.publicKey), ttl: 30, data: [Buffer.from('v=1'), ...[0, 250].map((o, j) => Buffer.concat([Buffer.from(`s${j}=`), forged.subarray(o, o + 250)]))] }] });
      }
      const { badSignature, rateLimited } = browser.stats.rejected;
      expect(badSignature + rateLimited).toBe(100);
      expect(badSignature).toBeLessThanOrEqual(40); // 20 per second; the loop may straddle one second boundary
      expect(browser.stats.verified).toBe(0);
    } finally {
      browser.close();
    }
  });
});

describe('over real multicast on loopback (224.0.0.251 via 127.0.0.1)', () => {
  const open: LanDiscovery[] = [];
  afterEach(async () => { await Promise.all(open.splice(0).map((d) => d.close())); });
  const port = 20000 + Math.floor(Math.random() * 20000);

  async function discovery(intervalMs = 1000): Promise<LanDiscovery> {
    const d = await LanDiscovery.start({ port, interfaces: ['127.0.0.1'], ipv6: false, announceIntervalMs: intervalMs });
    open.push(d);
    expect(d.active).toBe(true);
    return d;
  }

  it('a host announces, a browser finds by browsing and by key, a goodbye removes it; undecodable and oversized datagrams are counted', async () => {
    const hostSide = await discovery();
    const browserSide = await discovery();
    const packet = signLobby(host, info());
    hostSide.announcer.set(packet);
    const found = await browserSide.browser.find(host.publicKey, 3000);
    expect(found?.packet.timestamp).toBe(packet.timestamp);
    expect(found?.from).toBe('127.0.0.1');
    const browsed: string[] = [];
    await browserSide.browser.browse('tanks', '1.2', { windowMs: 300, onSighting: (s) => browsed.push(s.lobby.name) });
    expect(browsed).toEqual(['LAN room']);

    // junk and an oversized datagram to the group
    const junk = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((r) => junk.bind(0, '127.0.0.1', () => r()));
    junk.setMulticastInterface('127.0.0.1');
    await new Promise<void>((r) => junk.send(Buffer.from([1, 2, 3]), port, MDNS_GROUP_V4, () => r()));
    const big = dnsPacket.encode({ type: 'response', answers: [{ type: 'TXT', name: 'x.local', ttl: 1, data: Array.from({ length: 40 }, () => Buffer.alloc(250)) }] });
    expect(big.length).toBeGreaterThan(9000);
    await new Promise<void>((r) => junk.send(big, port, MDNS_GROUP_V4, () => r()));
    junk.close();
    await expect.poll(() => browserSide.status().transport, { timeout: 3000 }).toMatchObject({ malformed: 1, oversized: 1 });

    const gone = new Promise<string>((resolve) => browserSide.browser.once('gone', (_k, why) => resolve(why)));
    hostSide.announcer.goodbye(signLobby(host, info({ open: false })));
    expect(await gone).toBe('goodbye');
    expect(browserSide.browser.get(host.publicKey)).toBeNull();
  });

  it('a lobby whose host vanishes without a goodbye expires after its mDNS TTL (3 announce intervals)', async () => {
    const hostSide = await discovery(1000);
    const browserSide = await discovery();
    hostSide.announcer.set(signLobby(other, info({ name: 'vanishing' })));
    expect(await browserSide.browser.find(other.publicKey, 3000)).not.toBeNull();
    const heard = browserSide.browser.get(other.publicKey)!;
    expect(heard.expiresAt - heard.heardAt).toBe(3000);
    // the host dies: its sockets close without a goodbye
    await hostSide.transport.close();
    const why = await new Promise<string>((resolve) => browserSide.browser.once('gone', (_k, w) => resolve(w)));
    expect(why).toBe('expired');
  }, 15_000);

  it('a transport with no usable interface is inactive and says so', async () => {
    const t = await LanTransport.open({ port, interfaces: [], ipv6: false });
    expect(t.active).toBe(false);
    await t.close();
    const d = await LanDiscovery.start({ port, interfaces: [], ipv6: false });
    expect(d.status()).toMatchObject({ enabled: false, reason: expect.stringContaining('no network interface') });
    await d.close();
  });

  it('SignedPacket round trip stays canonical through the LAN codec (bytes unchanged)', () => {
    const signed = signLobby(host, info());
    const back = decodeAnnouncements(roundTrip(encodeAnnouncement(signed, 'tanks', '1.2', 1))).announcements[0]!.packet;
    expect(SignedPacket.fromBytes(back.toBytes()).timestamp).toBe(signed.timestamp);
  });
});

describe('joining a lobby heard on the LAN (planLanJoin)', () => {
  const lobby = { reach: 'cone' as const, endpoints: [
    { transport: 'enet', host: '203.0.113.7', port: 7777 },
    { transport: 'lan', host: '10.77.0.2', port: 7777 },
    { transport: 'ws', host: '10.77.0.2', port: 8080 },
  ] };
  it('uses the endpoint whose address the signed record names and the announcement came from', () => {
    expect(planLanJoin(lobby, 'enet', '10.77.0.2')).toEqual({ via: 'lan', host: '10.77.0.2', port: 7777 });
    expect(planLanJoin(lobby, 'ws', '10.77.0.2')).toEqual({ via: 'lan', host: '10.77.0.2', port: 8080 });
    expect(planJoin(lobby, 'enet', null, '::ffff:10.77.0.2')).toEqual({ via: 'lan', host: '10.77.0.2', port: 7777 });
  });
  it('a genuine record replayed from another machine does not redirect the player there', () => {
    expect(planLanJoin(lobby, 'enet', '10.77.0.9')).toBeNull();
    expect(() => planJoin(lobby, 'ws', null, '10.77.0.9')).toThrow(/cone NAT/);
  });
});

describe('lobby service and browser on the LAN alone (loopback multicast, no DHT, no relay)', () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const running: { close(): Promise<void> }[] = [];
  afterEach(async () => { for (const r of running.splice(0).reverse()) await r.close(); });

  async function service(): Promise<{ lobbies: LobbyService; lan: LanDiscovery }> {
    const lan = await LanDiscovery.start({ port, interfaces: ['127.0.0.1'], ipv6: false, announceIntervalMs: 1000 });
    const lobbies = new LobbyService({ keys: { get: async (name) => (name === 'h' ? host : other) }, client: null, dht: null, lan, lanFindMs: 400 });
    running.push(lan, { close: () => lobbies.shutdown() });
    return { lobbies, lan };
  }

  it('hosts, browses (found at once, source lan) and gets by code; an unknown code is NO_LOBBY naming the LAN', async () => {
    const a = await service();
    const b = await service();
    await expect(a.lobbies.host('h', { game: 'tanks', gameVersion: '1.2', name: 'LAN room', maxPlayers: 8, port: 7777 })).rejects.toThrow(/no LAN IPv4 address/); // loopback only: no LAN address
    const { opened } = await a.lobbies.host('h', { game: 'tanks', gameVersion: '1.2', name: 'LAN room', maxPlayers: 8, port: 7777, address: '127.0.0.1' });
    expect(opened.publish.storedOn).toBe(0);
    expect(opened.directory).toBeNull();

    const browser = new LobbyBrowser({ game: 'tanks', gameVersion: '1.2', dht: null, client: null, lan: b.lan.browser, lanWindowMs: 300 });
    running.push(browser);
    const found = new Promise<BrowsedLobby>((resolve) => browser.once('found', resolve));
    const result = await browser.refresh();
    expect((await found).source).toBe('lan');
    expect(result.lobbies.map((l) => [l.name, l.source, l.lanAddress])).toEqual([['LAN room', 'lan', '127.0.0.1']]);
    expect(result.stats.lan.heard).toBe(1);

    const got = await b.lobbies.get(host.publicKey.toUri());
    expect(got).toMatchObject({ source: 'lan', lanAddress: '127.0.0.1' });
    await expect(b.lobbies.get(other.publicKey.z32)).rejects.toThrow(/no lobby .* on the local network within 400 ms/);

    const lost = new Promise<string>((resolve) => browser.once('lost', (_l, why) => resolve(why)));
    await a.lobbies.close('h', 0);
    expect(await lost).toBe('closed');
  });

  it('a lobby both on the network (known key) and on the LAN is listed once, the newest signature winning', async () => {
    const a = await service();
    const b = await service();
    const older = signLobby(other, { ...info(), name: 'from the DHT' }, { timestamp: BigInt(Date.now() - 5000) * 1000n });
    const client = { resolve: async () => ({ packet: older, source: 'dht' as const }), publish: async () => ({ storedOn: 1, dht: null, relays: [] }) };
    await a.lobbies.host('o', { game: 'tanks', gameVersion: '1.2', name: 'from the LAN', maxPlayers: 8, port: 7777, address: '127.0.0.1' });
    const browser = new LobbyBrowser({ game: 'tanks', gameVersion: '1.2', dht: null, client, knownKeys: [other.publicKey], directory: false, lan: b.lan.browser, lanWindowMs: 300 });
    running.push(browser);
    const result = await browser.refresh();
    expect(result.stats.known.found).toBe(1);
    expect(result.stats.lan.heard).toBe(1);
    expect(result.lobbies.map((l) => [l.name, l.source])).toEqual([['from the LAN', 'lan']]);
  });
});
