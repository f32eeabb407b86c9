/**
 * DNS-over-HTTPS on the relay (RFC 8484), queried over real HTTP. Queries are built and answers
 * parsed with dns-packet (an independent codec from the sidecar's own DNS encoder), and the
 * `dns2` devDependency's DoH client (a real DNS client library) queries it as well.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type Packet } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keypair } from '../sidecar/src/core/keys.ts';
import { startRelay, type RunningRelay } from '../sidecar/src/relay/relay-server.ts';
import { FakeDht, makePacket, rawRequest } from './relay-server-helpers.ts';

const kp = Keypair.generate();
const z32 = kp.publicKey.z32;
const records = [
  'A @ 10.0.0.1 120',
  'AAAA @ ::1 60',
  'TXT _lobby "hello" 30',
  'TXT _lobby "world" 45',
  `CNAME www ${z32} 300`,
  'CNAME ext example.com 200',
  'A *.wild 10.0.0.9 100',
  'A deep.ent 10.0.0.7 100',
  'HTTPS @ 1 . alpn=h3 port=4433 3600',
];
const packet = makePacket(kp, records);

let dht: FakeDht;
let relay: RunningRelay;
let upstreamRelay: RunningRelay;
let upstream: Server;
let upstreamUrl: string;
const upstreamAnswer = dnsPacket.encode({
  type: 'response', id: 0, flags: dnsPacket.RECURSION_AVAILABLE,
  questions: [{ type: 'A', name: 'example.com' }],
  answers: [{ type: 'A', name: 'example.com', ttl: 77, data: '93.184.216.34' }],
});

beforeAll(async () => {
  dht = new FakeDht();
  dht.items.set(z32, packet);
  relay = await startRelay({ port: 0, dht, rateLimit: null, dhtRateLimit: null, log: () => {} });
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const query = dnsPacket.decode(Buffer.concat(chunks));
      const body = Buffer.from(upstreamAnswer);
      body.writeUInt16BE(query.id ?? 0, 0);
      res.writeHead(req.headers['content-type'] === 'application/dns-message' ? 200 : 415, { 'Content-Type': 'application/dns-message', 'Cache-Control': 'max-age=77' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/dns-query`;
  upstreamRelay = await startRelay({ port: 0, dht: new FakeDht(), rateLimit: null, dhtRateLimit: null, dohUpstream: upstreamUrl, log: () => {} });
});

afterAll(async () => {
  await relay?.close();
  await upstreamRelay?.close();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

interface DohAnswer {
  status: number;
  headers: Headers;
  message: DecodedPacket;
  rcode: string;
}

function query(name: string, type: string, extra: Partial<Packet> = {}): Buffer {
  return dnsPacket.encode({
    type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: type as 'A', name }], ...extra,
  });
}

async function ask(name: string, type: string, options: { method?: 'GET' | 'POST'; base?: string; extra?: Partial<Packet> } = {}): Promise<DohAnswer> {
  const raw = query(name, type, options.extra);
  const base = options.base ?? relay.url;
  const res = options.method === 'POST'
    ? await fetch(`${base}/dns-query`, { method: 'POST', headers: { 'Content-Type': 'application/dns-message', Accept: 'application/dns-message' }, body: raw })
    : await fetch(`${base}/dns-query?dns=${raw.toString('base64url')}`, { headers: { Accept: 'application/dns-message' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/dns-message');
  const message = dnsPacket.decode(Buffer.from(await res.arrayBuffer()));
  return { status: res.status, headers: res.headers, message, rcode: (message as unknown as { rcode: string }).rcode };
}

function data(answers: Answer[] | undefined): unknown[] {
  return (answers ?? []).map((a) => {
    const d = (a as { data?: unknown }).data;
    return Array.isArray(d) ? d.map((x) => String(x)) : Buffer.isBuffer(d) ? d.toString('hex') : d;
  });
}

describe('DoH for pkarr names', () => {
  it('answers A at the key apex (resolved from the DHT), authoritative, with the record TTL', async () => {
    const { message, rcode, headers } = await ask(z32, 'A');
    expect(rcode).toBe('NOERROR');
    expect(message.id).toBe(4242);
    expect(message.flag_aa).toBe(true);
    expect(message.flag_rd).toBe(true);
    expect(data(message.answers)).toEqual(['10.0.0.1']);
    expect(message.answers?.[0]?.name).toBe(z32);
    expect((message.answers?.[0] as { ttl?: number }).ttl).toBe(120);
    expect(headers.get('cache-control')).toBe('max-age=120');
    expect(dht.calls.get).toBe(1);
  });

  it('answers TXT at _lobby.<key> by GET and POST, max-age = smallest TTL', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const { message, rcode, headers } = await ask(`_lobby.${z32}`, 'TXT', { method });
      expect(rcode).toBe('NOERROR');
      expect(data(message.answers).sort()).toEqual([['hello'], ['world']]);
      expect(headers.get('cache-control')).toBe('max-age=30');
    }
  });

  it('NOERROR/empty for another type at an existing name and for an empty non-terminal; NXDOMAIN otherwise', async () => {
    const other = await ask(`_lobby.${z32}`, 'AAAA');
    expect(other.rcode).toBe('NOERROR');
    expect(other.message.answers).toEqual([]);
    expect(other.headers.get('cache-control')).toBe('max-age=300');
    const ent = await ask(`ent.${z32}`, 'A');
    expect(ent.rcode).toBe('NOERROR');
    expect(ent.message.answers).toEqual([]);
    const missing = await ask(`missing.${z32}`, 'A');
    expect(missing.rcode).toBe('NXDOMAIN');
    expect(missing.message.answers).toEqual([]);
  });

  it('chases a CNAME inside the packet and leaves an external one to the client', async () => {
    const www = await ask(`www.${z32}`, 'A');
    expect(www.rcode).toBe('NOERROR');
    expect(www.message.answers?.map((a) => a.type)).toEqual(['CNAME', 'A']);
    expect(data(www.message.answers)).toEqual([z32, '10.0.0.1']);
    const ext = await ask(`ext.${z32}`, 'A');
    expect(data(ext.message.answers)).toEqual(['example.com']);
    const direct = await ask(`www.${z32}`, 'CNAME');
    expect(direct.message.answers?.map((a) => a.type)).toEqual(['CNAME']);
  });

  it('synthesises answers from a wildcard owner', async () => {
    const { message, rcode } = await ask(`player1.wild.${z32}`, 'A');
    expect(rcode).toBe('NOERROR');
    expect(data(message.answers)).toEqual(['10.0.0.9']);
    expect(message.answers?.[0]?.name).toBe(`player1.wild.${z32}`);
  });

  it('returns every record for ANY, and HTTPS rdata byte-exactly', async () => {
    const any = await ask(z32, 'ANY');
    expect(any.message.answers?.map((a) => a.type).sort()).toEqual(['A', 'AAAA', 'UNKNOWN_65']);
    const https = await ask(z32, 'UNKNOWN_65');
    const original = dnsPacket.decode(Buffer.from(packet.dns)).answers?.find((a) => a.type === ('UNKNOWN_65' as string));
    expect(data(https.message.answers)).toEqual(data(original === undefined ? [] : [original]));
    expect(https.message.answers).toHaveLength(1);
  });

  it('matches names case-insensitively and keeps the question spelling', async () => {
    const mixed = `_LoBbY.${z32.slice(0, 10).toUpperCase()}${z32.slice(10)}`;
    const { message, rcode } = await ask(mixed, 'TXT');
    expect(rcode).toBe('NOERROR');
    expect(message.answers).toHaveLength(2);
    expect(message.answers?.[0]?.name).toBe(mixed);
  });

  it('echoes EDNS', async () => {
    const { message } = await ask(z32, 'A', { extra: { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } });
    expect(message.additionals?.some((a) => a.type === 'OPT')).toBe(true);
  });

  it('SERVFAIL for a key with no packet', async () => {
    const { rcode, message, headers } = await ask(`_lobby.${Keypair.generate().publicKey.z32}`, 'TXT');
    expect(rcode).toBe('SERVFAIL');
    expect(message.answers).toEqual([]);
    expect(headers.get('cache-control')).toBe('max-age=0');
  });
});

describe('DoH for ordinary names', () => {
  it('REFUSED without an upstream', async () => {
    expect((await ask('example.com', 'A')).rcode).toBe('REFUSED');
  });

  it('forwards to the upstream and relays its answer', async () => {
    const { message, rcode, headers } = await ask('example.com', 'A', { base: upstreamRelay.url });
    expect(rcode).toBe('NOERROR');
    expect(message.id).toBe(4242);
    expect(data(message.answers)).toEqual(['93.184.216.34']);
    expect(headers.get('cache-control')).toBe('max-age=77');
  });

  it('SERVFAIL when the upstream is unreachable', async () => {
    const broken = await startRelay({ port: 0, dht: null, rateLimit: null, dhtRateLimit: null, dohUpstream: 'http://127.0.0.1:1/dns-query', log: () => {} });
    try {
      expect((await ask('example.com', 'A', { base: broken.url })).rcode).toBe('SERVFAIL');
    } finally {
      await broken.close();
    }
  });
});

describe('DoH HTTP errors', () => {
  it('400 for a missing or malformed message, 415 for a wrong type, 413 when too large, 405 for PUT', async () => {
    expect((await fetch(`${relay.url}/dns-query`)).status).toBe(400);
    expect((await fetch(`${relay.url}/dns-query?dns=!!!`)).status).toBe(400);
    expect((await fetch(`${relay.url}/dns-query?dns=${Buffer.from([1, 2, 3]).toString('base64url')}`)).status).toBe(400);
    const hugeCounts = Buffer.alloc(12);
    hugeCounts.writeUInt16BE(0xffff, 4);
    expect((await fetch(`${relay.url}/dns-query?dns=${hugeCounts.toString('base64url')}`)).status).toBe(400);
    expect((await fetch(`${relay.url}/dns-query`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: query(z32, 'A') })).status).toBe(415);
    const big = await rawRequest(`${relay.url}/dns-query`, { method: 'POST', headers: { 'Content-Type': 'application/dns-message' }, body: new Uint8Array(5000) });
    expect(big.status).toBe(413);
    expect((await fetch(`${relay.url}/dns-query`, { method: 'PUT', body: 'x' })).status).toBe(405);
  });

  it('FORMERR for two questions, NOTIMP for another opcode', async () => {
    const two = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name: z32 }, { type: 'A', name: `www.${z32}` }] });
    const res = await fetch(`${relay.url}/dns-query?dns=${two.toString('base64url')}`);
    expect((dnsPacket.decode(Buffer.from(await res.arrayBuffer())) as unknown as { rcode: string }).rcode).toBe('FORMERR');
    const notify = Buffer.from(query(z32, 'A'));
    notify[2] = (notify[2]! & 0x87) | (4 << 3);
    const res2 = await fetch(`${relay.url}/dns-query?dns=${notify.toString('base64url')}`);
    expect((dnsPacket.decode(Buffer.from(await res2.arrayBuffer())) as unknown as { rcode: string }).rcode).toBe('NOTIMP');
  });
});

describe('DoH with a real DNS client library (dns2)', () => {
  it('resolves a pkarr TXT record through dns2.DOHClient', async () => {
    // @ts-ignore -- dns2 ships no types.
    const dns2 = (await import('dns2')).default as { DOHClient: (o: { dns: string }) => (name: string, type: string) => Promise<{ answers: { data?: string | string[]; address?: string }[] }> };
    const resolve = dns2.DOHClient({ dns: `${relay.url}/dns-query` });
    const answer = await resolve(`_lobby.${z32}`, 'TXT');
    expect(answer.answers.map((a) => [a.data ?? ''].flat().join('')).sort()).toEqual(['hello', 'world']);
    const apex = await resolve(z32, 'A');
    expect(apex.answers.map((a) => a.address)).toEqual(['10.0.0.1']);
  });
});
