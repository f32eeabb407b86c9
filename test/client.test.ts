import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../sidecar/src/client/client.ts';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { parseRecordText } from '../sidecar/src/core/record-text.ts';
import type { SignedPacket } from '../sidecar/src/core/signed-packet.ts';
import { nowMicros } from '../sidecar/src/core/timestamp.ts';
import { FakeDht, FakeRelay, SECOND, makePacket, sleep } from './client-helpers.ts';
import { failure } from './error-helpers.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function relay(dialect: 'v7' | 'legacy' | 'js' = 'v7'): Promise<FakeRelay> {
  const r = await FakeRelay.start(dialect);
  cleanup.push(() => r.close());
  return r;
}

function client(options: ConstructorParameters<typeof Client>[0]): Client {
  const c = new Client(options);
  cleanup.push(() => c.close());
  return c;
}

const ago = (seconds: number): bigint => nowMicros() - BigInt(seconds) * SECOND;

describe('Client construction', () => {
  it('needs a backend and valid relay URLs; dedupes relays', () => {
    expect(() => new Client({ dht: null, relays: [] })).toThrowError(/needs the DHT or at least one relay/);
    expect(() => new Client({ dht: null, relays: ['ftp://x'] })).toThrowError(/http or https/);
    const c = new Client({ dht: null, relays: ['http://127.0.0.5/', 'http://127.0.0.5'] });
    expect(c.relays.map((r) => r.url)).toEqual(['http://127.0.0.5']);
  });
  it('refuses a bad policy and a bad key', async () => {
    const c = client({ dht: new FakeDht(), relays: [] });
    expect((await failure(c.resolve(Keypair.generate().publicKey, 'cacheFirst' as 'CacheFirst'))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(c.resolve('not-a-key'))).code).toBe('INVALID_PUBLIC_KEY_ENCODING');
  });
});

describe('resolve: CacheOnly', () => {
  it('returns the cached packet even if expired, and never touches the DHT', async () => {
    const dht = new FakeDht();
    const c = client({ dht, relays: [] });
    const kp = Keypair.generate();
    const stale = makePacket(kp).withLastSeen(ago(100_000));
    c.cache.put(stale);
    expect(await c.resolve(kp.publicKey, 'CacheOnly')).toEqual({ packet: stale, source: 'cache' });
    expect(await c.resolve(Keypair.generate().publicKey, 'CacheOnly')).toBeNull();
    expect(dht.gets).toHaveLength(0);
  });
  it('falls back to relays with ?policy=CacheOnly', async () => {
    const dht = new FakeDht();
    const r = await relay();
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    r.store.set(kp.publicKey.z32, packet.withLastSeen(ago(100_000)));
    const c = client({ dht, relays: [r.url] });
    const result = await c.resolve(kp.publicKey, 'CacheOnly');
    expect(result?.source).toBe('relay');
    expect(result?.relay).toBe(r.url);
    expect(result?.packet.isSameAs(packet)).toBe(true);
    expect(r.requests[0]?.url).toMatch(/\?policy=CacheOnly$/);
    expect(dht.gets).toHaveLength(0);
    expect(c.cached(kp.publicKey)?.isSameAs(packet)).toBe(true);
  });
});

describe('resolve: CacheFirst', () => {
  it('a fresh cache hit does not touch the network', async () => {
    const dht = new FakeDht();
    const c = client({ dht, relays: [] });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    c.cache.put(packet);
    expect(await c.resolve(kp.publicKey)).toEqual({ packet, source: 'cache' });
    expect(dht.gets).toHaveLength(0);
  });

  it('a miss goes to the network and fills the cache', async () => {
    const dht = new FakeDht();
    const c = client({ dht, relays: [] });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    dht.store.set(kp.publicKey.z32, packet);
    const result = await c.resolve(kp.publicKey);
    expect(result?.source).toBe('dht');
    expect(result?.packet.isSameAs(packet)).toBe(true);
    expect(dht.gets[0]?.floor).toBeUndefined();
    expect((await c.resolve(kp.publicKey))?.source).toBe('cache');
    expect(await c.resolve(Keypair.generate().publicKey)).toBeNull();
  });

  it('an expired packet is the floor for the DHT (ts − 1) and the relays (IMS)', async () => {
    const dht = new FakeDht();
    const r = await relay();
    const c = client({ dht, relays: [r.url] });
    const kp = Keypair.generate();
    const old = makePacket(kp, ['A @ 1.1.1.1 300']);
    const newer = makePacket(kp, ['A @ 2.2.2.2 300']);
    c.cache.put(old.withLastSeen(ago(1000)));
    dht.store.set(kp.publicKey.z32, newer);
    r.store.set(kp.publicKey.z32, newer);
    const result = await c.resolve(kp.publicKey);
    expect(result?.packet.isSameAs(newer)).toBe(true);
    await c.settled();
    expect(dht.gets[0]?.floor).toBe(old.timestamp - 1n);
    expect(r.requests[0]?.headers['if-modified-since']).toBeDefined();
    expect(r.requests[0]?.url).not.toMatch(/policy/);
    expect(c.cached(kp.publicKey)?.isSameAs(newer)).toBe(true);
  });

  it('the same packet still on the network is returned and refreshes lastSeen', async () => {
    const dht = new FakeDht();
    const c = client({ dht, relays: [] });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    c.cache.put(packet.withLastSeen(ago(1000)));
    dht.store.set(kp.publicKey.z32, packet);
    const result = await c.resolve(kp.publicKey);
    expect(result?.source).toBe('dht');
    expect(c.cache.isFresh(c.cached(kp.publicKey) ?? packet.withLastSeen(0n))).toBe(true);
  });

  it('nothing newer on the network → null, even with an expired copy (use CacheOnly for stale data)', async () => {
    const dht = new FakeDht();
    const c = client({ dht, relays: [] });
    const kp = Keypair.generate();
    const stale = makePacket(kp).withLastSeen(ago(1000));
    c.cache.put(stale);
    expect(await c.resolve(kp.publicKey)).toBeNull();
    expect((await c.resolve(kp.publicKey, 'CacheOnly'))?.packet).toBe(stale);
  });

  it('race: the fast backend wins, the slow one still updates the cache in the background', async () => {
    const dht = new FakeDht();
    dht.getDelayMs = 300;
    const r = await relay();
    const c = client({ dht, relays: [r.url] });
    const kp = Keypair.generate();
    const older = makePacket(kp, ['A @ 1.1.1.1 300']);
    const newer = makePacket(kp, ['A @ 2.2.2.2 300']);
    r.store.set(kp.publicKey.z32, older);
    dht.store.set(kp.publicKey.z32, newer);
    let dhtFinished = false;
    const get = dht.get.bind(dht);
    dht.get = async (key, options) => {
      const result = await get(key, options);
      dhtFinished = true;
      return result;
    };
    const result = await c.resolve(kp.publicKey);
    expect(result?.source).toBe('relay');
    expect(result?.packet.isSameAs(older)).toBe(true);
    expect(dhtFinished).toBe(false);
    await c.settled();
    expect(dhtFinished).toBe(true);
    expect(c.cached(kp.publicKey)?.isSameAs(newer)).toBe(true);
  });

  it('a stale relay answer is not acceptable; the DHT answer wins', async () => {
    const dht = new FakeDht();
    dht.getDelayMs = 100;
    const r = await relay();
    const c = client({ dht, relays: [r.url] });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    r.store.set(kp.publicKey.z32, packet);
    r.memento = ago(2 * 86400);
    dht.store.set(kp.publicKey.z32, packet);
    const result = await c.resolve(kp.publicKey);
    expect(result?.source).toBe('dht');
  });

  it('legacy relay with the empty-200 bug still resolves a newer packet', async () => {
    const r = await relay('legacy');
    const c = client({ dht: null, relays: [r.url] });
    const kp = Keypair.generate();
    const old = makePacket(kp, ['A @ 1.1.1.1 300'], nowMicros() - 20n * SECOND);
    const newer = makePacket(kp, ['A @ 2.2.2.2 300']);
    c.cache.put(old.withLastSeen(ago(1000)));
    r.store.set(kp.publicKey.z32, newer);
    const result = await c.resolve(kp.publicKey);
    expect(result?.packet.isSameAs(newer)).toBe(true);
    expect(r.requests).toHaveLength(2);
  });
});

describe('resolve: NetworkOnly', () => {
  it('waits for every backend and returns the most recent packet, ignoring the cache', async () => {
    const dht = new FakeDht();
    dht.getDelayMs = 100;
    const [r1, r2] = [await relay(), await relay('legacy')];
    const c = client({ dht, relays: [r1.url, r2.url] });
    const kp = Keypair.generate();
    const p1 = makePacket(kp, ['A @ 1.1.1.1 300']);
    const p2 = makePacket(kp, ['A @ 2.2.2.2 300']);
    const p3 = makePacket(kp, ['A @ 3.3.3.3 300']);
    c.cache.put(p3); // fresh, but NetworkOnly ignores it
    r1.store.set(kp.publicKey.z32, p1);
    dht.store.set(kp.publicKey.z32, p2);
    const result = await c.resolve(kp.publicKey, 'NetworkOnly');
    expect(result?.source).toBe('dht');
    expect(result?.packet.isSameAs(p2)).toBe(true);
    expect(dht.gets[0]?.mostRecent).toBe(true);
    expect(r1.requests[0]?.url).toMatch(/\?policy=NetworkOnly$/);
    expect(r1.requests[0]?.headers['cache-control']).toMatch(/no-cache/);
    expect(r2.requests).toHaveLength(1);
    expect(c.cached(kp.publicKey)).toBe(p3);
  });

  it('an invalid item newer than every valid packet → INVALID_SIGNED_PACKET_SEQ', async () => {
    const dht = new FakeDht();
    const r = await relay();
    const c = client({ dht, relays: [r.url] });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    dht.store.set(kp.publicKey.z32, packet);
    r.invalidSeq = packet.timestamp + 1n;
    const err = await failure(c.resolve(kp.publicKey, 'NetworkOnly'));
    expect(err.code).toBe('INVALID_SIGNED_PACKET_SEQ');
    expect(err.details?.seq).toBe((packet.timestamp + 1n).toString());
    r.invalidSeq = packet.timestamp - 1n;
    expect((await c.resolve(kp.publicKey, 'NetworkOnly'))?.packet.isSameAs(packet)).toBe(true);
    dht.store.clear();
    dht.invalidSeq = 42n;
    r.invalidSeq = undefined;
    expect((await failure(c.resolve(kp.publicKey, 'NetworkOnly'))).code).toBe('INVALID_SIGNED_PACKET_SEQ');
  });

  it('every backend failing is an error; one answering "not found" is null', async () => {
    const dht = new FakeDht();
    dht.getError = new PkarrError('NO_DHT_NODES', 'no nodes');
    const r = await relay();
    r.override = (_req, res) => { res.writeHead(503).end('No DHT nodes were queried'); return true; };
    const c = client({ dht, relays: [r.url] });
    const kp = Keypair.generate();
    const err = await failure(c.resolve(kp.publicKey, 'NetworkOnly'));
    expect(err.code).toBe('NO_RESPONSES');
    expect(err.message).toMatch(/no nodes/);
    expect(err.message).toMatch(/503/);
    const dhtOnly = client({ dht, relays: [] });
    expect((await failure(dhtOnly.resolve(kp.publicKey))).code).toBe('NO_DHT_NODES');
    r.override = undefined;
    expect(await c.resolve(kp.publicKey, 'NetworkOnly')).toBeNull();
  });

  it('a DHT lookup nobody answered is an error, not "not found"', async () => {
    const dht = new FakeDht();
    dht.responded = 0;
    const c = client({ dht, relays: [] });
    expect((await failure(c.resolve(Keypair.generate().publicKey))).code).toBe('NO_RESPONSES');
  });
});

describe('zero cache and zero TTL (pubky/pkarr#105, #133, #140)', () => {
  it('cacheSize 0: every policy still resolves from the network', async () => {
    const dht = new FakeDht();
    const r = await relay();
    const c = client({ dht, relays: [r.url], cacheSize: 0 });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    await c.publish(packet);
    for (let i = 0; i < 2; i++) {
      expect((await c.resolve(kp.publicKey))?.packet.isSameAs(packet)).toBe(true);
      expect((await c.resolve(kp.publicKey, 'NetworkOnly'))?.packet.isSameAs(packet)).toBe(true);
      expect((await c.resolve(kp.publicKey, 'CacheOnly'))?.source).toBe('relay');
    }
    expect(c.cache.size).toBe(0);
  });

  it('maxTtl 0: the second resolve still finds the packet (from the network)', async () => {
    const dht = new FakeDht();
    const r = await relay();
    for (const c of [client({ dht, relays: [], maxTtl: 0 }), client({ dht: null, relays: [r.url], maxTtl: 0 })]) {
      const kp = Keypair.generate();
      const packet = makePacket(kp);
      await c.publish(packet);
      for (let i = 0; i < 2; i++) {
        const result = await c.resolve(kp.publicKey);
        expect(result?.packet.isSameAs(packet)).toBe(true);
        expect(result?.source).not.toBe('cache');
      }
    }
  });
});

describe('publish', () => {
  it('publishes to the DHT and every relay, merges, and caches', async () => {
    const dht = new FakeDht();
    dht.storedOn = 9;
    const [v7, legacy] = [await relay('v7'), await relay('legacy')];
    v7.storedNodes = 17;
    const c = client({ dht, relays: [v7.url, legacy.url] });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    const result = await c.publish(packet);
    expect(result.storedOn).toBe(17);
    expect(result.dht).toEqual({ ok: true, storedOn: 9 });
    expect(result.relays).toEqual([
      { url: v7.url, ok: true, storedOn: 17, status: 204 },
      { url: legacy.url, ok: true, storedOn: 1, status: 204 },
    ]);
    expect(c.cached(kp.publicKey)?.isSameAs(packet)).toBe(true);
    expect(dht.puts).toHaveLength(1);
  });

  it('refuses an older packet than the cached one without touching the network', async () => {
    const dht = new FakeDht();
    const c = client({ dht, relays: [] });
    const kp = Keypair.generate();
    const older = makePacket(kp, ['A @ 1.1.1.1 300']);
    c.cache.put(makePacket(kp, ['A @ 2.2.2.2 300']));
    expect((await failure(c.publish(older))).code).toBe('NOT_MOST_RECENT');
    expect(dht.puts).toHaveLength(0);
  });

  it('reports per-backend failures and merges them', async () => {
    const dht = new FakeDht();
    dht.putError = new PkarrError('NO_DHT_NODES', 'no DHT nodes');
    const r = await relay();
    r.override = (_req, res) => { res.writeHead(409).end(); return true; };
    const c = client({ dht, relays: [r.url] });
    const kp = Keypair.generate();
    const err = await failure(c.publish(makePacket(kp)));
    expect(err.code).toBe('NOT_MOST_RECENT');
    expect(err.details?.result).toMatchObject({
      dht: { ok: false, code: 'NO_DHT_NODES' },
      relays: [{ url: r.url, ok: false, code: 'NOT_MOST_RECENT', status: 409 }],
    });
    expect(c.cached(kp.publicKey)).toBeUndefined();
    r.override = (_req, res) => { res.writeHead(500).end(); return true; };
    expect((await failure(c.publish(makePacket(kp)))).code).toBe('NO_DHT_NODES'); // tie: priority
    r.override = undefined;
    const ok = await c.publish(makePacket(kp));
    expect(ok.storedOn).toBe(5);
    expect(ok.dht?.ok).toBe(false);
  });

  it('hands every successfully published packet to onPublished, as cached (not a failed one)', async () => {
    const dht = new FakeDht();
    const handed: SignedPacket[] = [];
    const c = client({ dht, relays: [], onPublished: (p) => handed.push(p) });
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    const before = nowMicros();
    await c.publish(packet);
    expect(handed).toHaveLength(1);
    expect(handed[0]?.isSameAs(packet)).toBe(true);
    expect(handed[0]!.lastSeen >= before, 'seen now, as the cache keeps it').toBe(true);
    dht.putError = new PkarrError('NO_DHT_NODES', 'no DHT nodes');
    expect((await failure(c.publish(makePacket(kp, ['A @ 3.3.3.3 300'])))).code).toBe('NO_DHT_NODES');
    expect(handed).toHaveLength(1);
  });
});

describe('nextTimestamp and publishRecords', () => {
  it('max(now, observed + 1): a packet from the future on the network is overtaken', async () => {
    const dht = new FakeDht();
    const c = client({ dht, relays: [] });
    const kp = Keypair.generate();
    const future = makePacket(kp, ['A @ 1.1.1.1 300'], nowMicros() + 3600n * SECOND);
    dht.store.set(kp.publicKey.z32, future);
    const next = await c.nextTimestamp(kp.publicKey);
    expect(next).toBeGreaterThan(future.timestamp);
    const { packet, result } = await c.publishRecords(kp, [parseRecordText('A @ 2.2.2.2 300')]);
    expect(packet.timestamp).toBeGreaterThan(next);
    expect(result.dht?.ok).toBe(true);
    expect((await c.resolve(kp.publicKey, 'NetworkOnly'))?.packet.isSameAs(packet)).toBe(true);
  });

  it('an invalid newer item counts as observed', async () => {
    const dht = new FakeDht();
    const c = client({ dht, relays: [] });
    const kp = Keypair.generate();
    dht.invalidSeq = nowMicros() + 7200n * SECOND;
    expect(await c.nextTimestamp(kp.publicKey)).toBeGreaterThan(dht.invalidSeq);
  });

  it('tolerates an unreachable network', async () => {
    const dht = new FakeDht();
    dht.getError = new PkarrError('NO_DHT_NODES', 'no nodes');
    const c = client({ dht, relays: [] });
    const before = nowMicros();
    expect(await c.nextTimestamp(Keypair.generate().publicKey)).toBeGreaterThanOrEqual(before);
  });
});

describe('close', () => {
  it('waits for background work and refuses new calls', async () => {
    const dht = new FakeDht();
    dht.getDelayMs = 200;
    const r = await relay();
    const c = new Client({ dht, relays: [r.url] });
    const kp = Keypair.generate();
    r.store.set(kp.publicKey.z32, makePacket(kp));
    await c.resolve(kp.publicKey);
    await c.close();
    expect((await failure(c.resolve(kp.publicKey))).message).toMatch(/closed/);
    await sleep(0);
  });
});
