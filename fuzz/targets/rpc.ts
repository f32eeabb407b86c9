/**
 * Target `rpc`: JSON-RPC text frames through the sidecar's real dispatcher with every method
 * registered (createMethodDispatcher + registerLobbyMethods, as `serve` wires them), a real
 * KeyStore (on /dev/shm when present), a real LobbyService, and in-memory doubles for the network
 * client and the republish registry (no sockets, no DHT).
 *
 * Frames: valid requests for every method (status, keys.*, publish, resolve, republish.*, lobby.*,
 * shutdown), batches and notifications, mutated structurally (type confusion, edge numbers,
 * missing/extra/renamed fields, `__proto__` keys, deep nesting, huge arrays) or as text (flipped
 * characters, truncations, lone surrogates), and random JSON. Frames stay within the server's
 * 64 KiB cap.
 *
 * A finding: a handler error answered with -32603 (the dispatcher's "bug in the sidecar"), an
 * error object outside docs/rpc.md (code, data.code, data.field), a missing response to a request
 * with an id, a response that is not JSON-RPC 2.0, a secret from a request's `secretKey` echoed
 * by any method but keys.export, a notification that cannot be serialised, or no answer in time.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PkarrError } from '../../sidecar/src/core/errors.ts';
import { Keypair, PublicKey } from '../../sidecar/src/core/keys.ts';
import type { SignedPacket } from '../../sidecar/src/core/signed-packet.ts';
import type { PublishResult, ResolveResult } from '../../sidecar/src/client/types.ts';
import { KeyStore } from '../../sidecar/src/keystore/key-store.ts';
import type { LobbyPublisher } from '../../sidecar/src/lobby/lobby-host.ts';
import { LobbyService } from '../../sidecar/src/lobby/lobby-service.ts';
import type { Dispatcher, RequestGate } from '../../sidecar/src/rpc/dispatcher.ts';
import { toJson } from '../../sidecar/src/util/json.ts';
import { registerLobbyMethods } from '../../sidecar/src/rpc/lobby-methods.ts';
import { createMethodDispatcher, type RepublishRegistry, type RpcServices } from '../../sidecar/src/rpc/methods.ts';
import { FindingError, KNOWN_CODES, preview, type FuzzTarget, type Generated, type Outcome } from '../harness.ts';
import { mutateJson, mutateText, randomJson, type Json } from '../mutators.ts';
import { checkResponse } from './rpc-oracle.ts';

/** The stored keys alice, bob, carol: seeds that no mutation can produce by chance. */
const RPC_KEYS = ['alice', 'bob', 'carol'].map((name) => Keypair.fromSeed(createHash('sha256').update(`pkarr-fuzz ${name}`).digest()));
/** Their secrets (must never appear outside keys.export). */
const SECRETS = RPC_KEYS.map((k) => k.toSecretKeyHex());
const SEED_KEY_NAMES = new Set(['alice.key', 'bob.key', 'carol.key']);
const MAX_FRAME = 64 * 1024;

/** An in-memory pkarr client: BEP44-like ordering, instant. */
class FuzzClient implements LobbyPublisher {
  readonly packets = new Map<string, SignedPacket>();
  async publish(packet: SignedPacket): Promise<PublishResult> {
    const held = this.packets.get(packet.publicKey.z32);
    if (held !== undefined && held.moreRecentThan(packet)) throw new PkarrError('NOT_MOST_RECENT', 'a more recent packet is published');
    this.packets.set(packet.publicKey.z32, packet);
    return { storedOn: 3, dht: { ok: true, storedOn: 3 }, relays: [] };
  }
  async resolve(key: PublicKey | string): Promise<ResolveResult | null> {
    const z32 = typeof key === 'string' ? PublicKey.parse(key).z32 : key.z32;
    const packet = this.packets.get(z32);
    return packet === undefined ? null : { packet, source: 'cache' };
  }
}

/** An in-memory republish registry with the Republisher's add/remove semantics. */
class FuzzRegistry implements RepublishRegistry {
  readonly entries = new Map<string, { key: string; packet: SignedPacket | null }>();
  add(packet: SignedPacket): void {
    const held = this.entries.get(packet.publicKey.z32);
    if (held?.packet && held.packet.moreRecentThan(packet)) return;
    this.entries.set(packet.publicKey.z32, { key: packet.publicKey.z32, packet });
  }
  addKey(key: PublicKey): void {
    if (!this.entries.has(key.z32)) this.entries.set(key.z32, { key: key.z32, packet: null });
  }
  remove(key: PublicKey): boolean {
    return this.entries.delete(key.z32);
  }
  list(): { key: string; packet: SignedPacket | null }[] {
    return [...this.entries.values()];
  }
}

/** Valid requests for every method (params as docs/rpc.md). */
function seedRequests(): Json[] {
  const [a, b, c] = RPC_KEYS.map((k) => k.publicKey.z32) as [string, string, string];
  const game = { game: 'com.example.tanks', gameVersion: '1.2.0' };
  const records: Json[] = [
    { type: 'A', name: '@', ttl: 300, address: '1.2.3.4' },
    { type: 'AAAA', name: 'www', ttl: 300, address: '::1' },
    { type: 'TXT', name: '_lobby', ttl: 60, text: 'v=1 game=demo' },
    { type: 'TXT', name: '_t', ttl: 60, strings: ['v=1', 'game=demo'] },
    { type: 'CNAME', name: 'www2', ttl: 300, target: '_foo' },
    { type: 'NS', name: '@', ttl: 300, target: 'ns.example.com' },
    { type: 'SRV', name: '_game._udp', ttl: 300, priority: 0, weight: 0, port: 7777, target: '@' },
    { type: 'SVCB', name: '_enet', ttl: 60, priority: 1, target: '.', params: { port: 7777, ipv4hint: ['1.2.3.4'], alpn: ['x'], mandatory: ['port'], 'no-default-alpn': true, ech: 'AAQ=', key65000: 'c0ffee' } },
    { type: 'HTTPS', name: '@', ttl: 3600, priority: 1, target: 'example.com', params: { ipv6hint: ['::1'] } },
    { type: 'UNKNOWN', name: '_x', ttl: 60, typeCode: 99, data: 'abcdef' },
  ];
  const methods: [string, Json][] = [
    ['status', null], ['keys.generate', { name: 'fz-gen' }], ['keys.list', null],
    ['keys.import', { name: 'alice', secretKey: SECRETS[0]!, overwrite: false }], ['keys.import', { name: 'fz-imp', secretKey: SECRETS[2]! }],
    ['keys.export', { name: 'alice' }], ['keys.delete', { name: 'fz-gen' }],
    ['publish', { key: 'alice', records, republish: true }], ['publish', { key: 'bob', records: records.slice(0, 2) }],
    ['resolve', { publicKey: a, policy: 'CacheFirst' }], ['resolve', { publicKey: `pk:${b}`, policy: 'NetworkOnly' }],
    ['republish.add', { publicKey: c }], ['republish.add', { key: 'alice' }], ['republish.remove', { publicKey: c }], ['republish.list', null],
    ['lobby.host', { key: 'carol', ...game, name: 'Room', maxPlayers: 8, port: 7777, address: '203.0.113.7', custom: { mode: 'ctf' }, public: false, ttl: 60 }],
    ['lobby.host', { key: 'bob', ...game, name: 'Ends', maxPlayers: 4, endpoints: [{ transport: 'enet', host: '203.0.113.8', port: 7000, alpn: ['x'] }], public: false }],
    ['lobby.update', { key: 'carol', players: 3, name: 'Renamed', open: true, custom: { mode: 'dm' } }],
    ['lobby.close', { key: 'carol', lingerSeconds: 0 }], ['lobby.hosted', null],
    ['lobby.get', { code: `pk:${c}`, ...game, allowClosed: true }],
    ['lobby.browse', { ...game, filters: { notFull: true, openOnly: true, minPlayers: 0, maxPlayers: 8, nameContains: 'ro', transport: 'enet', custom: { mode: 'ctf', level: { min: 1, max: 5 } } }, sort: 'players', knownKeys: [c, b], topic: false, confirm: true }],
    ['lobby.watch', { ...game, knownKeys: [c], topic: false, intervalSeconds: 3600 }],
    ['lobby.refresh', { watchId: 'w1' }], ['lobby.unwatch', { watchId: 'w1' }],
    ['shutdown', null],
  ];
  const requests: Json[] = methods.map(([method, params], i) => ({ jsonrpc: '2.0', id: `g${i}`, method, ...(params === null ? {} : { params }) }));
  requests.push(
    { jsonrpc: '2.0', method: 'status' },
    [{ jsonrpc: '2.0', id: 1, method: 'status' }, { jsonrpc: '2.0', id: 'b2', method: 'keys.list', params: [] }, { jsonrpc: '2.0', method: 'republish.list' }],
  );
  return requests;
}

export function rpcTarget(): FuzzTarget<string> {
  let dataDir = '';
  let keys: KeyStore | null = null;
  let lobbies: LobbyService | null = null;
  let dispatcher: Dispatcher<RpcServices> | null = null;
  let services: RpcServices | null = null;
  let seeds: Json[] = [];
  let seedTexts: string[] = [];
  let inFlight = 0;
  let runs = 0;
  const background: string[] = [];
  const gate: RequestGate = {
    tryAcquire: () => (inFlight >= 1024 ? false : (inFlight++, true)),
    release: () => { inFlight--; },
  };

  /** Keeps the key directory small: drops keys the fuzzer created (not the three seed keys). */
  function pruneKeys(): void {
    if (keys === null) return;
    for (const file of readdirSync(keys.dir)) if (!SEED_KEY_NAMES.has(file)) unlinkSync(join(keys.dir, file));
  }

  return {
    name: 'rpc',
    about: 'JSON-RPC text frames through the real dispatcher with every serve method (keys on a real KeyStore, network doubles): mutated requests, batches, notifications, random JSON',
    async setup() {
      dataDir = mkdtempSync(join(process.platform === 'linux' ? '/dev/shm' : tmpdir(), 'pkarr-fuzz-rpc-'));
      keys = await KeyStore.open(dataDir);
      for (const [i, name] of ['alice', 'bob', 'carol'].entries()) await keys.import(name, SECRETS[i]!, { overwrite: true });
      const client = new FuzzClient();
      lobbies = new LobbyService({ keys, client, dht: null, maxWatches: 32, onError: (key, what, err) => background.push(`lobby ${key} ${what}: ${String(err)}`) });
      services = {
        version: 'fuzz', pid: process.pid, dataDir, startedAt: Date.now(), keys, client,
        dht: () => ({ enabled: false, ready: false, nodes: 0 }),
        relays: [], republisher: new FuzzRegistry(), lastRepublished: new Map(), shutdown: () => undefined,
      };
      dispatcher = createMethodDispatcher({ onInternalError: (method, err) => background.push(`internal error in ${method}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`) });
      const broadcast = (method: string, params: unknown): void => {
        try {
          toJson({ jsonrpc: '2.0', method, params });
        } catch (err) {
          background.push(`notification ${method} cannot be serialised: ${String(err)}`);
        }
      };
      const service = lobbies;
      registerLobbyMethods(dispatcher, () => ({ lobbies: service, connection: null, broadcast }));
      seeds = seedRequests();
      seedTexts = seeds.map((s) => JSON.stringify(s));
    },
    generate(rng): Generated<string> {
      const made = rng.weighted<() => Generated<string>>([
        [() => ({ value: rng.pick(seedTexts), mutation: 'seed' }), 5],
        [() => { const m = mutateJson(rng, rng.pick(seeds)); return { value: JSON.stringify(m.value), mutation: `json:${m.mutation}` }; }, 72],
        [() => { const m = mutateText(rng, rng.pick(seedTexts), seedTexts, 8192); return { value: m.value, mutation: `text:${m.mutation}` }; }, 12],
        [() => ({ value: JSON.stringify(randomJson(rng)), mutation: 'random-json' }), 5],
        [() => {
          const n = rng.chance(0.02) ? rng.range(250, 300) : rng.range(1, 6);
          const entries: string[] = [];
          let length = 2;
          while (entries.length < n && length < MAX_FRAME) {
            const entry = JSON.stringify(rng.chance(0.5) ? rng.pick(seeds) : mutateJson(rng, rng.pick(seeds)).value);
            entries.push(entry);
            length += entry.length + 1;
          }
          return { value: `[${entries.join(',')}]`, mutation: `batch:${entries.length}` };
        }, 6],
      ])();
      if (made.value.length > MAX_FRAME) made.value = made.value.slice(0, MAX_FRAME);
      return made;
    },
    async execute(text): Promise<Outcome> {
      if (++runs % 2000 === 0) pruneKeys();
      background.length = 0;
      const response = await dispatcher!.handle(text, services!, gate);
      const outcome = checkResponse(text, response, SECRETS, KNOWN_CODES);
      if (background.length > 0) throw new FindingError(preview(background.join(' | ')));
      return outcome;
    },
    budgetMs: (text, slowMs) => (text.startsWith('[') ? slowMs * Math.max(1, Math.ceil(text.split('"jsonrpc"').length / 16)) : slowMs),
    show: (text) => preview(JSON.stringify(text)),
    async teardown() {
      await lobbies?.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
