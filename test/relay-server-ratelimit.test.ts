/** Rate limiting: quota parsing, token buckets, and a flood from one loopback address vs another. */
import { afterEach, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { formatRateLimit, parseRateLimit, RateLimiter } from '../sidecar/src/util/rate-limiter.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { FakeDht, makePacket, rawRequest } from './relay-server-helpers.ts';

describe('parseRateLimit', () => {
  it('parses <n>r/<unit>[,burst=<b>] and off', () => {
    expect(parseRateLimit('2r/s,burst=10')).toEqual({ requests: 2, periodMs: 1000, burst: 10 });
    expect(parseRateLimit('30r/m')).toEqual({ requests: 30, periodMs: 60_000, burst: 30 });
    expect(parseRateLimit('1r/d')).toEqual({ requests: 1, periodMs: 86_400_000, burst: 1 });
    expect(parseRateLimit('off')).toBeNull();
    expect(parseRateLimit('0')).toBeNull();
    expect(formatRateLimit(parseRateLimit('5r/h,burst=7'))).toBe('5r/h,burst=7');
  });

  it('rejects malformed quotas with a clear message', () => {
    for (const bad of ['2/s', '2r/x', 'r/s', '0r/s', '2r/s,burst=0', '2r/s;burst=3', '']) {
      expect(() => parseRateLimit(bad), bad).toThrow(/invalid rate limit/);
    }
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate, with Retry-After seconds', () => {
    let now = 0;
    const limiter = new RateLimiter({ requests: 1, periodMs: 2000, burst: 3 }, { now: () => now });
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(2);
    expect(limiter.take('b')).toBe(0);
    now += 1000;
    expect(limiter.take('a')).toBe(1);
    now += 1000;
    expect(limiter.take('a')).toBe(0);
  });

  it('keeps memory bounded: full buckets are swept, the oldest dropped beyond maxBuckets', () => {
    let now = 0;
    const limiter = new RateLimiter({ requests: 1, periodMs: 1000, burst: 2 }, { now: () => now, maxBuckets: 100 });
    for (let i = 0; i < 1000; i += 1) limiter.take(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBeLessThanOrEqual(100);
    now += 10_000;
    limiter.sweep();
    expect(limiter.size).toBe(0);
  });

  it('retain drops the buckets of rejected clients (they start again full) and keeps the others', () => {
    const limiter = new RateLimiter({ requests: 1, periodMs: 60_000, burst: 1 }, { now: () => 0 });
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('b')).toBe(0);
    limiter.retain((client) => client === 'a');
    expect(limiter.size).toBe(1);
    expect(limiter.take('a')).toBeGreaterThan(0); // still empty
    expect(limiter.take('b')).toBe(0); // a fresh bucket
  });
});

describe('relay rate limits over HTTP', () => {
  let relay: RunningRelay;
  afterEach(async () => {
    await relay.close();
  });

  it('a flood from 127.0.0.2 gets 429 with Retry-After while 127.0.0.1 keeps being served', async () => {
    const dht = new FakeDht();
    relay = await startRelay({ port: 0, dht, rateLimit: '1r/m,burst=5', dhtRateLimit: null, log: () => {} });
    const packet = makePacket(Keypair.generate());
    dht.items.set(packet.publicKey.z32, packet);
    const url = `${relay.url}/${packet.publicKey.z32}`;
    const flood = await Promise.all(Array.from({ length: 20 }, () => rawRequest(url, { localAddress: '127.0.0.2' })));
    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    const limited = flood.find((r) => r.status === 429)!;
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.body.toString()).toMatch(/Too Many Requests/);
    const other = await rawRequest(url, { localAddress: '127.0.0.1' });
    expect(other.status).toBe(200);
    expect(relay.stats.rateLimited).toBe(15);
  });

  it('spends the DHT quota only on requests that reach the DHT', async () => {
    const dht = new FakeDht();
    relay = await startRelay({ port: 0, dht, rateLimit: null, dhtRateLimit: '1r/m,burst=2', log: () => {} });
    const cached = makePacket(Keypair.generate());
    relay.store.put(cached);
    const misses = [];
    for (let i = 0; i < 3; i += 1) misses.push(await rawRequest(`${relay.url}/${Keypair.generate().publicKey.z32}`, { localAddress: '127.0.0.2' }));
    expect(misses.map((r) => r.status)).toEqual([404, 404, 429]);
    expect(misses[2]!.body.toString()).toMatch(/Too many requests to DHT nodes/);
    expect(dht.calls.get).toBe(2);
    // Cache hits and CacheOnly never reach the DHT, so they still work for the same client.
    for (let i = 0; i < 5; i += 1) {
      expect((await rawRequest(`${relay.url}/${cached.publicKey.z32}`, { localAddress: '127.0.0.2' })).status).toBe(200);
    }
    expect((await rawRequest(`${relay.url}/${Keypair.generate().publicKey.z32}?policy=CacheOnly`, { localAddress: '127.0.0.2' })).status).toBe(404);
    // PUT reaches the DHT: refused for this client, allowed for another.
    const packet = makePacket(Keypair.generate());
    const body = packet.toRelayPayload();
    expect((await rawRequest(`${relay.url}/${packet.publicKey.z32}`, { method: 'PUT', body, localAddress: '127.0.0.2' })).status).toBe(429);
    expect((await rawRequest(`${relay.url}/${packet.publicKey.z32}`, { method: 'PUT', body, localAddress: '127.0.0.1' })).status).toBe(204);
  });

  it('with --behind-proxy uses X-Forwarded-For, X-Real-IP and Forwarded', async () => {
    relay = await startRelay({ port: 0, dht: new FakeDht(), rateLimit: '1r/m,burst=1', dhtRateLimit: null, behindProxy: true, log: () => {} });
    const get = (headers: Record<string, string>) => rawRequest(`${relay.url}/`, { headers });
    expect((await get({ 'X-Forwarded-For': '203.0.113.5, 10.0.0.1' })).status).toBe(200);
    expect((await get({ 'X-Forwarded-For': '203.0.113.5' })).status).toBe(429);
    expect((await get({ 'X-Real-IP': '203.0.113.6' })).status).toBe(200);
    expect((await get({ Forwarded: 'for="[2001:db8::1]:4711";proto=https' })).status).toBe(200);
    expect((await get({ 'X-Forwarded-For': '2001:db8::1' })).status).toBe(429);
    expect((await get({})).status).toBe(200);
    expect((await get({})).status).toBe(429);
  });

  it('ignores proxy headers unless behind a proxy', async () => {
    relay = await startRelay({ port: 0, dht: new FakeDht(), rateLimit: '1r/m,burst=1', dhtRateLimit: null, log: () => {} });
    expect((await rawRequest(`${relay.url}/`, { headers: { 'X-Forwarded-For': '203.0.113.1' } })).status).toBe(200);
    expect((await rawRequest(`${relay.url}/`, { headers: { 'X-Forwarded-For': '203.0.113.2' } })).status).toBe(429);
  });
});
