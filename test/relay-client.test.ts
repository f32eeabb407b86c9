import { afterEach, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { httpDate, nowMicros, parseHttpDate } from '../sidecar/src/core/timestamp.ts';
import { NO_CACHE, RelayClient, normalizeRelayUrl, parseInvalidSeq, parseStoredNodes } from '../sidecar/src/client/relay-client.ts';
import { FakeRelay, SECOND, makePacket } from './client-helpers.ts';
import { failure } from './error-helpers.ts';

const relays: FakeRelay[] = [];
async function relay(dialect: 'v7' | 'legacy' | 'js' = 'v7'): Promise<FakeRelay> {
  const r = await FakeRelay.start(dialect);
  relays.push(r);
  return r;
}
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

const keypair = Keypair.generate();

describe('relay URLs', () => {
  it('accepts http(s) and strips trailing slashes', () => {
    expect(normalizeRelayUrl('https://127.0.0.9/')).toBe('https://127.0.0.9');
    expect(normalizeRelayUrl('http://127.0.0.1:6881/pkarr//')).toBe('http://127.0.0.1:6881/pkarr');
  });
  it.each(['ftp://relay.example', 'ws://x', 'relay.example', '', 'https://r.example/?a=1'])('refuses %j with a clear error', (url) => {
    expect(() => new RelayClient(url)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });
  it('refuses a bad timeout', () => {
    expect(() => new RelayClient('http://127.0.0.1', { timeoutMs: 0 })).toThrowError(/timeout/);
  });
});

describe('header parsing', () => {
  it('stored nodes: missing → 1, number → number, malformed → error', () => {
    expect(parseStoredNodes(null, 'u')).toBe(1);
    expect(parseStoredNodes('17', 'u')).toBe(17);
    expect(parseStoredNodes('4294967295', 'u')).toBe(4294967295);
    for (const bad of ['', 'x', '-1', '1.5', '4294967296']) expect(() => parseStoredNodes(bad, 'u')).toThrowError(/malformed/);
  });
  it('invalid seq is an i64', () => {
    expect(parseInvalidSeq('123')).toBe(123n);
    expect(parseInvalidSeq('9223372036854775808')).toBeUndefined();
    expect(parseInvalidSeq('abc')).toBeUndefined();
    expect(parseInvalidSeq(null)).toBeUndefined();
  });
});

describe('PUT', () => {
  it('v7: 204 with Pkarr-Dht-Stored-Nodes', async () => {
    const r = await relay('v7');
    r.storedNodes = 13;
    const packet = makePacket(keypair);
    const result = await new RelayClient(r.url).put(packet);
    expect(result).toEqual({ storedOn: 13, status: 204 });
    const req = r.requests[0];
    expect(req?.method).toBe('PUT');
    expect(req?.url).toBe(`/${keypair.publicKey.z32}`);
    expect(req?.headers['content-type']).toBe('application/pkarr.org/relays#payload');
    expect(Buffer.compare(req?.body ?? Buffer.alloc(0), Buffer.from(packet.toRelayPayload()))).toBe(0);
  });
  it('legacy 204 and JS 200 without the header count as one node', async () => {
    for (const dialect of ['legacy', 'js'] as const) {
      const r = await relay(dialect);
      const result = await new RelayClient(r.url).put(makePacket(keypair));
      expect(result).toEqual({ storedOn: 1, status: dialect === 'js' ? 200 : 204 });
    }
  });
  it('a malformed stored-nodes header is an error', async () => {
    const r = await relay();
    r.override = (_req, res) => { res.writeHead(204, { 'pkarr-dht-stored-nodes': 'many' }).end(); return true; };
    const err = await failure(new RelayClient(r.url).put(makePacket(keypair)));
    expect(err.code).toBe('RELAY_ERROR');
    expect(err.message).toMatch(/malformed Pkarr-Dht-Stored-Nodes/);
  });
  it.each([
    [409, 'NOT_MOST_RECENT'],
    [428, 'NOT_MOST_RECENT'],
    [400, 'BAD_REQUEST'],
    [413, 'RELAY_ERROR'],
    [500, 'RELAY_ERROR'],
    [503, 'RELAY_ERROR'],
  ])('status %i → %s', async (status, code) => {
    const r = await relay();
    r.override = (_req, res) => { res.writeHead(status).end('nope'); return true; };
    const err = await failure(new RelayClient(r.url).put(makePacket(keypair)));
    expect(err.code).toBe(code);
    expect(err.details?.status).toBe(status);
  });
  it('a real conflict: the relay holds a newer packet', async () => {
    const r = await relay();
    const client = new RelayClient(r.url);
    const older = makePacket(keypair, ['A @ 1.1.1.1 300']);
    await client.put(makePacket(keypair, ['A @ 2.2.2.2 300']));
    expect((await failure(client.put(older))).code).toBe('NOT_MOST_RECENT');
  });
  it('429 carries the Retry-After hint', async () => {
    const r = await relay();
    r.override = (_req, res) => { res.writeHead(429, { 'retry-after': '7' }).end('Too many requests to DHT nodes'); return true; };
    const err = await failure(new RelayClient(r.url).put(makePacket(keypair)));
    expect(err.code).toBe('RELAY_ERROR');
    expect(err.details?.retryAfter).toBe('7');
    expect(err.message).toMatch(/retry after 7/);
  });
  it('connection refused is a RELAY_ERROR', async () => {
    const r = await relay();
    const url = r.url;
    await r.close();
    relays.splice(relays.indexOf(r), 1);
    const err = await failure(new RelayClient(url).put(makePacket(keypair)));
    expect(err.code).toBe('RELAY_ERROR');
  });
});

describe('GET', () => {
  it('v7: verifies the payload, no policy unless asked, Memento-Datetime as lastSeen', async () => {
    const r = await relay('v7');
    const packet = makePacket(keypair);
    r.store.set(keypair.publicKey.z32, packet);
    r.memento = nowMicros() - 3600n * SECOND;
    const result = await new RelayClient(r.url).get(keypair.publicKey);
    expect(result.packet?.isSameAs(packet)).toBe(true);
    expect(result.packet?.lastSeen).toBe(parseHttpDate(httpDate(r.memento)));
    expect(result.status).toBe(200);
    expect(r.requests[0]?.url).toBe(`/${keypair.publicKey.z32}`);
    expect(r.requests[0]?.headers['if-modified-since']).toBeUndefined();
  });
  it('a Memento-Datetime in the future is ignored', async () => {
    const r = await relay('v7');
    r.store.set(keypair.publicKey.z32, makePacket(keypair));
    r.memento = nowMicros() + 3600n * SECOND;
    const before = nowMicros();
    const result = await new RelayClient(r.url).get(keypair.publicKey);
    expect(result.packet?.lastSeen).toBeGreaterThanOrEqual(before);
    expect(result.packet?.lastSeen).toBeLessThan(r.memento);
  });
  it('sends ?policy= when asked', async () => {
    const r = await relay('v7');
    await new RelayClient(r.url).get(keypair.publicKey, { policy: 'NetworkOnly', bypassCache: true });
    expect(r.requests[0]?.url).toBe(`/${keypair.publicKey.z32}?policy=NetworkOnly`);
    expect(r.requests[0]?.headers['cache-control']).toBe(NO_CACHE);
  });
  it('404 → null; with Pkarr-Invalid-Signed-Packet-Seq surfaced', async () => {
    const r = await relay('v7');
    const client = new RelayClient(r.url);
    expect(await client.get(keypair.publicKey)).toMatchObject({ packet: null, status: 404 });
    r.invalidSeq = 1_700_000_000_000_000n;
    const result = await client.get(keypair.publicKey);
    expect(result.packet).toBeNull();
    expect(result.invalidSeq).toBe(1_700_000_000_000_000n);
  });
  it('If-Modified-Since = floor − 1 s; 304 → not modified', async () => {
    const r = await relay('v7');
    const packet = makePacket(keypair);
    r.store.set(keypair.publicKey.z32, packet);
    const floor = packet.timestamp + 5n * SECOND;
    const result = await new RelayClient(r.url).get(keypair.publicKey, { floor });
    expect(result).toMatchObject({ packet: null, notModified: true, status: 304, retried: false });
    expect(r.requests[0]?.headers['if-modified-since']).toBe(httpDate(floor - SECOND));
    expect(r.requests).toHaveLength(1);
  });
  it('a packet in the same second as the floor is not hidden', async () => {
    const r = await relay('v7');
    const packet = makePacket(keypair);
    r.store.set(keypair.publicKey.z32, packet);
    const result = await new RelayClient(r.url).get(keypair.publicKey, { floor: packet.timestamp - 1n });
    expect(result.packet?.isSameAs(packet)).toBe(true);
  });
  it('a packet at or below the floor counts as not found', async () => {
    const r = await relay('js'); // ignores If-Modified-Since
    const packet = makePacket(keypair);
    r.store.set(keypair.publicKey.z32, packet);
    const result = await new RelayClient(r.url).get(keypair.publicKey, { floor: packet.timestamp });
    expect(result.packet).toBeNull();
    expect(result.status).toBe(200);
  });
  it('v3–v6 empty-200 bug: retried once with the cache bypass and without IMS', async () => {
    const r = await relay('legacy');
    const packet = makePacket(keypair);
    r.store.set(keypair.publicKey.z32, packet);
    const floor = packet.timestamp - 10n * SECOND;
    const result = await new RelayClient(r.url).get(keypair.publicKey, { floor });
    expect(result.packet?.isSameAs(packet)).toBe(true);
    expect(result.retried).toBe(true);
    expect(r.requests).toHaveLength(2);
    expect(r.requests[0]?.headers['if-modified-since']).toBe(httpDate(floor - SECOND));
    expect(r.requests[1]?.headers['if-modified-since']).toBeUndefined();
    expect(r.requests[1]?.headers['cache-control']).toBe(NO_CACHE);
  });
  it('legacy 304 with IMS is a plain not-modified', async () => {
    const r = await relay('legacy');
    const packet = makePacket(keypair);
    r.store.set(keypair.publicKey.z32, packet);
    const result = await new RelayClient(r.url).get(keypair.publicKey, { floor: packet.timestamp + 2n * SECOND });
    expect(result).toMatchObject({ packet: null, notModified: true });
  });
  it('a 304 without IMS sent is retried with the cache bypass', async () => {
    const r = await relay('v7');
    const packet = makePacket(keypair);
    r.store.set(keypair.publicKey.z32, packet);
    let calls = 0;
    r.override = (_req, res) => {
      calls += 1;
      if (calls === 1) { res.writeHead(304).end(); return true; }
      return false;
    };
    const result = await new RelayClient(r.url).get(keypair.publicKey);
    expect(result.packet?.isSameAs(packet)).toBe(true);
    expect(result.retried).toBe(true);
    expect(r.requests[1]?.headers['cache-control']).toBe(NO_CACHE);
  });
  it('two empty answers in a row are an error', async () => {
    const r = await relay('v7');
    r.override = (_req, res) => { res.writeHead(200).end(); return true; };
    const err = await failure(new RelayClient(r.url).get(keypair.publicKey));
    expect(err.code).toBe('RELAY_ERROR');
    expect(err.message).toMatch(/empty answer/);
    expect(r.requests).toHaveLength(2);
  });
  it('refuses a packet signed by another key', async () => {
    const r = await relay('v7');
    const other = Keypair.generate();
    r.override = (_req, res) => { res.writeHead(200).end(Buffer.from(makePacket(other).toRelayPayload())); return true; };
    const err = await failure(new RelayClient(r.url).get(keypair.publicKey));
    expect(err.code).toBe('RELAY_ERROR');
    expect(err.details?.reason).toBe('INVALID_SIGNATURE');
  });
  it('refuses a tampered payload', async () => {
    const r = await relay('v7');
    const payload = Buffer.from(makePacket(keypair).toRelayPayload());
    payload.writeUInt8((payload.at(-1) ?? 0) ^ 1, payload.length - 1);
    r.override = (_req, res) => { res.writeHead(200).end(payload); return true; };
    expect((await failure(new RelayClient(r.url).get(keypair.publicKey))).details?.reason).toBe('INVALID_SIGNATURE');
  });
  it('refuses an oversized body, declared or streamed', async () => {
    const r = await relay('v7');
    let chunked = false;
    r.override = (_req, res) => {
      if (chunked) {
        res.writeHead(200);
        res.write(Buffer.alloc(800));
        res.end(Buffer.alloc(800));
      } else {
        res.writeHead(200, { 'content-length': '2000' }).end(Buffer.alloc(2000));
      }
      return true;
    };
    const client = new RelayClient(r.url);
    expect((await failure(client.get(keypair.publicKey))).message).toMatch(/over the 1104-byte limit/);
    chunked = true;
    expect((await failure(client.get(keypair.publicKey))).message).toMatch(/over the 1104-byte limit/);
  });
  it('a body of 1073..1104 bytes fails verification, not the limit', async () => {
    const r = await relay('v7');
    r.override = (_req, res) => { res.writeHead(200).end(Buffer.alloc(1100)); return true; };
    const err = await failure(new RelayClient(r.url).get(keypair.publicKey));
    expect(err.details?.reason).toBe('PACKET_TOO_LARGE');
  });
  it('a slow relay times out', async () => {
    const r = await relay('v7');
    r.override = () => true; // never answers
    const err = await failure(new RelayClient(r.url, { timeoutMs: 150 }).get(keypair.publicKey));
    expect(err.code).toBe('TIMEOUT');
    const putErr = await failure(new RelayClient(r.url, { timeoutMs: 150, putTimeoutMs: 150 }).put(makePacket(keypair)));
    expect(putErr.code).toBe('TIMEOUT');
  });
  it('an external abort rejects with its reason', async () => {
    const r = await relay('v7');
    r.override = () => true;
    const controller = new AbortController();
    const pending = new RelayClient(r.url, { timeoutMs: 60_000 }).get(keypair.publicKey, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('cancelled by test')), 20);
    await expect(pending).rejects.toThrow('cancelled by test');
  });
  it.each([[400, 'BAD_REQUEST'], [429, 'RELAY_ERROR'], [503, 'RELAY_ERROR'], [500, 'RELAY_ERROR']])('status %i → %s', async (status, code) => {
    const r = await relay('v7');
    r.override = (_req, res) => { res.writeHead(status).end('No DHT nodes were queried'); return true; };
    const err = await failure(new RelayClient(r.url).get(keypair.publicKey));
    expect(err.code).toBe(code);
    expect(err.details?.status).toBe(status);
  });
});
