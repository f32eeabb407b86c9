/** The lobby record schema (pure): encode/parse, tolerance, rejections with reasons, size limit, topic, addresses. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isPkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import type { DnsRecord } from '../sidecar/src/core/records.ts';
import { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { encodeDnsPacket } from '../sidecar/src/core/dns-encode.ts';
import { lobbyErrorReason } from '../sidecar/src/lobby/lobby-errors.ts';
import {
  encodeLobby, isLobbyStale, lobbyAgeSeconds, parseLobby, signLobby, type LobbyInfo,
} from '../sidecar/src/lobby/lobby-record.ts';
import { parseAttributes } from '../sidecar/src/lobby/txt-attributes.ts';
import { lobbyTopic, lobbyTopicText } from '../sidecar/src/lobby/topic.ts';
import { isPublicAddress, resolveHostAddress } from '../sidecar/src/lobby/host-address.ts';

const keypair = Keypair.fromSeed(new Uint8Array(32).fill(7));

function info(overrides: Partial<LobbyInfo> = {}): LobbyInfo {
  return {
    game: 'tanks', gameVersion: '1.2', name: "Alice's room", players: 3, maxPlayers: 8, open: true,
    endpoints: [{ transport: 'enet', host: '203.0.113.7', port: 7777 }],
    ...overrides,
  };
}

/** A packet with a hand-written `_lobby` TXT (and optional other records). */
function rawLobby(strings: string[], extra: DnsRecord[] = []): SignedPacket {
  return SignedPacket.sign(keypair, [{ type: 'TXT', name: '_lobby', ttl: 60, strings }, ...extra]);
}

const REQUIRED = ['v=1', 'game=tanks', 'gv=1.2', 'name=Room', 'players=1', 'max=4', 'open=1'];

function reasonOf(fn: () => unknown): { reason: string | null; code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (!isPkarrError(err)) throw err;
    return { reason: lobbyErrorReason(err), code: err.code, message: err.message };
  }
  throw new Error('expected a failure');
}

describe('lobby record', () => {
  it('round-trips every field through a signed packet', () => {
    const lobby = info({
      name: 'Zoë = best room, 100% fun',
      custom: { mode: 'ctf', map: 'dust=2', rank_min: '10' },
      beaconPort: 41000,
      endpoints: [
        { transport: 'enet', host: '203.0.113.7', port: 7777 },
        { transport: 'ws', host: '2001:DB8::1', port: 8080, alpn: ['http/1.1'] },
        { transport: 'wss', host: 'play.example.com', port: 443 },
      ],
    });
    const packet = SignedPacket.fromBytes(signLobby(keypair, lobby).toBytes());
    const parsed = parseLobby(packet);
    expect(parsed.publicKey.z32).toBe(keypair.publicKey.z32);
    expect(parsed).toMatchObject({ game: 'tanks', gameVersion: '1.2', name: lobby.name, players: 3, maxPlayers: 8, open: true, beaconPort: 41000, ttl: 60 });
    expect(parsed.custom).toEqual({ mode: 'ctf', map: 'dust=2', rank_min: '10' });
    expect(parsed.endpoints).toEqual([
      { transport: 'enet', host: '203.0.113.7', port: 7777 },
      { transport: 'ws', host: '2001:db8::1', port: 8080, alpn: ['http/1.1'] },
      { transport: 'wss', host: 'play.example.com', port: 443 },
    ]);
    expect(parsed.addresses.sort()).toEqual(['2001:db8::1', '203.0.113.7']);
    expect(parsed.timestamp).toBe(packet.timestamp);
  });

  it('carries how the host is reached (reach) and reads unknown kinds as unknown', () => {
    const cone = parseLobby(SignedPacket.fromBytes(signLobby(keypair, info({ reach: 'cone' })).toBytes()));
    expect(cone.reach).toBe('cone');
    expect(encodeLobby(info({ reach: 'mapped' })).find((r) => r.type === 'TXT')?.strings).toContain('reach=mapped');
    expect(parseLobby(SignedPacket.fromBytes(signLobby(keypair, info({})).toBytes())).reach).toBe('unknown');
    const newer = SignedPacket.sign(keypair, encodeLobby(info({})).map((r) => (r.type === 'TXT' ? { ...r, strings: [...r.strings, 'reach=wormhole'] } : r)));
    expect(parseLobby(newer).reach).toBe('unknown');
    expect(() => encodeLobby(info({ reach: 'wormhole' as never }))).toThrow(/invalid reach "wormhole"/);
  });

  it('round-trips custom keys named like Object.prototype members (__proto__, constructor)', () => {
    // JSON.parse makes "__proto__" an own property (an object literal would set the prototype instead).
    const custom = JSON.parse('{"__proto__":"a","constructor":"b","mode":"ctf"}') as Record<string, string>;
    const strings = encodeLobby(info({ custom })).find((r) => r.type === 'TXT')?.strings;
    expect(strings).toEqual(expect.arrayContaining(['x-__proto__=a', 'x-constructor=b', 'x-mode=ctf']));
    const parsed = parseLobby(SignedPacket.fromBytes(signLobby(keypair, info({ custom })).toBytes()));
    expect(Object.keys(parsed.custom).sort()).toEqual(['__proto__', 'constructor', 'mode']);
    expect(Object.getOwnPropertyDescriptor(parsed.custom, '__proto__')?.value).toBe('a');
    expect(parsed.custom['constructor']).toBe('b');
    expect(parsed.custom).toEqual(custom);
    expect(JSON.parse(JSON.stringify(parsed.custom))).toEqual(custom);
    // Re-encoding the parsed lobby gives the same attributes (the record round-trips).
    expect(encodeLobby(info({ custom: parsed.custom })).find((r) => r.type === 'TXT')?.strings).toEqual(strings);
    // Without them, nothing inherited shows through.
    const plain = parseLobby(rawLobby(REQUIRED)).custom;
    expect(plain['constructor']).toBeUndefined();
    expect(Object.keys(plain)).toEqual([]);
  });

  it('writes one key=value per character-string under _lobby, SVCB at _<transport>, A at the apex', () => {
    const records = encodeLobby(info({ custom: { mode: 'ctf' }, open: false, ttl: 30 }));
    const txt = records.find((r) => r.type === 'TXT');
    expect(txt).toEqual({ type: 'TXT', name: '_lobby', ttl: 30, strings: ['v=1', 'game=tanks', 'gv=1.2', "name=Alice's room", 'players=3', 'max=8', 'open=0', 'x-mode=ctf'] });
    expect(records).toContainEqual({ type: 'A', name: '@', ttl: 30, address: '203.0.113.7' });
    expect(records).toContainEqual({ type: 'SVCB', name: '_enet', ttl: 30, priority: 1, target: '.', params: [{ key: 'port', port: 7777 }, { key: 'ipv4hint', addresses: ['203.0.113.7'] }] });
  });

  it('uses the apex A/AAAA when an SVCB record carries no hint', () => {
    const packet = SignedPacket.sign(keypair, [
      { type: 'TXT', name: '_lobby', ttl: 60, strings: REQUIRED },
      { type: 'A', name: '@', ttl: 60, address: '198.51.100.4' },
      { type: 'SVCB', name: '_enet', ttl: 60, priority: 2, target: '.', params: [{ key: 'port', port: 9000 }] },
      { type: 'SVCB', name: '_enet', ttl: 60, priority: 0, target: 'alias.example', params: [] },
      { type: 'SVCB', name: '_ws', ttl: 60, priority: 1, target: '.', params: [] },
    ]);
    expect(parseLobby(packet).endpoints).toEqual([{ transport: 'enet', host: '198.51.100.4', port: 9000 }]);
  });

  it('tolerates unknown keys, boolean attributes, duplicates (first wins) and upper-case keys', () => {
    const parsed = parseLobby(rawLobby(['future=yes', 'flag', '=orphan', ...REQUIRED, 'players=99', 'X-Mode=dm', '']));
    expect(parsed.players).toBe(1);
    expect(parsed.custom).toEqual({ mode: 'dm' });
    expect([...parseAttributes(['a=1', 'a=2', 'b', '=c', 'd==e']).entries()]).toEqual([['a', '1'], ['b', ''], ['d', '=e']]);
  });

  it('rejects another schema version with a clear reason', () => {
    const failure = reasonOf(() => parseLobby(rawLobby(['v=2', ...REQUIRED.slice(1)])));
    expect(failure.reason).toBe('UNSUPPORTED_SCHEMA');
    expect(failure.code).toBe('INVALID_RECORD');
    expect(failure.message).toMatch(/schema version "2".*reads version 1/);
  });

  it('rejects a record without _lobby as "not a lobby" and missing required keys by name', () => {
    const notLobby = reasonOf(() => parseLobby(SignedPacket.sign(keypair, [{ type: 'A', name: '@', ttl: 60, address: '1.2.3.4' }])));
    expect(notLobby).toMatchObject({ reason: 'NOT_A_LOBBY', code: 'INVALID_RECORD' });
    const missing = reasonOf(() => parseLobby(rawLobby(['v=1', 'game=tanks', 'name=x', 'open=1'])));
    expect(missing.reason).toBe('INVALID_LOBBY');
    expect(missing.message).toContain('missing required keys gv, players, max');
    expect(reasonOf(() => parseLobby(rawLobby(REQUIRED.slice(1)))).message).toContain('no v');
  });

  it('clamps nothing: bad values reject the record with the reason', () => {
    const cases: [string[], RegExp][] = [
      [[...REQUIRED.filter((s) => !s.startsWith('players')), 'players=5'], /player count 5/],
      [[...REQUIRED.filter((s) => !s.startsWith('open')), 'open=yes'], /open="yes"/],
      [[...REQUIRED.filter((s) => !s.startsWith('max')), 'max=-1'], /max="-1"/],
      [[...REQUIRED.filter((s) => !s.startsWith('max')), 'max=007'], /max="007"/],
      [[...REQUIRED.filter((s) => !s.startsWith('name')), 'name=a\u0007b'], /control characters/],
      [[...REQUIRED.filter((s) => !s.startsWith('game=')), 'game=a:b'], /invalid game id/],
      [[...REQUIRED, 'beacon=70000'], /beacon="70000"|beacon port 70000/],
    ];
    for (const [strings, pattern] of cases) {
      const failure = reasonOf(() => parseLobby(rawLobby(strings)));
      expect(failure.reason, strings.join(' ')).toBe('INVALID_LOBBY');
      expect(failure.message).toMatch(pattern);
    }
  });

  it('refuses bad input when encoding, naming the field', () => {
    const bad: [Partial<LobbyInfo>, RegExp][] = [
      [{ game: 'a:b' }, /invalid game id/],
      [{ gameVersion: '' }, /invalid game version/],
      [{ name: 'x'.repeat(65) }, /65 characters, 1 over the 64-character limit/],
      [{ name: '   ' }, /must not be empty/],
      [{ players: 9 }, /player count 9/],
      [{ players: 1.5 }, /player count 1.5/],
      [{ maxPlayers: 0 }, /max players 0/],
      [{ custom: { 'x-mode': 'a', Mode: 'b' } }, /custom key "Mode"/],
      [{ custom: { long: 'v'.repeat(260) } }, /"x-long=…" is 267 bytes, 12 over the 255-byte TXT string limit/],
      [{ endpoints: [{ transport: '_enet', host: '1.2.3.4', port: 1 }] }, /invalid transport/],
      [{ endpoints: [{ transport: 'enet', host: '1.2.3.4', port: 0 }] }, /invalid port 0/],
      [{ endpoints: [{ transport: 'enet', host: 'not a host', port: 1 }] }, /invalid host/],
      [{ ttl: 5 }, /TTL 5/],
    ];
    for (const [change, pattern] of bad) {
      const failure = reasonOf(() => encodeLobby(info(change)));
      expect(failure.code, JSON.stringify(change)).toBe('INVALID_ARGUMENT');
      expect(failure.message).toMatch(pattern);
    }
  });

  it('says by how much a lobby is over the 1000-byte limit', () => {
    const custom = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, 'v'.repeat(200)]));
    const lobby = info({ custom });
    const size = encodeDnsPacket(encodeLobby(lobby), keypair.publicKey.z32).length;
    expect(size).toBeGreaterThan(1000);
    const failure = reasonOf(() => signLobby(keypair, lobby));
    expect(failure).toMatchObject({ reason: 'LOBBY_TOO_LARGE', code: 'PACKET_TOO_LARGE' });
    expect(failure.message).toBe(`lobby record is ${size} bytes, ${size - 1000} over the 1000-byte limit: shorten name or custom data`);
    expect(() => signLobby(keypair, info({ custom: { k0: 'v'.repeat(200) } }))).not.toThrow();
  });

  it('knows when a lobby is stale (3 TTLs without a new signature)', () => {
    const packet = signLobby(keypair, info(), { timestamp: 1_800_000_000_000_000n });
    const lobby = parseLobby(packet);
    expect(lobbyAgeSeconds(lobby, 1_800_000_100_000_000n)).toBe(100);
    expect(isLobbyStale(lobby, 1_800_000_180_000_000n)).toBe(false);
    expect(isLobbyStale(lobby, 1_800_000_181_000_000n)).toBe(true);
    expect(lobbyAgeSeconds(lobby, 1_700_000_000_000_000n)).toBe(0);
  });
});

describe('lobby topic', () => {
  it('is sha1("pkarr-godot-lobby:v1:<game>:<version>")', () => {
    expect(lobbyTopicText('tanks', '1.2')).toBe('pkarr-godot-lobby:v1:tanks:1.2');
    const expected = createHash('sha1').update('pkarr-godot-lobby:v1:tanks:1.2').digest();
    expect(Buffer.from(lobbyTopic('tanks', '1.2')).equals(expected)).toBe(true);
    expect(Buffer.from(lobbyTopic('tanks', '1.3')).equals(expected)).toBe(false);
    expect(() => lobbyTopic('tan:ks', '1')).toThrow(/invalid game id/);
  });
});

describe('host address', () => {
  it('tells public addresses from private, loopback and special ones', () => {
    for (const a of ['8.8.8.8', '2606:4700::1111', '1.1.1.1', '::ffff:8.8.8.8']) expect(isPublicAddress(a), a).toBe(true);
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.1.5', '172.20.0.1', '100.64.1.1', '169.254.1.1', '::1', 'fe80::1', 'fd00::1', '0.0.0.0', '::ffff:10.0.0.1', 'example.com']) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it('accepts private addresses only when configured, DHT addresses only when public and agreed', () => {
    expect(resolveHostAddress({ address: '127.0.0.1' })).toEqual({ host: '127.0.0.1', source: 'configured' });
    expect(resolveHostAddress({ address: 'Play.Example.com' })).toEqual({ host: 'play.example.com', source: 'configured' });
    expect(() => resolveHostAddress({ address: 'bad host!' })).toThrow(/invalid lobby address/);
    const dht = (host: string, votes: number) => ({ externalAddress: () => ({ host, port: 6881, votes }) });
    expect(resolveHostAddress({ dht: dht('8.8.4.4', 3) })).toEqual({ host: '8.8.4.4', source: 'dht' });
    expect(() => resolveHostAddress({ dht: dht('192.168.1.2', 9) })).toThrow(/not a public address/);
    expect(() => resolveHostAddress({ dht: dht('8.8.4.4', 1) })).toThrow(/only 1 DHT node/);
    expect(() => resolveHostAddress({ dht: { externalAddress: () => null } })).toThrow(/pass address explicitly/);
    expect(() => resolveHostAddress({ dht: { externalAddress: () => null } })).toThrow(expect.objectContaining({ code: 'ADDRESS_UNKNOWN' }));
    expect(() => resolveHostAddress({})).toThrow(/unknown/);
  });
});
