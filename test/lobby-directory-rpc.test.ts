/**
 * The lobby directory through the `lobby.*` JSON-RPC methods on a local DHT testnet: `lobby.host`
 * with `beacon: false` (a host behind NAT with no mapping) is listed in the directory and
 * `lobby.browse` finds it with source `directory` and directory statistics; `directory: false`
 * keeps a public lobby out of it; bad parameter types are refused.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { DhtClient } from '../sidecar/src/dht/dht-client.ts';
import { Testnet } from '../sidecar/src/dht/testnet.ts';
import { LobbyService } from '../sidecar/src/lobby/lobby-service.ts';
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

function sidecar(index: number, keys: Record<string, Keypair> = {}): (method: string, params?: Json) => Promise<Json> {
  const client = new Client({ dht: nodes[index]!, relays: [] });
  const service = new LobbyService({
    keys: { get: async (name) => keys[name] ?? Promise.reject(new PkarrError('INVALID_ARGUMENT', `no key named ${name}`)) },
    client,
    dht: nodes[index]!,
    beaconHost: '127.0.0.1',
  });
  cleanup.push(() => client.close(), () => service.shutdown());
  const dispatcher = registerLobbyMethods(new Dispatcher<LobbyRpcContext>(), (ctx) => ctx);
  const context: LobbyRpcContext = { lobbies: service, connection: null };
  let id = 0;
  return async (method, params = {}) => JSON.parse((await dispatcher.handle(JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }), context))!) as Json;
}

const HOST = { game: 'rpcdir', gameVersion: '1.0', maxPlayers: 4, port: 7777, address: '127.0.0.1' };

describe('lobby directory over JSON-RPC', () => {
  it('lobby.host beacon:false is listed; lobby.browse finds it through the directory; directory:false is not listed', async () => {
    const host = sidecar(0, { nat: Keypair.generate(), quiet: Keypair.generate() });
    const player = sidecar(1);
    const hosted = (await host('lobby.host', { ...HOST, key: 'nat', name: 'Behind NAT', beacon: false }))['result'] as Json;
    expect(hosted).toMatchObject({ beaconPort: null, announcedTo: null, directory: { action: 'written', entries: 1 } });
    expect(hosted['directoryError']).toBeUndefined();
    const quiet = (await host('lobby.host', { ...HOST, key: 'quiet', name: 'Beacon only', directory: false }))['result'] as Json;
    expect(quiet['directory']).toBeNull();
    expect(quiet['beaconPort']).toBeTypeOf('number');

    const browsed = (await player('lobby.browse', { game: 'rpcdir', gameVersion: '1.0' }))['result'] as Json;
    const lobbies = browsed['lobbies'] as Json[];
    expect(lobbies.map((l) => [l['name'], l['source']]).sort()).toEqual([['Beacon only', 'topic'], ['Behind NAT', 'directory']]);
    expect((browsed['stats'] as Json)['directory']).toMatchObject({ slots: 16, keys: 1, resolved: 1, rejected: { badPow: 0 } });

    const without = (await player('lobby.browse', { game: 'rpcdir', gameVersion: '1.0', directory: false }))['result'] as Json;
    expect((without['lobbies'] as Json[]).map((l) => l['name'])).toEqual(['Beacon only']);
    expect((without['stats'] as Json)['directory']).toMatchObject({ slots: 0, keys: 0 });
  });

  it('refuses non-boolean beacon / directory parameters', async () => {
    const host = sidecar(0, { k: Keypair.generate() });
    expect((await host('lobby.host', { ...HOST, key: 'k', name: 'x', directory: 'yes' }))['error']).toMatchObject({ code: -32602, data: { field: 'directory' } });
    expect((await host('lobby.host', { ...HOST, key: 'k', name: 'x', beacon: 1 }))['error']).toMatchObject({ code: -32602, data: { field: 'beacon' } });
    expect((await host('lobby.browse', { game: 'rpcdir', gameVersion: '1.0', directory: null }))['error']).toMatchObject({ code: -32602, data: { field: 'directory' } });
  });
});
