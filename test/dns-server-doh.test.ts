/**
 * The relay's DNS-over-HTTPS over HTTP/2 cleartext (h2c, prior knowledge) on its HTTP/1.1 port:
 * `dig +http-plain` (POST) and `+http-plain-get`, node:http2 as a client (same routes and rate
 * limits as HTTP/1.1), HTTP/1.1 unchanged on the same port, and a relay that closes with an h2
 * session open.
 */
import { connect, type ClientHttp2Session } from 'node:http2';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { dig, digFlags, digSection, digStatus } from './dns-server-helpers.ts';
import { FakeDht, makePacket } from './relay-server-helpers.ts';

const kp = Keypair.generate();
const z32 = kp.publicKey.z32;
let relay: RunningRelay;
let limited: RunningRelay;

beforeAll(async () => {
  const dht = new FakeDht();
  dht.items.set(z32, makePacket(kp, ['TXT _lobby "hello" 30', 'TXT _lobby "world" 45', 'A @ 10.0.0.1 120']));
  relay = await startRelay({ port: 0, dht, rateLimit: null, dhtRateLimit: null, log: () => {} });
  limited = await startRelay({ port: 0, dht, rateLimit: '2r/m,burst=2', dhtRateLimit: null, log: () => {} });
});

afterAll(async () => {
  await relay?.close();
  await limited?.close();
});

function h2get(session: ClientHttp2Session, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'GET', ':path': path });
    const chunks: Buffer[] = [];
    let headers: Record<string, unknown> = {};
    stream.on('response', (h) => { headers = h; });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.setTimeout(5000, () => stream.close());
  });
}

describe('DoH over h2c', () => {
  it('dig +http-plain (POST) and +http-plain-get resolve _lobby.<key> TXT from the relay', async () => {
    const post = await dig(['+http-plain=/dns-query', '@127.0.0.1', '-p', String(relay.port), 'TXT', `_lobby.${z32}`]);
    expect(post.code).toBe(0);
    expect(post.out).toMatch(/\(HTTP\)/);
    expect(digStatus(post.out)).toBe('NOERROR');
    expect(digFlags(post.out)).toContain('aa');
    expect(digSection(post.out, 'ANSWER').map((l) => l.split(/\s+/).slice(-1)[0]).sort()).toEqual(['"hello"', '"world"']);
    const get = await dig(['+http-plain-get=/dns-query', '@127.0.0.1', '-p', String(relay.port), '+short', 'A', `${z32}.key`]);
    expect(get.out.trim()).toBe('10.0.0.1');
  });

  it('node:http2: same routes and headers as HTTP/1.1; HTTP/1.1 still served on the port', async () => {
    const session = connect(relay.url);
    try {
      const q = dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'TXT', name: `_lobby.${z32}` }] });
      const res = await h2get(session, `/dns-query?dns=${q.toString('base64url')}`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/dns-message');
      expect(res.headers['cache-control']).toBe('max-age=30');
      expect(dnsPacket.decode(res.body).answers).toHaveLength(2);
      const status = await h2get(session, '/');
      expect(status.status).toBe(200);
      expect(String(status.headers['content-type'])).toMatch(/^text\/html/);
      expect((await h2get(session, '/nope/x')).status).toBe(404);
    } finally {
      session.close();
    }
    const http1 = await fetch(`${relay.url}/dns-query?dns=${dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: z32 }] }).toString('base64url')}`);
    expect(http1.status).toBe(200);
    expect(dnsPacket.decode(Buffer.from(await http1.arrayBuffer())).answers?.[0]).toMatchObject({ data: '10.0.0.1' });
  });

  it('errors that close an HTTP/1.1 connection (415, 413) are plain answers over h2', async () => {
    const session = connect(relay.url);
    try {
      const post = (type: string, body: Buffer): Promise<number> => new Promise((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': type });
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.on('error', reject);
        stream.resume();
        stream.end(body);
      });
      expect(await post('text/plain', Buffer.from('x'))).toBe(415);
      expect(await post('application/dns-message', Buffer.alloc(5000))).toBe(413);
      expect((await h2get(session, '/')).status).toBe(200); // the session still serves
    } finally {
      session.close();
    }
  });

  it('every route answers the same status and pkarr headers over h2 as over HTTP/1.1', async () => {
    const other = Keypair.generate();
    const payload = Buffer.from(makePacket(other, ['A @ 10.1.1.1 60']).toRelayPayload());
    const lastModified = (await fetch(`${relay.url}/${z32}`)).headers.get('last-modified') ?? '';
    const cases: { method: string; path: string; headers?: Record<string, string>; body?: Buffer }[] = [
      { method: 'GET', path: `/${z32}` },
      { method: 'HEAD', path: `/${z32}` },
      { method: 'GET', path: `/${z32}`, headers: { 'if-modified-since': lastModified } },
      { method: 'GET', path: `/${Keypair.generate().publicKey.z32}` },
      { method: 'GET', path: '/not-a-key' },
      { method: 'PUT', path: `/${other.publicKey.z32}`, headers: { 'content-type': 'application/pkarr.org/relays#payload' }, body: payload },
      { method: 'PUT', path: `/${other.publicKey.z32}`, body: Buffer.alloc(3) },
      { method: 'OPTIONS', path: '/dns-query', headers: { origin: 'https://game.example', 'access-control-request-method': 'POST' } },
      { method: 'DELETE', path: `/${z32}` },
    ];
    const session = connect(relay.url);
    try {
      for (const c of cases) {
        const h2 = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
          const stream = session.request({ ':method': c.method, ':path': c.path, ...c.headers });
          stream.on('response', (headers) => resolve({ status: Number(headers[':status']), headers }));
          stream.on('error', reject);
          stream.resume();
          stream.end(c.body);
        });
        const h1 = await fetch(`${relay.url}${c.path}`, { method: c.method, headers: c.headers ?? {}, ...(c.body === undefined ? {} : { body: c.body }) });
        await h1.arrayBuffer();
        expect([c.method, c.path.slice(0, 12), h2.status]).toEqual([c.method, c.path.slice(0, 12), h1.status]);
        for (const name of ['content-type', 'cache-control', 'pkarr-dht-stored-nodes', 'allow', 'access-control-allow-origin']) {
          if (c.method !== 'PUT') expect([name, h2.headers[name] ?? null]).toEqual([name, h1.headers.get(name)]);
        }
      }
    } finally {
      session.close();
    }
  });

  it('the per-IP quota counts h2 requests (429 with Retry-After)', async () => {
    const session = connect(limited.url);
    try {
      const statuses: number[] = [];
      const retry: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await h2get(session, '/');
        statuses.push(res.status);
        retry.push(res.headers['retry-after']);
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(Number(retry[2])).toBeGreaterThan(0);
    } finally {
      session.close();
    }
  });

  it('a relay with an open h2 session closes promptly', async () => {
    const extra = await startRelay({ port: 0, dht: null, rateLimit: null, dhtRateLimit: null, log: () => {}, closeGraceMs: 2000 });
    const session = connect(extra.url);
    session.on('error', () => undefined);
    expect((await h2get(session, '/')).status).toBe(200);
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    await extra.close();
    await closed;
    expect(session.closed || session.destroyed).toBe(true);
  }, 15_000);
});
