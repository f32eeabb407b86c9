/**
 * The relay server over real HTTP on loopback, with an in-memory DHT: every status code and header
 * of the v7 API (pubky/pkarr design/relays.md, relay/src/handlers.rs), CORS, the status page.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PkarrError } from '../sidecar/src/core/errors.ts';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { SignedPacket, signable } from '../sidecar/src/core/signed-packet.ts';
import { httpDate, nowMicros } from '../sidecar/src/core/timestamp.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { FakeDht, makePacket, micros, rawRequest } from './relay-server-helpers.ts';

const PAYLOAD_TYPE = 'application/pkarr.org/relays#payload';

let dht: FakeDht;
let relay: RunningRelay;

async function start(options: Partial<Parameters<typeof startRelay>[0]> = {}): Promise<void> {
  relay = await startRelay({ port: 0, dht, rateLimit: null, dhtRateLimit: null, log: () => {}, ...options });
}

beforeEach(async () => {
  dht = new FakeDht();
  await start();
});

afterEach(async () => {
  await relay.close();
});

function put(packet: SignedPacket, path = packet.publicKey.z32) {
  return fetch(`${relay.url}/${path}`, { method: 'PUT', body: packet.toRelayPayload() });
}

describe('PUT', () => {
  it('stores on the DHT and answers 204 with Pkarr-Dht-Stored-Nodes', async () => {
    const packet = makePacket(Keypair.generate());
    const res = await put(packet);
    expect(res.status).toBe(204);
    expect(res.headers.get('pkarr-dht-stored-nodes')).toBe('7');
    expect(dht.items.get(packet.publicKey.z32)?.isSameAs(packet)).toBe(true);
    expect(relay.store.peek(packet.publicKey)?.packet.isSameAs(packet)).toBe(true);
  });

  it('accepts /pk:<z32>', async () => {
    const packet = makePacket(Keypair.generate());
    expect((await put(packet, `pk:${packet.publicKey.z32}`)).status).toBe(204);
    expect((await fetch(`${relay.url}/pk:${packet.publicKey.z32}`)).status).toBe(200);
  });

  it('answers 400 with a one-line reason for a bad key, a short payload, a bad signature and bad DNS', async () => {
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    const bad = await fetch(`${relay.url}/not-a-key`, { method: 'PUT', body: packet.toRelayPayload() });
    expect(bad.status).toBe(400);
    expect((await bad.text()).trim()).toMatch(/^Invalid public key: .+$/);

    const short = await fetch(`${relay.url}/${kp.publicKey.z32}`, { method: 'PUT', body: new Uint8Array(71) });
    expect(short.status).toBe(400);

    const tampered = Buffer.from(packet.toRelayPayload());
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    const sig = await fetch(`${relay.url}/${kp.publicKey.z32}`, { method: 'PUT', body: tampered });
    expect(sig.status).toBe(400);
    const text = await sig.text();
    expect(text.trim().split('\n')).toHaveLength(1);

    // A correctly signed payload whose DNS does not parse.
    const dns = Buffer.from('000080000005000000000000ff', 'hex');
    const ts = nowMicros();
    const signature = kp.sign(signable(ts, dns));
    const body = Buffer.alloc(72 + dns.length);
    Buffer.from(signature).copy(body, 0);
    body.writeBigUInt64BE(ts, 64);
    dns.copy(body, 72);
    const dnsRes = await fetch(`${relay.url}/${kp.publicKey.z32}`, { method: 'PUT', body });
    expect(dnsRes.status).toBe(400);
    expect(dht.calls.put).toBe(0);
  });

  it('gives 400 for 1073..1104-byte bodies and 413 above 1104, also when streamed without Content-Length', async () => {
    const key = Keypair.generate().publicKey.z32;
    for (const size of [1073, 1104]) {
      const res = await fetch(`${relay.url}/${key}`, { method: 'PUT', body: new Uint8Array(size) });
      expect(res.status, `size ${size}`).toBe(400);
    }
    const over = await fetch(`${relay.url}/${key}`, { method: 'PUT', body: new Uint8Array(1105) });
    expect(over.status).toBe(413);
    const streamed = await rawRequest(`${relay.url}/${key}`, { method: 'PUT', body: new Uint8Array(64 * 1024), chunked: true });
    expect(streamed.status).toBe(413);
    expect(streamed.headers.connection).toBe('close');
  });

  it('409 when the cache holds a more recent packet; an identical packet is republished (204)', async () => {
    const kp = Keypair.generate();
    const older = makePacket(kp, ['A @ 1.1.1.1 300'], 1_000_000n);
    const newer = makePacket(kp, ['A @ 2.2.2.2 300'], 2_000_000n);
    expect((await put(newer)).status).toBe(204);
    const conflict = await put(older);
    expect(conflict.status).toBe(409);
    expect(await conflict.text()).toMatch(/more recent/);
    expect((await put(newer)).status).toBe(204);
    expect(dht.calls.put).toBe(2);
  });

  it('maps DHT outcomes: NOT_MOST_RECENT → 409, NO_DHT_NODES → 503, other failures → 500', async () => {
    const cases: [PkarrError, number][] = [
      [new PkarrError('NOT_MOST_RECENT', 'majority 302'), 409],
      [new PkarrError('NO_DHT_NODES', 'empty routing table'), 503],
      [new PkarrError('DHT_ERROR', 'All queries failed'), 500],
      [new PkarrError('TIMEOUT', 'slow'), 500],
    ];
    for (const [error, status] of cases) {
      dht.putError = error;
      const packet = makePacket(Keypair.generate());
      const res = await put(packet);
      expect(res.status, error.code).toBe(status);
      expect(relay.store.peek(packet.publicKey), 'not stored after a failed put').toBeNull();
    }
  });

  it('answers 503 without a DHT', async () => {
    await relay.close();
    await start({ dht: null });
    expect((await put(makePacket(Keypair.generate()))).status).toBe(503);
  });

  it('409 for a different packet of a key whose put is in flight; identical PUTs share the put', async () => {
    dht.delayMs = 150;
    const kp = Keypair.generate();
    const a = makePacket(kp, ['A @ 1.1.1.1 300']);
    const b = makePacket(kp, ['A @ 2.2.2.2 300']);
    const [first, same, other] = await Promise.all([put(a), put(a), put(b)]);
    expect(first.status).toBe(204);
    expect(same.status).toBe(204);
    expect(other.status).toBe(409);
    expect(dht.calls.put).toBe(1);
  });
});

describe('GET', () => {
  it('serves a fresh cached packet with the v7 headers, without the DHT', async () => {
    const packet = makePacket(Keypair.generate(), ['A @ 1.2.3.4 600', 'TXT _x hi 900']);
    await put(packet);
    const res = await fetch(`${relay.url}/${packet.publicKey.z32}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(PAYLOAD_TYPE);
    expect(res.headers.get('cache-control')).toBe('public, max-age=600');
    expect(res.headers.get('last-modified')).toBe(httpDate(packet.timestamp));
    expect(Date.parse(res.headers.get('memento-datetime') ?? '')).toBeGreaterThan(Date.now() - 60_000);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(packet.toRelayPayload()))).toBe(true);
    expect(dht.calls.get).toBe(0);
  });

  it('clamps max-age to [minTtl, maxTtl]', async () => {
    const low = makePacket(Keypair.generate(), ['A @ 1.2.3.4 5']);
    const high = makePacket(Keypair.generate(), ['A @ 1.2.3.4 999999']);
    await put(low);
    await put(high);
    expect((await fetch(`${relay.url}/${low.publicKey.z32}`)).headers.get('cache-control')).toBe('public, max-age=300');
    expect((await fetch(`${relay.url}/${high.publicKey.z32}`)).headers.get('cache-control')).toBe('public, max-age=86400');
  });

  it('finds a packet on the DHT on a cache miss and caches it', async () => {
    const packet = makePacket(Keypair.generate());
    dht.items.set(packet.publicKey.z32, packet);
    const res = await fetch(`${relay.url}/${packet.publicKey.z32}`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(packet.toRelayPayload()))).toBe(true);
    expect(dht.calls.get).toBe(1);
    expect((await fetch(`${relay.url}/${packet.publicKey.z32}`)).status).toBe(200);
    expect(dht.calls.get).toBe(1);
  });

  it('404 for an unknown key; 400 for a bad key', async () => {
    const res = await fetch(`${relay.url}/${Keypair.generate().publicKey.z32}`);
    expect(res.status).toBe(404);
    expect((await fetch(`${relay.url}/abc`)).status).toBe(400);
  });

  it('validates ?policy= case-sensitively', async () => {
    const key = Keypair.generate().publicKey.z32;
    for (const bad of ['cacheonly', 'Bogus', '']) {
      expect((await fetch(`${relay.url}/${key}?policy=${bad}`)).status, bad).toBe(400);
    }
    expect((await fetch(`${relay.url}/${key}?policy=CacheOnly`)).status).toBe(404);
    expect((await fetch(`${relay.url}/${key}?other=1`)).status).toBe(404);
  });

  it('CacheOnly serves an expired packet and never touches the DHT', async () => {
    const packet = makePacket(Keypair.generate());
    relay.store.put(packet.withLastSeen(nowMicros() - 3_600_000_000n));
    const res = await fetch(`${relay.url}/${packet.publicKey.z32}?policy=CacheOnly`);
    expect(res.status).toBe(200);
    expect((await fetch(`${relay.url}/${Keypair.generate().publicKey.z32}?policy=CacheOnly`)).status).toBe(404);
    expect(dht.calls.get).toBe(0);
  });

  it('CacheFirst with an expired copy: DHT floor = ts − 1, 404 when the DHT has nothing at or above it', async () => {
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    relay.store.put(packet.withLastSeen(nowMicros() - 3_600_000_000n));
    const res = await fetch(`${relay.url}/${kp.publicKey.z32}`);
    expect(res.status).toBe(404);
    expect(dht.getOptions[0]?.floor).toBe(packet.timestamp - 1n);
    expect(dht.getOptions[0]?.mostRecent).toBe(false);
  });

  it('CacheFirst with an expired copy still on the DHT refreshes Memento-Datetime; a newer one replaces it', async () => {
    const kp = Keypair.generate();
    const packet = makePacket(kp);
    const staleSeen = nowMicros() - 3_600_000_000n;
    relay.store.put(packet.withLastSeen(staleSeen));
    dht.items.set(kp.publicKey.z32, packet);
    const res = await fetch(`${relay.url}/${kp.publicKey.z32}`);
    expect(res.status).toBe(200);
    expect(Date.parse(res.headers.get('memento-datetime') ?? '')).toBeGreaterThan(Number(staleSeen / 1000n) + 1_000_000);
    expect(relay.store.peek(kp.publicKey)!.packet.lastSeen).toBeGreaterThan(staleSeen);


    const kp2 = Keypair.generate();
    const old = makePacket(kp2, ['A @ 1.1.1.1 300'], 1_000_000n);
    const newer = makePacket(kp2, ['A @ 9.9.9.9 300'], 2_000_000n);
    relay.store.put(old.withLastSeen(staleSeen));
    dht.items.set(kp2.publicKey.z32, newer);
    const res2 = await fetch(`${relay.url}/${kp2.publicKey.z32}`);
    expect(res2.status).toBe(200);
    expect(Buffer.from(await res2.arrayBuffer()).equals(Buffer.from(newer.toRelayPayload()))).toBe(true);
    expect(relay.store.peek(kp2.publicKey)!.packet.isSameAs(newer)).toBe(true);
  });

  it('NetworkOnly runs a full lookup and returns the DHT packet', async () => {
    const kp = Keypair.generate();
    const cached = makePacket(kp, ['A @ 1.1.1.1 300'], 5_000_000n);
    await put(cached);
    const newer = makePacket(kp, ['A @ 2.2.2.2 300'], 6_000_000n);
    dht.items.set(kp.publicKey.z32, newer);
    const res = await fetch(`${relay.url}/${kp.publicKey.z32}?policy=NetworkOnly`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(newer.toRelayPayload()))).toBe(true);
    expect(dht.getOptions.at(-1)?.mostRecent).toBe(true);
    expect(dht.getOptions.at(-1)?.floor).toBeUndefined();
  });

  it('If-Modified-Since → 304 iff timestamp_µs ≤ IMS seconds × 10^6 (pkarr relay/src/response.rs test data)', async () => {
    const ims = 'Sun, 06 Nov 1994 08:49:37 GMT';
    const cases: [bigint, number][] = [
      [micros(ims), 304], // exactly the IMS second
      [micros(ims, 1n), 200], // 1 µs later than IMS
      [micros(ims, 500_000n), 200], // IMS one µs below the packet time, formatted to the same second
      [micros(ims, -1n), 304],
    ];
    for (const [ts, status] of cases) {
      const packet = makePacket(Keypair.generate(), ['A @ 1.2.3.4 300'], ts);
      await put(packet);
      const res = await fetch(`${relay.url}/${packet.publicKey.z32}`, { headers: { 'If-Modified-Since': ims } });
      expect(res.status, `ts ${ts}`).toBe(status);
      if (status === 304) {
        expect((await res.arrayBuffer()).byteLength).toBe(0);
        expect(res.headers.get('last-modified')).toBe(httpDate(ts));
      } else {
        expect((await res.arrayBuffer()).byteLength).toBe(packet.toRelayPayload().length);
      }
    }
    const packet = makePacket(Keypair.generate());
    await put(packet);
    expect((await fetch(`${relay.url}/${packet.publicKey.z32}`, { headers: { 'If-Modified-Since': 'garbage' } })).status).toBe(200);
  });

  it('404 with Pkarr-Invalid-Signed-Packet-Seq when the newest DHT item is invalid, suppressed when the cache covers it', async () => {
    dht.invalidSeq = 123n;
    const res = await fetch(`${relay.url}/${Keypair.generate().publicKey.z32}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('pkarr-invalid-signed-packet-seq')).toBe('123');
    expect(await res.text()).toMatch(/DHT mutable item at seq 123 is not a valid signed packet/);

    const kp = Keypair.generate();
    relay.store.put(makePacket(kp, ['A @ 1.2.3.4 300'], 500n).withLastSeen(nowMicros() - 3_600_000_000n));
    const covered = await fetch(`${relay.url}/${kp.publicKey.z32}`);
    expect(covered.status).toBe(404);
    expect(covered.headers.get('pkarr-invalid-signed-packet-seq')).toBeNull();
  });

  it('503 when no DHT node answered or there are none; 500 on other DHT errors', async () => {
    dht.responded = 0;
    expect((await fetch(`${relay.url}/${Keypair.generate().publicKey.z32}`)).status).toBe(503);
    dht.responded = 5;
    dht.getError = new PkarrError('NO_DHT_NODES', 'none');
    expect((await fetch(`${relay.url}/${Keypair.generate().publicKey.z32}`)).status).toBe(503);
    dht.getError = new PkarrError('DHT_ERROR', 'boom');
    expect((await fetch(`${relay.url}/${Keypair.generate().publicKey.z32}`)).status).toBe(500);
  });

  it('503 when a DHT lookup exceeds lookupTimeoutMs', async () => {
    await relay.close();
    await start({ lookupTimeoutMs: 100 });
    dht.delayMs = 5000;
    const res = await fetch(`${relay.url}/${Keypair.generate().publicKey.z32}`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/timed out/);
  });

  it('coalesces concurrent lookups of one key into one DHT query', async () => {
    dht.delayMs = 100;
    const packet = makePacket(Keypair.generate());
    dht.items.set(packet.publicKey.z32, packet);
    const results = await Promise.all(Array.from({ length: 5 }, () => fetch(`${relay.url}/${packet.publicKey.z32}`)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(dht.calls.get).toBe(1);
  });

  it('answers HEAD like GET without a body', async () => {
    const packet = makePacket(Keypair.generate());
    await put(packet);
    const res = await rawRequest(`${relay.url}/${packet.publicKey.z32}`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe(PAYLOAD_TYPE);
    expect(res.body.length).toBe(0);
  });

  it('works with cache size 0: every GET goes to the DHT', async () => {
    await relay.close();
    await start({ cacheSize: 0 });
    const packet = makePacket(Keypair.generate());
    expect((await put(packet)).status).toBe(204);
    expect((await fetch(`${relay.url}/${packet.publicKey.z32}`)).status).toBe(200);
    expect((await fetch(`${relay.url}/${packet.publicKey.z32}`)).status).toBe(200);
    expect(dht.calls.get).toBe(2);
  });
});

describe('CORS, methods, status page', () => {
  it('mirrors Origin and exposes the pkarr headers', async () => {
    const packet = makePacket(Keypair.generate());
    const res = await fetch(`${relay.url}/${packet.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload(), headers: { Origin: 'https://game.example' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://game.example');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase();
    for (const h of ['pkarr-dht-stored-nodes', 'pkarr-invalid-signed-packet-seq', 'last-modified', 'memento-datetime', 'cache-control']) {
      expect(exposed).toContain(h);
    }
    const plain = await fetch(`${relay.url}/${packet.publicKey.z32}`);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a preflight with 204, the methods and the mirrored request headers', async () => {
    const res = await fetch(`${relay.url}/${Keypair.generate().publicKey.z32}`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://a.example', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type,x-custom' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://a.example');
    const methods = res.headers.get('access-control-allow-methods') ?? '';
    for (const m of ['GET', 'PUT', 'OPTIONS']) expect(methods).toContain(m);
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type,x-custom');
  });

  it('opts in to Private / Local Network Access preflights (a public page calling a local relay)', async () => {
    const key = Keypair.generate().publicKey.z32;
    const ask = async (extra: Record<string, string>): Promise<Headers> => (await fetch(`${relay.url}/${key}`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://game.itch.example', 'Access-Control-Request-Method': 'GET', ...extra },
    })).headers;
    const pna = await ask({ 'Access-Control-Request-Private-Network': 'true' });
    expect(pna.get('access-control-allow-private-network')).toBe('true');
    expect(pna.get('access-control-allow-origin')).toBe('https://game.itch.example');
    const lna = await ask({ 'Access-Control-Request-Local-Network': 'true' });
    expect(lna.get('access-control-allow-local-network')).toBe('true');
    const plain = await ask({});
    expect(plain.get('access-control-allow-private-network')).toBeNull();
    expect(plain.get('access-control-allow-local-network')).toBeNull();
  });

  it('405 for other methods, 404 for nested paths', async () => {
    const key = Keypair.generate().publicKey.z32;
    const del = await fetch(`${relay.url}/${key}`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toContain('PUT');
    expect((await fetch(`${relay.url}/${key}`, { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(`${relay.url}/${key}/extra`)).status).toBe(404);
  });

  it('serves the HTML status page with counters', async () => {
    await put(makePacket(Keypair.generate()));
    const res = await fetch(`${relay.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('Pkarr relay');
    expect(html).toMatch(/Cached packets<\/th><td>1 \/ 1000000/);
    expect(html).toMatch(/DHT nodes<\/th><td>10</);
    expect(html).toMatch(/Version/);
    expect(html).toMatch(/Uptime/);
  });
});

describe('close', () => {
  let slow: RunningRelay;
  let slowDht: FakeDht;
  beforeAll(async () => {
    slowDht = new FakeDht();
    slowDht.delayMs = 300;
    slow = await startRelay({ port: 0, dht: slowDht, rateLimit: null, dhtRateLimit: null, log: () => {} });
  });
  afterAll(async () => {
    await slow.close();
  });

  it('finishes in-flight requests, then refuses new connections', async () => {
    const packet = makePacket(Keypair.generate());
    const inflight = fetch(`${slow.url}/${packet.publicKey.z32}`, { method: 'PUT', body: packet.toRelayPayload() });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = slow.close();
    expect((await inflight).status).toBe(204);
    await closing;
    await expect(fetch(`${slow.url}/`)).rejects.toThrow();
  });
});
