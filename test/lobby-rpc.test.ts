/**
 * The `lobby.*` JSON-RPC methods through the dispatcher, on a local DHT testnet: host, get by code,
 * browse, watch with notifications, update, close, and the error shapes the addon relies on.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { LobbyService, type LobbyConnection } from '../sidecar/src/lobby/lobby-service.ts';
import { Dispatcher } from '../sidecar/src/rpc/dispatcher.ts';
import { registerLobbyMethods, type LobbyRpcContext } from '../sidecar/src/rpc/lobby-methods.ts';

let testnet: Testnet;
const nodes: DhtClient[] = [];
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  testnet = await Testnet.create(20);
  for (let i = 0; i < 2; i++) nodes.push(await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 500 }));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});
afterAll(async () => {
  for (const node of nodes) await node.destroy();
  await testnet?.destroy();
});

type Json = Record<string, unknown>;
interface Sidecar {
  call(method: string, params?: Json): Promise<Json>;
  notifications: { method: string; params: Json }[];
  next(method: string, match?: (params: Json) => boolean): Promise<Json>;
  service: LobbyService;
}

/** A sidecar-like stack: a key store in memory, a client on DHT node `index`, the lobby methods. */
function sidecar(index: number, keys: Record<string, Keypair> = {}): Sidecar {
  const client = new Client({ dht: nodes[index]!, relays: [] });
  const service = new LobbyService({
    keys: { get: async (name) => keys[name] ?? Promise.reject(new PkarrError('INVALID_ARGUMENT', `no key named ${name}`)) },
    client,
    dht: nodes[index]!,
    beaconHost: '127.0.0.1',
  });
  cleanup.push(() => client.close(), () => service.shutdown());
  const notifications: Sidecar['notifications'] = [];
  const waiters: (() => void)[] = [];
  const connection: LobbyConnection = {
    id: 1,
    notify: (method, params) => {
      notifications.push({ method, params: params as Json });
      for (const wake of waiters.splice(0)) wake();
    },
  };
  const dispatcher = registerLobbyMethods(new Dispatcher<LobbyRpcContext>(), (ctx) => ctx);
  const context: LobbyRpcContext = { lobbies: service, connection };
  let id = 0;
  return {
    service,
    notifications,
    async call(method, params = {}) {
      const text = await dispatcher.handle(JSON.stringify({ jsonrpc: '2.0', id: `g${++id}`, method, params }), context);
      return JSON.parse(text!) as Json;
    },
    async next(method, match = () => true) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const hit = notifications.find((n) => n.method === method && match(n.params));
        if (hit) {
          notifications.splice(notifications.indexOf(hit), 1);
          return hit.params;
        }
        if (Date.now() > deadline) throw new Error(`no ${method} notification within 20 s`);
        await new Promise<void>((resolve) => { waiters.push(resolve); setTimeout(resolve, 250); });
      }
    },
  };
}

const HOST_PARAMS = { key: 'host', game: 'rpcgame', gameVersion: '1.0', name: 'RPC room', maxPlayers: 4, port: 7777, address: '127.0.0.1', custom: { mode: 'ctf' } };

describe('lobby.* methods', () => {
  it('hosts, finds by code, browses, watches, updates and closes a lobby', async () => {
    const host = sidecar(0, { host: Keypair.generate() });
    const player = sidecar(1);
    const hosted = (await host.call('lobby.host', HOST_PARAMS))['result'] as Json;
    expect(hosted['inviteCode']).toBe(`pk:${hosted['publicKey']}`);
    expect(hosted['beaconPort']).toBeTypeOf('number');
    expect(hosted['announcedTo']).toBeGreaterThan(0);
    expect(hosted['timestamp']).toMatch(/^\d{16}$/);
    expect(hosted['lobby']).toMatchObject({ name: 'RPC room', players: 0, maxPlayers: 4, open: true, source: 'local', custom: { mode: 'ctf' } });

    const got = (await player.call('lobby.get', { code: hosted['inviteCode'] as string, game: 'rpcgame' }))['result'] as Json;
    expect(got).toMatchObject({
      publicKey: hosted['publicKey'], inviteCode: hosted['inviteCode'], name: 'RPC room', game: 'rpcgame', gameVersion: '1.0',
      players: 0, maxPlayers: 4, open: true, endpoints: [{ transport: 'enet', host: '127.0.0.1', port: 7777 }], custom: { mode: 'ctf' }, source: 'dht',
    });
    expect(got['ageSeconds']).toBeTypeOf('number');
    expect(got['rttMs']).toBeNull(); // by code: the host itself was not contacted
    expect(got['timestamp']).toBeTypeOf('string');

    const browsed = (await player.call('lobby.browse', { game: 'rpcgame', gameVersion: '1.0', filters: { notFull: true } }))['result'] as Json;
    expect((browsed['lobbies'] as Json[]).map((l) => l['name'])).toEqual(['RPC room']);
    const rtt = (browsed['lobbies'] as Json[])[0]!['rttMs'];
    expect(typeof rtt === 'number' && rtt > 0).toBe(true); // its beacon answered: measured
    expect(browsed['stats']).toMatchObject({ peers: 1, verified: 1, lobbies: 1, rejected: { badSignature: 0 } });

    const watch = (await player.call('lobby.watch', { game: 'rpcgame', gameVersion: '1.0', intervalSeconds: 60 }))['result'] as Json;
    const watchId = watch['watchId'] as string;
    const found = await player.next('lobby.found');
    expect(found).toMatchObject({ watchId, index: 0, lobby: { name: 'RPC room', source: 'topic' } });
    await player.next('lobby.refreshed', (p) => p['watchId'] === watchId);

    expect((await host.call('lobby.update', { key: 'host', players: 2, name: 'Renamed' }))['result']).toMatchObject({ lobby: { players: 2, name: 'Renamed' } });
    // A refresh asked for: the change comes once, as the watch's notifications (before the answer),
    // and the answer only counts.
    const before = player.notifications.length;
    const refreshed = (await player.call('lobby.refresh', { watchId }))['result'] as Json;
    expect(Object.keys(refreshed).sort()).toEqual(['count', 'stats']);
    expect(refreshed['count']).toBe(1);
    expect(player.notifications.slice(before).map((n) => n.method)).toEqual(['lobby.updated', 'lobby.refreshed']);
    expect(await player.next('lobby.updated')).toMatchObject({ watchId, index: 0, lobby: { players: 2, name: 'Renamed' } });
    const second = await player.next('lobby.refreshed');
    expect(second).toMatchObject({ watchId, count: 1, stats: { lobbies: 1 } });
    // Round-trip times that changed since the events: only of listed lobbies, only measurements.
    const rtts = second['rtts'] as Record<string, unknown>;
    expect(Object.keys(rtts).every((k) => k === hosted['publicKey'])).toBe(true);
    expect(Object.values(rtts).every((v) => typeof v === 'number' && v > 0)).toBe(true);

    const hostedList = (await host.call('lobby.hosted'))['result'] as Json[];
    expect(hostedList).toMatchObject([{ key: 'host', lobby: { name: 'Renamed' } }]);

    expect((await host.call('lobby.close', { key: 'host', lingerSeconds: 30 }))['result']).toMatchObject({ closed: true, publicKey: hosted['publicKey'] });
    await player.call('lobby.refresh', { watchId });
    expect(await player.next('lobby.lost')).toEqual({ watchId, publicKey: hosted['publicKey'], reason: 'closed' });
    expect((await player.call('lobby.unwatch', { watchId }))['result']).toEqual({ removed: true });
    expect((await player.call('lobby.unwatch', { watchId }))['result']).toEqual({ removed: false });
    expect((await host.call('lobby.hosted'))['result']).toEqual([]);
  });

  it('keeps custom attributes named __proto__ and constructor through host, get and update', async () => {
    const host = sidecar(0, { proto: Keypair.generate() });
    const player = sidecar(1);
    const custom = JSON.parse('{"__proto__":"a","constructor":"b"}') as Json; // own "__proto__", as a JSON-RPC frame would carry it
    const hosted = (await host.call('lobby.host', { ...HOST_PARAMS, key: 'proto', game: 'protogame', public: false, custom }))['result'] as Json;
    expect((hosted['lobby'] as Json)['custom']).toEqual(custom);
    const got = (await player.call('lobby.get', { code: hosted['inviteCode'] as string }))['result'] as Json;
    expect(got['custom']).toEqual(custom);
    expect(Object.keys(got['custom'] as Json).sort()).toEqual(['__proto__', 'constructor']);
    const changed = JSON.parse('{"__proto__":"c"}') as Json;
    const updated = (await host.call('lobby.update', { key: 'proto', custom: changed }))['result'] as Json;
    expect((updated['lobby'] as Json)['custom']).toEqual(changed);
  });

  it('answers bad requests with the documented error shapes', async () => {
    const s = sidecar(0, { a: Keypair.generate() });
    const error = async (method: string, params: Json): Promise<Json> => (await s.call(method, params))['error'] as Json;

    expect(await error('lobby.host', { ...HOST_PARAMS, key: 'a', port: undefined })).toMatchObject({ code: -32602, data: { field: 'port' } });
    expect(await error('lobby.host', { ...HOST_PARAMS, key: 'a', maxPlayers: 2.5 })).toMatchObject({ code: -32602, data: { field: 'maxPlayers' } });
    expect(await error('lobby.host', { ...HOST_PARAMS, key: 'a', colour: 'red' })).toMatchObject({ code: -32602, data: { field: 'colour' } });
    expect(await error('lobby.host', { ...HOST_PARAMS, key: 'a', name: 'x'.repeat(65) })).toMatchObject({ code: -32000, data: { code: 'INVALID_ARGUMENT' } });
    const { address: _omit, ...noAddress } = HOST_PARAMS;
    const unknown = await error('lobby.host', { ...noAddress, key: 'a' });
    expect(unknown).toMatchObject({ code: -32000, data: { code: 'ADDRESS_UNKNOWN' } });
    expect(unknown['message']).toMatch(/public address of this host is unknown/);
    expect(await error('lobby.update', { key: 'a', players: 1 })).toMatchObject({ code: -32000, data: { code: 'INVALID_ARGUMENT' } });
    expect(await error('lobby.update', { key: 'a' })).toMatchObject({ code: -32602 });

    const big = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'v'.repeat(220)]));
    const tooLarge = await error('lobby.host', { ...HOST_PARAMS, key: 'a', custom: big });
    expect(tooLarge).toMatchObject({ code: -32000, data: { code: 'PACKET_TOO_LARGE', lobbyError: 'LOBBY_TOO_LARGE' } });
    expect(tooLarge['message']).toMatch(/^lobby record is \d+ bytes, \d+ over the 1000-byte limit: shorten name or custom data$/);

    expect(await error('lobby.get', { code: Keypair.generate().publicKey.z32 })).toMatchObject({ code: -32000, data: { code: 'NOT_FOUND', lobbyError: 'NO_LOBBY' } });
    expect(await error('lobby.get', { code: 'nonsense' })).toMatchObject({ code: -32602, data: { field: 'code', code: 'INVALID_PUBLIC_KEY_LENGTH' } });
    expect(await error('lobby.get', { code: 'pk:not a key!' })).toMatchObject({ code: -32602, data: { field: 'code', code: 'INVALID_PUBLIC_KEY_ENCODING' } });
    expect(await error('lobby.browse', { game: 'g', gameVersion: '1', filters: { full: true } })).toMatchObject({ code: -32602, data: { field: 'filters' } });
    expect(await error('lobby.browse', { game: 'g', gameVersion: '1', sort: 'size' })).toMatchObject({ code: -32602, data: { field: 'sort' } });
    expect(await error('lobby.browse', { game: 'g', gameVersion: '1', knownKeys: [Keypair.generate().publicKey.z32, 'pk:bad key'] })).toMatchObject({ code: -32602, data: { field: 'knownKeys[1]', code: 'INVALID_PUBLIC_KEY_ENCODING' } });
    expect(await error('lobby.browse', { game: 'g:x', gameVersion: '1' })).toMatchObject({ code: -32000, data: { code: 'INVALID_ARGUMENT' } });
    expect(await error('lobby.watch', { game: 'g', gameVersion: '1', intervalSeconds: 1 })).toMatchObject({ code: -32602, data: { field: 'intervalSeconds' } });
    expect(await error('lobby.refresh', { watchId: 'w999' })).toMatchObject({ code: -32602, data: { field: 'watchId' } });

    await s.call('lobby.host', { ...HOST_PARAMS, key: 'a', game: 'twice', public: false });
    expect((await error('lobby.host', { ...HOST_PARAMS, key: 'a', game: 'twice' }))['message']).toMatch(/already hosts an open lobby/);
  });

  it('ends a connection\'s watches when it goes away', async () => {
    const s = sidecar(1);
    const watchId = ((await s.call('lobby.watch', { game: 'nobody', gameVersion: '1' }))['result'] as Json)['watchId'] as string;
    await s.service.dropConnection(1);
    expect((await s.call('lobby.unwatch', { watchId }))['result']).toEqual({ removed: false });
  });
});
