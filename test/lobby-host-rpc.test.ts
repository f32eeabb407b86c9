/**
 * `lobby.host` as PkarrLobbyHost calls it (addons/pkarr/internal/lobby_host_sync.gd,
 * addons/pkarr/config/pkarr_lobby_config.gd), replayed from Node through the dispatcher with a
 * real KeyStore on a local DHT testnet: one call opens a lobby under a key it creates when
 * missing (`createKey`), a host serving ENet and WebSocket publishes both endpoints (`servers`),
 * the record says the game server admits players (`admission`, `admit=1`), a lobby can open
 * locked (`open: false`), and `lobby.join` picks the endpoint of the joiner's transport. The
 * desktop part (the ENet and WebSocket servers themselves) cannot run in the web engine; this is
 * the sidecar half of it, exactly as the addon sends it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { KeyStore } from '../sidecar/src/keystore/key-store.ts';
import { LobbyService } from '../sidecar/src/lobby/lobby-service.ts';
import { Dispatcher } from '../sidecar/src/rpc/dispatcher.ts';
import { registerLobbyMethods, type LobbyRpcContext } from '../sidecar/src/rpc/lobby-methods.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import type { HostPreparation, NatService } from '../sidecar/src/nat/nat-service.ts';
import { lobbyNatHooks, registerJoinMethods } from '../sidecar/src/rpc/lobby-nat.ts';

type Json = Record<string, unknown>;

let testnet: Testnet;
let dht: DhtClient;
let client: Client;
let keys: KeyStore;
let service: LobbyService;
let dir: string;
let dispatcher: Dispatcher<LobbyRpcContext>;
let calls = 0;

beforeAll(async () => {
  testnet = await Testnet.create(12);
  dht = await DhtClient.start({ bootstrap: testnet.bootstrap, host: '127.0.0.1', timeoutMs: 500 });
  client = new Client({ dht, relays: [] });
  dir = await mkdtemp(join(tmpdir(), 'pkarr-lobby-host-rpc-'));
  keys = await KeyStore.open(dir);
  service = new LobbyService({ keys, client, dht, beaconHost: '127.0.0.1' });
  dispatcher = registerJoinMethods(registerLobbyMethods(new Dispatcher<LobbyRpcContext>(), (ctx) => ctx), (ctx) => ({ lobbies: ctx.lobbies, nat: null }));
}, 60_000);

afterAll(async () => {
  await service?.shutdown();
  await client?.close();
  await dht?.destroy();
  await testnet?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call(method: string, params: Json = {}): Promise<{ result?: Json; error?: { code: number; message: string; data?: Json } }> {
  calls++;
  const text = await dispatcher.handle(JSON.stringify({ jsonrpc: '2.0', id: calls, method, params }), { lobbies: service, connection: null });
  return JSON.parse(text!) as { result?: Json; error?: { code: number; message: string; data?: Json } };
}

/** The parameters PkarrLobbyConfig.host_params sends for a host on ENet 7777 and WebSocket 7778. */
function hostParams(key: string, extra: Json = {}): Json {
  return {
    key, game: 'pkarr-host-rpc', gameVersion: '1', name: 'Both ways', maxPlayers: 4, players: 1,
    servers: [{ transport: 'enet', port: 7777 }, { transport: 'ws', port: 7778 }],
    public: false, ttl: 60, custom: {}, address: '127.0.0.1', admission: true, createKey: true,
    ...extra,
  };
}

describe('lobby.host as the addon calls it', () => {
  it('opens in one call under a key it creates, then reuses it', async () => {
    expect((await keys.list()).map((k) => k.name)).not.toContain('room');
    const before = calls;
    const first = await call('lobby.host', hostParams('room'));
    expect(calls - before).toBe(1);
    expect(first.error).toBeUndefined();
    const opened = first.result!;
    expect(opened['keyCreated']).toBe(true);
    const stored = (await keys.list()).find((k) => k.name === 'room');
    expect(stored?.publicKey.z32).toBe(opened['publicKey']);
    const lobby = opened['lobby'] as Json;
    expect(lobby['admission']).toBe(true);
    expect(lobby['endpoints']).toEqual([
      { transport: 'enet', host: '127.0.0.1', port: 7777 },
      { transport: 'ws', host: '127.0.0.1', port: 7778 },
    ]);
    expect((await call('lobby.close', { key: 'room', lingerSeconds: 0 })).error).toBeUndefined();
    const again = await call('lobby.host', hostParams('room'));
    expect(again.result?.['keyCreated']).toBe(false);
    expect(again.result?.['publicKey']).toBe(opened['publicKey']);
    // A joiner gets the endpoint of its transport, and the record says it must wait for admission.
    const code = String(opened['inviteCode']);
    for (const [transport, port] of [['enet', 7777], ['ws', 7778]] as const) {
      const joined = await call('lobby.join', { code, game: 'pkarr-host-rpc', gameVersion: '1', transport });
      expect(joined.error).toBeUndefined();
      expect([joined.result?.['via'], joined.result?.['host'], joined.result?.['port']]).toEqual(['direct', '127.0.0.1', port]);
      expect((joined.result?.['lobby'] as Json)['admission']).toBe(true);
    }
    expect((await call('lobby.close', { key: 'room', lingerSeconds: 0 })).error).toBeUndefined();
  }, 60_000);

  it('opens locked in the same call, and without admission the record does not claim it', async () => {
    const locked = await call('lobby.host', hostParams('locked', { open: false, admission: false }));
    expect(locked.error).toBeUndefined();
    expect((locked.result!['lobby'] as Json)['open']).toBe(false);
    expect((locked.result!['lobby'] as Json)['admission']).toBe(false);
    const joined = await call('lobby.join', { code: String(locked.result!['inviteCode']), transport: 'ws' });
    expect(joined.error?.data?.['lobbyError']).toBe('LOBBY_CLOSED');
    // Bad join params are invalid params naming the field, as in every other method.
    for (const [field, value] of [['transport', 7], ['transport', 'W S'], ['timeoutMs', 10], ['timeoutMs', 1.5e3 + 0.5]] as const) {
      const refused = await call('lobby.join', { code: String(locked.result!['inviteCode']), [field]: value });
      expect([refused.error?.code, refused.error?.data?.['field']], JSON.stringify(refused.error)).toEqual([-32602, field]);
    }
    expect((await call('lobby.close', { key: 'locked', lingerSeconds: 0 })).error).toBeUndefined();
  }, 60_000);

  it('refuses bad servers before creating a key', async () => {
    const bad: Json[] = [
      { servers: [] },
      { servers: [{ transport: 'enet', port: 7777 }, { transport: 'enet', port: 7778 }] },
      { servers: [{ transport: 'WS', port: 7778 }] },
      { servers: [{ transport: 'ws', port: 0 }] },
      { servers: [{ transport: 'ws', port: 7778, tls: true }] },
      { port: 7777 },
      { open: 'yes' },
      // Checked even here, where the sidecar traverses no NAT (a typo must not pass unnoticed).
      { nat: 'no' },
      { map: 0 },
    ];
    for (const extra of bad) {
      const answer = await call('lobby.host', hostParams('never', extra));
      expect(answer.error?.code, JSON.stringify(extra)).toBe(-32602);
    }
    expect((await keys.list()).map((k) => k.name)).not.toContain('never');
    // Without createKey a missing key is still an error, and nothing is created.
    const missing = await call('lobby.host', hostParams('never', { createKey: false }));
    expect(missing.error?.data?.['reason'] ?? missing.error?.message).toMatch(/KEY_NOT_FOUND|never/);
    expect((await keys.list()).map((k) => k.name)).not.toContain('never');
  }, 60_000);

  it('behind a NAT: the first server is mapped or punched, the others are published on a public address only', async () => {
    const servers = [{ transport: 'enet', port: 7777 }, { transport: 'ws', port: 7778 }];
    const prepared = (reach: HostPreparation['reach'], address: string | null, publicGamePort: number): NatService => ({
      // Only host() is used by the hooks' prepare.
      host: async () => ({ reach, address, publicGamePort, endpoints: address === null ? [{ transport: 'punch', host: '198.51.100.9', port: 40000 }] : [] }),
    }) as unknown as NatService;
    const key = async (): Promise<Keypair> => Keypair.generate();
    const options = { port: 7777, transport: 'enet', servers, map: true, punch: true };
    expect((await lobbyNatHooks(prepared('public', '203.0.113.7', 7777), key).prepare('k', options)).endpoints).toEqual([
      { transport: 'enet', host: '203.0.113.7', port: 7777 },
      { transport: 'ws', host: '203.0.113.7', port: 7778 },
    ]);
    // A router mapping carries the ENet (UDP) port only: a WebSocket (TCP) endpoint there would lead nowhere.
    expect((await lobbyNatHooks(prepared('mapped', '203.0.113.7', 17777), key).prepare('k', options)).endpoints).toEqual([
      { transport: 'enet', host: '203.0.113.7', port: 17777 },
    ]);
    expect((await lobbyNatHooks(prepared('cone', null, 7777), key).prepare('k', options)).endpoints).toEqual([
      { transport: 'punch', host: '198.51.100.9', port: 40000 },
    ]);
  });
});
