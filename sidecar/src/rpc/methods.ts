/**
 * The methods of docs/rpc.md, on top of the key store, the pkarr client and the republisher.
 * Every param is validated (params.ts, record-json.ts); 64-bit values leave as decimal strings;
 * no method but `keys.export` ever returns a secret.
 */
import { PkarrError, isPkarrError } from '../core/errors.ts';
import type { PublicKey } from '../core/keys.ts';
import { SignedPacket } from '../core/signed-packet.ts';
import { RESOLVE_POLICIES, type PkarrClient, type PublishResult, type ResolvePolicy } from '../client/types.ts';
import { keyStoreFailure, type KeyStore } from '../keystore/key-store.ts';
import { APPLICATION_ERROR, Dispatcher, RpcError, invalidParams, type DispatcherOptions } from './dispatcher.ts';
import { onlyFields, optionalBoolean, requireKeyName, requirePublicKey, requireString } from './params.ts';
import { recordToJson, recordsFromJson } from './record-json.ts';
import type { NatStatusJson } from '../nat/reachability.ts';

/** What the republisher offers the RPC layer (the client's Republisher satisfies it). */
export interface RepublishRegistry {
  add(packet: SignedPacket): void;
  addKey(key: PublicKey): void;
  remove(key: PublicKey): boolean;
  list(): readonly {
    key: string;
    packet: SignedPacket | null;
    lastOutcome?: { holders?: number; result?: PublishResult };
    lastError?: string;
  }[];
}

/** DHT state for `status`. */
export interface DhtStatus {
  enabled: boolean;
  /** Bootstrapping finished. */
  ready: boolean;
  nodes: number;
}

/** The client side of the connection a request came in on (RpcConnection fits). */
export interface RequestConnection {
  readonly id: number;
  notify(method: string, params: unknown): void;
}

/** The handler context: the sidecar's services plus the calling connection (null in-process). */
export type RpcContext = RpcServices & { readonly connection: RequestConnection | null };

/** Everything the methods work with; one instance per sidecar. */
export interface RpcServices {
  version: string;
  pid: number;
  dataDir: string;
  /** Date.now() at start. */
  startedAt: number;
  keys: KeyStore;
  /** null when neither the DHT nor a relay is configured. */
  client: PkarrClient | null;
  dht(): DhtStatus;
  /** The punch socket's reachability (nat/reachability.ts natStatusJson); absent when not running. */
  nat?: () => NatStatusJson;
  /** LAN lobby discovery (lan/lan-discovery.ts status); absent = not wired. */
  lan?: () => unknown;
  /** The local pkarr relay (serve/local-relay.ts): `{url}` or `{url: null, reason}`; absent = not wired. */
  localRelay?: () => unknown;
  relays: readonly string[];
  republisher: RepublishRegistry | null;
  /** Last successful republish per z32 (µs), kept by the serve wiring. */
  lastRepublished: ReadonlyMap<string, bigint>;
  /** Begins a graceful stop (called after the `shutdown` response went out). */
  shutdown(): void;
}

type Params = Record<string, unknown>;

/** Runs a key-store operation, reporting its own failures with the RPC codes KEY_NOT_FOUND / KEY_EXISTS. */
async function keyOp<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const failure = keyStoreFailure(err);
    if (failure !== null) throw new RpcError(APPLICATION_ERROR, (err as Error).message, { code: failure });
    throw err;
  }
}

function requireClient(services: RpcServices): PkarrClient {
  if (services.client === null) throw new PkarrError('INVALID_ARGUMENT', 'no DHT and no relay configured (started with --no-dht and no --relay)');
  return services.client;
}

function requireRepublisher(services: RpcServices): RepublishRegistry {
  if (services.republisher === null) throw new PkarrError('INVALID_ARGUMENT', 'republishing is unavailable without a network backend');
  return services.republisher;
}

/** Publishes of one key run one after another (a DHT put conflicts with a concurrent one). */
const publishQueues = new Map<string, Promise<unknown>>();

function serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = publishQueues.get(key) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(work);
  const tail = run.catch(() => undefined);
  publishQueues.set(key, tail);
  void tail.then(() => { if (publishQueues.get(key) === tail) publishQueues.delete(key); });
  return run;
}

function status(params: Params, s: RpcServices): unknown {
  onlyFields(params, []);
  return {
    version: s.version,
    pid: s.pid,
    dataDir: s.dataDir,
    dht: s.dht(),
    ...(s.nat ? { nat: s.nat() } : {}),
    ...(s.lan ? { lan: s.lan() } : {}),
    ...(s.localRelay ? { localRelay: s.localRelay() } : {}),
    relays: [...s.relays],
    keys: s.keys.count(),
    republishing: s.republisher?.list().length ?? 0,
    uptime: Math.floor((Date.now() - s.startedAt) / 1000),
  };
}

async function keysGenerate(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, ['name']);
  const name = requireKeyName(params);
  const key = await keyOp(() => s.keys.generate(name));
  return { name, publicKey: key.publicKey.z32 };
}

async function keysList(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, []);
  return (await s.keys.list()).map((k) => ({ name: k.name, publicKey: k.publicKey.z32 }));
}

async function keysImport(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, ['name', 'secretKey', 'overwrite']);
  const name = requireKeyName(params);
  const secret = requireString(params, 'secretKey');
  if (!/^\s*[0-9a-fA-F]{64}\s*$/.test(secret)) throw invalidParams('secretKey', 'must be 64 hex characters (the 32-byte seed)', 'INVALID_SECRET_KEY');
  const overwrite = optionalBoolean(params, 'overwrite', false);
  const key = await keyOp(() => s.keys.import(name, secret, { overwrite }));
  return { name, publicKey: key.publicKey.z32 };
}

async function keysExport(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, ['name']);
  const name = requireKeyName(params);
  const key = await keyOp(() => s.keys.exportSecret(name));
  return { name, publicKey: key.publicKey.z32, secretKey: key.secretKey };
}

async function keysDelete(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, ['name']);
  const name = requireKeyName(params);
  return { deleted: await keyOp(() => s.keys.delete(name)) };
}

async function publish(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, ['key', 'records', 'republish']);
  const name = requireKeyName(params, 'key');
  const republish = optionalBoolean(params, 'republish', true);
  const keypair = await keyOp(() => s.keys.get(name));
  const records = recordsFromJson(params['records'], keypair.publicKey.z32);
  const client = requireClient(s);
  return serialised(keypair.publicKey.z32, async () => {
    // Signed inside the queue so timestamps follow the order the publishes go out.
    const packet = SignedPacket.sign(keypair, records);
    const result = await client.publish(packet);
    if (republish) s.republisher?.add(packet);
    return {
      publicKey: packet.publicKey.z32,
      timestamp: packet.timestamp.toString(),
      size: packet.size,
      storedOn: result.storedOn,
      dht: result.dht,
      relays: result.relays,
    };
  });
}

function requirePolicy(params: Params): ResolvePolicy {
  const v = params['policy'];
  if (v === undefined) return 'CacheFirst';
  if (typeof v !== 'string' || !(RESOLVE_POLICIES as readonly string[]).includes(v)) {
    throw invalidParams('policy', `must be one of ${RESOLVE_POLICIES.join(', ')}`);
  }
  return v as ResolvePolicy;
}

async function resolve(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, ['publicKey', 'policy']);
  const key = requirePublicKey(params);
  const policy = requirePolicy(params);
  const client = requireClient(s);
  let found;
  try {
    found = await client.resolve(key, policy);
  } catch (err) {
    if (isPkarrError(err, 'NOT_FOUND')) found = null;
    else throw err;
  }
  if (found === null) return { publicKey: key.z32, found: false };
  const { packet } = found;
  return {
    publicKey: key.z32,
    found: true,
    records: packet.records.map((r) => recordToJson(r, key.z32)),
    timestamp: packet.timestamp.toString(),
    source: found.source,
    ...(found.relay === undefined ? {} : { relay: found.relay }),
    ageSeconds: packet.elapsedSeconds(),
    size: packet.size,
  };
}

async function republishAdd(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, ['publicKey', 'key']);
  if ((params['publicKey'] === undefined) === (params['key'] === undefined)) {
    throw invalidParams('publicKey', 'give exactly one of publicKey or key');
  }
  const key = params['key'] !== undefined
    ? (await keyOp(() => s.keys.get(requireKeyName(params, 'key')))).publicKey
    : requirePublicKey(params);
  requireRepublisher(s).addKey(key);
  return { publicKey: key.z32 };
}

async function republishRemove(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, ['publicKey']);
  const key = requirePublicKey(params);
  return { removed: s.republisher?.remove(key) ?? false };
}

async function republishList(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, []);
  return (s.republisher?.list() ?? []).map((e) => {
    const last = s.lastRepublished.get(e.key);
    const storedOn = e.lastOutcome?.result?.storedOn ?? e.lastOutcome?.holders;
    return {
      publicKey: e.key,
      ...(e.packet === null ? {} : { timestamp: e.packet.timestamp.toString() }),
      ...(last === undefined ? {} : { lastRepublished: last.toString() }),
      ...(storedOn === undefined ? {} : { storedOn }),
      ...(e.lastError === undefined ? {} : { lastError: e.lastError }),
    };
  });
}

async function shutdown(params: Params, s: RpcServices): Promise<unknown> {
  onlyFields(params, []);
  // After this response has been written: setImmediate runs once the send's microtasks are done.
  setImmediate(() => s.shutdown());
  return { ok: true };
}

/** A dispatcher with every method of docs/rpc.md registered (context: RpcServices or RpcContext). */
export function createMethodDispatcher<C extends RpcServices = RpcServices>(options: DispatcherOptions = {}): Dispatcher<C> {
  return new Dispatcher<C>(options)
    .register('status', status)
    .register('keys.generate', keysGenerate)
    .register('keys.list', keysList)
    .register('keys.import', keysImport)
    .register('keys.export', keysExport)
    .register('keys.delete', keysDelete)
    .register('publish', publish)
    .register('resolve', resolve)
    .register('republish.add', republishAdd)
    .register('republish.remove', republishRemove)
    .register('republish.list', republishList)
    .register('shutdown', shutdown);
}
