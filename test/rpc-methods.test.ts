import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMethodDispatcher, type RepublishRegistry, type RpcServices } from '../sidecar/src/rpc/methods.ts';
import { KeyStore } from '../sidecar/src/keystore/key-store.ts';
import { Keypair, type PublicKey } from '../sidecar/src/core/keys.ts';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import type { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import type { PkarrClient, PublishResult, ResolvePolicy, ResolveResult } from '../sidecar/src/client/types.ts';

/** An in-memory network standing in for the pkarr client. */
class FakeClient implements PkarrClient {
  readonly store = new Map<string, SignedPacket>();
  readonly policies: ResolvePolicy[] = [];
  publishDelayMs = 0;
  failWith: PkarrError | null = null;
  order: string[] = [];
  async resolve(key: PublicKey | string, policy: ResolvePolicy = 'CacheFirst'): Promise<ResolveResult | null> {
    this.policies.push(policy);
    const z32 = typeof key === 'string' ? key : key.z32;
    if (this.failWith) throw this.failWith;
    const packet = this.store.get(z32);
    return packet ? { packet, source: 'dht' } : null;
  }
  async publish(packet: SignedPacket): Promise<PublishResult> {
    this.order.push(packet.timestamp.toString());
    if (this.publishDelayMs) await new Promise((r) => setTimeout(r, this.publishDelayMs));
    const old = this.store.get(packet.publicKey.z32);
    if (old && old.moreRecentThan(packet)) throw new PkarrError('NOT_MOST_RECENT', 'older');
    this.store.set(packet.publicKey.z32, packet);
    return { storedOn: 7, dht: { ok: true, storedOn: 7 }, relays: [] };
  }
}

class FakeRepublisher implements RepublishRegistry {
  readonly entries = new Map<string, { key: string; packet: SignedPacket | null; lastError?: string; lastOutcome?: { holders?: number } }>();
  add(packet: SignedPacket): void { this.entries.set(packet.publicKey.z32, { key: packet.publicKey.z32, packet }); }
  addKey(key: PublicKey): void { if (!this.entries.has(key.z32)) this.entries.set(key.z32, { key: key.z32, packet: null }); }
  remove(key: PublicKey): boolean { return this.entries.delete(key.z32); }
  list() { return [...this.entries.values()]; }
}

let dir: string;
let services: RpcServices;
let client: FakeClient;
let republisher: FakeRepublisher;
let shutdowns = 0;
const dispatcher = createMethodDispatcher();
let nextId = 0;

async function rpc(method: string, params?: unknown): Promise<{ result?: any; error?: { code: number; message: string; data?: any } }> {
  const id = `t${++nextId}`;
  const text = await dispatcher.handle(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }), services);
  const response = JSON.parse(text!);
  expect(response.id).toBe(id);
  return response;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pkarr-rpc-methods-'));
  client = new FakeClient();
  republisher = new FakeRepublisher();
  shutdowns = 0;
  services = {
    version: '0.1.0', pid: process.pid, dataDir: dir, startedAt: Date.now() - 5000,
    keys: await KeyStore.open(dir), client,
    dht: () => ({ enabled: true, ready: true, nodes: 12 }), relays: ['http://127.0.0.1:9/'],
    republisher, lastRepublished: new Map([['abc', 1795455103271000n]]), shutdown: () => { shutdowns++; },
  };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('RPC methods', () => {
  it('status reports the documented fields', async () => {
    await rpc('keys.generate', { name: 'a' });
    const { result } = await rpc('status');
    expect(result).toEqual({
      version: '0.1.0', pid: process.pid, dataDir: dir, dht: { enabled: true, ready: true, nodes: 12 },
      relays: ['http://127.0.0.1:9/'], keys: 1, republishing: 0, uptime: expect.any(Number),
    });
    expect(result.uptime).toBeGreaterThanOrEqual(4);
    expect((await rpc('status', { x: 1 })).error).toMatchObject({ code: -32602, data: { field: 'x' } });
  });

  it('keys.*: generate, list, import, export, delete with KEY_EXISTS / KEY_NOT_FOUND', async () => {
    const gen = (await rpc('keys.generate', { name: 'host' })).result;
    expect(gen).toEqual({ name: 'host', publicKey: expect.stringMatching(/^[a-z0-9]{52}$/) });
    expect((await rpc('keys.generate', { name: 'host' })).error).toMatchObject({ code: -32000, data: { code: 'KEY_EXISTS' } });
    const kp = Keypair.generate();
    expect((await rpc('keys.import', { name: 'imp', secretKey: kp.toSecretKeyHex() })).result).toEqual({ name: 'imp', publicKey: kp.publicKey.z32 });
    expect((await rpc('keys.list')).result).toEqual([{ name: 'host', publicKey: gen.publicKey }, { name: 'imp', publicKey: kp.publicKey.z32 }]);
    expect((await rpc('keys.export', { name: 'imp' })).result).toEqual({ name: 'imp', publicKey: kp.publicKey.z32, secretKey: kp.toSecretKeyHex() });
    expect((await rpc('keys.export', { name: 'nope' })).error).toMatchObject({ code: -32000, data: { code: 'KEY_NOT_FOUND' } });
    expect((await rpc('keys.delete', { name: 'imp' })).result).toEqual({ deleted: true });
    expect((await rpc('keys.delete', { name: 'imp' })).result).toEqual({ deleted: false });
  });

  it('keys.* validate params and never echo a secret in errors', async () => {
    expect((await rpc('keys.generate')).error).toMatchObject({ code: -32602, data: { field: 'name' } });
    expect((await rpc('keys.generate', { name: 5 })).error).toMatchObject({ code: -32602, data: { field: 'name' } });
    expect((await rpc('keys.generate', { name: '../x' })).error).toMatchObject({ code: -32602, data: { field: 'name' } });
    expect((await rpc('keys.generate', { name: 'a'.repeat(65) })).error).toMatchObject({ code: -32602 });
    const secretish = 'c0ffee'.repeat(10);
    const err = (await rpc('keys.import', { name: 'k', secretKey: secretish })).error;
    expect(err).toMatchObject({ code: -32602, data: { field: 'secretKey', code: 'INVALID_SECRET_KEY' } });
    expect(JSON.stringify(err)).not.toContain('c0ffee');
    expect((await rpc('keys.import', { name: 'k', secretKey: Keypair.generate().toSecretKeyHex(), overwrite: 'yes' })).error).toMatchObject({ data: { field: 'overwrite' } });
  });

  it('publish signs with the named key, returns 64-bit timestamps as strings, and registers the republish', async () => {
    const { publicKey } = (await rpc('keys.generate', { name: 'host' })).result;
    const { result } = await rpc('publish', { key: 'host', records: [{ type: 'TXT', name: '_lobby', ttl: 60, text: 'v=1' }] });
    expect(result).toEqual({ publicKey, timestamp: expect.stringMatching(/^[0-9]{16,}$/), size: expect.any(Number), storedOn: 7, dht: { ok: true, storedOn: 7 }, relays: [] });
    expect(BigInt(result.timestamp)).toBe(client.store.get(publicKey)!.timestamp);
    expect([...republisher.entries.keys()]).toEqual([publicKey]);
    await rpc('keys.generate', { name: 'quiet' });
    await rpc('publish', { key: 'quiet', records: [], republish: false });
    expect(republisher.entries.size).toBe(1);
  });

  it('publish: unknown key, bad records, oversize packet', async () => {
    expect((await rpc('publish', { key: 'ghost', records: [] })).error).toMatchObject({ code: -32000, data: { code: 'KEY_NOT_FOUND' } });
    await rpc('keys.generate', { name: 'host' });
    expect((await rpc('publish', { key: 'host' })).error).toMatchObject({ code: -32602, data: { field: 'records' } });
    expect((await rpc('publish', { key: 'host', records: [{ type: 'A', name: '@', ttl: 1, address: '999.1.1.1' }] })).error)
      .toMatchObject({ code: -32602, data: { field: 'records[0]', code: 'INVALID_RECORD' } });
    expect((await rpc('publish', { key: 'host', records: [], republish: 1 })).error).toMatchObject({ data: { field: 'republish' } });
    const big = Array.from({ length: 5 }, (_, i) => ({ type: 'TXT', name: `_r${i}`, ttl: 60, text: 'x'.repeat(250) }));
    expect((await rpc('publish', { key: 'host', records: big })).error).toMatchObject({ code: -32000, data: { code: 'PACKET_TOO_LARGE' } });
  });

  it('concurrent publishes of one key go out one by one with increasing timestamps', async () => {
    await rpc('keys.generate', { name: 'host' });
    client.publishDelayMs = 10;
    const outs = await Promise.all([1, 2, 3, 4].map((i) => rpc('publish', { key: 'host', records: [{ type: 'A', name: '@', ttl: 1, address: `1.1.1.${i}` }] })));
    expect(outs.every((o) => o.result)).toBe(true);
    const sorted = [...client.order].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(client.order).toEqual(sorted);
    expect(new Set(client.order).size).toBe(4);
  });

  it('resolve: any key form, records with relative names, found:false, policy validation', async () => {
    const { publicKey } = (await rpc('keys.generate', { name: 'host' })).result;
    await rpc('publish', { key: 'host', records: [{ type: 'A', name: '@', ttl: 300, address: '1.2.3.4' }] });
    for (const form of [publicKey, `pk:${publicKey}`, `https://_lobby.${publicKey}/x?y#z`]) {
      const { result } = await rpc('resolve', { publicKey: form, policy: 'NetworkOnly' });
      expect(result).toEqual({
        publicKey, found: true, source: 'dht', ageSeconds: expect.any(Number), size: expect.any(Number),
        timestamp: expect.stringMatching(/^[0-9]+$/),
        records: [{ type: 'A', name: publicKey, relative: '@', ttl: 300, address: '1.2.3.4' }],
      });
    }
    expect(client.policies).toEqual(['NetworkOnly', 'NetworkOnly', 'NetworkOnly']);
    const other = Keypair.generate().publicKey.z32;
    expect((await rpc('resolve', { publicKey: other })).result).toEqual({ publicKey: other, found: false });
    expect(client.policies.at(-1)).toBe('CacheFirst');
    client.failWith = new PkarrError('NO_RESPONSES', 'nobody answered');
    expect((await rpc('resolve', { publicKey: other })).error).toEqual({ code: -32000, message: 'nobody answered', data: { code: 'NO_RESPONSES' } });
    client.failWith = new PkarrError('NOT_FOUND', 'gone');
    expect((await rpc('resolve', { publicKey: other })).result).toEqual({ publicKey: other, found: false });
    client.failWith = null;
    expect((await rpc('resolve', { publicKey: 'not-a-key' })).error).toMatchObject({ code: -32602, data: { field: 'publicKey', code: 'INVALID_PUBLIC_KEY_ENCODING' } });
    expect((await rpc('resolve', { publicKey: other, policy: 'cachefirst' })).error).toMatchObject({ code: -32602, data: { field: 'policy' } });
  });

  it('republish.add / remove / list', async () => {
    await rpc('keys.generate', { name: 'host' });
    const other = Keypair.generate().publicKey.z32;
    expect((await rpc('republish.add', { publicKey: `pk:${other}` })).result).toEqual({ publicKey: other });
    const own = (await rpc('republish.add', { key: 'host' })).result.publicKey;
    expect((await rpc('republish.add', {})).error).toMatchObject({ code: -32602 });
    expect((await rpc('republish.add', { key: 'host', publicKey: other })).error).toMatchObject({ code: -32602 });
    expect((await rpc('republish.add', { key: 'ghost' })).error).toMatchObject({ data: { code: 'KEY_NOT_FOUND' } });
    republisher.entries.get(other)!.lastError = 'no nodes';
    republisher.entries.get(other)!.lastOutcome = { holders: 3 };
    services.lastRepublished = new Map([[other, 5n]]);
    expect((await rpc('republish.list')).result).toEqual([
      { publicKey: other, lastRepublished: '5', storedOn: 3, lastError: 'no nodes' },
      { publicKey: own },
    ]);
    expect((await rpc('republish.remove', { publicKey: other })).result).toEqual({ removed: true });
    expect((await rpc('republish.remove', { publicKey: other })).result).toEqual({ removed: false });
  });

  it('methods needing the network fail clearly without a client', async () => {
    services.client = null;
    services.republisher = null;
    await rpc('keys.generate', { name: 'host' });
    expect((await rpc('publish', { key: 'host', records: [] })).error).toMatchObject({ code: -32000, data: { code: 'INVALID_ARGUMENT' } });
    expect((await rpc('resolve', { publicKey: Keypair.generate().publicKey.z32 })).error).toMatchObject({ code: -32000 });
    expect((await rpc('republish.list')).result).toEqual([]);
  });

  it('shutdown answers first, then asks the sidecar to stop', async () => {
    expect((await rpc('shutdown')).result).toEqual({ ok: true });
    expect(shutdowns).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(shutdowns).toBe(1);
  });
});
